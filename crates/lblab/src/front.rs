//! The load balancer in front of a lab's backends, nginx or HAProxy: the one seam through which
//! the lab starts it, asks where it listens and what it balances with, changes its balancing and
//! reads its own witness. Everything proxy-specific lives in `nginx/` and `haproxy/`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use lblab_config::{HaproxyBackend, HaproxyConfig, NginxConfig, Proxy, UpstreamConfig};
use serde::{Deserialize, Serialize};

use crate::child::Guarded;
use crate::nginx::StartFailed;
use crate::spec::{Balancer, LabSpec};
use crate::{haproxy, nginx};

/// What the lab's balancer runs: its binary and the config it last accepted. The running lab's
/// record (`state.rs`) holds it too, spelled as the record spelled nginx's before HAProxy came
/// (`nginx_bin`, `config`), HAProxy's as `haproxy_bin`, `haproxy`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Front {
    Haproxy {
        #[serde(rename = "haproxy_bin")]
        bin: PathBuf,
        #[serde(rename = "haproxy")]
        config: HaproxyConfig,
    },
    Nginx {
        #[serde(rename = "nginx_bin")]
        bin: PathBuf,
        config: NginxConfig,
    },
}

impl Front {
    /// The balancer `spec` asks for, located and configured in `prefix` with no servers yet
    /// ([`Front::set_servers`]), not started.
    pub async fn prepare(
        spec: &LabSpec,
        prefix: &Path,
        listen: SocketAddr,
        (concurrency, workers): (u32, u32),
        access_log: bool,
    ) -> Result<Front, String> {
        let binaries = spec.binaries();
        Ok(match spec.balancer() {
            Balancer::Nginx(balancing) => {
                let bin = nginx::locate(binaries.nginx.as_deref()).await?;
                lblab_config::check_prefix(prefix)
                    .map_err(|e| format!("{e}; set TMPDIR to another directory"))?;
                Front::Nginx {
                    bin,
                    config: NginxConfig {
                        prefix: prefix.to_owned(),
                        listen,
                        worker_processes: workers,
                        concurrency,
                        nofile_limit: crate::limits::hard_nofile_limit(),
                        upstream: balancing.upstream(Vec::new()),
                        access_log,
                    },
                }
            }
            Balancer::Haproxy(balancing) => {
                let bin = haproxy::locate(binaries.haproxy.as_deref()).await?;
                lblab_config::check_haproxy_prefix(prefix)
                    .map_err(|e| format!("{e}; set TMPDIR to another directory"))?;
                Front::Haproxy {
                    bin,
                    config: HaproxyConfig {
                        prefix: prefix.to_owned(),
                        listen,
                        threads: workers,
                        concurrency,
                        nofile_limit: crate::limits::hard_nofile_limit(),
                        run_as: crate::unprivileged::haproxy_run_as(),
                        backend: balancing.backend(Vec::new()),
                    },
                }
            }
        })
    }

    /// Starts the balancer; it listens when this returns.
    pub async fn start(&self) -> Result<Guarded, StartFailed> {
        match self {
            Front::Nginx { bin, config } => nginx::start(bin, config).await,
            Front::Haproxy { bin, config } => haproxy::start(bin, config).await,
        }
    }

    /// The backends' addresses, in order.
    pub fn set_servers(&mut self, servers: Vec<SocketAddr>) {
        match self {
            Front::Nginx { config, .. } => config.upstream.servers = servers,
            Front::Haproxy { config, .. } => config.backend.servers = servers,
        }
    }

    pub fn proxy(&self) -> Proxy {
        match self {
            Front::Nginx { .. } => Proxy::Nginx,
            Front::Haproxy { .. } => Proxy::Haproxy,
        }
    }

    pub fn bin(&self) -> &Path {
        match self {
            Front::Nginx { bin, .. } | Front::Haproxy { bin, .. } => bin,
        }
    }

    pub fn listen(&self) -> SocketAddr {
        match self {
            Front::Nginx { config, .. } => config.listen,
            Front::Haproxy { config, .. } => config.listen,
        }
    }

    pub fn set_listen(&mut self, listen: SocketAddr) {
        match self {
            Front::Nginx { config, .. } => config.listen = listen,
            Front::Haproxy { config, .. } => config.listen = listen,
        }
    }

