//! The lean engine against real servers: nginx (keep-alive and keepalive_requests, chunked bodies,
//! 204 and 304 without a body, a large file, answers attributed by header and by body) and raw
//! TCP servers (HTTP/1.0, Connection: close without a length, a close mid-body or mid-head). Each
//! is counted once, as the right kind, never a hang; and it counts what reqwest counts.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::support::{Answer, Nginx, RawServer, json, loadtest};

const SERVERS: &str = r#"
    gzip on; gzip_min_length 1; gzip_types text/plain;
    server {
        listen 127.0.0.1:{port0};
        keepalive_requests 7;
        location = / { add_header X-Backend-Id 4; return 200 "Hello from Server 4!"; }
        location = /greeting { return 200 "Hello from Server 9!"; }
        location = /chunked { default_type text/plain; add_header X-Backend-Id 5; alias {prefix}/text; }
        location = /none { return 204; }
        location = /unchanged { return 304; }
        location = /large { add_header X-Backend-Id 6; alias {prefix}/large; }
    }
"#;

fn run(engine: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--engine", engine, "--json"];
    all.extend_from_slice(args);
    json(&loadtest(&all))
}

fn counts(v: &serde_json::Value) -> &serde_json::Map<String, serde_json::Value> {
    v["counts"].as_object().unwrap()
}

#[test]
fn against_nginx_both_engines_count_the_same() {
    let nginx = Nginx::start(1, SERVERS);
    std::fs::write(nginx.prefix.path().join("large"), vec![b'x'; 3 << 20]).unwrap();
    // gzip drops the file's length, so nginx sends the compressed body chunked.
    std::fs::write(
        nginx.prefix.path().join("text"),
        "Hello from Server 5! ".repeat(4000),
    )
    .unwrap();
    let cases: [(&str, &[&str], &str); 5] = [
        // keepalive_requests 7: nginx closes every connection after its seventh answer.
        ("/", &[], "4"),
        ("/greeting", &[], "9"),
        ("/chunked", &["-H", "Accept-Encoding: gzip"], "5"),
        ("/large", &[], "6"),
        ("/?q=1", &["-H", "X-Key: k{n%5}"], "4"),
    ];
    for (path, extra, id) in cases {
        let url = nginx.url(0, path);
        let mut args = vec![url.as_str(), "-n", "200", "-c", "8"];
        args.extend_from_slice(extra);
        for engine in ["lean", "reqwest"] {
            let v = run(engine, &args);
            assert_eq!(v["errors"], 0, "{engine} {path}: {v}");
            assert_eq!(
                counts(&v).get(id).and_then(|n| n.as_u64()),
                Some(200),
                "{engine} {path}: {v}"
            );
            assert_eq!(
                v["resent"], 0,
                "{engine} {path}: nginx closes after an answer, not before: {v}"
            );
        }
    }
    // That /chunked really is chunked, seen on the wire.
    let mut wire = std::net::TcpStream::connect(("127.0.0.1", nginx.ports[0])).unwrap();
    wire.write_all(
        b"GET /chunked HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = Vec::new();
    wire.read_to_end(&mut answer).unwrap();
    let head = String::from_utf8_lossy(
        &answer[..answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap()],
    )
    .to_lowercase();
    assert!(
        head.contains("transfer-encoding: chunked"),
        "/chunked is not chunked: {head}"
    );
    for path in ["/none", "/unchanged"] {
        // 204 and 304 are answers without a body: neither has a body to wait for.
        let started = Instant::now();
        let v = run(
            "lean",
            &[
                &nginx.url(0, path),
                "-n",
                "50",
                "-c",
                "5",
                "--timeout",
                "5s",
            ],
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{path} waited for a body"
        );
        assert_eq!(v["errors"], 0, "{v}");
        assert_eq!(
            counts(&v).get("unknown").and_then(|n| n.as_u64()),
            Some(50),
            "{v}"
        );
    }
}

#[test]
fn raw_answers_are_framed_and_failures_named() {
    let http10 = RawServer::start(Answer::Bytes(
        b"HTTP/1.0 200 OK\r\nContent-Length: 20\r\n\r\nHello from Server 3!",
    ));
    let until_close = RawServer::start(Answer::Bytes(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nHello from Server 2!",
    ));
    for (server, id) in [(&http10, "3"), (&until_close, "2")] {
        let v = run("lean", &[&server.url, "-n", "30", "-c", "3"]);
        assert_eq!(v["errors"], 0, "{v}");
        assert_eq!(counts(&v).get(id).and_then(|n| n.as_u64()), Some(30), "{v}");
        assert_eq!(
            server.accepted(),
            30,
            "one connection per answer, since each closes"
        );
    }
    let cases: [(&'static [u8], &str); 3] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b",
            "body error",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            "body error",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Len",
            "invalid response (connection closed in the response head)",
        ),
    ];
    for (answer, kind) in cases {
        let server = RawServer::start(Answer::Bytes(answer));
        let started = Instant::now();
        let v = run(
            "lean",
            &[&server.url, "-n", "10", "-c", "2", "--timeout", "5s"],
        );
        assert!(started.elapsed() < Duration::from_secs(4), "{kind}: a hang");
        assert_eq!(v["errors_by_kind"][kind], 10, "{v}");
        assert_eq!(
            server.accepted(),
            10,
            "{kind}: each request once, never resent: {v}"
        );
    }
}

#[test]
fn a_hung_answer_is_a_timeout_each_time_and_the_next_request_is_timed_afresh() {
    let server = RawServer::start(Answer::Never);
    let started = Instant::now();
    let v = run(
        "lean",
        &[&server.url, "-n", "3", "-c", "1", "--timeout", "300ms"],
    );
    let took = started.elapsed();
    assert_eq!(v["errors_by_kind"]["timeout"], 3, "{v}");
    // One connection's timer, moved on per request: three timeouts, not one, nor a hang.
    assert!(
        took >= Duration::from_millis(850) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(
        server.accepted(),
        3,
        "a timed-out connection is not used again"
    );
}
