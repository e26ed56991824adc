//! Which backend answered: `X-Backend-Id` if the server sends it, else the `Server N` in a greeting
//! such as `Hello from Server 2!`, so servers that only print the greeting are counted too.

use reqwest::header::HeaderMap;

/// `None` when there is no `X-Backend-Id`; `Some(None)` when there is one that is not a number.
/// Read before the body, so the response's headers need not be kept (or copied) while it arrives.
pub fn id_in_header(headers: &HeaderMap) -> Option<Option<u32>> {
    let v = headers.get("x-backend-id")?;
    Some(v.to_str().ok().and_then(|s| s.trim().parse().ok()))
}

pub fn id_in_body(body: &[u8]) -> Option<u32> {
    const NEEDLE: &[u8] = b"Server ";
    let at = body.windows(NEEDLE.len()).position(|w| w == NEEDLE)? + NEEDLE.len();
    let digits = body[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&body[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn backend_id(headers: &HeaderMap, body: &[u8]) -> Option<u32> {
        id_in_header(headers).unwrap_or_else(|| id_in_body(body))
    }

    #[test]
    fn header_wins_over_body() {
        let mut h = HeaderMap::new();
        h.insert("x-backend-id", HeaderValue::from_static("3"));
        assert_eq!(backend_id(&h, b"Hello from Server 1!"), Some(3));
    }

    #[test]
    fn body_greeting() {
        let h = HeaderMap::new();
        assert_eq!(backend_id(&h, b"Hello from Server 12!"), Some(12));
        assert_eq!(backend_id(&h, b"<h1>Server 2</h1>"), Some(2));
        assert_eq!(backend_id(&h, b"Hello from Server !"), None);
        assert_eq!(backend_id(&h, b"hello"), None);
        assert_eq!(backend_id(&h, b"Server 99999999999999"), None);
    }

    #[test]
    fn bad_header_is_unknown() {
        let mut h = HeaderMap::new();
        h.insert("x-backend-id", HeaderValue::from_static("two"));
        assert_eq!(backend_id(&h, b"Hello from Server 1!"), None);
    }
}
