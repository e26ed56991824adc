//! The run's totals as its report: shares, rates, percentiles and the expectations' verdicts.

use std::time::{Duration, Instant};

use super::{Latencies, Totals};
use crate::config::Config;
use crate::expect::judge_report;
use crate::report::{BackendReport, Report};
use crate::schedule::{Schedule, ScheduleReport};
use crate::timeline::Buckets;

/// How the run went, beyond its counts.
pub(crate) struct Ending<'a> {
    pub elapsed: Duration,
    /// Stopped early (Ctrl-C).
    pub interrupted: bool,
    /// With `--rate`: the schedule the run followed.
    pub schedule: Option<&'a Schedule>,
    /// With a duration: when the run was to stop sending.
    pub deadline: Option<Instant>,
    /// With `Config::timeline`: the run's time buckets.
    pub timeline: Option<&'a Buckets>,
    /// With `--rate`: the latencies from the send, beside those from when each request was due.
    pub service: Option<&'a Latencies>,
}

impl Totals {
    pub fn into_report(self, config: &Config, latencies: &Latencies, ending: Ending<'_>) -> Report {
        let counts = self.counts;
        let errors = self.errors;
        let ok: u64 = counts.values().sum();
        let requests = ok + errors;
        let timeline = ending
            .timeline
            .map(|b| b.finish(counts.keys().copied(), ending.elapsed));
        let backends = counts
            .iter()
            .map(|(&k, &n)| {
                let share = if ok == 0 { 0.0 } else { n as f64 / ok as f64 };
                (
                    k,
                    BackendReport {
                        count: n,
                        share,
                        latency_ms: latencies.of(k),
                        service_latency_ms: ending.service.map(|s| s.of(k)),
                    },
                )
            })
            .collect();
        let clients = config.tracks_clients().then_some(self.clients);
        let secs = ending.elapsed.as_secs_f64();
        let late = self.late;
        let schedule = ending
            .schedule
            .zip(config.rate)
            .map(|(s, rate)| ScheduleReport {
                rate,
                delivered_rate: super::service::delivered_rate(
                    self.sends,
                    requests + self.unanswered,
                ),
                arrivals: config.arrivals,
                seed: s.seed(),
                late,
                missed: ending
                    .deadline
                    .map_or(0, |d| s.due_before(d).saturating_sub(requests)),
            });
        let mut report = Report {
            url: config.url.to_string(),
            requests,
            ok,
            errors,
            errors_by_kind: self.errors_by_kind,
            status_codes: self.status_codes,
            resent: self.resent,
            unanswered: self.unanswered,
            interrupted: ending.interrupted,
            schedule,
            counts,
            elapsed_s: secs,
            rps: per_second(ok, secs),
            errors_per_s: per_second(errors, secs),
            latency_ms: latencies.answered(),
            histograms: Some(super::encoded(latencies, ending.service)),
            service_latency_ms: ending.service.map(Latencies::answered),
            backends,
            clients,
            expectations: Vec::new(),
            timeline,
            passed: true,
            sources: None,
        };
        // Thresholds need the report's latencies and rates, so all are judged once it stands.
        report.expectations = judge_report(&config.expectations, &report, config.backends);
        report.passed = report.expectations.iter().all(|o| o.ok);
        // The same counts the report prints, so its totals and its verdict cannot disagree.
        report.passed &= config.max_errors.allows(report.failed(), report.sent());
        report
    }
}

fn per_second(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}
