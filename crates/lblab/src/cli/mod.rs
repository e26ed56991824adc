//! The command line as clap reads it. `specs.rs` turns each command's flags into the validated
//! values the commands work with, so nothing below a command's first line sees these structs.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use lblab_backend::Delay;
use lblab_config::{Keepalive, Method, Proxy, Tuning, Weights, parse_weights};
use loadtest::cli::LoadArgs;

use crate::haproxy_balancing::HaproxyBalancing;
use crate::spec::{Balancing, Change, WeightsChange};
use help::*;

mod help;
mod specs;
mod upstream_help;

pub use specs::RunSpec;

#[derive(Debug, Parser)]
#[command(
    name = "lblab",
    version,
    propagate_version = true,
    about = "A load-balancing lab: backends behind a real nginx, a load test, and the distribution asserted",
    after_help = "Examples:\n  lblab run                                  # 3 backends, round-robin, 1000 requests at once\n  lblab run --method ip-hash --expect one\n  lblab up --listen 127.0.0.1:8080           # keep the lab running; then, from another terminal:\n  lblab switch --method least-conn           # reload nginx only, the backends keep their PIDs\n  lblab status\n  lblab nginx-config --method hash --hash-key '$http_x_key'"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the lab, run one load test through nginx, print the report, stop everything.
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
    /// Start the lab and keep it running until Ctrl-C; `switch` and `status` find it.
    #[command(after_help = UP_HELP)]
    Up(UpArgs),
    /// Change the balancing method of the running lab: rewrite nginx.conf and reload nginx (SIGHUP).
    #[command(after_help = SWITCH_HELP)]
    Switch(SwitchArgs),
    /// Show the running lab: method, URL, nginx and the backends with their PIDs.
    #[command(after_help = STATUS_HELP)]
    Status(StatusArgs),
    /// Run the same load under each method in one lab and compare them; --html draws it.
    #[command(after_help = COMPARE_HELP)]
    Compare(CompareArgs),
    /// Print the nginx config the lab would use.
    #[command(after_help = NGINX_CONFIG_HELP)]
    NginxConfig(NginxConfigArgs),
    /// Print the HAProxy config the lab would use with --proxy haproxy (same flags as nginx-config).
    #[command(after_help = HAPROXY_CONFIG_HELP)]
    HaproxyConfig(NginxConfigArgs),
    /// Run one backend in the foreground (what `lblab run` starts; same as `lblab-backend`).
    #[command(hide = true)]
    Backend(lblab_backend::Args),
}

/// The balancing method and what goes with it.
#[derive(Debug, Clone, Args)]
pub struct MethodArgs {
    /// Balancing method. nginx: round-robin, least-conn, ip-hash, hash, random, random-two.
    /// haproxy: roundrobin, static-rr, leastconn, first, source, uri, hdr(NAME), random(N).
    #[arg(short, long, default_value = "round-robin")]
    pub method: String,

    /// The load balancer in front of the backends: nginx or haproxy.
    #[arg(long, default_value = "nginx", value_parser = parse_proxy)]
    pub proxy: Proxy,

    /// HAProxy's maxconn of each server: the requests it takes at once; the rest wait in its queue.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub maxconn: Option<u32>,

    /// HAProxy's hash-balance-factor, for consistent hashing: no server takes more than this
    /// percentage of the average load (e.g. 150).
    #[arg(long, value_name = "PERCENT")]
    pub hash_balance_factor: Option<u32>,

    /// Server weights in backend order, e.g. 1,2,3 (one per backend).
    #[arg(long, value_parser = parse_weights)]
    pub weights: Option<Weights>,

    /// The key of --method hash (an nginx expression).
    #[arg(long, value_name = "NGINX-EXPR")]
    pub hash_key: Option<String>,

    /// With --method hash: ketama consistent hashing (haproxy: hash-type consistent for source,
    /// uri and hdr(NAME)).
    #[arg(long)]
    pub consistent: bool,

    #[command(flatten)]
    pub upstream: UpstreamArgs,
}

