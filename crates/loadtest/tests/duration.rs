//! A run with a duration ends at it, whatever the target does.

use std::time::{Duration, Instant};

use crate::support::{Answer, RawServer, json, loadtest};

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

#[test]
fn the_totals_line_counts_what_the_verdict_counts() {
    // Each connection is answered once and closed, but every third is never answered: the run
    // ends with answers and with requests still in flight.
    let server = RawServer::cycling(vec![
        Answer::Bytes(crate::support::OK_FROM_1),
        Answer::Bytes(crate::support::OK_FROM_1),
        Answer::Never,
    ]);
    let out = loadtest(&[&server.url, "-d", "1s", "-c", "3", "--timeout", "10s"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let totals = text.lines().find(|l| l.starts_with("requests ")).unwrap();
    let fail = text.lines().find(|l| l.starts_with("FAIL: ")).unwrap();
    let number = |line: &str, after: &str| -> u64 {
        let rest = &line[line
            .find(after)
            .unwrap_or_else(|| panic!("{after}: {text}"))
            + after.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (requests, errors) = (number(totals, "requests "), number(totals, "errors "));
    let unanswered = number(totals, "unanswered ");
    assert_eq!(unanswered, 3, "{text}");
    assert!(requests > 0, "{text}");
    // Before, the totals said `requests N ok N errors 0` above `FAIL: 3 of N+3 requests failed`.
    assert_eq!(number(totals, "(of "), requests + unanswered, "{text}");
    assert_eq!(number(fail, "FAIL: "), errors + unanswered, "{text}");
    assert_eq!(number(fail, " of "), requests + unanswered, "{text}");
    assert!(
        fail.contains(&format!("(errors {errors}, unanswered {unanswered})")),
        "{text}"
    );
}
