//! The real nginx: found and probed as `program/` finds any balancer, its command line and its
//! refusals (`command.rs`), given a config in a private prefix (`config.rs`), started in the
//! foreground, reloaded.

mod command;
mod config;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use lblab_config::NginxConfig;

use crate::child::Guarded;
use crate::program::{Program, master};
use command::base_command;
use command::nginx_message;
pub use config::conf_path;
use config::{test_config, write_config};

/// nginx as `program::locate` finds it.
const NGINX: Program = Program {
    name: "nginx",
    flag: "--nginx",
    fallbacks: &[
        "/usr/sbin/nginx",
        "/usr/local/sbin/nginx",
        "/usr/local/nginx/sbin/nginx",
    ],
    says: "nginx version:",
};

/// The nginx binary: `--nginx`, else nginx on PATH, else where distributions put it.
pub async fn locate(explicit: Option<&Path>) -> Result<PathBuf, String> {
    crate::program::locate(&NGINX, explicit).await
}

/// A free port on `ip`, for nginx when no --listen was given. The port is free when this returns;
/// `start` retries with another one should something take it in between.
pub fn free_port(ip: std::net::IpAddr) -> Result<SocketAddr, String> {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("cannot find a free port on {ip}: {e}"))
}

/// Checks that `addr` can be listened on, for a clear error before anything starts.
pub fn check_listen(addr: SocketAddr) -> Result<(), String> {
    if addr.port() == 0 {
        // nginx would say "invalid port"; a free port is what leaving --listen out gives.
        return Err(format!(
            "--listen {addr}: port 0 is not accepted; give a port, or leave --listen out for a free one on 127.0.0.1"
        ));
    }
    TcpListener::bind(addr)
        .map(drop)
        .map_err(|e| format!("--listen {addr}: {e} (choose another address or port)"))
}

/// Why nginx did not start.
#[derive(Debug)]
pub enum StartFailed {
    /// Its listen address is taken (by another program, after the free port was chosen): a lab
    /// that chose the port itself tries another one.
    AddressInUse(String),
    /// Anything else, in nginx's words.
    Other(String),
}

impl std::fmt::Display for StartFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartFailed::AddressInUse(e) | StartFailed::Other(e) => f.write_str(e),
        }
    }
}

/// Starts nginx in the foreground and returns once it accepts connections on `listen`.
pub async fn start(binary: &Path, config: &NginxConfig) -> Result<Guarded, StartFailed> {
    start_in_words(binary, config).await.map_err(|e| {
        // nginx says so in the errno's words: `bind() to 127.0.0.1:8080 failed (98: Address
        // already in use)`.
        if e.contains("Address already in use") {
            StartFailed::AddressInUse(e)
        } else {
            StartFailed::Other(e)
        }
    })
}

async fn start_in_words(binary: &Path, config: &NginxConfig) -> Result<Guarded, String> {
    let prefix = &config.prefix;
    let conf = conf_path(prefix);
    write_config(&conf, config)?;
    test_config(binary, prefix, &conf).await?;
    let stderr_path = prefix.join("nginx.stderr");
    let stderr = std::fs::File::create(&stderr_path)
        .map_err(|e| format!("cannot create {}: {e}", stderr_path.display()))?;
    let mut cmd = base_command(binary, prefix, &conf);
    cmd.args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(stderr);
    // SIGTERM, not SIGKILL, if the runner dies: the master then takes its workers down with it.
    let mut process = Guarded::spawn_group("nginx".into(), &mut cmd, libc::SIGTERM)
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let why = || {
        let out = std::fs::read_to_string(&stderr_path).unwrap_or_default()
            + &std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default();
        nginx_message(&out)
    };
    master::await_listening("nginx", &mut process, config.listen, || true, why).await?;
    Ok(process)
}

/// Puts `config` in place of the running nginx's: nginx checks it first (a rejected config changes
/// nothing and its message is returned), then it is renamed over nginx.conf and nginx reloads.
pub async fn apply(binary: &Path, config: &NginxConfig, master: u32) -> Result<(), String> {
    install(binary, config).await?;
    reload(master).await
}

/// The first half of [`apply`]: `config` checked by nginx (`nginx -t`) and renamed over
/// nginx.conf, which a reload then reads.
pub async fn install(binary: &Path, config: &NginxConfig) -> Result<(), String> {
    let prefix = &config.prefix;
    master::install(
        &conf_path(prefix),
        &config.render(),
        |candidate| async move { test_config(binary, prefix, &candidate).await },
    )
    .await
}

/// Reloads nginx (SIGHUP) with the config already written, and waits until the workers that ran the
/// old config are gone, so that the next request is balanced by the new method.
pub async fn reload(master: u32) -> Result<(), String> {
    master::reload("nginx", master, libc::SIGHUP).await
}
