//! `application/x-www-form-urlencoded`, as the page's forms post it.

/// The value of field `name` in `body`, decoded; `None` when absent or not UTF-8.
pub fn field(body: &[u8], name: &str) -> Option<String> {
    let body = std::str::from_utf8(body).ok()?;
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k)? == name).then(|| decode(v)).flatten()
    })
}

fn decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = [bytes.next()?, bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_found_and_decoded() {
        let body = b"token=ab12&method=least-conn&note=a+b%21";
        assert_eq!(field(body, "token").as_deref(), Some("ab12"));
        assert_eq!(field(body, "method").as_deref(), Some("least-conn"));
        assert_eq!(field(body, "note").as_deref(), Some("a b!"));
        assert_eq!(field(body, "count"), None);
        assert_eq!(field(b"count=%zz", "count"), None);
        assert_eq!(field(b"count", "count").as_deref(), Some(""));
    }
}
