//! A reader that stops reading (`loadtest … | true`, `| head -1`) ends the output quietly: no
//! panic, no exit 101, the run's own exit status.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::support::{Answer, KeepAliveServer, OK_FROM_1, RawServer};

/// Runs loadtest with `args`, its stdout a pipe of which the test reads `keep` bytes, then closes.
fn with_reader_gone(args: &[&str], keep: usize) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut read = vec![0; keep];
    stdout.read_exact(&mut read).unwrap();
    drop(stdout);
    child.wait_with_output().unwrap()
}

fn assert_quiet(out: &Output, code: i32, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_eq!(
        err, "",
        "{what}: nothing to say about a reader that has gone"
    );
    assert_eq!(out.status.code(), Some(code), "{what}: {err}");
}

#[test]
fn a_closed_stdout_ends_the_report_quietly_with_the_runs_exit_status() {
    // `| true`: the reader is gone before the report, which waits for a slow answer.
    let slow = RawServer::start(Answer::After(Duration::from_millis(300), OK_FROM_1));
    for format in [&[][..], &["--json"][..]] {
        let mut args = vec![&slow.url[..], "-n", "2", "-c", "2"];
        args.extend_from_slice(format);
        assert_quiet(&with_reader_gone(&args, 0), 0, &format!("{format:?}"));
        // A failed run keeps its status 1.
        args.extend_from_slice(&["--expect", "backends=2"]);
        assert_quiet(&with_reader_gone(&args, 0), 1, &format!("{format:?}"));
    }
    // `| head -c 100`: a report far longer than the pipe holds (a client per request), of which
    // the reader takes the start.
    let server = KeepAliveServer::start(
        b"HTTP/1.1 200 OK\r\nX-Backend-Id: 1\r\nContent-Length: 2\r\n\r\nok",
        None,
    );
    let args = [
        &server.url[..],
        "-n",
        "6000",
        "-c",
        "4",
        "-H",
        "X-Key: k{n}",
        "--json",
    ];
    assert_quiet(
        &with_reader_gone(&args, 100),
        0,
        "the start of a long report",
    );
    // Help printed by the argument parser.
    assert_quiet(&with_reader_gone(&["--help"], 10), 0, "--help");
}
