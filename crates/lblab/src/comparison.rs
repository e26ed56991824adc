//! What `lblab compare` was asked for, validated: the scenario, the contenders in order, the lab
//! (started with the first contender's balancing), the load with the scenario's workload filled
//! in, and the report files.

use lblab_config::{Method, Proxy};

use crate::load_plan::LoadPlan;
use crate::report::ReportFiles;
use crate::scenario::{Contender, Scenario};
use crate::spec::{Balancer, Balancing, LabSpec};

#[derive(Debug)]
pub struct CompareSpec {
    pub scenario: Scenario,
    /// The balancers, in order, at least one, none twice; each runs every contender (HAProxy its
    /// counterpart) in a lab of its own.
    pub proxies: Vec<Proxy>,
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
            self.lab.balancer().weights().cloned(),
            self.hash_key.clone(),
            self.lab.balancer().tuning(),
        )
    }

    pub fn backends(&self) -> u32 {
        self.lab.backends()
    }

    /// Contender `c` as `proxy` runs it.
    pub fn contender_on(&self, c: Contender, proxy: Proxy) -> Contender {
        let keyed = self
            .hash_key
            .as_deref()
            .and_then(crate::pairs::keyed)
            .unwrap_or(false);
        Contender { proxy, keyed, ..c }
    }

    /// The lab of `proxy`, started with the first contender (HAProxy: its counterpart).
    pub fn lab_on(&self, proxy: Proxy) -> Result<LabSpec, String> {
        match proxy {
            Proxy::Nginx => Ok(self.lab.clone()),
            Proxy::Haproxy => {
                let first = self.contender_on(self.contenders[0], proxy);
                let weights = self.lab.balancer().weights().cloned();
                let b = first.haproxy_balancing(weights);
                self.lab.clone().with_balancer(Balancer::Haproxy(b))
            }
        }
    }
}

/// Refuses, before anything starts, what HAProxy cannot stand beside nginx in: a hash key with no
/// HAProxy counterpart, or weights past HAProxy's 256.
pub fn check_haproxy_pairs(
    contenders: &[Contender],
    hash_key: Option<&str>,
    weights: Option<&lblab_config::Weights>,
    backends: u32,
) -> Result<(), String> {
    let key = hash_key.unwrap_or(lblab_config::DEFAULT_HASH_KEY);
    let keyed = crate::pairs::keyed(key);
    if contenders.iter().any(|c| c.method == Method::Hash) && keyed.is_none() {
        return Err(format!(
            "--hash-key {key} has no HAProxy counterpart (accepted with haproxy: $request_uri, as uri; $http_x_key, as hdr(X-Key))"
        ));
    }
    for c in contenders {
        let c = Contender {
            proxy: Proxy::Haproxy,
            keyed: keyed.unwrap_or(false),
            ..*c
        };
        c.haproxy_balancing(weights.cloned()).validate(backends)?;
    }
    Ok(())
}

/// The balancing of contender `c`: the lab's weights and upstream settings, and the hash key for
/// hash alone.
pub fn balancing_of(
    c: Contender,
    weights: Option<lblab_config::Weights>,
    hash_key: Option<String>,
    tuning: lblab_config::Tuning,
) -> Balancing {
    Balancing {
        method: c.method,
        weights,
        hash_key: hash_key.filter(|_| c.method == Method::Hash),
        consistent: c.consistent,
        tuning,
    }
}
