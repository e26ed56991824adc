//! What `lblab compare` was asked for, validated: the scenario, the contenders in order, the lab
//! (started with the first contender's balancing), the load with the scenario's workload filled
//! in, and the report files.

use lblab_config::Method;

use crate::load_plan::LoadPlan;
use crate::report::ReportFiles;
use crate::scenario::{Contender, Scenario};
use crate::spec::{Balancing, LabSpec};

#[derive(Debug)]
pub struct CompareSpec {
    pub scenario: Scenario,
    /// At least one, none twice, each valid for the lab.
    pub contenders: Vec<Contender>,
    pub lab: LabSpec,
    /// hash's key: the flag's, or the keyed scenarios' `$http_x_key`; `None`: nginx's default.
    pub hash_key: Option<String>,
    pub load: LoadPlan,
    pub report: ReportFiles,
}

impl CompareSpec {
    /// The balancing of one contender.
    pub fn balancing(&self, c: Contender) -> Balancing {
        balancing_of(
            c,
            self.lab.balancing().weights.clone(),
            self.hash_key.clone(),
        )
    }

    pub fn backends(&self) -> u32 {
        self.lab.backends()
    }
}

/// The balancing of contender `c`: the lab's weights, and the hash key for hash alone.
pub fn balancing_of(
    c: Contender,
    weights: Option<lblab_config::Weights>,
    hash_key: Option<String>,
) -> Balancing {
    Balancing {
        method: c.method,
        weights,
        hash_key: hash_key.filter(|_| c.method == Method::Hash),
        consistent: c.consistent,
    }
}
