//! Expectations the run could only get wrong are refused before it; answers that name no backend
//! cannot pass an expectation.

use crate::support::{Answer, RawServer, loadtest};

#[test]
fn expectations_about_backends_that_do_not_exist_are_refused_up_front() {
    let server = RawServer::start(Answer::Bytes(crate::support::OK_FROM_1));
    for (spec, needle) in [
        ("max-share:9=10%", "backend 9 does not exist"),
        ("min-share:4=10%", "backend 4 does not exist"),
        ("uniform:1,2", "2 weights for 3 backends"),
        ("round-robin:1,2", "2 weights for 3 backends"),
        ("backends=9", "9 backends cannot answer"),
    ] {
        let out = loadtest(&[&server.url, "--backends", "3", "--expect", spec, "-n", "5"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{spec}: {err}");
        assert!(err.contains(needle), "{spec}: {err}");
        assert_eq!(err.lines().count(), 1, "{spec}: {err}");
    }
    assert_eq!(server.accepted(), 0, "nothing was sent");
}

#[test]
fn answers_that_name_no_backend_are_not_attributed() {
    let server = RawServer::start(Answer::Bytes(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    ));
    for spec in ["one", "backends=1"] {
        let out = loadtest(&[&server.url, "--expect", spec, "-n", "5", "-c", "1"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{spec}: {text}");
        assert!(
            text.contains(&format!(
                "expect {spec}: FAIL: the answers could not be attributed"
            )),
            "{spec}: {text}"
        );
    }
    let out = loadtest(&[
        &server.url,
        "--expect",
        "sticky",
        "-n",
        "6",
        "-c",
        "2",
        "--source-ip",
        "127.0.0.2",
        "--source-ip",
        "127.0.0.3",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("could not be attributed"), "{text}");
}
