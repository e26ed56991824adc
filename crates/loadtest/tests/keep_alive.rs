//! Connections kept alive, or not: a client that sent `Connection: close` sends nothing more on
//! that connection, whatever the server does; and after the keep-alive race (the server closed an
//! idle connection as the next request went out on it) the request is sent again by both engines,
//! whatever the status of the answers the connection carried before.

use crate::support::{KeepAliveServer, OK_KEPT_ALIVE, json, loadtest};

#[test]
fn no_keep_alive_opens_a_connection_per_request_even_when_the_server_keeps_it() {
    for engine in ["lean", "reqwest"] {
        // The server ignores `Connection: close` and keeps every connection open.
        let server = KeepAliveServer::start(OK_KEPT_ALIVE, None);
        let v = json(&loadtest(&[
            &server.url,
            "-n",
            "100",
            "-c",
            "1",
            "--no-keep-alive",
            "--engine",
            engine,
            "--json",
        ]));
        assert_eq!(v["ok"], 100, "{engine}: {v}");
        assert_eq!(v["resent"], 0, "{engine}: {v}");
        assert_eq!(server.answered(), 100, "{engine}");
        assert_eq!(
            server.connections(),
            100,
            "{engine}: one connection per request"
        );
    }
    // With keep-alive the same server carries them all on one.
    let server = KeepAliveServer::start(OK_KEPT_ALIVE, None);
    let v = json(&loadtest(&[&server.url, "-n", "100", "-c", "1", "--json"]));
    assert_eq!(v["ok"], 100, "{v}");
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_connection_that_only_saw_errors_is_resent_on_after_the_race() {
    let not_found: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found";
    let not_modified: &[u8] = b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n";
    for (answer, status, args) in [
        (not_found, "404", &["--ok-status", "2xx,3xx"][..]),
        (not_modified, "304", &["--ok-status", "2xx"][..]),
        (OK_KEPT_ALIVE, "200", &[][..]),
    ] {
        for engine in ["lean", "reqwest"] {
            // Each connection answers one request, then closes when the next arrives, unanswered.
            let server = KeepAliveServer::start(answer, Some(1));
            let mut all = vec![&server.url[..], "-n", "20", "-c", "1", "--engine", engine];
            all.extend_from_slice(args);
            all.push("--json");
            let v = json(&loadtest(&all));
            let what = format!("{engine}, answers {status}: {v}");
            // Every request after the first met a closed connection first and was sent again.
            assert_eq!(v["resent"], 19, "{what}");
            assert_eq!(v["requests"], 20, "{what}");
            assert_eq!(v["status_codes"][status], 20, "{what}");
            assert!(
                v["errors_by_kind"]["connection closed"].is_null()
                    && v["errors_by_kind"]["connection reset"].is_null(),
                "{what}"
            );
            assert_eq!(server.answered(), 20, "{what}");
            assert_eq!(server.connections(), 20, "{what}");
        }
    }
}
