//! An answer that is not HTTP is reported as such and never sent again.

use crate::support::{Answer, RawServer, json, loadtest};

#[test]
fn an_answer_that_does_not_parse_is_an_invalid_response_sent_once() {
    for (answer, reason) in [
        (&b"SSH-2.0-OpenSSH_9.6\r\n"[..], "version"),
        (b"HTTP/1.1 abc\r\n\r\n", "status"),
    ] {
        let server = RawServer::start(Answer::Bytes(answer));
        let out = loadtest(&[&server.url, "-n", "20", "-c", "4", "--json"]);
        let v = json(&out);
        let kinds = v["errors_by_kind"].as_object().unwrap();
        assert_eq!(kinds.len(), 1, "{kinds:?}");
        let (kind, n) = kinds.iter().next().unwrap();
        assert!(
            kind.starts_with("invalid response (") && kind.contains(reason),
            "{kind}"
        );
        assert_eq!(n, 20);
        assert_eq!(v["resent"], 0);
        assert_eq!(
            server.accepted(),
            20,
            "each request reached the server once"
        );
        assert_eq!(out.status.code(), Some(1));
    }
}
