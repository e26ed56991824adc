//! A lab: N backends and one balancer (nginx or HAProxy, `front.rs`) in a private temporary
//! prefix, stopped together.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use lblab_config::{HaproxyBackend, NginxConfig, Proxy, UpstreamConfig};
use serde::{Deserialize, Serialize};

use crate::backends::{self, Backend, BackendInfo};
use crate::child::Guarded;
use crate::front::Front;
use crate::limits::default_workers;
use crate::outcome::Failure;
use crate::prefix::{make_prefix, remove_stale_prefixes};
use crate::signals::Stop;
use crate::spec::LabSpec;
use crate::{nginx, probe, procfs};

pub struct Lab {
    // Field order is drop order: the balancer before the backends it proxies to, the prefix last.
    /// The balancer's process: nginx's master, or HAProxy's.
    pub proxy: Guarded,
    pub backends: Vec<Backend>,
    /// What the balancer runs. It changes through [`Lab::run_upstream`] and [`Lab::run_backend`]
    /// alone, so it always says what the balancer was last told and accepted.
    pub front: Front,
    /// What the lab was started from, for a backend started again.
    spec: LabSpec,
    prefix: tempfile::TempDir,
}

/// What `--json`, `status` and the state file say of a lab.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabInfo {
    /// As the balancer spells it.
    pub method: String,
    #[serde(default)]
    pub proxy: Proxy,
    /// nginx's max_fails, fail_timeout, backups and keep-alive pool (none for HAProxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<lblab_config::Tuning>,
    pub url: String,
    pub prefix: PathBuf,
    /// The balancer's pid (nginx's master, or HAProxy's); named so since nginx was the only one.
    pub nginx_pid: u32,
    pub backends: Vec<BackendInfo>,
}

/// Peak resident memory (VmHWM, KiB) of the lab's processes, for `run --json` and checks/scale.sh.
#[derive(Debug, Clone, Serialize)]
pub struct PeakRss {
    /// The runner, which is the load-test client in `run`.
    pub runner_kib: Option<u64>,
    /// The nginx master, then each worker.
    pub nginx_kib: Vec<u64>,
    /// Each backend, in order.
    pub backends_kib: Vec<u64>,
}

/// How often nginx is restarted on a fresh port when the free port it was given got taken.
const PORT_RETRIES: usize = 3;

/// Why a lab did not start.
#[derive(Debug)]
pub enum NotStarted {
    /// A stopping signal came while it started; what had started is stopped.
    Interrupted(Stop),
    /// It could not start, in one line.
    Failed(String),
}

impl From<NotStarted> for Failure {
    fn from(e: NotStarted) -> Self {
        match e {
            NotStarted::Interrupted(s) => Failure::Signal(s),
            NotStarted::Failed(e) => Failure::Usage(e),
        }
    }
}

impl Lab {
    /// [`Lab::start`], given up when a stopping signal comes first.
    pub async fn start_unless_interrupted(
        spec: &LabSpec,
        concurrency: u32,
        access_log: bool,
    ) -> Result<Lab, NotStarted> {
        // The signal handlers are installed (by polling `interrupted` first) before the lab makes
        // anything: a Ctrl-C that came before them would kill the runner with its prefix left.
        tokio::select! {
            biased;
            stop = crate::signals::interrupted() => Err(NotStarted::Interrupted(stop)),
            lab = Lab::start(spec, concurrency, access_log) => lab.map_err(NotStarted::Failed),
        }
    }

    /// Starts the backends, waits until each is healthy, then starts nginx in front of them.
    /// `concurrency` sizes nginx's worker_connections; with `access_log` nginx logs who answered
    /// each request to its prefix ([`Lab::access_log`]; HAProxy writes none).
    pub async fn start(spec: &LabSpec, concurrency: u32, access_log: bool) -> Result<Lab, String> {
        if let Some(listen) = spec.listen() {
            nginx::check_listen(listen)?;
        }
        // What runs killed by SIGKILL left is removed before this lab adds its own.
        remove_stale_prefixes(&std::env::temp_dir());
        let prefix = make_prefix()?;
        let listen = match spec.listen() {
            Some(l) => l,
            None => nginx::free_port(IpAddr::V4(Ipv4Addr::LOCALHOST))?,
        };
        let workers = spec.workers().unwrap_or_else(default_workers);
        // The balancer is located before the backends start, so that a missing one costs nothing;
        // its servers are the backends' addresses once they listen.
        let mut front = Front::prepare(
            spec,
            prefix.path(),
            listen,
            (concurrency, workers),
            access_log,
        )
        .await?;
        let backends = backends::start(spec).await?;
        front.set_servers(backends.iter().map(|b| b.addr).collect());
        let mut attempt = 0;
        let proxy = loop {
            match front.start().await {
                Ok(n) => break n,
                Err(nginx::StartFailed::AddressInUse(_))
                    if spec.listen().is_none() && attempt < PORT_RETRIES =>
                {
                    attempt += 1;
                    front.set_listen(nginx::free_port(front.listen().ip())?);
                }
                Err(e) => return Err(e.to_string()),
            }
        };
        Ok(Lab {
            proxy,
            backends,
            front,
            spec: spec.clone(),
            prefix,
        })
    }