    /// The method as its balancer spells it (`least-conn`, `leastconn`, `random(2)`).
    pub fn method(&self) -> String {
        match self {
            Front::Nginx { config, .. } => config.upstream.method.to_string(),
            Front::Haproxy { config, .. } => config.backend.method.to_string(),
        }
    }

    /// nginx's upstream settings beside the method; HAProxy's labs have none.
    pub fn tuning(&self) -> Option<&lblab_config::Tuning> {
        match self {
            Front::Nginx { config, .. } => Some(&config.upstream.tuning),
            Front::Haproxy { .. } => None,
        }
    }

    /// The private prefix it runs in.
    pub fn prefix(&self) -> &Path {
        match self {
            Front::Nginx { config, .. } => &config.prefix,
            Front::Haproxy { config, .. } => &config.prefix,
        }
    }

    /// The file in the prefix where the balancer wrote its master's pid.
    pub fn pid_file(&self) -> PathBuf {
        match self {
            Front::Nginx { config, .. } => config.prefix.join("nginx.pid"),
            Front::Haproxy { config, .. } => config.prefix.join("haproxy.pid"),
        }
    }

    /// The balancing in words, as `switch` and `status` say it.
    pub fn describe(&self) -> String {
        match self {
            Front::Nginx { config, .. } => config.upstream.describe(),
            Front::Haproxy { config, .. } => config.backend.describe(),
        }
    }

    /// The config file in the prefix.
    pub fn conf_path(&self) -> PathBuf {
        match self {
            Front::Nginx { config, .. } => nginx::conf_path(&config.prefix),
            Front::Haproxy { config, .. } => haproxy::conf_path(&config.prefix),
        }
    }

    /// nginx's config, when nginx is the balancer.
    pub fn nginx_config(&self) -> Option<&NginxConfig> {
        match self {
            Front::Nginx { config, .. } => Some(config),
            Front::Haproxy { .. } => None,
        }
    }

    /// nginx runs `upstream` (checked first; a rejected one changes nothing).
    pub async fn run_upstream(&mut self, upstream: UpstreamConfig, pid: u32) -> Result<(), String> {
        let Front::Nginx { bin, config } = self else {
            return Err("this lab runs haproxy; an nginx upstream does not apply to it".into());
        };
        let mut next = config.clone();
        next.upstream = upstream;
        nginx::apply(bin, &next, pid).await?;
        *config = next;
        Ok(())
    }

    /// HAProxy runs `backend`: where only the weights change, through the runtime API without a
    /// reload (and the file rewritten to match, for the next reload); else a seamless reload.
    pub async fn run_backend(&mut self, backend: HaproxyBackend, pid: u32) -> Result<(), String> {
        let Front::Haproxy { bin, config } = self else {
            return Err("this lab runs nginx; a HAProxy backend does not apply to it".into());
        };
        let mut next = config.clone();
        next.backend = backend;
        haproxy::apply_backend(bin, config, &next, pid).await?;
        *config = next;
        Ok(())
    }

    /// Backend `i` (from 0) out of the balancing, or back in: nginx reloads with its server marked
    /// `down` (or not); HAProxy puts it in maintenance (or makes it ready) through the runtime API,
    /// without a reload. HAProxy's file does not say so: a later reload reads the servers anew and
    /// brings it back, which is why a run refuses a switch beside a down fault with HAProxy.
    pub async fn set_down(&mut self, i: usize, down: bool, pid: u32) -> Result<(), String> {
        match self {
            Front::Nginx { config, .. } => {
                let mut upstream = config.upstream.clone();
                upstream.down.retain(|&d| d != i);
                if down {
                    upstream.down.push(i);
                }
                self.run_upstream(upstream, pid).await
            }
            Front::Haproxy { config, .. } => {
                haproxy::set_state(&config.prefix, &lblab_config::server_name(i), !down).await
            }
        }
    }

    /// HAProxy's own count of its picks per server (`lbtot`), in backend order; `None` for nginx,
    /// whose open-source build keeps no such count.
    pub async fn picks(&self) -> Option<Result<Vec<u64>, String>> {
        match self {
            Front::Nginx { .. } => None,
            Front::Haproxy { config, .. } => {
                Some(haproxy::picks(&config.prefix, config.backend.servers.len()).await)
            }
        }
    }
}
