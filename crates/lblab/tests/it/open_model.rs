//! `--rate`: a backend that stalls once for 1 s shows in the open model's p99, and the closed model
//! at the same concurrency hides it (coordinated omission).

use crate::common::*;
use serde_json::Value;

fn ms(v: &Value, q: &str) -> f64 {
    v["latency_ms"][q].as_f64().unwrap()
}

#[test]
fn a_one_second_stall_is_in_the_open_models_p99_and_hidden_by_the_closed_model() {
    // Backend 2 is stopped (SIGSTOP) from 2 s to 3 s; nginx waits for it (read timeout 2 s), so
    // every request sent to it in that second waits until it is continued.
    let stall = ["--fault", "pause:2@2s+1s"];
    let open = assert_passed(&[&["-d", "5s", "-c", "10", "--rate", "600"][..], &stall].concat());
    let closed = assert_passed(&[&["-d", "5s", "-c", "10"][..], &stall].concat());
    for v in [&open, &closed] {
        assert_eq!(v["errors"], 0);
        // Both saw the stall in their slowest request.
        assert!(ms(v, "max") >= 900.0, "max {}", v["latency_ms"]);
    }

    let s = &open["schedule"];
    assert_eq!(s["rate"], 600.0);
    // Every request due in the 5 s was sent or is reported as never sent.
    assert_eq!(
        open["requests"].as_u64().unwrap() + s["missed"].as_u64().unwrap(),
        3000,
        "{s}"
    );
    // About a second's worth of requests fell due while every connection waited on backend 2.
    assert!(s["late"].as_u64().unwrap() >= 300, "{s}");
    assert!(
        ms(&open, "p99") >= 500.0,
        "open model {}",
        open["latency_ms"]
    );
    assert!(
        ms(&open, "p50") < 100.0,
        "open model {}",
        open["latency_ms"]
    );

    // The closed model stopped asking while its 10 connections waited: 10 slow requests among
    // thousands, under its p99.
    assert!(closed.get("schedule").is_none());
    assert!(
        closed["requests"].as_u64().unwrap() > 2000,
        "{}",
        closed["requests"]
    );
    assert!(
        ms(&closed, "p99") < 200.0,
        "closed model {}",
        closed["latency_ms"]
    );
}

#[test]
fn a_fixed_rate_run_reports_both_latencies_in_its_json_and_its_html() {
    let dir = scratch();
    let html = dir.path().join("rate.html");
    let v = assert_passed(&[
        "--rate",
        "300",
        "-n",
        "300",
        "-c",
        "4",
        "--arrivals",
        "poisson",
        "--seed",
        "9",
        "--html",
        html.to_str().unwrap(),
    ]);
    let due = &v["latency_ms"];
    let sent = &v["service_latency_ms"];
    // No request can be answered before it was sent, and none is sent before it is due.
    assert!(
        due["p50"].as_f64().unwrap() >= sent["p50"].as_f64().unwrap() * 0.99,
        "{v}"
    );
    assert_eq!(v["schedule"]["seed"], 9, "{v}");
    let delivered = v["schedule"]["delivered_rate"].as_f64().unwrap();
    assert!(delivered > 100.0, "{v}");
    let page = std::fs::read_to_string(&html).unwrap();
    let at = page
        .find("<h2>Fixed rate: latency from the due time and from the send</h2>")
        .expect("the fixed-rate table");
    let row = &page[at..];
    assert!(row.contains("<td>300</td>"), "{row:.600}");
    assert!(
        row.contains(&format!("<td>{delivered:.1}</td>")),
        "{row:.600}"
    );
    // A closed-model run has no such table.
    let closed = dir.path().join("closed.html");
    assert_passed(&["-n", "30", "--html", closed.to_str().unwrap()]);
    let page = std::fs::read_to_string(&closed).unwrap();
    assert!(!page.contains("Fixed rate"), "{page:.300}");
}
