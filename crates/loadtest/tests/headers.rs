//! Both engines send the same request: a header given with -H replaces the engine's own (Host,
//! Accept, Connection), and the URL's user and password become `Authorization: Basic`. Seen on
//! the wire by a raw TCP server, and by a real nginx, which refuses a request with two Host headers.

use crate::support::{KeepAliveServer, Nginx, OK_KEPT_ALIVE, json, loadtest};

/// The header lines of a request head, names in lower case, sorted: what the server saw, in an
/// order the engines need not share.
fn header_lines(head: &str) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = head
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap_or((l, ""));
            (name.trim().to_lowercase(), value.trim().to_string())
        })
        .collect();
    lines.sort();
    lines
}

fn named<'a>(lines: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

type Sent = (String, Vec<(String, String)>);

/// The one request each engine sends to one server for the URL's `userinfo` and `args`: lean's,
/// then reqwest's, as the request line and the header lines.
fn sent(userinfo: &str, args: &[&str]) -> (Sent, Sent) {
    let server = KeepAliveServer::start(OK_KEPT_ALIVE, None);
    let url = server.url.replace("http://", &format!("http://{userinfo}"));
    for engine in ["lean", "reqwest"] {
        let mut all = vec![
            url.as_str(),
            "-n",
            "1",
            "-c",
            "1",
            "--engine",
            engine,
            "--json",
        ];
        all.extend_from_slice(args);
        let v = json(&loadtest(&all));
        assert_eq!(v["ok"], 1, "{engine} {args:?}: {v}");
    }
    let heads = server.heads();
    assert_eq!(heads.len(), 2, "{args:?}: {heads:?}");
    let parsed: Vec<Sent> = heads
        .iter()
        .map(|h| (h.lines().next().unwrap().to_string(), header_lines(h)))
        .collect();
    (parsed[0].clone(), parsed[1].clone())
}

#[test]
fn a_given_header_replaces_the_engines_own_in_both_engines() {
    let args = [
        "-H",
        "Host: lab.example",
        "-H",
        "accept: text/plain",
        "-H",
        "X-Twice: 1",
        "-H",
        "X-Twice: 2",
        "-H",
        "X-Seq: {n}",
    ];
    let (lean, reqwest) = sent("", &args);
    assert_eq!(lean, reqwest, "the engines sent different requests");
    let (line, headers) = lean;
    assert_eq!(line, "GET / HTTP/1.1");
    assert_eq!(named(&headers, "host"), ["lab.example"], "{headers:?}");
    assert_eq!(named(&headers, "accept"), ["text/plain"], "{headers:?}");
    assert_eq!(named(&headers, "x-twice"), ["1", "2"], "{headers:?}");
    assert_eq!(named(&headers, "x-seq"), ["0"], "{headers:?}");
    // Nothing but what was given and the engine's own Host and Accept, which were replaced.
    assert_eq!(headers.len(), 5, "{headers:?}");

    // --no-keep-alive's Connection: close is the engine's own too.
    let (lean, reqwest) = sent("", &["--no-keep-alive", "-H", "Connection: keep-alive"]);
    assert_eq!(lean, reqwest);
    assert_eq!(named(&lean.1, "connection"), ["keep-alive"], "{lean:?}");
    let (lean, reqwest) = sent("", &["--no-keep-alive"]);
    assert_eq!(lean, reqwest);
    assert_eq!(named(&lean.1, "connection"), ["close"], "{lean:?}");
}

#[test]
fn credentials_in_the_url_are_sent_as_basic_auth_by_both_engines() {
    let (lean, reqwest) = sent("user:pa%20ss@", &[]);
    assert_eq!(lean, reqwest, "the engines sent different requests");
    // base64("user:pa ss"); the credentials are never in the request line or the Host.
    assert_eq!(
        named(&lean.1, "authorization"),
        ["Basic dXNlcjpwYSBzcw=="],
        "{lean:?}"
    );
    assert_eq!(lean.0, "GET / HTTP/1.1");
    assert!(!named(&lean.1, "host")[0].contains('@'), "{lean:?}");
    // An Authorization given with -H replaces the URL's, as any given header replaces the engine's.
    let args = ["-H", "Authorization: Bearer t0ken"];
    let (lean, reqwest) = sent("user:pass@", &args);
    assert_eq!(lean, reqwest);
    assert_eq!(
        named(&lean.1, "authorization"),
        ["Bearer t0ken"],
        "{lean:?}"
    );
}

#[test]
fn nginx_answers_a_given_host_from_both_engines() {
    // nginx refuses a request with two Host headers with 400; the lean engine sent its own and
    // the given one.
    let nginx = Nginx::start(
        1,
        r#"
        server {
            listen 127.0.0.1:{port0} default_server;
            return 404;
        }
        server {
            listen 127.0.0.1:{port0};
            server_name lab.example;
            location = / { add_header X-Backend-Id 7; return 200 "lab\n"; }
        }
        "#,
    );
    for engine in ["lean", "reqwest"] {
        let v = json(&loadtest(&[
            &nginx.url(0, "/"),
            "-n",
            "40",
            "-c",
            "4",
            "-H",
            "Host: lab.example",
            "--engine",
            engine,
            "--json",
        ]));
        assert_eq!(v["errors"], 0, "{engine}: {v}");
        assert_eq!(v["counts"]["7"], 40, "{engine}: {v}");
    }
}
