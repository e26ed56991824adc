//! Which backend answered: `X-Backend-Id` if the server sends it, else the `Server N` in a greeting
//! such as `Hello from Server 2!`, so servers that only print the greeting are counted too.

use reqwest::header::HeaderMap;

pub fn backend_id(headers: &HeaderMap, body: &[u8]) -> Option<u32> {
    if let Some(v) = headers.get("x-backend-id") {
        return v.to_str().ok()?.trim().parse().ok();
    }
    id_in_body(body)
}

fn id_in_body(body: &[u8]) -> Option<u32> {
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
