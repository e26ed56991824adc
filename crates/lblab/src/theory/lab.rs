//! Theory for a run of a lab: the `Case` made from the lab, its balancing and its load, for `run`
//! and each of `compare`'s rows alike.

use loadtest::Report;

use super::{Case, Theory, mean_delays, predict};
use crate::load_plan::LoadPlan;
use crate::spec::{Balancing, LabSpec};

/// What theory predicts for `report`, a run of `load` against `lab` balanced by `balancing`.
pub fn for_run(lab: &LabSpec, balancing: &Balancing, load: &LoadPlan, report: &Report) -> Theory {
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
