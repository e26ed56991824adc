//! A concurrency beyond the open-files limit is refused up front, naming the limit.

mod support;

use std::process::Command;

use support::{Answer, OK_FROM_1, RawServer};

/// `loadtest ARGS` with the open-files limit (soft and hard) lowered to `limit`.
fn loadtest_limited(limit: u64, args: &[&str]) -> std::process::Output {
    Command::new("prlimit")
        .arg(format!("--nofile={limit}:{limit}"))
        .arg(env!("CARGO_BIN_EXE_loadtest"))
        .args(args)
        .output()
        .expect("prlimit (util-linux) runs")
}

#[test]
fn a_concurrency_the_limit_cannot_hold_is_refused_naming_the_limit() {
    let server = RawServer::start(Answer::Bytes(OK_FROM_1));
    let out = loadtest_limited(256, &[&server.url, "-c", "1000", "-n", "1000", "-t", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("-c 1000 needs about 1068 open files, but the open-files limit is 256")
            && err.contains("ulimit -n")
            && err.contains("-c 188 at most"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(server.accepted(), 0, "nothing was sent");
    // Within the same limit the run goes ahead.
    let out = loadtest_limited(256, &[&server.url, "-c", "100", "-n", "200", "-t", "2"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}
