//! A run with a duration ends at it, whatever the target does.

mod support;

use std::time::{Duration, Instant};

use support::{Answer, RawServer, json, loadtest};

#[test]
fn a_hung_target_does_not_hold_a_timed_run_past_its_duration() {
    let server = RawServer::start(Answer::Never);
    let started = Instant::now();
    let out = loadtest(&[
        &server.url,
        "-d",
        "1s",
        "-c",
        "5",
        "--timeout",
        "10s",
        "--json",
    ]);
    let took = started.elapsed();
    // 1 s of sending and half a second of drain; far from the 10 s timeout.
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let v = json(&out);
    assert_eq!(v["unanswered"], 5, "{v}");
    assert_eq!(v["requests"], 0, "{v}");
    assert_eq!(v["interrupted"], false, "{v}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "unanswered requests fail the run"
    );
}
