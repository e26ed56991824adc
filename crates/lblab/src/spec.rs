//! The lab as the runner's domain knows it: what to start (backends, their delays, the balancer in
//! front with its balancing), validated. `cli.rs` makes one from the command line in one place; `lab`,
//! `backends`, `fault`, `switch`, `compare` and the dashboard take these, never clap's structs, so
//! the command line can change without touching the lab.

use std::net::SocketAddr;
use std::path::PathBuf;

use lblab_backend::Delay;
use lblab_config::{DEFAULT_HASH_KEY, Keepalive, Method, Tuning, UpstreamConfig, Weights};

use crate::haproxy_balancing::HaproxyBalancing;

/// nginx's balancing: the method and what goes with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Balancing {
    pub method: Method,
    pub weights: Option<Weights>,
    /// `None`: nginx's default key for `hash` ($request_uri).
    pub hash_key: Option<String>,
    pub consistent: bool,
    /// `max_fails`, `fail_timeout`, `backup` and the keep-alive pool (nginx/proxy.json's by default).
    pub tuning: Tuning,
}

impl Balancing {
    pub fn of(method: Method) -> Balancing {
        Balancing {
            method,
            weights: None,
            hash_key: None,
            consistent: false,
            tuning: Tuning::default(),
        }
    }

    /// Checks the settings that only some methods take; `backends` is the number of servers. The
    /// messages name the flags, as bad input is told to the person who typed it.
    pub fn validate(&self, backends: u32) -> Result<(), String> {
        if let Some(w) = &self.weights
            && w.len() != backends as usize
        {
            return Err(format!(
                "--weights {w} has {} weights for {backends} backends (give one weight per backend)",
                w.len()
            ));
        }
        if self.method != Method::Hash {
            if self.hash_key.is_some() {
                return Err(format!(
                    "--hash-key only applies to --method hash, not {}",
                    self.method
                ));
            }
            if self.consistent {
                return Err(format!(
                    "--consistent only applies to --method hash, not {}",
                    self.method
                ));
            }
        }
        if let Some(k) = &self.hash_key {
            // The same check as the NixOS module's, from the crate both share.
            lblab_config::check_hash_key(k).map_err(|e| format!("--{e}"))?;
        }
        self.validate_backup(backends)
    }

    /// `--backup`: backends the lab has, under a method nginx takes `backup` with (its hash,
    /// ip_hash and random modules refuse the parameter), and at least one backend that is not one.
    fn validate_backup(&self, backends: u32) -> Result<(), String> {
        let backup = &self.tuning.backup;
        if backup.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = backup.iter().map(u32::to_string).collect();
        let ids = ids.join(",");
        if !self.method.takes_backup() {
            return Err(format!(
                "--backup {ids}: nginx takes backup servers only with {} (not {})",
                Method::backup_names(),
                self.method
            ));
        }
        if let Some(id) = backup.iter().find(|&&id| id == 0 || id > backends) {
            return Err(format!(
                "--backup {ids}: there is no backend {id} (backends are 1..={backends})"
            ));
        }
        let mut distinct = backup.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() != backup.len() {
            return Err(format!("--backup {ids} names a backend twice"));
        }
        if distinct.len() as u32 >= backends {
            return Err(format!(
                "--backup {ids}: every backend would be a backup, and nginx would have none to send to first (leave at least one out)"
            ));
        }
        Ok(())
    }

    pub fn hash_key(&self) -> &str {
        self.hash_key.as_deref().unwrap_or(DEFAULT_HASH_KEY)
    }

    /// The upstream for `servers` with this balancing (validated by the caller).
    pub fn upstream(&self, servers: Vec<SocketAddr>) -> UpstreamConfig {
        let mut u = UpstreamConfig::new(self.method, servers);
        u.hash_key = self.hash_key().to_owned();
        u.consistent = self.consistent;
        u.weights = self.weights.clone();
        u.tuning = self.tuning.clone();
        u
    }
}

/// A new set of weights for a running lab, or none at all (`--weights none`).
#[derive(Debug, Clone, PartialEq)]
pub enum WeightsChange {
    Set(Weights),
    Clear,
}

/// What a switch changes; `None` keeps the current value. `lblab switch` and the dashboard's method
/// buttons both go through `switch::apply` with one of these.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub method: Option<Method>,
    /// A method that is not nginx's, as typed (`lblab switch --method leastconn`): a HAProxy lab
    /// takes it, an nginx lab refuses it.
    pub other_method: Option<String>,
    pub weights: Option<WeightsChange>,
    pub hash_key: Option<String>,
    pub consistent: Option<bool>,
    /// nginx's `max_fails`, `fail_timeout` (seconds), backups (`Some(vec![])` clears them) and
    /// keep-alive pool; they carry over a method switch unless given.
    pub max_fails: Option<u32>,
    pub fail_timeout_s: Option<u32>,
    pub backup: Option<Vec<u32>>,
    pub keepalive: Option<Keepalive>,
}

