//! The settings of a lab's upstream beside its method: how nginx takes a failing server out
//! (`max_fails`, `fail_timeout`), which servers stand by (`backup`) and the idle connections it
//! keeps to the backends (`keepalive`). Their defaults are `nginx/proxy.json`'s, which the NixOS
//! module reads for its options' defaults too.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::proxy::proxy;

/// The upstream's failure handling, backups and keep-alive pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tuning {
    /// Failed tries within `fail_timeout` that take a server out; 0: never taken out.
    pub max_fails: u32,
    /// How long a server that failed `max_fails` times is left out, in whole seconds: nginx's
    /// `fail_timeout` is counted in seconds and refuses `ms`.
    pub fail_timeout_s: u32,
    /// Backends (ids from 1) marked `backup`: sent requests only while every other is out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backup: Vec<u32>,
    pub keepalive: Keepalive,
}

impl Default for Tuning {
    fn default() -> Self {
        let p = proxy();
        Tuning {
            max_fails: p.max_fails,
            fail_timeout_s: p.fail_timeout_s,
            backup: Vec::new(),
            keepalive: Keepalive::Idle(p.keepalive),
        }
    }
}

impl Tuning {
    /// What differs from the defaults, in words (`max_fails 0, backup 3, keepalive off`), or
    /// nothing when all are the defaults.
    pub fn describe(&self) -> String {
        let d = Tuning::default();
        let mut parts = Vec::new();
        if self.max_fails != d.max_fails {
            parts.push(format!("max_fails {}", self.max_fails));
        }
        if self.fail_timeout_s != d.fail_timeout_s {
            parts.push(format!("fail_timeout {}s", self.fail_timeout_s));
        }
        if !self.backup.is_empty() {
            let ids: Vec<String> = self.backup.iter().map(u32::to_string).collect();
            parts.push(format!("backup {}", ids.join(",")));
        }
        if self.keepalive != d.keepalive {
            parts.push(format!("keepalive {}", self.keepalive));
        }
        parts.join(", ")
    }

    /// All four in words, as `status` and the run report show them.
    pub fn summary(&self) -> String {
        let backup = if self.backup.is_empty() {
            "none".to_owned()
        } else {
            let ids: Vec<String> = self.backup.iter().map(u32::to_string).collect();
            ids.join(",")
        };
        format!(
            "max_fails {}, fail_timeout {}s, backup {backup}, keepalive {}",
            self.max_fails, self.fail_timeout_s, self.keepalive
        )
    }
}

/// The keep-alive pool to the backends: `keepalive N` in the upstream, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keepalive {
    /// No `keepalive` directive: nginx opens a connection per request and closes it after.
    Off,
    /// At most this many idle connections to the backends in each worker's cache.
    Idle(u32),
}

impl Keepalive {
    /// The pool's size, 0 when off.
    pub fn idle(self) -> u32 {
        match self {
            Keepalive::Off => 0,
            Keepalive::Idle(n) => n,
        }
    }

    /// `proxy_http_version` and the `Connection` header nginx sends upstream. A pool needs HTTP/1.1
    /// and an empty `Connection` (nginx's upstream keepalive documentation): otherwise nginx sends
    /// `Connection: close` and the backend closes every connection after one answer. Without a pool
    /// these are nginx's own defaults, 1.0 and `close`: nothing would keep the connection anyway,
    /// and the backend, told so, closes it itself once it has answered.
    pub fn upstream_headers(self) -> (&'static str, &'static str) {
        match self {
            Keepalive::Off => ("1.0", "close"),
            Keepalive::Idle(_) => ("1.1", "\"\""),
        }
    }
}

impl fmt::Display for Keepalive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Keepalive::Off => f.write_str("off"),
            Keepalive::Idle(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for Keepalive {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "off" {
            return Ok(Keepalive::Off);
        }
        let max = proxy().keepalive_max;
        match s.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(Keepalive::Idle(n)),
            _ => Err(format!(
                "keepalive '{s}' is neither off nor a pool size (accepted: off, or idle connections per worker from 1 to {max}, e.g. 64)"
            )),
        }
    }
}

/// As a number, or the string `off`, in the lab's record and the JSON.
impl Serialize for Keepalive {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Keepalive::Off => s.serialize_str("off"),
            Keepalive::Idle(n) => s.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for Keepalive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            N(u32),
            S(String),
        }
        match Shape::deserialize(d)? {
            Shape::N(n) => n.to_string().parse(),
            Shape::S(s) => s.parse(),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// Parses `--fail-timeout`: whole seconds, as nginx counts them (`3`, `3s`, `2m`). nginx refuses
/// `ms` in `fail_timeout`, and so does this, saying why.
pub fn parse_fail_timeout(s: &str) -> Result<u32, String> {
    let max = proxy().fail_timeout_max_s;
    let accepted = format!(
        "accepted: whole seconds from 1 to {max}, as nginx counts fail_timeout: e.g. 3, 3s or 1m"
    );
    let t = s.trim();
    if t.ends_with("ms") {
        return Err(format!(
            "fail-timeout '{s}': nginx's fail_timeout has no milliseconds ({accepted})"
        ));
    }
    let (digits, unit) = match t.strip_suffix('m') {
        Some(d) => (d, 60),
        None => (t.strip_suffix('s').unwrap_or(t), 1),
    };
    let secs = digits
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|n| (1..=max).contains(n));
    secs.ok_or_else(|| format!("fail-timeout '{s}' is not taken ({accepted})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_proxy_json_s() {
        let t = Tuning::default();
        let p = proxy();
        assert_eq!(
            (t.max_fails, t.fail_timeout_s, t.keepalive.idle()),
            (p.max_fails, p.fail_timeout_s, p.keepalive)
        );
        assert_eq!(t.describe(), "");
        assert_eq!(
            t.summary(),
            "max_fails 1, fail_timeout 2s, backup none, keepalive 64"
        );
    }

    #[test]
    fn fail_timeouts_in_seconds_are_taken_and_milliseconds_refused() {
        assert_eq!(parse_fail_timeout("3"), Ok(3));
        assert_eq!(parse_fail_timeout("3s"), Ok(3));
        assert_eq!(parse_fail_timeout("2m"), Ok(120));
        for bad in ["500ms", "0", "0s", "", "s", "1.5s", "-1", "61m", "1h", "x"] {
            let e = parse_fail_timeout(bad).unwrap_err();
            assert!(
                e.contains("accepted: whole seconds") && !e.contains('\n'),
                "{e}"
            );
        }
        assert!(
            parse_fail_timeout("500ms")
                .unwrap_err()
                .contains("no milliseconds")
        );
    }

    #[test]
    fn keepalive_is_off_or_a_pool() {
        assert_eq!("off".parse(), Ok(Keepalive::Off));
        assert_eq!("8".parse(), Ok(Keepalive::Idle(8)));
        for bad in ["0", "on", "-1", "10001", ""] {
            let e = bad.parse::<Keepalive>().unwrap_err();
            assert!(e.contains("accepted: off, or"), "{e}");
        }
        for k in [Keepalive::Off, Keepalive::Idle(3)] {
            let j = serde_json::to_string(&k).unwrap();
            assert_eq!(serde_json::from_str::<Keepalive>(&j).unwrap(), k);
        }
        assert_eq!(Keepalive::Off.upstream_headers(), ("1.0", "close"));
    }
}
