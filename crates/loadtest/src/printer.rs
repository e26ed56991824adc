use std::fmt::Write as _;

use crate::report::Report;

/// The human report: the original lab's one-line map first, then a table per backend and totals.
pub fn print_text(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", r.counts_line());
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<9} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "backend", "count", "share", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for (k, b) in &r.backends {
        let l = b.latency_ms;
        // A backend that answered nothing has no latency, which 0.00 would claim it had.
        let ms = |v: f64| {
            if b.count == 0 {
                "-".to_string()
            } else {
                format!("{v:.2}")
            }
        };
        let _ = writeln!(
            s,
            "{:<9} {:>8} {:>6.1}% {:>9} {:>9} {:>9} {:>9}",
            k.to_string(),
            b.count,
            b.share * 100.0,
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.max)
        );
    }
    let _ = writeln!(s);
    let l = r.latency_ms;
    // The requests still in flight at the end are in no other total, but the verdict counts them:
    // they are shown here so that every number of a FAIL line below is on this one.
    let unanswered = if r.unanswered > 0 {
        format!("  unanswered {} (of {} sent)", r.unanswered, r.sent())
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "requests {}  ok {}  errors {}{unanswered}  elapsed {:.3} s  {:.0} answered/s  {:.0} errors/s",
        r.requests, r.ok, r.errors, r.elapsed_s, r.rps, r.errors_per_s
    );
    if r.ok > 0 {
        // With --rate both latencies, one above the other: the gap between them is the stall
        // the users of the service saw and the service time alone hides.
        let from = if r.service_latency_ms.is_some() {
            ", from when each was due"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "latency  min {:.2}  mean {:.2}  p50 {:.2}  p90 {:.2}  p95 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2} ms (answered requests{from})",
            l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.p999, l.max
        );
        if let Some(v) = &r.service_latency_ms {
            let _ = writeln!(
                s,
                "service  min {:.2}  mean {:.2}  p50 {:.2}  p90 {:.2}  p95 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2} ms (answered requests, from when each was sent)",
                v.min, v.mean, v.p50, v.p90, v.p95, v.p99, v.p999, v.max
            );
        }
    } else {
        let _ = writeln!(s, "latency  - (no request was answered)");
    }
    if !r.status_codes.is_empty() {
        let _ = writeln!(s, "status   {}", listing(&r.status_codes));
    }
    if let Some(sch) = &r.schedule {
        let _ = writeln!(
            s,
            "schedule {} req/s: {} sent late, timed from when they were due; {} never sent",
            sch.rate, sch.late, sch.missed
        );
        let seed = sch.seed.map(|n| format!(", seed {n}")).unwrap_or_default();
        let arrivals = serde_json::to_value(sch.arrivals).unwrap_or_default();
        let _ = writeln!(
            s,
            "delivered {:.1} req/s of {} requested ({} arrivals{seed})",
            sch.delivered_rate,
            sch.rate,
            arrivals.as_str().unwrap_or_default()
        );
    }
    if !r.errors_by_kind.is_empty() {
        let _ = writeln!(s, "errors   {}", listing(&r.errors_by_kind));
    }
    if r.unanswered > 0 {
        let _ = writeln!(
            s,
            "unanswered {} (still in flight when the run ended)",
            r.unanswered
        );
    }
    if r.resent > 0 {
        let _ = writeln!(
            s,
            "resent   {} (the server closed a kept-alive connection before answering)",
            r.resent
        );
    }
    if let Some(t) = &r.timeline {
        let _ = writeln!(s, "{}", t.describe());
    }
    if let Some(c) = &r.clients {
        let split = c
            .values()
            .filter(|m| m.values().filter(|n| **n > 0).count() > 1)
            .count();
        let _ = writeln!(
            s,
            "clients  {} distinct, {} reached more than one backend",
            c.len(),
            split
        );
    }
    if !r.passed && r.expectations.iter().all(|o| o.ok) {
        let what = match (r.unanswered, r.interrupted) {
            (0, _) => format!("{} of {} requests failed", r.failed(), r.requests),
            (u, false) => format!(
                "{} of {} sent failed (errors {}, unanswered {u})",
                r.failed(),
                r.sent(),
                r.errors
            ),
            (u, true) => format!(
                "{} of {} sent failed (errors {}; the {u} unanswered were cut off by Ctrl-C, not failed)",
                r.failed(),
                r.sent(),
                r.errors
            ),
        };
        let _ = writeln!(s, "FAIL: {what}, more than --max-errors allows");
    }
    for src in r.sources.iter().flatten() {
        let _ = writeln!(
            s,
            "from     {}: requests {}  ok {}  errors {}  {:.0} answered/s  {}",
            src.file,
            src.requests,
            src.ok,
            src.errors,
            src.rps,
            crate::backend_key::counts_dict(&src.counts)
        );
    }
    if r.interrupted {
        let _ = writeln!(
            s,
            "interrupted: the report is of what was done until Ctrl-C"
        );
    }
    for o in &r.expectations {
        let verdict = if o.ok { "PASS" } else { "FAIL" };
        let _ = writeln!(s, "expect {}: {verdict}: {}", o.expect, o.message);
    }
    s
}

/// `key: count, key: count`.
fn listing<K: std::fmt::Display>(counts: &std::collections::BTreeMap<K, u64>) -> String {
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k}: {n}")).collect();
    parts.join(", ")
}