impl Change {
    /// `current` with the upstream settings this change gives.
    pub fn tuning(&self, current: &Tuning) -> Tuning {
        Tuning {
            max_fails: self.max_fails.unwrap_or(current.max_fails),
            fail_timeout_s: self.fail_timeout_s.unwrap_or(current.fail_timeout_s),
            backup: self
                .backup
                .clone()
                .unwrap_or_else(|| current.backup.clone()),
            keepalive: self.keepalive.unwrap_or(current.keepalive),
        }
    }

    /// Whether it changes any of nginx's upstream settings (which HAProxy's labs do not have).
    pub fn has_tuning(&self) -> bool {
        self.max_fails.is_some()
            || self.fail_timeout_s.is_some()
            || self.backup.is_some()
            || self.keepalive.is_some()
    }
}

/// Which balancer a lab runs, with its balancing: the one thing that differs between an nginx lab
/// and a HAProxy lab. A lab never holds the other's balancing unused.
#[derive(Debug, Clone, PartialEq)]
pub enum Balancer {
    Nginx(Balancing),
    Haproxy(HaproxyBalancing),
}

impl Balancer {
    pub fn weights(&self) -> Option<&Weights> {
        match self {
            Balancer::Nginx(b) => b.weights.as_ref(),
            Balancer::Haproxy(b) => b.weights.as_ref(),
        }
    }

    /// nginx's upstream settings; a HAProxy lab has none, and its nginx rows (compare --proxies)
    /// take nginx/proxy.json's.
    pub fn tuning(&self) -> Tuning {
        match self {
            Balancer::Nginx(b) => b.tuning.clone(),
            Balancer::Haproxy(_) => Tuning::default(),
        }
    }

    fn validate(&self, backends: u32) -> Result<(), String> {
        match self {
            Balancer::Nginx(b) => b.validate(backends),
            Balancer::Haproxy(b) => b.validate(backends),
        }
    }
}

/// The balancers' binaries as given (`--nginx`, `--haproxy`); `None`: on PATH, then /usr/sbin.
/// Both are kept, as `compare --proxies` starts one lab of each.
#[derive(Debug, Clone, Default)]
pub struct Binaries {
    pub nginx: Option<PathBuf>,
    pub haproxy: Option<PathBuf>,
}

/// A lab to start, valid by construction: [`LabSpec::new`] is its one door, so nothing that
/// starts a lab checks it again.
#[derive(Debug, Clone)]
pub struct LabSpec {
    balancer: Balancer,
    backends: u32,
    /// Delays by backend id; `None` for every backend that has no delay of its own.
    delays: Vec<(Option<u32>, Delay)>,
    /// Where the balancer listens; `None`: a free port on 127.0.0.1.
    listen: Option<SocketAddr>,
    binaries: Binaries,
    /// nginx's worker processes or HAProxy's threads; `None`: one per CPU.
    workers: Option<u32>,
}

impl LabSpec {
    /// The lab of these settings, or why they do not make one (in the flags' words).
    pub fn new(
        balancer: Balancer,
        backends: u32,
        delays: Vec<(Option<u32>, Delay)>,
        listen: Option<SocketAddr>,
        binaries: Binaries,
        workers: Option<u32>,
    ) -> Result<LabSpec, String> {
        balancer.validate(backends)?;
        if let Some(id) = delays
            .iter()
            .filter_map(|(id, _)| *id)
            .find(|&id| id > backends)
        {
            return Err(format!(
                "--delay {id}=…: there is no backend {id} (backends are 1..={backends})"
            ));
        }
        Ok(LabSpec {
            balancer,
            backends,
            delays,
            listen,
            binaries,
            workers,
        })
    }

    /// The same lab with `balancer` in front (compare's lab of another proxy), validated.
    pub fn with_balancer(mut self, balancer: Balancer) -> Result<LabSpec, String> {
        balancer.validate(self.backends)?;
        self.balancer = balancer;
        Ok(self)
    }

    pub fn balancer(&self) -> &Balancer {
        &self.balancer
    }

    pub fn binaries(&self) -> &Binaries {
        &self.binaries
    }

    pub fn backends(&self) -> u32 {
        self.backends
    }

    pub fn delays(&self) -> &[(Option<u32>, Delay)] {
        &self.delays
    }

    pub fn listen(&self) -> Option<SocketAddr> {
        self.listen
    }

    pub fn workers(&self) -> Option<u32> {
        self.workers
    }

    /// The delay for backend `id`: its own, else the one for all.
    pub fn delay_for(&self, id: u32) -> Option<Delay> {
        let own = self.delays.iter().find(|(i, _)| *i == Some(id));
        let all = self.delays.iter().find(|(i, _)| i.is_none());
        own.or(all).map(|(_, d)| *d)
    }
}
