//! HAProxy's balancing as the lab takes it: the method and what goes with it, validated in the
//! flags' words. nginx's is `spec::Balancing`; a lab has one or the other (`LabSpec::front`).

use std::net::SocketAddr;

use lblab_config::{HaproxyBackend, HaproxyMethod, MAX_HAPROXY_WEIGHT, Weights};

#[derive(Debug, Clone, PartialEq)]
pub struct HaproxyBalancing {
    pub method: HaproxyMethod,
    pub weights: Option<Weights>,
    /// `hash-type consistent`.
    pub consistent: bool,
    /// `hash-balance-factor`.
    pub balance_factor: Option<u32>,
    /// `maxconn` of each server.
    pub maxconn: Option<u32>,
}

impl HaproxyBalancing {
    #[cfg(test)]
    fn of(method: HaproxyMethod) -> HaproxyBalancing {
        HaproxyBalancing {
            method,
            weights: None,
            consistent: false,
            balance_factor: None,
            maxconn: None,
        }
    }

    /// Checks the settings that only some methods take, for `backends` servers.
    pub fn validate(&self, backends: u32) -> Result<(), String> {
        if let Some(w) = &self.weights {
            if w.len() != backends as usize {
                return Err(format!(
                    "--weights {w} has {} weights for {backends} backends (give one weight per backend)",
                    w.len()
                ));
            }
            if let Some(big) = w.0.iter().find(|&&x| x > MAX_HAPROXY_WEIGHT) {
                return Err(format!(
                    "--weights {w}: weight {big} is more than HAProxy takes (accepted: 1 to {MAX_HAPROXY_WEIGHT})"
                ));
            }
        }
        let m = &self.method;
        if self.consistent && !m.hashes() {
            return Err(format!(
                "--consistent only applies to HAProxy's hashing methods (source, uri, hdr(NAME)), not {m}"
            ));
        }
        if let Some(f) = self.balance_factor {
            if !self.consistent {
                return Err(
                    "--hash-balance-factor bounds consistent hashing: add --consistent (with source, uri or hdr(NAME))"
                        .into(),
                );
            }
            if f <= 100 {
                return Err(format!(
                    "--hash-balance-factor {f}: a server's load as a percentage of the average, more than 100 (e.g. 150)"
                ));
            }
        }
        Ok(())
    }

    /// The `backend lblab` section for `servers` (validated by the caller).
    pub fn backend(&self, servers: Vec<SocketAddr>) -> HaproxyBackend {
        let mut b = HaproxyBackend::new(self.method.clone(), servers);
        b.consistent = self.consistent;
        b.balance_factor = self.balance_factor;
        b.maxconn = self.maxconn;
        b.weights = self.weights.clone();
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_a_method_does_not_take_are_refused() {
        let mut b = HaproxyBalancing::of(HaproxyMethod::LeastConn);
        b.consistent = true;
        assert!(b.validate(3).unwrap_err().contains("not leastconn"));
        let mut b = HaproxyBalancing::of(HaproxyMethod::Uri);
        b.balance_factor = Some(150);
        assert!(b.validate(3).unwrap_err().contains("add --consistent"));
        b.consistent = true;
        assert_eq!(b.validate(3), Ok(()));
        b.balance_factor = Some(100);
        assert!(b.validate(3).is_err());
        let mut b = HaproxyBalancing::of(HaproxyMethod::RoundRobin);
        b.weights = Some(Weights(vec![1, 257, 1]));
        assert!(b.validate(3).unwrap_err().contains("1 to 256"));
        b.weights = Some(Weights(vec![1, 2]));
        assert!(b.validate(3).unwrap_err().contains("2 weights for 3"));
    }
}
