//! Theory for a run of a lab: the `Case` made from the lab, its balancing and its load, for `run`
//! and each of `compare`'s rows alike.

use loadtest::Report;

use super::haproxy::{self, HaproxyCase};
use super::{Case, Theory, mean_delays, predict};
use crate::haproxy_balancing::HaproxyBalancing;
use crate::load_plan::LoadPlan;
use crate::spec::{Balancing, LabSpec};

/// Which balancer ran, with its balancing: each has its own theory.
#[derive(Clone, Copy)]
pub enum Balancer<'a> {
    Nginx(&'a Balancing),
    Haproxy(&'a HaproxyBalancing),
}

impl<'a> Balancer<'a> {
    /// The balancer of `lab` as it was started.
    pub fn of(lab: &'a LabSpec) -> Balancer<'a> {
        match lab.haproxy() {
            Some((b, _)) => Balancer::Haproxy(b),
            None => Balancer::Nginx(lab.balancing()),
        }
    }
}

/// What theory predicts for `report`, a run of `load` against `lab` balanced by `balancer`:
/// nginx's methods by `predict`, HAProxy's by `haproxy::predict`, each in its own words.
pub fn for_run(lab: &LabSpec, balancer: Balancer, load: &LoadPlan, report: &Report) -> Theory {
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
