//! `--expect` thresholds against real `lblab-backend`s: a slow backend fails a latency bound and
//! passes a looser one, each verdict printed with the value measured; errors and rates; one
//! backend's latency judged apart from the other's behind a real nginx; bad thresholds refused.

use crate::support::{Backend, Nginx, json, loadtest, refusing_url};

/// The number after `label` in `text` (e.g. the `23.41` of `p50 was 23.41 ms`).
fn number_after(text: &str, label: &str) -> f64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no '{label}' in {text}"));
    let rest = &text[at + label.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().unwrap()
}

#[test]
fn a_latency_threshold_fails_with_the_value_measured_and_a_looser_one_passes() {
    let slow = Backend::start(1, &["--delay", "20"]);
    let url = slow.url();
    let out = loadtest(&[
        &url, "-n", "40", "-c", "4", "--expect", "p50<5ms", "--expect", "p99<10s",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("expect p50<5ms: FAIL: p50 was "), "{text}");
    let p50 = number_after(&text, "p50 was ");
    assert!((20.0..1000.0).contains(&p50), "{text}");
    assert!(text.contains("(limit 5ms)"), "{text}");
    assert!(text.contains("expect p99<10s: PASS: p99 was "), "{text}");

    let out = loadtest(&[
        &url, "-n", "40", "-c", "4", "--expect", "p50<1.5s", "--expect", "max<10s", "--expect",
        "errors=0", "--expect", "rps>1", "--json",
    ]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let verdicts = report["expectations"].as_array().unwrap();
    assert_eq!(verdicts.len(), 4, "{report}");
    assert!(verdicts.iter().all(|v| v["ok"] == true), "{report}");
    assert!(
        verdicts[3]["message"]
            .as_str()
            .unwrap()
            .starts_with("rps was "),
        "{report}"
    );
    // rps above what 4 connections to a 20 ms backend can answer fails.
    let out = loadtest(&[&url, "-n", "20", "-c", "4", "--expect", "rps>100000"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("expect rps>100000: FAIL: rps was "), "{text}");
}

/// Ten requests, two at a time, to `url` with `flags`: the exit code and what was printed.
fn ten_to(url: &str, flags: &[&str]) -> (Option<i32>, String) {
    let mut args = vec![url, "-n", "10", "-c", "2"];
    args.extend_from_slice(flags);
    let out = loadtest(&args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn error_thresholds_judge_the_failed_requests() {
    let url = refusing_url();
    for spec in ["errors=0", "errors<1%", "errors<3"] {
        let (code, text) = ten_to(&url, &["--max-errors", "100%", "--expect", spec]);
        assert_eq!(code, Some(1), "{spec}: {text}");
        let verdict = format!("expect {spec}: FAIL: errors were 10 of 10 sent (100.00%)");
        assert!(text.contains(&verdict), "{spec}: {text}");
    }
    // --max-errors lets them through; a threshold that allows them all passes too.
    let (code, text) = ten_to(&url, &["--max-errors", "100%", "--expect", "errors<11"]);
    assert_eq!(code, Some(0), "{text}");
    // An errors threshold alone judges the failures: --max-errors then has no limit of its own,
    // unless it is given, when both judge.
    let (code, text) = ten_to(&url, &["--expect", "errors<11"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("more than --max-errors allows"), "{text}");
    let (code, text) = ten_to(&url, &["--max-errors", "0", "--expect", "errors<11"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("more than --max-errors allows"), "{text}");
    // Without an errors threshold, the default is still none.
    let (code, text) = ten_to(&url, &[]);
    assert_eq!(code, Some(1), "{text}");
    let fine = Backend::start(1, &[]);
    let out = loadtest(&[&fine.url(), "-n", "50", "-c", "5", "--expect", "errors<1%"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("expect errors<1%: PASS: errors were 0 of 50 sent (0.00%)"),
        "{text}"
    );
}

#[test]
fn one_backends_latency_is_judged_apart_from_the_others() {
    let fast = Backend::start(1, &[]);
    let slow = Backend::start(2, &["--delay", "30"]);
    let nginx = Nginx::start(
        1,
        &format!(
            "upstream lab {{ server {}; server {}; }}\nserver {{ listen 127.0.0.1:{{port0}}; location / {{ proxy_pass http://lab; }} }}",
            fast.addr, slow.addr
        ),
    );
    let url = nginx.url(0, "/");
    let out = loadtest(&[
        &url,
        "-n",
        "40",
        "-c",
        "4",
        "--backends",
        "2",
        "--expect",
        "backend=1:p50<25ms",
        "--expect",
        "backend=2:p50<25ms",
        "--expect",
        "backend=2:p50<5s",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("expect backend=1:p50<25ms: PASS: backend 1's p50 was "),
        "{text}"
    );
    assert!(
        text.contains("expect backend=2:p50<25ms: FAIL: backend 2's p50 was "),
        "{text}"
    );
    assert!(text.contains("expect backend=2:p50<5s: PASS"), "{text}");
}

#[test]
fn bad_thresholds_are_refused_in_one_line_before_any_request() {
    let fine = Backend::start(1, &[]);
    let url = fine.url();
    for (spec, needle) in [
        ("p99<50", "'50' is not a latency with a unit"),
        ("p98<5ms", "'p98' is not a latency statistic"),
        ("errors=2", "errors takes =0, <N or <P%"),
        (
            "backend=1:errors=0",
            "errors are judged for the whole run only",
        ),
        ("rps>fast", "'fast' is not a rate"),
    ] {
        let out = loadtest(&[&url, "--expect", spec, "-n", "5"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{spec}: {err}");
        assert!(err.contains(needle), "{spec}: {err}");
        assert!(err.contains("accepted: p50<T"), "{spec}: {err}");
        assert_eq!(err.lines().count(), 1, "{spec}: {err}");
    }
    let out = loadtest(&[&url, "--backends", "1", "--expect", "backend=2:p99<5ms"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("backend 2 does not exist"), "{err}");
}
