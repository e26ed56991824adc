//! HAProxy's config for a lab: `haproxy/haproxy.cfg` filled in, with the `backend lblab` section
//! the NixOS module renders too.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::haproxy_method::HaproxyMethod;
use crate::proxy::proxy;
use crate::render::fill;
use crate::weights::Weights;

/// What the module renders too: defaults, frontend and the backend.
const TEMPLATE: &str = include_str!("../../../haproxy/haproxy.cfg");
/// The runner's own global section: its prefix, pid file and stats socket.
const GLOBAL: &str = include_str!("../../../haproxy/global.cfg");

/// HAProxy's largest server weight.
pub const MAX_HAPROXY_WEIGHT: u32 = 256;

/// The `backend lblab` section: the part of the config the NixOS module must produce too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaproxyBackend {
    pub method: HaproxyMethod,
    /// `hash-type consistent` (hashing methods only).
    pub consistent: bool,
    /// `hash-balance-factor N` (consistent hashing only): no server takes more than N % of the
    /// average load.
    pub balance_factor: Option<u32>,
    /// `maxconn` of every server: the most requests at once each takes; the rest wait in queue.
    pub maxconn: Option<u32>,
    pub servers: Vec<SocketAddr>,
    /// One per server, in the same order; `None`: HAProxy's default weight 1.
    pub weights: Option<Weights>,
}

/// A whole haproxy.cfg for a private prefix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HaproxyConfig {
    pub prefix: PathBuf,
    pub listen: SocketAddr,
    /// HAProxy's threads (`nbthread`): one per CPU, as nginx's workers.
    pub threads: u32,
    /// The most client connections the load test will open at once.
    pub concurrency: u32,
    /// The hard limit on open files HAProxy will run under (`None`: not known, as for a config
    /// printed for another machine). HAProxy refuses to start when its maxconn needs more.
    #[serde(default)]
    pub nofile_limit: Option<u64>,
    /// The uid and gid HAProxy's workers drop to (`uid`, `gid` in its global section): the
    /// runner's choice when it is root, `None` otherwise (the workers are then the runner's user).
    #[serde(default)]
    pub run_as: Option<(u32, u32)>,
    pub backend: HaproxyBackend,
}

/// Files HAProxy holds besides two per connection: listeners, the stats socket, pollers, logs.
const SPARE_FILES: u64 = 256;

/// The name of server `i` (from 0) in the config and on the stats socket: `s1`, `s2`, …
pub fn server_name(i: usize) -> String {
    format!("s{}", i + 1)
}

impl HaproxyBackend {
    pub fn new(method: HaproxyMethod, servers: Vec<SocketAddr>) -> Self {
        HaproxyBackend {
            method,
            consistent: false,
            balance_factor: None,
            maxconn: None,
            servers,
            weights: None,
        }
    }

    pub fn render(&self) -> String {
        let mut s = String::from("backend lblab\n");
        let _ = writeln!(s, "    balance {}", self.method.balance());
        if self.consistent {
            s.push_str("    hash-type consistent\n");
        }
        if let Some(f) = self.balance_factor {
            let _ = writeln!(s, "    hash-balance-factor {f}");
        }
        for (i, addr) in self.servers.iter().enumerate() {
            let _ = write!(s, "    server {} {addr}", server_name(i));
            if let Some(w) = self.weights.as_ref().and_then(|w| w.0.get(i)) {
                let _ = write!(s, " weight {w}");
            }
            if let Some(m) = self.maxconn {
                let _ = write!(s, " maxconn {m}");
            }
            s.push('\n');
        }
        s
    }
}

/// Checks that HAProxy reads `prefix` as it is inside single quotes, where nothing is expanded:
/// anything but a single quote and control characters.
pub fn check_haproxy_prefix(prefix: &Path) -> Result<(), String> {
    let shown = prefix.display();
    let s = prefix
        .to_str()
        .ok_or_else(|| format!("prefix {shown} is not UTF-8, which haproxy.cfg cannot hold"))?;
    match s.chars().find(|c| *c == '\'' || c.is_control()) {
        Some(c) => Err(format!(
            "prefix '{shown}' has {c:?}, which haproxy.cfg cannot hold in a path (its paths are single-quoted)"
        )),
        None => Ok(()),
    }
}