/// nginx's upstream settings beside the method; each left out is nginx/proxy.json's (for `switch`,
/// the lab's own). The help says the defaults from that file, so it is made when clap asks.
#[derive(Debug, Clone, Default, Args)]
pub struct UpstreamArgs {
    #[arg(long, value_name = "N", help = upstream_help::max_fails())]
    pub max_fails: Option<u32>,

    #[arg(long, value_name = "DURATION", value_parser = lblab_config::parse_fail_timeout, help = upstream_help::fail_timeout())]
    pub fail_timeout: Option<u32>,

    #[arg(long, value_name = "ID[,ID…]", value_parser = parse_backup, help = upstream_help::backup())]
    pub backup: Option<BackupIds>,

    #[arg(long, value_name = "N|off", value_parser = parse_keepalive, help = upstream_help::keepalive())]
    pub keepalive: Option<Keepalive>,
}

impl UpstreamArgs {
    /// The flags given as a change of the current settings.
    fn given(&self) -> bool {
        self.max_fails.is_some()
            || self.fail_timeout.is_some()
            || self.backup.is_some()
            || self.keepalive.is_some()
    }

    /// The settings, nginx/proxy.json's where a flag is left out.
    pub fn tuning(&self) -> Tuning {
        let d = Tuning::default();
        Tuning {
            max_fails: self.max_fails.unwrap_or(d.max_fails),
            fail_timeout_s: self.fail_timeout.unwrap_or(d.fail_timeout_s),
            backup: self.backup.clone().map(|b| b.0).unwrap_or_default(),
            keepalive: self.keepalive.unwrap_or(d.keepalive),
        }
    }
}

/// `--backup 3`, `--backup 1,3` or `--backup none`: backend ids from 1 (checked against the lab by
/// its spec).
/// `--backup`'s ids, as one value (clap would read a bare `Vec` as a repeated flag).
#[derive(Debug, Clone)]
pub struct BackupIds(pub Vec<u32>);

fn parse_backup(s: &str) -> Result<BackupIds, String> {
    if s.trim() == "none" {
        return Ok(BackupIds(Vec::new()));
    }
    s.split(',')
        .map(|part| {
            part.trim()
                .parse::<u32>()
                .ok()
                .filter(|&id| id > 0)
                .ok_or_else(|| {
                    format!("'{part}' in '{s}' is not a backend id (accepted: ids from 1, e.g. 3 or 1,3, or none)")
                })
        })
        .collect::<Result<_, _>>()
        .map(BackupIds)
}

fn parse_keepalive(s: &str) -> Result<Keepalive, String> {
    s.parse()
}

/// What a lab is made of.
#[derive(Debug, Clone, Args)]
pub struct LabArgs {
    #[command(flatten)]
    pub method: MethodArgs,

    /// Number of backends.
    #[arg(short, long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub backends: u32,

    /// Slow a backend down: ID=MS or ID=MIN-MAX (milliseconds), repeatable; a bare MS slows them all.
    #[arg(long, value_name = "ID=MS", value_parser = parse_backend_delay)]
    pub delay: Vec<(Option<u32>, Delay)>,

    /// Where nginx listens (default: a free port on 127.0.0.1).
    #[arg(long)]
    pub listen: Option<SocketAddr>,

    /// Let --listen be an address that is not loopback: whoever reaches it can send the lab
    /// requests (as --dashboard-public is for the dashboard).
    #[arg(long, requires = "listen")]
    pub listen_public: bool,

    /// The nginx binary (default: nginx on PATH, then /usr/sbin/nginx).
    #[arg(long, value_name = "PATH")]
    pub nginx: Option<PathBuf>,

    /// The haproxy binary, with --proxy haproxy (default: haproxy on PATH, then /usr/sbin/haproxy).
    #[arg(long, value_name = "PATH")]
    pub haproxy: Option<PathBuf>,

    /// nginx worker processes (default: one per CPU).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub workers: Option<u32>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub lab: LabArgs,

