//! A balancing in a line, as `lblab status`, the dashboard and a switch's message show it:
//! `hash $request_uri consistent, weights 3,1,1`.

use crate::haproxy_render::HaproxyBackend;
use crate::method::Method;
use crate::render::UpstreamConfig;

impl UpstreamConfig {
    /// The method, hash's key (and `consistent`), the weights, and the upstream settings that are
    /// not nginx/proxy.json's.
    pub fn describe(&self) -> String {
        let mut s = self.method.to_string();
        if self.method == Method::Hash {
            s.push(' ');
            s.push_str(&self.hash_key);
            if self.consistent {
                s.push_str(" consistent");
            }
        }
        if let Some(w) = &self.weights {
            s.push_str(&format!(", weights {w}"));
        }
        let tuning = self.tuning.describe();
        if !tuning.is_empty() {
            s.push_str(", ");
            s.push_str(&tuning);
        }
        s
    }
}

impl HaproxyBackend {
    /// The method, `consistent`, the balance factor, maxconn, the weights.
    pub fn describe(&self) -> String {
        let mut s = self.method.to_string();
        if self.consistent {
            s.push_str(" consistent");
        }
        if let Some(f) = self.balance_factor {
            s.push_str(&format!(", hash-balance-factor {f}"));
        }
        if let Some(m) = self.maxconn {
            s.push_str(&format!(", maxconn {m}"));
        }
        if let Some(w) = &self.weights {
            s.push_str(&format!(", weights {w}"));
        }
        s
    }
}
