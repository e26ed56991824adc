//! Latency and req/s are of answered requests; failures have their own count and rate.

use std::time::Duration;

use crate::support::{Answer, OK_FROM_1, RawServer, json, loadtest, refusing_url};

#[test]
fn refused_requests_have_an_error_rate_and_no_answered_rate() {
    let v = json(&loadtest(&[
        &refusing_url(),
        "-n",
        "20",
        "-c",
        "5",
        "--json",
    ]));
    assert_eq!(v["errors"], 20);
    assert_eq!(v["rps"], 0.0, "{v}");
    assert!(v["errors_per_s"].as_f64().unwrap() > 0.0, "{v}");
    assert_eq!(v["latency_ms"]["p50"], 0.0, "{v}");
}

#[test]
fn percentiles_leave_out_the_failures() {
    // Every other connection is answered after 300 ms; the rest fail at once.
    let server = RawServer::cycling(vec![
        Answer::After(Duration::from_millis(300), OK_FROM_1),
        Answer::Bytes(b"SSH-2.0-x\r\n"),
    ]);
    let v = json(&loadtest(&[
        &server.url,
        "-n",
        "20",
        "-c",
        "20",
        "--no-keep-alive",
        "--json",
    ]));
    assert_eq!(v["ok"], 10, "{v}");
    assert_eq!(v["errors"], 10, "{v}");
    let l = &v["latency_ms"];
    for q in ["p50", "mean"] {
        assert!(l[q].as_f64().unwrap() >= 290.0, "{q}: {l}");
    }
    let elapsed = v["elapsed_s"].as_f64().unwrap();
    let rps = v["rps"].as_f64().unwrap();
    assert!((rps - 10.0 / elapsed).abs() < 0.01, "{v}");
}
