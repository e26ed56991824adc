//! Ctrl-C ends a run with the report of what was done so far.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Answer, OK_FROM_1, RawServer};

#[test]
fn sigint_prints_the_report_so_far_and_exits_130() {
    let server = RawServer::start(Answer::Bytes(OK_FROM_1));
    let child = Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args([&server.url, "-d", "10s", "-c", "2", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let sent = Instant::now();
    // SAFETY: kill only sends a signal to the child this test started.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?} after SIGINT");
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    let v = crate::support::json(&out);
    assert_eq!(v["interrupted"], true, "{v}");
    assert!(v["ok"].as_u64().unwrap() > 0, "{v}");
    assert!(v["elapsed_s"].as_f64().unwrap() < 3.0, "{v}");
    // What Ctrl-C cut off did not fail: an answering target passes.
    assert_eq!(v["errors"], 0, "{v}");
    assert_eq!(v["passed"], true, "{v}");
}