    /// nginx now runs `upstream`: the one door through which a running nginx lab's upstream changes
    /// (compare between its runs, the `switch` fault, a restarted backend marked down). nginx checks
    /// the new config first; one it rejects changes nothing, in nginx or here.
    pub async fn run_upstream(&mut self, upstream: UpstreamConfig) -> Result<(), String> {
        self.front.run_upstream(upstream, self.proxy.pid()).await
    }

    /// HAProxy now runs `backend`: the same door for a HAProxy lab.
    pub async fn run_backend(&mut self, backend: HaproxyBackend) -> Result<(), String> {
        self.front.run_backend(backend, self.proxy.pid()).await
    }

    /// Backend `n` out of the balancing (`down`), or back in: the door of the `down` fault, and of a
    /// restarted backend whose address another program took (see [`Front::set_down`]).
    pub async fn set_down(&mut self, n: u32, down: bool) -> Result<(), String> {
        let i = (n as usize)
            .checked_sub(1)
            .filter(|&i| i < self.backends.len())
            .ok_or_else(|| format!("there is no backend {n}"))?;
        self.front.set_down(i, down, self.proxy.pid()).await
    }

    /// Where the balancer listens.
    pub fn listen(&self) -> std::net::SocketAddr {
        self.front.listen()
    }

    /// nginx's config, for what changes nginx's upstream; `None` in a HAProxy lab.
    pub fn nginx_config(&self) -> Option<&NginxConfig> {
        self.front.nginx_config()
    }

    /// HAProxy's count of its picks per server, `None` for nginx.
    pub async fn picks(&self) -> Option<Result<Vec<u64>, String>> {
        self.front.picks().await
    }

    /// Backend `n` started again on the address it had, in place of the one that died (the
    /// `restart` fault): the one door through which the lab's backends change.
    pub async fn restart_backend(&mut self, n: u32) -> Result<(), String> {
        let i = (n as usize)
            .checked_sub(1)
            .filter(|&i| i < self.backends.len())
            .ok_or_else(|| format!("there is no backend {n}"))?;
        self.backends[i] = backends::restart(&self.spec, n, self.backends[i].addr).await?;
        Ok(())
    }

    /// Where nginx writes its access log, when the lab was started with one (never with HAProxy).
    pub fn access_log(&self) -> Option<PathBuf> {
        self.nginx_config()
            .filter(|c| c.access_log)
            .map(|c| c.prefix.join(lblab_config::ACCESS_LOG))
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.front.listen())
    }

    /// Each backend's `served` counter, read from its `/stats`.
    /// Each backend's own count, `None` where it did not answer. A backend whose process is gone is
    /// not asked: whatever answers on its address now (another program that took the port after a
    /// kill) is not it.
    pub async fn served(&self) -> Vec<Option<u64>> {
        let mut out = Vec::with_capacity(self.backends.len());
        for b in &self.backends {
            out.push(if crate::procfs::alive(b.process.pid()) {
                probe::served(b.addr).await.ok()
            } else {
                None
            });
        }
        out
    }

    /// Each backend's count of the TCP connections that asked it for `/` (the runner's own checks
    /// ask for others), asked over a connection this side closes: read just before a kill, a
    /// request the backend closed would leave a TIME_WAIT on its port (see [`probe::stats`]).
    /// A backend whose process is gone is not asked.
    pub async fn connections(&self) -> Vec<Option<u64>> {
        let mut out = Vec::with_capacity(self.backends.len());
        for b in &self.backends {
            out.push(if crate::procfs::alive(b.process.pid()) {
                probe::stats(b.addr)
                    .await
                    .and_then(|v| v["request_connections"].as_u64())
            } else {
                None
            });
        }
        out
    }

    pub fn info(&self, served: &[Option<u64>]) -> LabInfo {
        LabInfo {
            method: self.front.method(),
            proxy: self.front.proxy(),
            upstream: self.front.tuning().cloned(),
            url: self.url(),
            prefix: self.prefix.path().to_owned(),
            nginx_pid: self.proxy.pid(),
            backends: self
                .backends
                .iter()
                .zip(served.iter().copied().chain(std::iter::repeat(None)))
                .map(|(b, s)| b.info(s))
                .collect(),
        }
    }

    /// Each process's peak memory so far, read from /proc just before the lab stops.
    pub fn peak_rss(&self) -> PeakRss {
        let nginx = self.proxy.pid();
        let each = |pids: Vec<u32>| pids.into_iter().filter_map(procfs::peak_rss_kib).collect();
        PeakRss {
            runner_kib: procfs::peak_rss_kib(std::process::id()),
            nginx_kib: each(
                std::iter::once(nginx)
                    .chain(procfs::children_of(nginx))
                    .collect(),
            ),
            backends_kib: each(self.backends.iter().map(|b| b.process.pid()).collect()),
        }
    }

    /// Resolves when nginx or a backend has exited, saying which and how.
    pub async fn watch(&mut self) -> String {
        loop {
            if let Some(status) = self.proxy.exited() {
                return format!(
                    "{} (pid {}) exited ({status})",
                    self.front.proxy(),
                    self.proxy.pid()
                );
            }
            for b in &mut self.backends {
                if let Some(status) = b.process.exited() {
                    return format!(
                        "backend {} (pid {}) exited ({status})",
                        b.id,
                        b.process.pid()
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// nginx first (it stops sending), then the backends drain; then the prefix is removed.
    pub fn stop(mut self) {
        self.proxy.stop(Duration::from_secs(5));
        for b in &mut self.backends {
            b.process.stop(Duration::from_secs(5));
        }
    }
}
