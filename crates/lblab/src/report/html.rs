//! The HTML page: the charts inline, the numbers in tables, a stylesheet of its own; no script and
//! nothing from the network, so the file can be mailed or opened offline.

use std::fmt::Write as _;

use loadtest::BackendKey;

use super::charts::{Page, backend_latency_chart, latency_chart, share_chart};
use super::rate::rate_table;
use super::svg::esc;
use super::time_charts::{bucket_note, time_charts};

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}p.what{color:#555;margin-top:0}
table{border-collapse:collapse;margin:1em 0;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #ddd;padding:.3em .7em;text-align:right}th:first-child,td:first-child{text-align:left}
svg.chart{display:block;margin:1.5em 0;max-width:100%;height:auto}";

/// The whole page.
pub fn page(p: &Page) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p class=\"what\">{}</p>\n",
        esc(&p.title),
        esc(&p.title),
        esc(&p.what)
    );
    s.push_str(&share_chart(p));
    s.push_str(&numbers(p));
    if let Some(t) = rate_table(p) {
        s.push_str(&t);
    }
    if let Some(note) = bucket_note(p) {
        let _ = writeln!(s, "<p class=\"buckets\">{}</p>", esc(&note));
    }
    for chart in time_charts(p) {
        s.push_str(&chart);
    }
    s.push_str(&latency_chart(p));
    // One run's latency chart already shows each backend.
    if p.runs.len() > 1 {
        s.push_str(&backend_latency_chart(p));
    }
    for (title, html) in &p.sections {
        let _ = write!(s, "<h2>{}</h2>\n{html}\n", esc(title));
    }
    s.push_str("</body>\n</html>\n");
    s
}

/// The numbers behind the charts: per method and backend, count, share, p50 and p99.
fn numbers(p: &Page) -> String {
    let mut s = String::from(
        "<table class=\"numbers\">\n<tr><th>method</th><th>backend</th><th>answers</th><th>share</th><th>p50 ms</th><th>p99 ms</th></tr>\n",
    );
    for r in &p.runs {
        for (k, b) in &r.report.backends {
            if *k == BackendKey::Unknown && b.count == 0 {
                continue;
            }
            let ms = |v: f64| {
                if b.count == 0 {
                    "-".into()
                } else {
                    format!("{v:.2}")
                }
            };
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{k}</td><td>{}</td><td>{:.1}%</td><td>{}</td><td>{}</td></tr>",
                esc(&r.label),
                b.count,
                b.share * 100.0,
                ms(b.latency_ms.p50),
                ms(b.latency_ms.p99)
            );
        }
    }
    s.push_str("</table>\n");
    s
}
