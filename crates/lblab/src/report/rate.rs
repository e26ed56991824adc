//! With `--rate`, the page's table of both latencies per method: from when each request was due
//! (what the users of the service experience) and from when it was sent (the service time), beside
//! the rate asked for and the one delivered.

use std::fmt::Write as _;

use super::charts::Page;
use super::svg::esc;

/// The table, or nothing when no run had a fixed rate.
pub fn rate_table(p: &Page) -> Option<String> {
    let mut rows = String::new();
    for r in &p.runs {
        let (Some(sch), Some(sent)) = (&r.report.schedule, &r.report.service_latency_ms) else {
            continue;
        };
        let due = &r.report.latency_ms;
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            esc(&r.label),
            sch.rate,
            sch.delivered_rate,
            due.p50,
            due.p99,
            due.max,
            sent.p50,
            sent.p99,
            sent.max
        );
    }
    if rows.is_empty() {
        return None;
    }
    Some(format!(
        "<h2>Fixed rate: latency from the due time and from the send</h2>\n<table class=\"rate\">\n<tr><th>method</th><th>req/s asked</th><th>req/s delivered</th><th>due p50 ms</th><th>due p99 ms</th><th>due max ms</th><th>sent p50 ms</th><th>sent p99 ms</th><th>sent max ms</th></tr>\n{rows}</table>\n"
    ))
}
