//! `loadtest merge A.json B.json …`: the reports of several clients that loaded one target at the
//! same time, as one report. Counts add up per backend, per status, per error and per client; the
//! percentiles come from the histograms added together, so they are exactly those of one histogram
//! of all the samples; the expectations are judged again on the whole.

mod args;
mod input;

use std::collections::BTreeMap;
use std::path::PathBuf;

use hdrhistogram::Histogram;

pub use args::{command, main};

use crate::backend_key::BackendKey;
use crate::config::MaxErrors;
use crate::expect::{Expectation, judge_report};
use crate::histogram_codec::encode;
use crate::report::{BackendReport, Histograms, Report, Source};
use crate::schedule::ScheduleReport;
use crate::tally::{latency, new_histogram};
use input::Decoded;

/// What the merge is asked for besides the files.
pub struct Judging {
    /// Empty: the expectations the files were judged by, each once.
    pub expectations: Vec<Expectation>,
    pub backends: Option<usize>,
    /// `None`: as loadtest's default, by the expectations judged ([`MaxErrors::default_for`]).
    pub max_errors: Option<MaxErrors>,
}

/// Reads `files` and merges them; `Err` is one line naming the file and what is wrong with it.
pub fn merge_files(files: &[PathBuf], judging: &Judging) -> Result<Report, String> {
    let mut parts = Vec::new();
    for f in files {
        let read = input::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
        parts.push((f.display().to_string(), read));
    }
    let mut expectations = judging.expectations.clone();
    if expectations.is_empty() {
        for (file, (part, _)) in &parts {
            for j in &part.expectations {
                let e = Expectation::parse(&j.expect).map_err(|e| format!("{file}: {e}"))?;
                if !expectations.contains(&e) {
                    expectations.push(e);
                }
            }
        }
    }
    if let Some(k) = judging.backends {
        crate::expect::check_expectations(&expectations, k)?;
    }
    let mut report = combine(parts)?;
    report.expectations = judge_report(&expectations, &report, judging.backends);
    let max_errors = judging
        .max_errors
        .unwrap_or_else(|| MaxErrors::default_for(&expectations));
    report.passed = report.expectations.iter().all(|o| o.ok)
        && max_errors.allows(report.failed(), report.sent());
    Ok(report)
}

/// Adds `h` into `into`, which holds the sum so far.
fn add(into: &mut Histogram<u64>, h: &Histogram<u64>, file: &str) -> Result<(), String> {
    into.add(h)
        .map_err(|e| format!("{file}: a histogram does not fit the others ({e:?})"))
}

fn combine(parts: Vec<(String, (Report, Decoded))>) -> Result<Report, String> {
    let mut all = new_histogram();
    let mut per: BTreeMap<BackendKey, Histogram<u64>> = BTreeMap::new();
    let with_service = parts.iter().all(|(_, (_, d))| d.service.is_some());
    let mut s_all = new_histogram();
    let mut s_per: BTreeMap<BackendKey, Histogram<u64>> = BTreeMap::new();
    let mut m = Report {
        url: String::new(),
        requests: 0,
        ok: 0,
        errors: 0,
        errors_by_kind: BTreeMap::new(),
        status_codes: BTreeMap::new(),
        resent: 0,
        unanswered: 0,
        interrupted: false,
        schedule: None,
        counts: BTreeMap::new(),
        elapsed_s: 0.0,
        rps: 0.0,
        errors_per_s: 0.0,
        latency_ms: Default::default(),
        service_latency_ms: None,
        backends: BTreeMap::new(),
        histograms: None,
        clients: None,
        expectations: Vec::new(),
        timeline: None,
        passed: true,
        sources: Some(Vec::new()),
    };
    let mut urls: Vec<String> = Vec::new();
    let mut schedules: Vec<ScheduleReport> = Vec::new();
    let n = parts.len();
    for (file, (p, d)) in parts {
        add(&mut all, &d.latency, &file)?;
        for (k, h) in &d.backends {
            add(per.entry(*k).or_insert_with(new_histogram), h, &file)?;
        }
        if let Some((sa, sp)) = &d.service {
            add(&mut s_all, sa, &file)?;
            for (k, h) in sp {
                add(s_per.entry(*k).or_insert_with(new_histogram), h, &file)?;
            }
        }
        if !urls.contains(&p.url) {
            urls.push(p.url.clone());
        }
        m.requests += p.requests;
        m.ok += p.ok;
        m.errors += p.errors;
        m.resent += p.resent;
        m.unanswered += p.unanswered;
        m.interrupted |= p.interrupted;
        sum_into(&mut m.errors_by_kind, &p.errors_by_kind);
        sum_into(&mut m.status_codes, &p.status_codes);
        sum_into(&mut m.counts, &p.counts);
        if let Some(c) = &p.clients {
            let into = m.clients.get_or_insert_with(BTreeMap::new);
            for (client, counts) in c {
                sum_into(into.entry(client.clone()).or_default(), counts);
            }
        }
        // The clients ran at the same time: the whole took as long as the longest, and their rates add.
        m.elapsed_s = m.elapsed_s.max(p.elapsed_s);
        m.rps += p.rps;
        m.errors_per_s += p.errors_per_s;
        schedules.extend(p.schedule);
        if let Some(s) = &mut m.sources {
            s.push(Source {
                file,
                url: p.url,
                requests: p.requests,
                ok: p.ok,
                errors: p.errors,
                elapsed_s: p.elapsed_s,
                rps: p.rps,
                counts: p.counts,
            });
        }
    }
    m.url = urls.join(", ");
    if schedules.len() == n {
        let first = schedules[0];
        m.schedule = Some(ScheduleReport {
            rate: schedules.iter().map(|s| s.rate).sum(),
            delivered_rate: schedules.iter().map(|s| s.delivered_rate).sum(),
            arrivals: first.arrivals,
            seed: None,
            late: schedules.iter().map(|s| s.late).sum(),
            missed: schedules.iter().map(|s| s.missed).sum(),
        });
    }
    let ok = m.ok;
    m.backends = m
        .counts
        .iter()
        .map(|(&k, &count)| {
            let report = BackendReport {
                count,
                share: if ok == 0 {
                    0.0
                } else {
                    count as f64 / ok as f64
                },
                latency_ms: latency(per.get(&k)),
                service_latency_ms: with_service.then(|| latency(s_per.get(&k))),
            };
            (k, report)
        })
        .collect();
    m.latency_ms = latency(Some(&all));
    m.service_latency_ms = with_service.then(|| latency(Some(&s_all)));
    m.histograms = Some(Histograms {
        latency: encode(&all),
        backends: per.iter().map(|(k, h)| (*k, encode(h))).collect(),
        service_latency: with_service.then(|| encode(&s_all)),
        service_backends: with_service
            .then(|| s_per.iter().map(|(k, h)| (*k, encode(h))).collect()),
    });
    Ok(m)
}

fn sum_into<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, n) in from {
        *into.entry(k.clone()).or_default() += n;
    }
}
