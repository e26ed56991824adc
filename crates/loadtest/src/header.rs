use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};

/// A request header whose value may vary per request: `{n}` is the request's sequence number
/// (0, 1, 2, …) and `{n%K}` that number modulo K, so `X-Key: k{n%20}` cycles through 20 keys.
#[derive(Debug, Clone)]
pub struct HeaderTemplate {
    pub name: HeaderName,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Seq { modulo: Option<u64> },
}

impl HeaderTemplate {
    /// `Name: value`, as curl's -H.
    pub fn parse(s: &str) -> Result<HeaderTemplate, String> {
        let (name, value) = s.split_once(':').ok_or_else(|| {
            format!("header '{s}' has no ':' (accepted: 'Name: value', e.g. 'X-Key: k{{n%20}}')")
        })?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("'{}' is not a valid header name", name.trim()))?;
        let parts = parse_parts(value.trim())?;
        let t = HeaderTemplate { name, parts };
        // Render a sample to catch characters no header value may hold.
        HeaderValue::from_str(&t.render(0))
            .map_err(|_| format!("header '{s}' has a value that is not valid in HTTP"))?;
        Ok(t)
    }

    pub fn is_constant(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    pub fn render(&self, seq: u64) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Seq { modulo: None } => out.push_str(&seq.to_string()),
                Part::Seq { modulo: Some(k) } => out.push_str(&(seq % k).to_string()),
            }
        }
        out
    }

    pub fn value(&self, seq: u64) -> HeaderValue {
        // parse() checked a rendering; every other rendering differs only in ASCII digits.
        HeaderValue::from_str(&self.render(seq)).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// Whether `headers` give one named `name` (lower case), replacing the engine's own.
pub(crate) fn given(headers: &[HeaderTemplate], name: &str) -> bool {
    headers.iter().any(|h| h.name.as_str() == name)
}

/// Whether `headers` ask the server to close the connection after its answer: then the client
/// may send nothing more on it (RFC 9112 §9.6).
pub(crate) fn asks_to_close(headers: &[HeaderTemplate]) -> bool {
    headers
        .iter()
        .filter(|h| h.name.as_str() == "connection")
        .any(|h| {
            h.render(0)
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("close"))
        })
}

/// `url` without its user and password: the credentials go in `Authorization` ([`basic_auth`]),
/// never on the wire as part of the URL.
pub(crate) fn without_credentials(url: &Url) -> Url {
    let mut bare = url.clone();
    // Only a URL with a host has credentials to remove, and `parse_url` accepts no other.
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    bare
}

/// The `Authorization` value for the user and password of `http://user:pass@host/`: `Basic` and
/// the base64 of `user:pass`, percent-decoded, as curl and browsers send it (RFC 7617); `None`
/// when the URL has neither.
pub(crate) fn basic_auth(url: &Url) -> Option<String> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let mut credentials = percent_decode(url.username());
    credentials.push(b':');
    credentials.extend(percent_decode(url.password().unwrap_or_default()));
    Some(format!("Basic {}", base64(&credentials)))
}

/// The bytes that `%XX` escapes stand for; anything else as it is.
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn parse_parts(v: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = v;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_owned()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("'{v}' has a '{{' with no '}}'"))?
            + open;
        let inner = &rest[open + 1..close];
        let part = match inner.split_once('%') {
            None if inner == "n" => Part::Seq { modulo: None },
            Some(("n", k)) => match k.parse::<u64>() {
                Ok(k) if k > 0 => Part::Seq { modulo: Some(k) },
                _ => {
                    return Err(format!(
                        "'{{{inner}}}' needs a whole number above 0 after '%'"
                    ));
                }
            },
            _ => {
                return Err(format!(
                    "unknown placeholder '{{{inner}}}' (accepted: {{n}}, {{n%K}})"
                ));
            }
        };
        parts.push(part);
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders() {
        let t = HeaderTemplate::parse("X-Key: k{n%3}-{n}").unwrap();
        assert_eq!(t.name.as_str(), "x-key");
        assert_eq!(t.render(7), "k1-7");
        assert!(!t.is_constant());
        let c = HeaderTemplate::parse("Accept: text/plain").unwrap();
        assert!(c.is_constant());
        assert_eq!(c.render(5), "text/plain");
    }

    #[test]
    fn rejects() {
        assert!(
            HeaderTemplate::parse("NoColon")
                .unwrap_err()
                .contains("no ':'")
        );
        assert!(
            HeaderTemplate::parse("Bad Name: x")
                .unwrap_err()
                .contains("header name")
        );
        assert!(
            HeaderTemplate::parse("X: {m}")
                .unwrap_err()
                .contains("unknown placeholder")
        );
        assert!(
            HeaderTemplate::parse("X: {n%0}")
                .unwrap_err()
                .contains("above 0")
        );
        assert!(
            HeaderTemplate::parse("X: {n")
                .unwrap_err()
                .contains("no '}'")
        );
        assert!(HeaderTemplate::parse("X: a\u{7f}b").is_err());
    }

    #[test]
    fn credentials_in_the_url_are_basic_auth() {
        let url = |s: &str| Url::parse(s).unwrap();
        // RFC 7617's own example.
        assert_eq!(
            basic_auth(&url("http://Aladdin:open%20sesame@127.0.0.1/")),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".into())
        );
        assert_eq!(basic_auth(&url("http://u@h/")), Some("Basic dTo=".into()));
        assert_eq!(basic_auth(&url("http://:p@h/")), Some("Basic OnA=".into()));
        assert_eq!(basic_auth(&url("http://h/")), None);
        assert_eq!(
            without_credentials(&url("http://user:pass@h:8/a?b")).as_str(),
            "http://h:8/a?b"
        );
        for (data, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
        ] {
            assert_eq!(base64(data.as_bytes()), want);
        }
    }

    #[test]
    fn a_connection_header_may_ask_to_close() {
        let h = |s: &str| vec![HeaderTemplate::parse(s).unwrap()];
        assert!(asks_to_close(&h("Connection: Keep-Alive, close")));
        assert!(!asks_to_close(&h("Connection: keep-alive")));
        assert!(!asks_to_close(&h("X-Connection: close")));
        assert!(given(&h("HOST: x"), "host"));
    }
}
