//! Theory for a run of a lab: the `Case` made from the lab, its balancing and its load, for `run`
//! and each of `compare`'s rows alike.

use loadtest::Report;

use super::{Case, Theory, mean_delays, predict};
use crate::load_plan::LoadPlan;
use crate::spec::{Balancer, LabSpec};

/// What theory predicts for `report`, a run of `load` against `lab` balanced by `balancer` (the
/// lab's own, or a compare row's). The theory is nginx's: HAProxy's counterparts differ (`source`
/// hashes the whole address, `random` draws on a ring), so their runs are not judged.
pub fn for_run(lab: &LabSpec, balancer: &Balancer, load: &LoadPlan, report: &Report) -> Theory {
    let Balancer::Nginx(balancing) = balancer else {
        return Theory::not_judged(NOT_NGINX);
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

/// Why a run behind HAProxy is not judged.
pub const NOT_NGINX: &str =
    "not judged: the theory here is of nginx's methods, and HAProxy's counterparts differ";
