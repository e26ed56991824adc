//! An answer's head, parsed by httparse, and how its body is framed (RFC 9112 §6): no body for
//! 1xx, 204 and 304; chunked when the last transfer coding is chunked (sizes read by httparse's
//! chunk-size parser); else Content-Length; else until the server closes.

/// What the connection needs of a response head; the head's bytes are not kept.
#[derive(Debug, PartialEq)]
pub struct Head {
    pub status: u16,
    /// `None` without `X-Backend-Id`; `Some(None)` with one that is not a number.
    pub backend: Option<Option<u32>>,
    pub framing: Framing,
    pub keep_alive: bool,
    /// The head's length in bytes, where the body starts.
    pub len: usize,
}

#[derive(Debug, PartialEq, Clone, Copy)]
pub enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Headers an answer may have, at most; nginx and the backend send fewer than ten.
const MAX_HEADERS: usize = 64;

/// The head at the start of `buf`, `Ok(None)` while it is incomplete, or why it is not HTTP/1.x.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let status = response.code.unwrap_or_default();
    let http10 = response.version == Some(0);
    let (mut length, mut chunked, mut close, mut keep) = (None, false, false, false);
    let mut backend = None;
    for h in response.headers.iter() {
        // By length first: most of an answer's headers (Server, Date, Content-Type) are none of
        // these, and a length compare is all it takes to see it.
        let name = h.name.as_bytes();
        match name.len() {
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                let n = parse_length(h.value).ok_or("invalid content-length")?;
                if length.is_some_and(|m| m != n) {
                    return Err("conflicting content-length".into());
                }
                length = Some(n);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                chunked = h
                    .value
                    .rsplit(|&b| b == b',')
                    .next()
                    .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in h.value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    close |= token.eq_ignore_ascii_case(b"close");
                    keep |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            12 if name.eq_ignore_ascii_case(b"x-backend-id") => {
                backend = Some(parse_length(h.value).and_then(|n| u32::try_from(n).ok()));
            }
            _ => {}
        }
    }
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    let keep_alive = framing != Framing::UntilClose && !close && (!http10 || keep);
    Ok(Some(Head {
        status,
        backend,
        framing,
        keep_alive,
        len,
    }))
}

/// A decimal number with optional surrounding blanks, as Content-Length and X-Backend-Id are.
fn parse_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

/// Where a chunked body is between reads.
#[derive(Debug, Default)]
pub enum Chunked {
    #[default]
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

impl Chunked {
    /// Reads what it can of `data`: (bytes used, whether the body is complete). `body` is given
    /// the chunks' data.
    pub fn advance(
        &mut self,
        data: &[u8],
        body: &mut impl FnMut(&[u8]),
    ) -> Result<(usize, bool), String> {
        let mut pos = 0;
        loop {
            let rest = &data[pos..];
            match *self {
                Chunked::Size => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Complete((used, 0))) => {
                        pos += used;
                        *self = Chunked::Trailers;
                    }
                    Ok(httparse::Status::Complete((used, size))) => {
                        pos += used;
                        *self = Chunked::Data(size);
                    }
                    Ok(httparse::Status::Partial) => return Ok((pos, false)),
                    Err(_) => return Err("invalid chunk size".into()),
                },
                Chunked::Data(left) => {
                    let take = (rest.len() as u64).min(left) as usize;
                    body(&rest[..take]);
                    pos += take;
                    if take as u64 == left {
                        *self = Chunked::DataEnd;
                    } else {
                        *self = Chunked::Data(left - take as u64);
                        return Ok((pos, false));
                    }
                }
                Chunked::DataEnd => {
                    if rest.len() < 2 {
                        return Ok((pos, false));
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err("chunk not followed by CRLF".into());
                    }
                    pos += 2;
                    *self = Chunked::Size;
                }
                Chunked::Trailers => {
                    let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                        return Ok((pos, false));
                    };
                    pos += eol + 2;
                    if eol == 0 {
                        return Ok((pos, true));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        parse_head(text.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn framing_and_keep_alive() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 20\r\nX-Backend-Id: 2\r\n\r\nHello");
        assert_eq!(
            (h.status, h.backend, h.framing, h.keep_alive),
            (200, Some(Some(2)), Framing::Length(20), true)
        );
        assert_eq!(h.len, 56);
        let h = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n",
        );
        assert_eq!(h.framing, Framing::Chunked);
        let h = head("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::UntilClose, false));
        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n");
        assert!(!h.keep_alive, "HTTP/1.0 closes unless it says keep-alive");
        let h = head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n");
        assert!(h.keep_alive);
        for status in [204, 304, 100] {
            let h = head(&format!("HTTP/1.1 {status} X\r\nContent-Length: 9\r\n\r\n"));
            assert_eq!(h.framing, Framing::Empty, "{status}");
        }
        assert_eq!(
            head("HTTP/1.1 200 OK\r\nX-Backend-Id: two\r\n\r\n").backend,
            Some(None)
        );
    }

    #[test]
    fn partial_and_invalid() {
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le"), Ok(None));
        assert!(parse_head(b"SSH-2.0-OpenSSH_9.2\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 abc\r\n\r\n").is_err());
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Err("conflicting content-length".to_string())
        );
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").is_err());
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n").is_err()
        );
        assert_eq!(parse_length(b" 42 "), Some(42));
        assert_eq!(parse_length(b"4 2"), None);
    }

    #[test]
    fn chunked_across_reads() {
        let wire = b"5\r\nHello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
        for split in 0..wire.len() {
            let mut state = Chunked::default();
            let mut body = Vec::new();
            let mut sink = |d: &[u8]| body.extend_from_slice(d);
            let (used, done) = state.advance(&wire[..split], &mut sink).unwrap();
            assert!(!done || split == wire.len());
            let mut rest = wire[used..].to_vec();
            let (_, done) = state.advance(&rest, &mut sink).unwrap();
            rest.clear();
            assert!(done, "split at {split}");
            assert_eq!(body, b"Hello, world", "split at {split}");
        }
        let mut state = Chunked::default();
        assert!(state.advance(b"zz\r\n", &mut |_| {}).is_err());
        let mut state = Chunked::default();
        assert!(state.advance(b"1\r\nabc", &mut |_| {}).is_err());
    }
}