    /// Break something while the load runs, repeatable: kill:N@T (SIGKILL backend N at T),
    /// term:N@T (SIGTERM), pause:N@T+D (SIGSTOP for D), restart:N@T+D (SIGKILL, then started
    /// again on the same address after D), switch:METHOD@T (the balancer reloaded with one of
    /// its methods), down:N@T or down:N@T+D (backend N out of the balancing, back after D).
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<String>,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

// --method and --consistent come with the lab's flags; compare takes --methods instead (and says so
// if they are given), so they are left out of its help.
#[derive(Debug, Args)]
#[command(mut_arg("method", |a| a.hide(true)), mut_arg("consistent", |a| a.hide(true)))]
pub struct CompareArgs {
    #[command(flatten)]
    pub lab: LabArgs,

    /// The methods to compare, in order (default: the scenario's; all six for most): round-robin,
    /// least-conn, ip-hash, hash, hash-consistent, random, random-two.
    #[arg(long, value_name = "M1,M2,…", value_delimiter = ',', value_parser = crate::scenario::parse_contender)]
    pub methods: Vec<crate::scenario::Contender>,

    /// Run the whole comparison under each balancer, in one table: nginx,haproxy puts each of
    /// nginx's methods beside its HAProxy counterpart (default: --proxy's alone).
    #[arg(long, value_name = "P1,P2", value_delimiter = ',', value_parser = parse_proxy)]
    pub proxies: Vec<Proxy>,

    /// The workload: even, slow-backend, many-clients, keys, lose-backend, spread.
    #[arg(long, default_value = "even", value_name = "NAME", value_parser = parse_scenario)]
    pub scenario: crate::scenario::Scenario,

    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `--html FILE` and `--svg FILE` of `run` and `compare`.
#[derive(Debug, Clone, Default, Args)]
pub struct ReportArgs {
    /// Write a self-contained HTML report (inline SVG charts, nothing fetched from the network).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Write the share chart alone, as an SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

fn parse_scenario(s: &str) -> Result<crate::scenario::Scenario, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct StateArgs {
    /// Where a running lab records itself (default: $XDG_RUNTIME_DIR/lblab, else /tmp/lblab-UID).
    #[arg(long, env = "LBLAB_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub lab: LabArgs,
    #[command(flatten)]
    pub state: StateArgs,

    /// Serve a live page of the lab at ADDR (alone: a free port on 127.0.0.1); its URL is printed.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:0")]
    pub dashboard: Option<SocketAddr>,

    /// Let --dashboard listen on an address that is not loopback: whoever reaches it can switch the
    /// lab's method and send bursts.
    #[arg(long, requires = "dashboard")]
    pub dashboard_public: bool,
}

/// What `switch` changes; whatever is not given keeps its current value.
#[derive(Debug, Args)]
pub struct SwitchArgs {
    /// The new balancing method (default: the current one), of the lab's balancer. nginx:
    /// round-robin, least-conn, ip-hash, hash, random, random-two. haproxy: roundrobin, static-rr,
    /// leastconn, first, source, uri, hdr(NAME), random(N).
    #[arg(short, long)]
    pub method: Option<String>,

    /// New server weights in backend order, e.g. 1,2,3; `none` clears them (weight 1 each).
    #[arg(long, value_parser = parse_weights_change)]
    pub weights: Option<WeightsChange>,

    /// The key of --method hash (an nginx expression; default: the current key, else $request_uri).
    #[arg(long, value_name = "NGINX-EXPR")]
    pub hash_key: Option<String>,

    /// With --method hash: ketama consistent hashing; `--consistent false` turns it off.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub consistent: Option<bool>,

    /// nginx's max_fails, fail_timeout, backups (`--backup none` clears them) and keep-alive pool;
    /// each left out keeps its current value.
    #[command(flatten)]
    pub upstream: UpstreamArgs,

