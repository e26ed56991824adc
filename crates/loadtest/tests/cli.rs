//! The `loadtest` binary on its own: bad input, and an unreachable target as a run with errors.

use crate::support::{loadtest, refusing_url};

#[test]
fn bad_input_exits_2_with_the_flag_named() {
    for (args, needle) in [
        (&["not a url"][..], "is not a URL"),
        (&["https://127.0.0.1/"], "not supported"),
        (
            &["-n", "0"],
            "for '--requests <REQUESTS>': must be at least 1",
        ),
        (
            &["-n", "-5"],
            "'-5' for '--requests <REQUESTS>': '-5' is not a whole number",
        ),
        (
            &["-c", "0"],
            "for '--concurrency <CONCURRENCY>': must be from 1 to 100000",
        ),
        (&["-c", "-1"], "--concurrency"),
        (&["-H", "Bad Name: x"], "not a valid header name"),
        (&["--max-errors", "lots"], "not an error allowance"),
        (&["--rate", "0"], "out of range"),
        (&["--rate", "fast"], "not a rate"),
        // Not clap's tip to write `-- -5`: after `--` it would be the URL.
        (
            &["--rate", "-5"],
            "'-5' for '--rate <R>': rate '-5' is out of range",
        ),
        (&["--rate", "-0.5"], "rate '-0.5' is out of range"),
        (
            &["-n", "18446744073709551616"],
            "'18446744073709551616' is too large (must be from 1 to 18446744073709551615)",
        ),
        (
            &["--backends", "18446744073709551616"],
            "is too large (must be from 1 to 10000)",
        ),
        // A timer that counts milliseconds would silently make it 1 ms.
        (
            &["--timeout", "0.5ms"],
            "not a whole number of milliseconds",
        ),
        (&["--timeout", "-1s"], "must be above zero"),
        (&["-d", "-1s"], "must be above zero"),
        (&["--max-errors", "-1"], "not an error allowance"),
        (&["--no-such-flag"], "unexpected argument '--no-such-flag'"),
    ] {
        let out = loadtest(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("tip:"), "{args:?}: {err}");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{args:?}: not one line: {err}"
        );
        assert_eq!(
            err.lines().next().map(|l| l.starts_with("error: ")),
            Some(true),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn an_unreachable_target_is_a_run_with_errors_by_kind() {
    let url = refusing_url();
    let out = loadtest(&[&url, "-n", "20", "-c", "5", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["requests"], 20);
    assert_eq!(v["errors"], 20);
    assert_eq!(v["errors_by_kind"]["connect refused"], 20);
    // The same run passes when the errors are allowed.
    let out = loadtest(&[&url, "-n", "20", "-c", "5", "--max-errors", "100%"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn rate_paces_the_requests() {
    // Refused connections answer at once, so the run's length is the schedule's: 50 at 100/s.
    let url = refusing_url();
    let out = loadtest(&[&url, "-n", "50", "-c", "5", "--rate", "100", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["requests"], 50);
    assert_eq!(v["schedule"]["rate"], 100.0);
    let elapsed = v["elapsed_s"].as_f64().unwrap();
    // The 50th request is due 0.49 s after the start.
    assert!(elapsed >= 0.49, "elapsed {elapsed} s");
}

#[test]
fn help_shows_the_header_template_whole() {
    for flag in ["--help", "-h"] {
        let out = loadtest(&[flag]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("'Name: value'; {n} is the request number and {n%K} cycles"),
            "{help}"
        );
        assert!(
            !help.contains('\u{1b}'),
            "an escape code reached a pipe: {help:?}"
        );
    }
}

#[test]
fn help_ends_with_examples_and_exit_statuses_and_version_works() {
    let out = loadtest(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    let examples = help.find("Examples:\n").expect("examples");
    let statuses = help.find("Exit status: 0 when").expect("exit statuses");
    assert!(examples < statuses, "{help}");
    assert_eq!(
        help[examples..].matches("\n  loadtest ").count(),
        4,
        "{help}"
    );
    assert!(help[examples..].contains("\n  loadtest merge "), "{help}");
    for status in ["1 when not", "2 on bad input", "130 when interrupted"] {
        assert!(help[statuses..].contains(status), "{help}");
    }
    let out = loadtest(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("loadtest {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_timed_run_at_a_rate_sends_rate_times_duration() {
    // 30/s for 1 s: request 30 is due at exactly 1 s, the end, so it is not sent. Rounding a
    // thirtieth of a second down to whole nanoseconds made it due just before the end, and sent.
    let url = refusing_url();
    let out = loadtest(&[&url, "--rate", "30", "-d", "1s", "-c", "2", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let requests = v["requests"].as_u64().unwrap();
    let missed = v["schedule"]["missed"].as_u64().unwrap();
    assert!(requests <= 30, "{v}");
    assert_eq!(requests + missed, 30, "{v}");
}
