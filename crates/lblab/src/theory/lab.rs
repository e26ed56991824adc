//! Theory for a run of a lab: the case made from the lab, its balancer and its load, for `run` and
//! each of `compare`'s rows alike.

use loadtest::Report;

use super::haproxy::{self, HaproxyCase};
use super::{Case, Theory, mean_delays, predict};
use crate::load_plan::LoadPlan;
use crate::spec::{Balancer, LabSpec};

/// What theory predicts for `report`, a run of `load` against `lab` balanced by `balancer` (the
/// lab's own, or a compare row's): nginx's methods by `predict`, HAProxy's by `haproxy::predict`,
/// each in its own words.
pub fn for_run(lab: &LabSpec, balancer: &Balancer, load: &LoadPlan, report: &Report) -> Theory {
    let balancing = match balancer {
        Balancer::Nginx(b) => b,
        Balancer::Haproxy(b) => {
            return haproxy::predict(&HaproxyCase {
                balancing: b,
                backends: lab.backends() as usize,
                concurrency: load.concurrency(),
                delays_ms: mean_delays(lab),
                source_ips: load.source_ips(),
                requests: report.requests,
                counts: &report.counts,
                clients: report.clients.as_ref(),
            });
        }
    };
    // A backup server is sent nothing while the others are in: its share is a weight of 0.
    let backup = &balancing.tuning.backup;
    let weights: Option<Vec<u32>> = if backup.is_empty() {
        balancing.weights.as_ref().map(|w| w.0.clone())
    } else {
        let given = |i: usize| balancing.weights.as_ref().map_or(1, |w| w.0[i]);
        Some(
            (0..lab.backends() as usize)
                .map(|i| {
                    let id = u32::try_from(i + 1).unwrap_or(u32::MAX);
                    if backup.contains(&id) { 0 } else { given(i) }
                })
                .collect(),
        )
    };
    predict(&Case {
        method: balancing.method,
        consistent: balancing.consistent,
        weights: weights.as_deref(),
        backends: lab.backends() as usize,
        hash_key: balancing.hash_key(),
        concurrency: load.concurrency(),
        delays_ms: mean_delays(lab),
        source_ips: load.source_ips(),
        requests: report.requests,
        counts: &report.counts,
        clients: report.clients.as_ref(),
    })
}
