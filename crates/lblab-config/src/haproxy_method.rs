//! HAProxy's balancing methods (`balance` in a backend), from `haproxy/methods.json`, which the
//! NixOS module reads too. The names on the command line are HAProxy's own words, so that what a
//! user types is what HAProxy's manual describes; a few of nginx's names are taken where the
//! algorithm is the same (see [`HaproxyMethod::from_nginx_name`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const METHODS_JSON: &str = include_str!("../../../haproxy/methods.json");
/// nginx's names HAProxy takes for its own methods, read by the NixOS module too.
const ALIASES_JSON: &str = include_str!("../../../haproxy/aliases.json");

/// The draws of `random` when none are given: HAProxy's own default.
pub const DEFAULT_DRAWS: u32 = 2;

/// A balancing method of HAProxy's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum HaproxyMethod {
    #[default]
    RoundRobin,
    StaticRr,
    LeastConn,
    First,
    Source,
    Uri,
    /// `hdr(NAME)`: the header's name, checked by [`check_header_name`].
    Hdr(String),
    /// `random(N)`: the number of draws, at least 1.
    Random(u32),
}

/// One row of `haproxy/methods.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaproxyMethodSpec {
    /// The argument of `balance`; `{header}` and `{draws}` are filled in.
    pub balance: String,
    /// Whether it hashes a key, so that `hash-type consistent` and `hash-balance-factor` apply.
    pub hash: bool,
    pub summary: String,
}

impl HaproxyMethod {
    /// The table's key of this method.
    pub fn key(&self) -> &'static str {
        match self {
            HaproxyMethod::RoundRobin => "roundrobin",
            HaproxyMethod::StaticRr => "static-rr",
            HaproxyMethod::LeastConn => "leastconn",
            HaproxyMethod::First => "first",
            HaproxyMethod::Source => "source",
            HaproxyMethod::Uri => "uri",
            HaproxyMethod::Hdr(_) => "hdr",
            HaproxyMethod::Random(_) => "random",
        }
    }

    pub fn spec(&self) -> &'static HaproxyMethodSpec {
        &table()[self.key()]
    }

    /// Whether `hash-type consistent` and `hash-balance-factor` apply to it.
    pub fn hashes(&self) -> bool {
        self.spec().hash
    }

    /// The argument of `balance`, e.g. `hdr(X-Key)` or `random(2)`.
    pub fn balance(&self) -> String {
        let (header, draws) = match self {
            HaproxyMethod::Hdr(h) => (h.as_str(), String::new()),
            HaproxyMethod::Random(n) => ("", n.to_string()),
            _ => ("", String::new()),
        };
        self.spec()
            .balance
            .replace("{header}", header)
            .replace("{draws}", &draws)
    }

    /// One method of each row of the table, in the table's order, as the dashboard offers them:
    /// the header hash on `X-Key` (the header the lab's hash examples send), random with HAProxy's
    /// own number of draws.
    pub fn one_of_each() -> [HaproxyMethod; 8] {
        [
            HaproxyMethod::RoundRobin,
            HaproxyMethod::StaticRr,
            HaproxyMethod::LeastConn,
            HaproxyMethod::First,
            HaproxyMethod::Source,
            HaproxyMethod::Uri,
            HaproxyMethod::Hdr("X-Key".into()),
            HaproxyMethod::Random(DEFAULT_DRAWS),
        ]
    }

    /// The methods as the command line takes them, for refusals.
    pub fn names() -> String {
        "roundrobin, static-rr, leastconn, first, source, uri, hdr(NAME), random, random(N) \
         (nginx's round-robin, least-conn and random-two are taken too)"
            .to_owned()
    }

    /// nginx's name of a method HAProxy has too, with the same algorithm: round-robin is
    /// roundrobin, least-conn is leastconn (both weighted, both count connections across workers
    /// or threads), random-two is random(2) (two draws, the less loaded wins). nginx's `random`
    /// (one uniform draw) is not taken for HAProxy's `random`, which draws twice; ip-hash (the
    /// first three octets) is not `source` (the whole address); nginx's `hash` hashes any
    /// expression, HAProxy's `uri` and `hdr(NAME)` one thing each.
    pub fn from_nginx_name(s: &str) -> Option<HaproxyMethod> {
        static ALIASES: OnceLock<BTreeMap<String, String>> = OnceLock::new();
        let aliases = ALIASES.get_or_init(|| {
            serde_json::from_str(ALIASES_JSON).expect("haproxy/aliases.json is valid")
        });
        // The table's targets are HAProxy's own spellings, checked by the unit tests below.
        aliases.get(s)?.parse().ok()
    }
}

