//! A lab: N backends and one nginx in a private temporary prefix, stopped together.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use lblab_config::{Method, NginxConfig};
use serde::{Deserialize, Serialize};

use crate::backends::{self, Backend, BackendInfo};
use crate::child::Guarded;
use crate::spec::LabSpec;
use crate::{nginx, probe, procfs};

pub struct Lab {
    // Field order is drop order: nginx before the backends it proxies to, the prefix last.
    pub nginx: Guarded,
    pub backends: Vec<Backend>,
    pub nginx_bin: PathBuf,
    pub config: NginxConfig,
    prefix: tempfile::TempDir,
}

/// What `--json`, `status` and the state file say of a lab.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabInfo {
    pub method: Method,
    pub url: String,
    pub prefix: PathBuf,
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

impl Lab {
    /// [`Lab::start`] for a command: a signal while the lab starts ends it with the signal's
    /// status, a lab that cannot start with its one line.
    pub async fn start_for_command(spec: &LabSpec, concurrency: u32) -> Result<Lab, crate::Exit> {
        tokio::select! {
            lab = Lab::start(spec, concurrency) => lab.map_err(crate::Exit::Usage),
            stop = crate::signals::interrupted() => Err(crate::Exit::Code(stop.exit_code())),
        }
    }

    /// Starts the backends, waits until each is healthy, then starts nginx in front of them.
    /// `concurrency` sizes nginx's worker_connections.
    pub async fn start(args: &LabSpec, concurrency: u32) -> Result<Lab, String> {
        args.validate()?;
        let nginx_bin = nginx::locate(args.nginx.as_deref()).await?;
        if let Some(listen) = args.listen {
            nginx::check_listen(listen)?;
        }
        let prefix = tempfile::Builder::new()
            .prefix("lblab-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        lblab_config::check_prefix(prefix.path())
            .map_err(|e| format!("{e}; set TMPDIR to another directory"))?;
        let backends = backends::start(args).await?;
        let mut config = NginxConfig {
            prefix: prefix.path().to_owned(),
            listen: match args.listen {
                Some(l) => l,
                None => nginx::free_port(IpAddr::V4(Ipv4Addr::LOCALHOST))?,
            },
            worker_processes: args.workers.unwrap_or_else(default_workers),
            concurrency,
            nofile_limit: hard_nofile_limit(),
            upstream: args
                .balancing
                .upstream(backends.iter().map(|b| b.addr).collect()),
        };
        let mut attempt = 0;
        let nginx = loop {
            match nginx::start(&nginx_bin, &config).await {
                Ok(n) => break n,
                Err(e)
                    if args.listen.is_none()
                        && e.contains("Address already in use")
                        && attempt < PORT_RETRIES =>
                {
                    attempt += 1;
                    config.listen = nginx::free_port(config.listen.ip())?;
                }
                Err(e) => return Err(e),
            }
        };
        Ok(Lab {
            nginx,
            backends,
            nginx_bin,
            config,
            prefix,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.config.listen)
    }

    /// Each backend's `served` counter, read from its `/stats`.
    pub async fn served(&self) -> Vec<Option<u64>> {
        let mut out = Vec::with_capacity(self.backends.len());
        for b in &self.backends {
            out.push(probe::served(b.addr).await.ok());
        }
        out
    }

    pub fn info(&self, served: &[Option<u64>]) -> LabInfo {
        LabInfo {
            method: self.config.upstream.method,
            url: self.url(),
            prefix: self.prefix.path().to_owned(),
            nginx_pid: self.nginx.pid(),
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
        let nginx = self.nginx.pid();
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

    /// nginx first (it stops sending), then the backends drain; then the prefix is removed.
    /// Puts backends started again (the `restart` fault) in place of the ones they replace.
    pub fn replace_backends(&mut self, restarted: Vec<Backend>) {
        for b in restarted {
            let i = b.id as usize - 1;
            if i < self.backends.len() {
                self.backends[i] = b;
            }
        }
    }

    /// Resolves when nginx or a backend has exited, saying which and how.
    pub async fn watch(&mut self) -> String {
        loop {
            if let Some(status) = self.nginx.exited() {
                return format!("nginx (pid {}) exited ({status})", self.nginx.pid());
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

    pub fn stop(mut self) {
        self.nginx.stop(Duration::from_secs(5));
        for b in &mut self.backends {
            b.process.stop(Duration::from_secs(5));
        }
    }
}

/// The hard open-files limit nginx inherits from this process (`None`: unlimited or unknown).
fn hard_nofile_limit() -> Option<u64> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit(2) writes into the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } == 0;
    (ok && l.rlim_max != libc::RLIM_INFINITY).then_some(l.rlim_max)
}

/// One nginx worker per CPU.
pub fn default_workers() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}
