//! The charts of one run over time, from its timeline: answers and share of each backend, failures,
//! p50/p99, and the requests in flight at each backend (the client's view and the backends' own),
//! with every fault and switch marked where it was done. The x axis ends where the run ended.

use loadtest::{BackendKey, Timeline};

use super::charts::Page;
use super::svg::Lines;

/// The run's timeline, when the page is of one run that kept one.
fn timeline<'a>(p: &'a Page) -> Option<&'a Timeline> {
    let [only] = p.runs.as_slice() else {
        return None;
    };
    only.report.timeline.as_ref()
}

fn end_s(p: &Page) -> f64 {
    p.runs.first().map_or(0.0, |r| r.report.elapsed_s)
}

/// Where each bucket is drawn: the middle of the time it covers (the last ends with the run).
fn middles(t: &Timeline, end: f64) -> Vec<f64> {
    (0..t.buckets())
        .map(|i| {
            let from = t.at_s(i);
            let to = t.at_s(i + 1).min(end.max(from));
            (from + to) / 2.0
        })
        .collect()
}

fn name(k: BackendKey) -> String {
    format!("backend {k}")
}

fn lines<'a>(
    p: &'a Page,
    (id, title, y_label): (&'a str, &'a str, &'a str),
    x: Vec<f64>,
    series: Vec<(String, Vec<Option<f64>>)>,
    y_cap: Option<f64>,
) -> String {
    Lines {
        id,
        title,
        subtitle: &p.what,
        y_label,
        x,
        x_end: end_s(p),
        series,
        y_cap,
        markers: p.markers.clone(),
    }
    .render()
}

/// One sentence on how time was cut, for the page.
pub fn bucket_note(p: &Page) -> Option<String> {
    let t = timeline(p)?;
    let mut s = format!(
        "Time is cut into {} buckets of {} ms; a request counts in the bucket in which it ended.",
        t.buckets(),
        t.bucket_ms
    );
    if let Some(b) = p.backends_in_flight {
        s.push_str(&format!(
            " The backends' own requests in flight were read from their /stats every {} ms.",
            b.interval_ms
        ));
    }
    Some(s)
}

/// Every chart over time, in the order the page shows them; empty without a timeline.
pub fn time_charts(p: &Page) -> Vec<String> {
    let Some(t) = timeline(p) else {
        return Vec::new();
    };
    let end = end_s(p);
    let x = middles(t, end);
    let mut out = Vec::new();
    let per_bucket = format!("answers per {} ms bucket", t.bucket_ms);
    out.push(lines(
        p,
        ("timeline", "Answers of each backend over time", &per_bucket),
        x.clone(),
        t.answered
            .iter()
            .map(|(k, v)| (name(*k), v.iter().map(|&n| Some(n as f64)).collect()))
            .collect(),
        None,
    ));
    let totals: Vec<u64> = (0..t.buckets())
        .map(|i| t.answered.values().map(|v| v[i]).sum())
        .collect();
    out.push(lines(
        p,
        (
            "share-time",
            "Share of each backend over time",
            "share of the bucket's answers (%)",
        ),
        x.clone(),
        t.answered
            .iter()
            .map(|(k, v)| {
                let share = v
                    .iter()
                    .zip(&totals)
                    .map(|(&n, &all)| (all > 0).then(|| n as f64 * 100.0 / all as f64))
                    .collect();
                (name(*k), share)
            })
            .collect(),
        Some(100.0),
    ));
    let mut failures = vec![(
        "failed (all kinds)".to_string(),
        t.errors.iter().map(|&n| Some(n as f64)).collect::<Vec<_>>(),
    )];
    failures.extend(
        t.failures
            .iter()
            .map(|(kind, v)| (kind.clone(), v.iter().map(|&n| Some(n as f64)).collect())),
    );
    let failed_title = if t.errors.iter().all(|&n| n == 0) {
        "Failed requests over time (none in this run)"
    } else {
        "Failed requests over time, by kind"
    };
    let per_bucket_failed = format!("failures per {} ms bucket", t.bucket_ms);
    out.push(lines(
        p,
        ("failures-time", failed_title, &per_bucket_failed),
        x.clone(),
        failures,
        None,
    ));
    let mut latency: Vec<(String, Vec<Option<f64>>)> = t
        .p99_ms
        .iter()
        .map(|(k, v)| (format!("p99 {}", name(*k)), v.clone()))
        .collect();
    latency.push(("p50 all".into(), t.all_p50_ms.clone()));
    latency.push(("p99 all".into(), t.all_p99_ms.clone()));
    out.push(lines(
        p,
        (
            "latency-time",
            "Latency over time: p50 and p99 of all answers, p99 of each backend",
            "latency (ms)",
        ),
        x.clone(),
        latency,
        None,
    ));
    out.push(lines(
        p,
        (
            "in-flight-client",
            "Requests in flight at each backend, as the client attributes them",
            "mean in flight over the bucket",
        ),
        x,
        t.in_flight
            .iter()
            .map(|(k, v)| (name(*k), v.iter().map(|&n| Some(n)).collect()))
            .collect(),
        None,
    ));
    if let Some(b) = p.backends_in_flight {
        out.push(lines(
            p,
            (
                "in-flight-backends",
                "Requests in flight at each backend, by its own count (/stats)",
                "in flight when asked",
            ),
            b.at_ms.iter().map(|ms| ms / 1000.0).collect(),
            b.in_flight
                .iter()
                .map(|(id, v)| {
                    (
                        name(BackendKey::Id(*id)),
                        v.iter().map(|n| n.map(|n| n as f64)).collect(),
                    )
                })
                .collect(),
            None,
        ));
    }
    out
}
