use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The single table both Rust and Nix read; see `nixos/module.nix`.
const METHODS_JSON: &str = include_str!("../../../nginx/methods.json");

/// A load-balancing method of nginx's upstream module. The names are the CLI's and the NixOS
/// module's (`services.lblab.method`), and the keys of `nginx/methods.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Method {
    #[default]
    RoundRobin,
    LeastConn,
    IpHash,
    Hash,
    Random,
    RandomTwo,
}

/// One row of `nginx/methods.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodSpec {
    /// The directive inside `upstream {}`, without `;`. `{key}` and `{consistent}` are filled in for
    /// `hash`; empty for round-robin, which is nginx's default and has no directive.
    pub directive: String,
    pub summary: String,
    /// Whether nginx takes `backup` servers with it: its hash, ip_hash and random modules refuse
    /// the parameter ("balancing method does not support parameter \"backup\"").
    pub backup: bool,
}

impl Method {
    pub const ALL: [Method; 6] = [
        Method::RoundRobin,
        Method::LeastConn,
        Method::IpHash,
        Method::Hash,
        Method::Random,
        Method::RandomTwo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::RoundRobin => "round-robin",
            Method::LeastConn => "least-conn",
            Method::IpHash => "ip-hash",
            Method::Hash => "hash",
            Method::Random => "random",
            Method::RandomTwo => "random-two",
        }
    }

    pub fn spec(self) -> &'static MethodSpec {
        &table()[self.name()]
    }

    /// The upstream directive line for this method (without `;`), or `None` for round-robin.
    pub fn directive(self, hash_key: &str, consistent: bool) -> Option<String> {
        let d = &self.spec().directive;
        if d.is_empty() {
            return None;
        }
        let consistent = if consistent { " consistent" } else { "" };
        Some(
            d.replace("{key}", hash_key)
                .replace("{consistent}", consistent),
        )
    }

    /// Whether a server may be marked `backup` under this method.
    pub fn takes_backup(self) -> bool {
        self.spec().backup
    }

    /// The methods that take `backup` servers, `round-robin, least-conn`, for refusals.
    pub fn backup_names() -> String {
        let takes: Vec<&str> = Method::ALL
            .into_iter()
            .filter(|m| m.takes_backup())
            .map(Method::name)
            .collect();
        takes.join(", ")
    }

    /// `round-robin, least-conn, …` for error messages.
    pub fn names() -> String {
        Method::ALL.map(Method::name).join(", ")
    }
}

fn table() -> &'static BTreeMap<String, MethodSpec> {
    static TABLE: OnceLock<BTreeMap<String, MethodSpec>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The file is compiled in and its shape is checked by the unit tests below, so a failure here
        // is a build defect, not user input.
        serde_json::from_str(METHODS_JSON).expect("nginx/methods.json is valid")
    })
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown method '{s}' (accepted: {})", Method::names()))
    }
}

impl Serialize for Method {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a hash key may hold, for the messages of `lblab` and of the NixOS module.
/// What a hash key may hold, from `nginx/hash-key.json`, which the NixOS module reads too.
const HASH_KEY_JSON: &str = include_str!("../../../nginx/hash-key.json");

#[derive(Deserialize)]
struct HashKeyRule {
    /// Characters nginx would not read as part of an unquoted key, beyond space and control ones.
    not_in_key: String,
    /// What is accepted, in words, for the refusal's one line.
    accepted: String,
}

fn hash_key_rule() -> &'static HashKeyRule {
    static RULE: OnceLock<HashKeyRule> = OnceLock::new();
    RULE.get_or_init(|| serde_json::from_str(HASH_KEY_JSON).expect("nginx/hash-key.json is valid"))
}

/// What a hash key may be, in words: printable ASCII but for what nginx reads otherwise.
pub fn hash_key_accepted() -> &'static str {
    &hash_key_rule().accepted
}

/// Checks that `key` reaches nginx as the one word it was meant to be. The key is written unquoted
/// after `hash`, where nginx splits words at whitespace (so `$request_uri consistent` would turn
/// ketama on while the settings say it is off), ends the directive at `;`, opens or closes a block
/// at a brace, starts a comment at `#`, escapes with `\` and quotes with `'` or `"`. Anything else
/// of printable ASCII is an nginx expression whose variables nginx itself checks.
pub fn check_hash_key(key: &str) -> Result<(), String> {
    let rule = hash_key_rule();
    let accepted = &rule.accepted;
    if key.is_empty() {
        return Err(format!("hash-key is empty (accepted: {accepted})"));
    }
    match key
        .chars()
        .find(|&c| !c.is_ascii_graphic() || rule.not_in_key.contains(c))
    {
        Some(c) => Err(format!(
            "hash-key {key:?} has {c:?}, which nginx would not read as part of the key (accepted: {accepted})"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_keys_nginx_reads_as_one_word_are_accepted_and_others_refused() {
        for good in [
            "$request_uri",
            "$http_x_key",
            "$remote_addr$uri",
            "k-$arg_id:x",
            "a,b|c",
        ] {
            assert_eq!(check_hash_key(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "$request_uri consistent",
            "$uri\tx",
            "$uri\n",
            "$uri\r",
            "$uri\u{7f}",
            "#$uri",
            "$uri#x",
            "a\\b",
            "$uri;",
            "{x}",
            "'x'",
            "\"x\"",
            "$urié",
        ] {
            let err = check_hash_key(bad).unwrap_err();
            assert!(err.contains("accepted: printable ASCII"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn table_and_enum_name_the_same_methods() {
        let keys: Vec<&str> = table().keys().map(String::as_str).collect();
        let mut names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
        names.sort();
        assert_eq!(keys, names);
    }

    #[test]
    fn backup_is_taken_by_the_methods_nginx_allows_it_with() {
        // nginx 1.22: hash, ip_hash and random (random two too) refuse `backup`.
        assert_eq!(Method::backup_names(), "round-robin, least-conn");
    }

    #[test]
    fn directives() {
        assert_eq!(Method::RoundRobin.directive("$request_uri", false), None);
        assert_eq!(
            Method::LeastConn.directive("x", true).as_deref(),
            Some("least_conn")
        );
        assert_eq!(
            Method::Hash.directive("$request_uri", false).as_deref(),
            Some("hash $request_uri")
        );
        assert_eq!(
            Method::Hash.directive("$http_x_key", true).as_deref(),
            Some("hash $http_x_key consistent")
        );
        assert_eq!(
            Method::RandomTwo.directive("", false).as_deref(),
            Some("random two least_conn")
        );
    }

    #[test]
    fn parse_round_trips_and_rejects() {
        for m in Method::ALL {
            assert_eq!(m.name().parse::<Method>(), Ok(m));
        }
        let err = "leastconn".parse::<Method>().unwrap_err();
        assert!(
            err.contains("'leastconn'") && err.contains("least-conn"),
            "{err}"
        );
    }
}