impl HaproxyConfig {
    /// Every client connection (HAProxy counts a client connection and its server one as one),
    /// with room to spare, within the open-files limit: HAProxy wants two files per connection.
    pub fn maxconn(&self) -> u32 {
        let wanted = u64::from((self.concurrency + 64).max(1024));
        let room = self
            .nofile_limit
            .map_or(wanted, |l| l.saturating_sub(SPARE_FILES) / 2);
        wanted.min(room).max(1).try_into().unwrap_or(u32::MAX)
    }

    pub fn render(&self) -> String {
        let p = proxy();
        let run_as = self.run_as.map_or(String::new(), |(u, g)| {
            format!("    uid {u}\n    gid {g}\n")
        });
        let vars: [(&str, String); 9] = [
            ("run_as", run_as),
            ("maxconn", self.maxconn().to_string()),
            ("threads", self.threads.max(1).to_string()),
            ("prefix", self.prefix.display().to_string()),
            ("connect_timeout", format!("{}ms", p.connect_timeout_ms)),
            ("read_timeout", format!("{}ms", p.read_timeout_ms)),
            // nginx tries each backend once (proxy_next_upstream_tries = the servers); HAProxy's
            // retries come after the first attempt.
            (
                "retries",
                self.backend.servers.len().saturating_sub(1).to_string(),
            ),
            ("listen", self.listen.to_string()),
            ("backend", self.backend.render()),
        ];
        fill(GLOBAL, &vars) + "\n" + &fill(TEMPLATE, &vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> Vec<SocketAddr> {
        (1..=3)
            .map(|i| format!("127.0.0.1:{}", 9000 + i).parse().unwrap())
            .collect()
    }

    #[test]
    fn the_backend_section() {
        let mut b = HaproxyBackend::new(HaproxyMethod::Hdr("X-Key".into()), addrs());
        b.consistent = true;
        b.balance_factor = Some(150);
        b.maxconn = Some(4);
        b.weights = Some(Weights(vec![1, 2, 3]));
        assert_eq!(
            b.render(),
            "backend lblab\n    balance hdr(X-Key)\n    hash-type consistent\n\
             \x20   hash-balance-factor 150\n\
             \x20   server s1 127.0.0.1:9001 weight 1 maxconn 4\n\
             \x20   server s2 127.0.0.1:9002 weight 2 maxconn 4\n\
             \x20   server s3 127.0.0.1:9003 weight 3 maxconn 4\n"
        );
    }

    #[test]
    fn every_placeholder_is_filled() {
        let c = HaproxyConfig {
            prefix: "/tmp/p q".into(),
            listen: "127.0.0.1:8080".parse().unwrap(),
            threads: 2,
            concurrency: 1000,
            nofile_limit: None,
            run_as: None,
            backend: HaproxyBackend::new(HaproxyMethod::RoundRobin, addrs()),
        };
        let r = c.render();
        assert!(!r.contains("    uid ") && !r.contains("    gid "), "{r}");
        let dropped = HaproxyConfig {
            run_as: Some((65534, 65533)),
            ..c.clone()
        }
        .render();
        assert!(
            dropped.contains("expose-fd listeners\n    # Run by root")
                && dropped.contains("\n    uid 65534\n    gid 65533\n"),
            "{dropped}"
        );
        assert!(!r.contains("{{"), "{r}");
        assert!(r.contains("pidfile '/tmp/p q/haproxy.pid'"), "{r}");
        assert!(r.contains("    bind 127.0.0.1:8080\n"), "{r}");
        assert!(r.contains("    retries 2\n"), "{r}");
        assert!(r.contains("    maxconn 1064\n"), "{r}");
        let mut c = c;
        c.concurrency = 100_000;
        c.nofile_limit = Some(20_000);
        assert_eq!(c.maxconn(), (20_000 - 256) / 2);
        assert!(r.contains("backend lblab\n    balance roundrobin\n"), "{r}");
    }

    #[test]
    fn prefixes_haproxy_cannot_hold_are_refused() {
        assert!(check_haproxy_prefix(Path::new("/tmp/a b;c{}\"$x")).is_ok());
        for bad in ["/tmp/a'b", "/tmp/a\nb"] {
            assert!(check_haproxy_prefix(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
