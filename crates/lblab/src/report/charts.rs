//! The report's charts, from the runs' reports: shares per method, latency per method and per
//! backend (per backend alone when the page is of one run). The charts over time are in
//! `time_charts.rs`.

use loadtest::{BackendKey, BackendReport, Report};

use super::svg::Bars;

/// One run in the report: what it is called (its method) and what it measured.
pub struct Shown<'a> {
    pub label: String,
    pub report: &'a Report,
}

/// What the page shows.
pub struct Page<'a> {
    /// What was run, e.g. `lblab compare --scenario even`.
    pub title: String,
    /// The lab and the load, in a sentence.
    pub what: String,
    pub runs: Vec<Shown<'a>>,
    pub backends: usize,
    /// Seconds since the start and what happened then (faults, switches), for the time chart.
    pub markers: Vec<(f64, String)>,
    /// The backends' own requests in flight over a run (`lblab run` only).
    pub backends_in_flight: Option<&'a crate::backend_load::Sampled>,
    /// Further sections as HTML, already escaped (e.g. compare's key movement).
    pub sections: Vec<(String, String)>,
}

/// The backends charted: 1..=N, and `unknown` when some answer named none.
fn keys(p: &Page) -> Vec<BackendKey> {
    let mut k: Vec<BackendKey> = (1..=p.backends as u32).map(BackendKey::Id).collect();
    if p.runs.iter().any(|r| {
        r.report
            .counts
            .get(&BackendKey::Unknown)
            .is_some_and(|n| *n > 0)
    }) {
        k.push(BackendKey::Unknown);
    }
    k
}

fn name(k: BackendKey) -> String {
    format!("backend {k}")
}

/// `metric` of each backend of `keys`, per run; 0 where a backend did not answer in a run.
fn per_backend(
    p: &Page,
    keys: &[BackendKey],
    metric: impl Fn(&BackendReport) -> f64,
) -> Vec<Vec<f64>> {
    p.runs
        .iter()
        .map(|r| {
            keys.iter()
                .map(|k| r.report.backends.get(k).map_or(0.0, &metric))
                .collect()
        })
        .collect()
}

fn groups(p: &Page) -> Vec<String> {
    p.runs.iter().map(|r| r.label.clone()).collect()
}

/// Each backend's share of the answers per method, in percent.
pub fn share_chart(p: &Page) -> String {
    let keys = keys(p);
    Bars {
        id: "shares",
        title: &format!("Share of answers per backend: {}", p.title),
        subtitle: &p.what,
        y_label: "share of answered requests (%)",
        x_label: "balancing method",
        groups: groups(p),
        series: keys.iter().map(|k| name(*k)).collect(),
        values: per_backend(p, &keys, |b| b.share * 100.0),
        y_cap: Some(100.0),
        reference: (p.backends > 0).then(|| {
            let even = 100.0 / p.backends as f64;
            (even, format!("even share {even:.1}%"))
        }),
        decimals: 1,
    }
    .render()
}

/// p50, p90 and p99 of the answered requests, per method; for one run, of all its answers and of
/// each backend's.
pub fn latency_chart(p: &Page) -> String {
    if let [only] = p.runs.as_slice() {
        let keys = keys(p);
        let mut groups = vec!["all answers".to_string()];
        groups.extend(keys.iter().map(|k| name(*k)));
        let mut values = vec![only.report.latency_ms];
        values.extend(keys.iter().map(|k| {
            only.report
                .backends
                .get(k)
                .map(|b| b.latency_ms)
                .unwrap_or_default()
        }));
        return Bars {
            id: "latency",
            title: "Latency percentiles of the answered requests, of all and of each backend",
            subtitle: &p.what,
            y_label: "latency (ms)",
            x_label: "who answered",
            groups,
            series: vec!["p50".into(), "p90".into(), "p99".into()],
            values: values.iter().map(|l| vec![l.p50, l.p90, l.p99]).collect(),
            y_cap: None,
            reference: None,
            decimals: 1,
        }
        .render();
    }
    Bars {
        id: "latency",
        title: "Latency percentiles per method (answered requests)",
        subtitle: &p.what,
        y_label: "latency (ms)",
        x_label: "balancing method",
        groups: groups(p),
        series: vec!["p50".into(), "p90".into(), "p99".into()],
        values: p
            .runs
            .iter()
            .map(|r| {
                let l = r.report.latency_ms;
                vec![l.p50, l.p90, l.p99]
            })
            .collect(),
        y_cap: None,
        reference: None,
        decimals: 1,
    }
    .render()
}

/// Each backend's p99, per method: a slow backend shows here even when it got few requests.
pub fn backend_latency_chart(p: &Page) -> String {
    let keys = keys(p);
    Bars {
        id: "backend-latency",
        title: "p99 latency per backend and method",
        subtitle: &p.what,
        y_label: "p99 latency (ms)",
        x_label: "balancing method",
        groups: groups(p),
        series: keys.iter().map(|k| name(*k)).collect(),
        values: per_backend(p, &keys, |b| b.latency_ms.p99),
        y_cap: None,
        reference: None,
        decimals: 1,
    }
    .render()
}
