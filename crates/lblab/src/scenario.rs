//! What `compare` runs: a scenario (the workload and the lab it needs) and the contenders (the
//! methods, hash and hash consistent counted apart).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;
use std::time::Duration;

use lblab_backend::Delay;
use lblab_config::{Method, Proxy};
use serde::{Serialize, Serializer};

use crate::haproxy_balancing::HaproxyBalancing;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scenario {
    /// Identical backends, one client.
    #[default]
    Even,
    /// Backend 1 delayed (unless --delay says otherwise).
    SlowBackend,
    /// Requests from many /24 networks, which ip-hash keys on.
    ManyClients,
    /// Requests with a varying X-Key header, which hash keys on.
    Keys,
    /// Keys and clients, then the last backend marked down, then removed: which keys moved.
    LoseBackend,
    /// Every backend holding each request 20 ms, random against random-two: the power of two
    /// choices, best seen with many backends (-b 10, -b 50).
    Spread,
}

impl Scenario {
    pub const ALL: [Scenario; 6] = [
        Scenario::Even,
        Scenario::SlowBackend,
        Scenario::ManyClients,
        Scenario::Keys,
        Scenario::LoseBackend,
        Scenario::Spread,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Even => "even",
            Scenario::SlowBackend => "slow-backend",
            Scenario::ManyClients => "many-clients",
            Scenario::Keys => "keys",
            Scenario::LoseBackend => "lose-backend",
            Scenario::Spread => "spread",
        }
    }

    /// The delays of its lab where --delay gives none: slow-backend slows backend 1 by 50 ms;
    /// spread holds every request 20 ms, so that a backend's active connections, which random-two
    /// compares, say how loaded it is (answered at once, they are all 0 or 1).
    pub fn delays(self) -> Vec<(Option<u32>, Delay)> {
        match self {
            Scenario::SlowBackend => vec![(Some(1), Delay::Fixed(Duration::from_millis(50)))],
            Scenario::Spread => vec![(None, Delay::Fixed(Duration::from_millis(20)))],
            _ => Vec::new(),
        }
    }

    /// The client addresses of its load where --source-ip gives none: 100 distinct /24 networks
    /// (127.0.1.1 to 127.0.100.1), as ip_hash keys on the first three octets.
    pub fn clients(self) -> Vec<IpAddr> {
        match self {
            Scenario::ManyClients | Scenario::LoseBackend => (1..=100)
                .map(|n| IpAddr::V4(Ipv4Addr::new(127, 0, n, 1)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether its requests carry a key that hash keys on (the header `X-Key: k{n%100}`, the key
    /// `$http_x_key`) where -H and --hash-key give none.
    pub fn keyed(self) -> bool {
        matches!(self, Scenario::Keys | Scenario::LoseBackend)
    }

    /// The methods compared when --methods is not given.
    pub fn default_contenders(self) -> Vec<Contender> {
        let six = Method::ALL.map(|m| Contender {
            method: m,
            consistent: false,
            proxy: Proxy::Nginx,
            keyed: false,
        });
        let consistent = Contender {
            method: Method::Hash,
            consistent: true,
            proxy: Proxy::Nginx,
            keyed: false,
        };
        match self {
            Scenario::Even | Scenario::SlowBackend | Scenario::ManyClients => six.to_vec(),
            Scenario::Keys => {
                let mut v = six.to_vec();
                v.insert(4, consistent);
                v
            }
            Scenario::LoseBackend => vec![six[3], consistent, six[2]],
            Scenario::Spread => vec![six[4], six[5]],
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Scenario {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|c| c.name() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Scenario::ALL.iter().map(|c| c.name()).collect();
                format!("unknown scenario '{s}' (accepted: {})", names.join(", "))
            })
    }
}

/// One method under comparison: a balancing method, and for hash whether it is consistent; with
/// `--proxies`, which balancer runs it (HAProxy runs nginx's method's counterpart, `pairs.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contender {
    pub method: Method,
    pub consistent: bool,
    pub proxy: Proxy,
    /// For HAProxy's hash: it keys on the X-Key header (else on the URI), as nginx's key does.
    pub keyed: bool,
}

impl Contender {
    /// What a hash method keys on, for the key movement: the header, or the client's address.
    pub fn keys_on(self) -> Option<KeyKind> {
        match self.method {
            Method::Hash => Some(KeyKind::Header),
            Method::IpHash => Some(KeyKind::Source),
            _ => None,
        }
    }

    /// The balancing of this contender's HAProxy counterpart (`pairs.rs`), with the compare's
    /// weights.
    pub fn haproxy_balancing(self, weights: Option<lblab_config::Weights>) -> HaproxyBalancing {
        HaproxyBalancing {
            method: crate::pairs::haproxy_method(self.method, self.keyed),
            weights,
            consistent: self.consistent,
            balance_factor: None,
            maxconn: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyKind {
    Header,
    Source,
}

impl fmt::Display for Contender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.proxy == Proxy::Haproxy {
            let m = crate::pairs::haproxy_method(self.method, self.keyed);
            let consistent = if self.consistent { " consistent" } else { "" };
            return write!(f, "haproxy {m}{consistent}");
        }
        if self.consistent {
            write!(f, "{} consistent", self.method)
        } else {
            write!(f, "{}", self.method)
        }
    }
}

impl Serialize for Contender {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One name of `--methods`: a method of `--method`, or hash-consistent.
pub fn parse_contender(s: &str) -> Result<Contender, String> {
    let s = s.trim();
    if s == "hash-consistent" {
        return Ok(Contender {
            method: Method::Hash,
            consistent: true,
            proxy: Proxy::Nginx,
            keyed: false,
        });
    }
    s.parse::<Method>()
        .map(|method| Contender {
            method,
            consistent: false,
            proxy: Proxy::Nginx,
            keyed: false,
        })
        .map_err(|_| {
            format!(
                "unknown method '{s}' (accepted: {}, hash-consistent)",
                Method::names()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_named() {
        for sc in Scenario::ALL {
            assert_eq!(sc.name().parse::<Scenario>(), Ok(sc));
        }
        assert!(
            "slow"
                .parse::<Scenario>()
                .unwrap_err()
                .contains("'slow' (accepted: even, slow-backend")
        );
        let c = parse_contender("hash-consistent").unwrap();
        assert_eq!(c.to_string(), "hash consistent");
        assert_eq!(
            parse_contender("ip-hash").unwrap().keys_on(),
            Some(KeyKind::Source)
        );
        assert!(
            parse_contender("fast")
                .unwrap_err()
                .contains("hash-consistent")
        );
    }

    #[test]
    fn the_default_methods_fit_the_scenario() {
        assert_eq!(Scenario::Even.default_contenders().len(), 6);
        let spread: Vec<String> = Scenario::Spread
            .default_contenders()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(spread, ["random", "random-two"]);
        let keys: Vec<String> = Scenario::Keys
            .default_contenders()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert!(keys.contains(&"hash consistent".to_string()) && keys.len() == 7);
        assert!(
            Scenario::LoseBackend
                .default_contenders()
                .iter()
                .all(|c| c.keys_on().is_some())
        );
    }
}