    #[command(flatten)]
    pub state: StateArgs,
}

/// `--weights` of `switch`: new weights, or none.
fn parse_weights_change(s: &str) -> Result<WeightsChange, String> {
    if s.trim() == "none" {
        return Ok(WeightsChange::Clear);
    }
    parse_weights(s)
        .map(WeightsChange::Set)
        .map_err(|e| format!("{e}, or none to clear them"))
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct NginxConfigArgs {
    #[command(flatten)]
    pub method: MethodArgs,

    /// Number of backends.
    #[arg(short, long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub backends: u32,

    /// The backends' address (as the NixOS module's services.lblab.address).
    #[arg(long, default_value = "127.0.0.1")]
    pub address: std::net::IpAddr,

    /// Backend N listens on BASE-PORT + N - 1 (as services.lblab.basePort).
    #[arg(long, default_value_t = 8001, value_parser = clap::value_parser!(u16).range(1..))]
    pub base_port: u16,

    /// Where nginx listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The prefix nginx runs in.
    #[arg(long, default_value = "/tmp/lblab")]
    pub prefix: PathBuf,

    /// Concurrency to size worker_connections for.
    #[arg(short = 'c', long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// nginx worker processes (default: one per CPU, as `run` and `up`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub workers: Option<u32>,

    /// Print only the `upstream lblab { … }` block (haproxy-config: the `backend lblab` section).
    #[arg(long)]
    pub upstream_only: bool,
}

fn parse_proxy(s: &str) -> Result<Proxy, String> {
    s.parse()
}

pub fn parse_backend_delay(s: &str) -> Result<(Option<u32>, Delay), String> {
    match s.split_once('=') {
        None => Ok((None, Delay::parse(s)?)),
        Some((id, d)) => {
            let id: u32 = id.trim().parse().ok().filter(|&i| i > 0).ok_or_else(|| {
                format!("'{id}' in '{s}' is not a backend id (accepted: ID=MS, e.g. 1=50)")
            })?;
            Ok((Some(id), Delay::parse(d)?))
        }
    }
}

impl MethodArgs {
    /// nginx's balancing these flags ask for (checked against the backends by the caller), or the
    /// first flag that is not nginx's.
    pub fn balancing(&self) -> Result<Balancing, String> {
        if self.proxy != Proxy::Nginx {
            return Err(format!(
                "--proxy {}: this command runs nginx only",
                self.proxy
            ));
        }
        if self.maxconn.is_some() || self.hash_balance_factor.is_some() {
            return Err(
                "--maxconn and --hash-balance-factor are HAProxy's: add --proxy haproxy".into(),
            );
        }
        Ok(Balancing {
            method: self.method.parse()?,
            weights: self.weights.clone(),
            hash_key: self.hash_key.clone(),
            consistent: self.consistent,
            tuning: self.upstream.tuning(),
        })
    }

    /// HAProxy's balancing these flags ask for (checked against the backends by the caller).
    pub fn haproxy_balancing(&self) -> Result<HaproxyBalancing, String> {
        if self.upstream.given() {
            return Err(
                "--max-fails, --fail-timeout, --backup and --keepalive are nginx's upstream settings: leave them out with --proxy haproxy".into(),
            );
        }
        if self.hash_key.is_some() {
            return Err(
                "--hash-key is nginx's: with --proxy haproxy the key is the method's, uri or hdr(NAME)"
                    .into(),
            );
        }
        Ok(HaproxyBalancing {
            method: self.method.parse()?,
            weights: self.weights.clone(),
            consistent: self.consistent,
            balance_factor: self.hash_balance_factor,
            maxconn: self.maxconn,
        })
    }
}

impl SwitchArgs {
    /// What the flags ask to change; what they leave out keeps its value.
    pub fn change(&self) -> Change {
        let nginx = self
            .method
            .as_deref()
            .and_then(|m| m.parse::<Method>().ok());
        Change {
            method: nginx,
            other_method: self.method.clone().filter(|_| nginx.is_none()),
            weights: self.weights.clone(),
            hash_key: self.hash_key.clone(),
            consistent: self.consistent,
            max_fails: self.upstream.max_fails,
            fail_timeout_s: self.upstream.fail_timeout,
            backup: self.upstream.backup.clone().map(|b| b.0),
            keepalive: self.upstream.keepalive,
        }
    }
}
