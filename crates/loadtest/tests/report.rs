//! The text report: a first line Python reads, the status codes, the latency in full, and no
//! latency claimed for a backend that answered nothing.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::{Answer, OK_FROM_1, RawServer, json, loadtest};

const UNNAMED: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
const UNAVAILABLE: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// What Python's `ast.literal_eval` makes of `line`, printed back by Python.
fn python_literal(line: &str) -> String {
    let mut py = Command::new("python3")
        .args([
            "-c",
            "import ast,sys; print(ast.literal_eval(sys.stdin.readline()))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    py.stdin.take().unwrap().write_all(line.as_bytes()).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_first_line_is_a_python_dict() {
    let server = RawServer::start(Answer::Bytes(UNNAMED));
    let out = loadtest(&[&server.url, "-n", "6", "-c", "2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap();
    assert_eq!(first, "{'unknown': 6}");
    assert_eq!(python_literal(first), "{'unknown': 6}");
    let server = RawServer::cycling(vec![Answer::Bytes(OK_FROM_1), Answer::Bytes(UNNAMED)]);
    let out = loadtest(&[&server.url, "-n", "4", "-c", "1", "--backends", "2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        python_literal(text.lines().next().unwrap()),
        "{1: 2, 2: 0, 'unknown': 2}"
    );
}

#[test]
fn statuses_and_full_latency_are_shown_and_a_silent_backend_has_none() {
    let server = RawServer::cycling(vec![Answer::Bytes(OK_FROM_1), Answer::Bytes(UNAVAILABLE)]);
    let args = [&server.url[..], "-n", "10", "-c", "1", "--backends", "2"];
    let out = loadtest(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\nstatus   200: 5, 503: 5\n"), "{text}");
    let latency = text.lines().find(|l| l.starts_with("latency")).unwrap();
    for part in ["min ", "mean ", "p95 ", "p99.9 ", "max "] {
        assert!(latency.contains(part), "{latency}");
    }
    let silent = text.lines().find(|l| l.starts_with("2 ")).unwrap();
    let cells: Vec<&str> = silent.split_whitespace().collect();
    assert_eq!(cells, ["2", "0", "0.0%", "-", "-", "-", "-"], "{silent}");
    let v = json(&loadtest(&[&args[..], &["--json"]].concat()));
    assert_eq!(v["status_codes"]["200"], 5, "{v}");
    assert_eq!(v["status_codes"]["503"], 5, "{v}");
    for q in ["min", "p95", "p999"] {
        assert!(v["latency_ms"][q].as_f64().unwrap() > 0.0, "{q}: {v}");
    }
}