fn table() -> &'static BTreeMap<String, HaproxyMethodSpec> {
    static TABLE: OnceLock<BTreeMap<String, HaproxyMethodSpec>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // Compiled in and checked by the unit tests below: a failure here is a build defect.
        serde_json::from_str(METHODS_JSON).expect("haproxy/methods.json is valid")
    })
}

/// A header name as HTTP defines a token, so that it reaches `hdr(…)` as one word HAProxy reads
/// as the name: letters, digits and ``!#$%&'*+-.^_`|~``; no parentheses, commas or spaces.
pub fn check_header_name(name: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(ok) {
        return Err(format!(
            "hdr({name}): a header name is letters, digits and !#$%&'*+-.^_`|~ (e.g. hdr(X-Key))"
        ));
    }
    Ok(())
}

impl fmt::Display for HaproxyMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.balance())
    }
}

impl FromStr for HaproxyMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || {
            format!(
                "unknown method '{s}' for --proxy haproxy (accepted: {})",
                HaproxyMethod::names()
            )
        };
        if let Some(m) = HaproxyMethod::from_nginx_name(s) {
            return Ok(m);
        }
        let (word, arg) = match s.split_once('(') {
            Some((w, rest)) => {
                let arg = rest.strip_suffix(')').ok_or_else(unknown)?;
                (w, Some(arg))
            }
            None => (s, None),
        };
        match (word, arg) {
            ("roundrobin", None) => Ok(HaproxyMethod::RoundRobin),
            ("static-rr", None) => Ok(HaproxyMethod::StaticRr),
            ("leastconn", None) => Ok(HaproxyMethod::LeastConn),
            ("first", None) => Ok(HaproxyMethod::First),
            ("source", None) => Ok(HaproxyMethod::Source),
            ("uri", None) => Ok(HaproxyMethod::Uri),
            ("hdr", Some(h)) => {
                check_header_name(h)?;
                Ok(HaproxyMethod::Hdr(h.to_owned()))
            }
            ("random", None) => Ok(HaproxyMethod::Random(DEFAULT_DRAWS)),
            ("random", Some(n)) => match n.parse::<u32>() {
                Ok(n) if (1..=100).contains(&n) => Ok(HaproxyMethod::Random(n)),
                _ => Err(format!(
                    "random({n}): the draws are a whole number from 1 to 100 (e.g. random(2))"
                )),
            },
            _ => Err(unknown()),
        }
    }
}

impl Serialize for HaproxyMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.balance())
    }
}

impl<'de> Deserialize<'de> for HaproxyMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_a_method_and_every_method_a_row() {
        let mut all = HaproxyMethod::one_of_each().to_vec();
        all.push(HaproxyMethod::Random(3));
        let mut keys: Vec<&str> = all.iter().map(HaproxyMethod::key).collect();
        keys.sort();
        keys.dedup();
        let table: Vec<&str> = table().keys().map(String::as_str).collect();
        assert_eq!(keys, table);
        // The dashboard's buttons: one per row, none twice.
        assert_eq!(HaproxyMethod::one_of_each().len(), table.len());
        for m in all {
            assert_eq!(m.balance().parse::<HaproxyMethod>(), Ok(m.clone()), "{m}");
        }
    }

    #[test]
    fn names_and_refusals() {
        assert_eq!("random".parse(), Ok(HaproxyMethod::Random(2)));
        assert_eq!("random-two".parse(), Ok(HaproxyMethod::Random(2)));
        assert_eq!("least-conn".parse(), Ok(HaproxyMethod::LeastConn));
        assert_eq!(HaproxyMethod::Hdr("X-Key".into()).balance(), "hdr(X-Key)");
        let aliases: BTreeMap<String, String> = serde_json::from_str(ALIASES_JSON).unwrap();
        for (nginx, haproxy) in aliases {
            assert!(
                nginx.parse::<crate::Method>().is_ok(),
                "{nginx} is not nginx's"
            );
            assert!(
                HaproxyMethod::from_nginx_name(&nginx).is_some(),
                "{haproxy}"
            );
        }
        for bad in [
            "ip-hash",
            "hash",
            "hdr()",
            "hdr(a b)",
            "random(0)",
            "random(x)",
            "uri(",
            "first(1)",
        ] {
            let e = bad.parse::<HaproxyMethod>().unwrap_err();
            assert!(!e.contains('\n'), "{e}");
        }
        let e = "ip-hash".parse::<HaproxyMethod>().unwrap_err();
        assert!(
            e.contains("'ip-hash'") && e.contains("leastconn, first"),
            "{e}"
        );
    }
}
