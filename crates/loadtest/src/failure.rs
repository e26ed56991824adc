//! Why a request failed, as the report counts it.

use std::fmt;

/// One failed request's kind; its text is the key of `errors_by_kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    ConnectRefused,
    /// The peer reset the connection.
    Reset,
    /// The connection closed before the answer was complete.
    Closed,
    SourceUnavailable,
    /// EMFILE or ENFILE: the client ran out of file descriptors, not the target of patience.
    TooManyOpenFiles,
    Connect,
    Body,
    /// The answer is not HTTP/1.1; the parser's reason.
    InvalidResponse(String),
    Status(u16),
    Request(String),
}

impl Failure {
    /// Whether the failure is the HTTP/1.1 keep-alive race (the server closed an idle connection as
    /// the request went out on it), after which a GET may be sent again. An answer that arrived but
    /// did not parse is not: the server read the request and answered it.
    pub fn is_keep_alive_race(&self) -> bool {
        matches!(self, Failure::Closed | Failure::Reset)
    }

    pub fn classify(e: &reqwest::Error) -> Failure {
        if e.is_timeout() {
            return Failure::Timeout;
        }
        let chain = || std::iter::successors(Some(e as &dyn std::error::Error), |e| e.source());
        if let Some(h) = chain().find_map(|e| e.downcast_ref::<hyper::Error>())
            && h.is_parse()
        {
            return Failure::InvalidResponse(h.to_string());
        }
        let io = chain().find_map(|e| e.downcast_ref::<std::io::Error>());
        if let Some(f) = io.and_then(Failure::from_io) {
            return f;
        }
        if e.is_connect() {
            Failure::Connect
        } else if e.is_body() || e.is_decode() {
            Failure::Body
        } else {
            Failure::Closed
        }
    }

    pub(crate) fn from_io(e: &std::io::Error) -> Option<Failure> {
        use std::io::ErrorKind::*;
        if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
            return Some(Failure::TooManyOpenFiles);
        }
        match e.kind() {
            ConnectionRefused => Some(Failure::ConnectRefused),
            ConnectionReset => Some(Failure::Reset),
            AddrNotAvailable => Some(Failure::SourceUnavailable),
            TimedOut => Some(Failure::Timeout),
            _ => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Timeout => f.write_str("timeout"),
            Failure::ConnectRefused => f.write_str("connect refused"),
            Failure::Reset => f.write_str("connection reset"),
            Failure::Closed => f.write_str("connection closed"),
            Failure::SourceUnavailable => f.write_str("source address not available"),
            Failure::TooManyOpenFiles => f.write_str("too many open files (EMFILE)"),
            Failure::Connect => f.write_str("connect error"),
            Failure::Body => f.write_str("body error"),
            Failure::InvalidResponse(why) => write!(f, "invalid response ({why})"),
            Failure::Status(code) => write!(f, "status {code}"),
            Failure::Request(why) => write!(f, "request error: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_descriptors_is_named() {
        for errno in [libc::EMFILE, libc::ENFILE] {
            let f = Failure::from_io(&std::io::Error::from_raw_os_error(errno));
            assert_eq!(f, Some(Failure::TooManyOpenFiles));
        }
        assert_eq!(
            Failure::TooManyOpenFiles.to_string(),
            "too many open files (EMFILE)"
        );
    }

    #[test]
    fn only_a_closed_connection_is_the_keep_alive_race() {
        assert!(Failure::Closed.is_keep_alive_race());
        assert!(Failure::Reset.is_keep_alive_race());
        assert!(
            !Failure::InvalidResponse("invalid HTTP version parsed".into()).is_keep_alive_race()
        );
        assert!(!Failure::Timeout.is_keep_alive_race());
    }
}
