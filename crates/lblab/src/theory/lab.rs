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
    predict(&Case {
        method: balancing.method,
        consistent: balancing.consistent,
        weights: balancing.weights.as_ref().map(|w| w.0.as_slice()),
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
