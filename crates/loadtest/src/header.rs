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
}
