//! `--rate` against a real `lblab-backend`: both latencies, from when each request was due and from
//! when it was sent; a stall seen in the first and not in the second; the delivered rate; Poisson
//! arrivals and their seed.

use std::time::Duration;

use crate::support::{Backend, json, loadtest};

#[test]
fn a_stalled_backend_shows_in_the_due_time_p99_and_not_in_the_send_time_p99() {
    let backend = Backend::start(1, &[]);
    let url = backend.url();
    let pid = backend.pid();
    // Stopped from 1 s to 2 s of a 4 s run at 200 requests per second on 2 connections: about 200
    // requests fall due during the stall (a quarter of the run, timed from when they were due),
    // while only the 2 in flight when it began wait on the backend itself.
    let pauser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        // SAFETY: kill(2) on a child of this test.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        std::thread::sleep(Duration::from_secs(1));
        unsafe { libc::kill(pid, libc::SIGCONT) };
    });
    let out = loadtest(&[&url, "--rate", "200", "-d", "4s", "-c", "2", "--json"]);
    pauser.join().unwrap();
    let r = json(&out);
    assert_eq!(out.status.code(), Some(0), "{r}");
    let due = &r["latency_ms"];
    let sent = &r["service_latency_ms"];
    let ms = |v: &serde_json::Value| v.as_f64().unwrap();
    assert!(
        ms(&due["p99"]) >= 500.0,
        "due-time p99 hides the stall: {r}"
    );
    assert!(
        ms(&sent["p99"]) < 200.0,
        "send-time p99 shows the stall: {r}"
    );
    // The stall is in both maxima: the requests in flight when it began waited on the backend.
    assert!(ms(&due["max"]) >= 900.0 && ms(&sent["max"]) >= 500.0, "{r}");
    // Per backend, the same two latencies.
    assert!(
        ms(&r["backends"]["1"]["service_latency_ms"]["p99"]) < 200.0,
        "{r}"
    );
    let sch = &r["schedule"];
    assert_eq!(sch["rate"], 200.0, "{r}");
    assert_eq!(sch["arrivals"], "uniform", "{r}");
    assert!(sch["late"].as_u64().unwrap() >= 100, "{r}");
    // The backlog went out once the backend resumed, so the delivered rate is about the one asked.
    let delivered = ms(&sch["delivered_rate"]);
    assert!((150.0..=260.0).contains(&delivered), "{r}");
    let text_out = loadtest(&[&url, "--rate", "100", "-n", "20", "-c", "2"]);
    let text = String::from_utf8_lossy(&text_out.stdout);
    assert!(
        text.contains("ms (answered requests, from when each was due)"),
        "{text}"
    );
    assert!(text.contains("\nservice  min "), "{text}");
    assert!(text.contains("delivered "), "{text}");
    assert!(
        text.contains("req/s of 100 requested (uniform arrivals)"),
        "{text}"
    );
}

#[test]
fn poisson_arrivals_report_their_seed_and_are_refused_without_a_rate() {
    let backend = Backend::start(1, &[]);
    let url = backend.url();
    let out = loadtest(&[
        &url,
        "--rate",
        "400",
        "-n",
        "200",
        "-c",
        "4",
        "--arrivals",
        "poisson",
        "--seed",
        "12345",
        "--json",
    ]);
    let r = json(&out);
    assert_eq!(out.status.code(), Some(0), "{r}");
    assert_eq!(r["schedule"]["arrivals"], "poisson", "{r}");
    assert_eq!(r["schedule"]["seed"], 12345, "{r}");
    assert_eq!(r["ok"], 200, "{r}");
    // No seed: a fresh one, reported so that the run can be repeated.
    let out = loadtest(&[
        &url,
        "--rate",
        "400",
        "-n",
        "20",
        "--arrivals",
        "poisson",
        "--json",
    ]);
    assert!(json(&out)["schedule"]["seed"].is_u64());
    for (args, needle) in [
        (
            vec!["--arrivals", "poisson"],
            "--arrivals poisson needs --rate R",
        ),
        (
            vec!["--rate", "10", "--seed", "3"],
            "--seed seeds drawn arrivals only",
        ),
        (vec!["--arrivals", "bursty"], "bursty"),
    ] {
        let mut all = vec![url.as_str(), "-n", "5"];
        all.extend(args);
        let out = loadtest(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
