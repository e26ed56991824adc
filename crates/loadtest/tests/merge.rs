//! `loadtest merge` of real runs' `--json` reports: counts summed, percentiles exactly those of the
//! histograms added together (decoded here, independently of the binary), expectations judged on
//! the whole, and files that cannot be merged refused in one line.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use serde_json::Value;

use crate::support::{Backend, json, loadtest};

fn histogram(text: &Value) -> Histogram<u64> {
    let bytes = STANDARD.decode(text.as_str().unwrap()).unwrap();
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .unwrap()
}

/// Milliseconds as the report writes them, back to the histogram's whole microseconds.
fn us(v: &Value) -> u64 {
    (v.as_f64().unwrap() * 1000.0).round() as u64
}

fn assert_percentiles_of(latency: &Value, h: &Histogram<u64>) {
    for (field, q) in [
        ("p50", 0.5),
        ("p90", 0.9),
        ("p95", 0.95),
        ("p99", 0.99),
        ("p999", 0.999),
    ] {
        assert_eq!(
            us(&latency[field]),
            h.value_at_quantile(q),
            "{field}: {latency}"
        );
    }
    assert_eq!(us(&latency["max"]), h.max(), "{latency}");
    assert_eq!(us(&latency["min"]), h.min(), "{latency}");
}

fn write(dir: &Path, name: &str, v: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, v.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn two_real_runs_merge_into_the_counts_summed_and_the_percentiles_of_all_their_samples() {
    let fast = Backend::start(1, &["--delay", "1-4"]);
    let slow = Backend::start(2, &["--delay", "5-25"]);
    let dir = tempfile::tempdir().unwrap();
    let a = json(&loadtest(&[
        &fast.url(),
        "--rate",
        "400",
        "-n",
        "400",
        "-c",
        "8",
        "--json",
        "--expect",
        "one",
    ]));
    let b = json(&loadtest(&[
        &slow.url(),
        "--rate",
        "300",
        "-n",
        "300",
        "-c",
        "8",
        "--json",
        "--expect",
        "one",
    ]));
    assert_eq!(
        (a["passed"].clone(), b["passed"].clone()),
        (true.into(), true.into())
    );
    let (fa, fb) = (
        write(dir.path(), "a.json", &a),
        write(dir.path(), "b.json", &b),
    );

    // The expected histograms, built here from the two reports' own.
    let mut all = histogram(&a["histograms"]["latency"]);
    all.add(histogram(&b["histograms"]["latency"])).unwrap();
    let mut sent = histogram(&a["histograms"]["service_latency"]);
    sent.add(histogram(&b["histograms"]["service_latency"]))
        .unwrap();
    assert_eq!(all.len(), 700);

    let out = loadtest(&["merge", &fa, &fb, "--json", "--expect", "backends=2"]);
    let m = json(&out);
    assert_eq!(out.status.code(), Some(0), "{m}");
    assert_eq!(m["requests"], 700);
    assert_eq!(m["ok"], 700);
    assert_eq!(m["counts"]["1"], 400);
    assert_eq!(m["counts"]["2"], 300);
    assert_percentiles_of(&m["latency_ms"], &all);
    assert_percentiles_of(&m["service_latency_ms"], &sent);
    // Per backend, each merged histogram is that file's own.
    assert_percentiles_of(
        &m["backends"]["2"]["latency_ms"],
        &histogram(&b["histograms"]["backends"]["2"]),
    );
    assert_eq!(histogram(&m["histograms"]["latency"]), all);
    let rate = |v: &Value| v["schedule"]["rate"].as_f64().unwrap();
    assert_eq!(rate(&m), 700.0);
    let sources = m["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[1]["file"], fb.as_str());
    assert_eq!(sources[1]["counts"]["2"], 300);
    assert_eq!(m["expectations"][0]["expect"], "backends=2");

    // Without --expect, the files' own expectations are judged again on the whole: each client
    // saw one backend, the whole saw two.
    let out = loadtest(&["merge", &fa, &fb]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("expect one: FAIL: expected every answer from one backend, got 2"),
        "{text}"
    );
    assert!(
        text.contains(&format!("from     {fa}: requests 400  ok 400  errors 0")),
        "{text}"
    );
    assert!(text.contains("{1: 400, 2: 300}"), "{text}");

    // A merge of merges is the same merge.
    let fm = write(dir.path(), "m.json", &m);
    let again = json(&loadtest(&["merge", &fm, "--json"]));
    assert_eq!(again["latency_ms"], m["latency_ms"]);
}

#[test]
fn files_that_cannot_be_merged_are_named_in_one_line() {
    let backend = Backend::start(1, &[]);
    let dir = tempfile::tempdir().unwrap();
    let good = json(&loadtest(&[
        &backend.url(),
        "-n",
        "50",
        "-c",
        "5",
        "--json",
    ]));
    let fgood = write(dir.path(), "good.json", &good);
    let mut no_histograms = good.clone();
    no_histograms.as_object_mut().unwrap().remove("histograms");
    let mut miscounted = good.clone();
    miscounted["counts"]["1"] = 49.into();
    let mut garbled = good.clone();
    garbled["histograms"]["latency"] = "%%%".into();
    std::fs::write(dir.path().join("text.json"), "not json").unwrap();
    for (name, needle) in [
        (
            write(dir.path(), "none.json", &no_histograms),
            "has no histograms",
        ),
        (
            write(dir.path(), "miscounted.json", &miscounted),
            "histograms.backends.1 holds 50 samples, but counts says 49",
        ),
        (
            write(dir.path(), "garbled.json", &garbled),
            "histograms.latency is not base64",
        ),
        (
            dir.path().join("text.json").to_str().unwrap().to_string(),
            "is not a loadtest --json report",
        ),
        (
            dir.path().join("absent.json").to_str().unwrap().to_string(),
            "cannot be read",
        ),
    ] {
        let out = loadtest(&["merge", &fgood, &name]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.starts_with(&format!("loadtest merge: {name}: ")),
            "{err}"
        );
        assert!(err.contains(needle), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(out.stdout.is_empty());
    }
    // No file, or a threshold that cannot be read: one line, exit 2, as a run's refusals.
    for args in [
        vec!["merge"],
        vec!["merge", fgood.as_str(), "--expect", "p99<5"],
    ] {
        let out = loadtest(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
