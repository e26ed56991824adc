//! The request's bytes, encoded once: every request of a run is the same GET but for the headers
//! whose value changes with the request number (`-H 'X-Key: k{n%20}'`), which are filled in per
//! request into a buffer the connection keeps.

use std::fmt::Write as _;

use reqwest::Url;

use crate::header::HeaderTemplate;
use crate::header::{asks_to_close, basic_auth, given};

pub struct RequestBytes {
    /// The whole request when no header varies; else everything before the varying headers.
    head: Vec<u8>,
    varying: Vec<HeaderTemplate>,
    keep_alive: bool,
}

impl RequestBytes {
    pub fn new(url: &Url, headers: &[HeaderTemplate], keep_alive: bool) -> RequestBytes {
        let mut target = url.path().to_owned();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        // host_str has the brackets of an IPv6 literal already; the port only where it is not 80.
        let host = url.host_str().unwrap_or_default();
        let host = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        // A header given with -H replaces the engine's own of that name, as in reqwest and curl:
        // two Host headers are a request nginx must refuse (400, RFC 9112 §3.2).
        let mut head = format!("GET {target} HTTP/1.1\r\n");
        if !given(headers, "host") {
            let _ = write!(head, "host: {host}\r\n");
        }
        if !given(headers, "accept") {
            head.push_str("accept: */*\r\n");
        }
        if !keep_alive && !given(headers, "connection") {
            head.push_str("connection: close\r\n");
        }
        if let Some(auth) = basic_auth(url).filter(|_| !given(headers, "authorization")) {
            let _ = write!(head, "authorization: {auth}\r\n");
        }
        let mut varying = Vec::new();
        for h in headers {
            if h.is_constant() {
                let _ = write!(head, "{}: {}\r\n", h.name, h.render(0));
            } else {
                varying.push(h.clone());
            }
        }
        let mut head = head.into_bytes();
        if varying.is_empty() {
            head.extend_from_slice(b"\r\n");
        }
        RequestBytes {
            head,
            varying,
            keep_alive: keep_alive && !asks_to_close(headers),
        }
    }

    /// Whether the connection may carry another request after this one's answer: not when the
    /// run or a `Connection: close` header asked the server to close it.
    pub fn keeps_alive(&self) -> bool {
        self.keep_alive
    }

    /// Request `seq`'s bytes: the prepared ones, or those with the varying headers written into
    /// `scratch` (which keeps its capacity, so a run allocates once per connection).
    pub fn for_request<'a>(&'a self, seq: u64, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        if self.varying.is_empty() {
            return &self.head;
        }
        scratch.clear();
        scratch.extend_from_slice(&self.head);
        for h in &self.varying {
            scratch.extend_from_slice(h.name.as_str().as_bytes());
            scratch.extend_from_slice(b": ");
            scratch.extend_from_slice(h.value(seq).as_bytes());
            scratch.extend_from_slice(b"\r\n");
        }
        scratch.extend_from_slice(b"\r\n");
        scratch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn one_request_encoded_once() {
        let h = [HeaderTemplate::parse("X-Test: yes").unwrap()];
        let r = RequestBytes::new(&url("http://127.0.0.1:8080/a?b=1"), &h, true);
        let mut scratch = Vec::new();
        assert_eq!(
            r.for_request(7, &mut scratch),
            b"GET /a?b=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\naccept: */*\r\nx-test: yes\r\n\r\n"
        );
        assert!(
            scratch.is_empty(),
            "a constant request needs no scratch space"
        );
    }

    #[test]
    fn varying_headers_and_close() {
        let h = [HeaderTemplate::parse("X-Key: k{n%3}").unwrap()];
        let r = RequestBytes::new(&url("http://[::1]/"), &h, false);
        let mut scratch = Vec::new();
        let four = r.for_request(4, &mut scratch).to_vec();
        assert_eq!(
            four,
            b"GET / HTTP/1.1\r\nhost: [::1]\r\naccept: */*\r\nconnection: close\r\nx-key: k1\r\n\r\n"
        );
        assert!(
            r.for_request(5, &mut scratch)
                .ends_with(b"x-key: k2\r\n\r\n")
        );
    }
}
