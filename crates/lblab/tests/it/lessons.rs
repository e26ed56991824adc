//! The recipes of docs/methods.md's "Scenarios that teach", run as written, each with the outcome
//! the page says it shows: the same load against a backend killed (SIGKILL), hung (SIGSTOP) and
//! slow (a delay). A dead backend refuses at once and nginx sends the request to the next one
//! (`proxy_next_upstream`): nothing fails and nothing waits. A hung one accepts and never answers,
//! so the requests it holds wait out `proxy_read_timeout` (2 s) before they are sent elsewhere:
//! nothing fails, but some wait 2 s. A slow one answers every request late, and round-robin still
//! gives it its third while least-conn steers around it.

use crate::common::*;

fn max_ms(v: &serde_json::Value) -> f64 {
    v["latency_ms"]["max"].as_f64().unwrap()
}

#[test]
fn sigkill_fails_over_at_once_sigstop_stalls_for_the_read_timeout_a_slow_backend_only_slows() {
    let load = ["-d", "3s", "-c", "20"];
    let run = |extra: &[&str]| {
        let mut args = load.to_vec();
        args.extend_from_slice(extra);
        assert_passed(&args)
    };
    let killed = run(&["--fault", "kill:2@1s"]);
    assert_eq!(killed["errors"], 0, "{}", killed["errors_by_kind"]);
    assert!(
        max_ms(&killed) < 1000.0,
        "a killed backend refuses at once, yet a request waited {} ms",
        max_ms(&killed)
    );

    let hung = run(&["--fault", "pause:2@500ms+2500ms"]);
    assert_eq!(hung["errors"], 0, "{}", hung["errors_by_kind"]);
    assert!(
        max_ms(&hung) >= 2000.0 && max_ms(&hung) < 3500.0,
        "a hung backend's requests wait out the 2 s read timeout, then go elsewhere: the longest waited {} ms",
        max_ms(&hung)
    );

    let slow = run(&["--delay", "2=300"]);
    assert_eq!(slow["errors"], 0);
    let b2 = &slow["backends"]["2"];
    assert!(b2["latency_ms"]["p50"].as_f64().unwrap() >= 300.0, "{b2}");
    let share = b2["share"].as_f64().unwrap();
    let slow_lc = run(&["--delay", "2=300", "--method", "least-conn"]);
    let share_lc = slow_lc["backends"]["2"]["share"].as_f64().unwrap();
    assert!(
        share_lc < share / 2.0,
        "least-conn gave the slow backend {share_lc}, round-robin {share}"
    );
    assert_eq!(slow_lc["theory"]["kind"], "direction");
    assert_eq!(slow_lc["theory"]["fits"], true, "{}", slow_lc["theory"]);
}
