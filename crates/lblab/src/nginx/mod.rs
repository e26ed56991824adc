//! The real nginx: found (`locate.rs`), run briefly (`command.rs`), given a config in a private
//! prefix (`config.rs`), started in the foreground, reloaded.

mod command;
mod config;
mod locate;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use lblab_config::NginxConfig;

use crate::child::Guarded;
use crate::procfs::{alive, children_of};
use command::base_command;
use command::nginx_message;
pub(crate) use command::{ProbeError, probe};
pub use config::conf_path;
use config::{test_config, write_config};
pub use locate::locate;

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
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = process.exited() {
            let out = std::fs::read_to_string(&stderr_path).unwrap_or_default()
                + &std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default();
            return Err(format!("nginx exited ({status}): {}", nginx_message(&out)));
        }
        if tokio::net::TcpStream::connect(config.listen).await.is_ok() {
            return Ok(process);
        }
        if Instant::now() >= until {
            return Err(format!(
                "nginx did not listen on {} within 10 s",
                config.listen
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Puts `config` in place of the running nginx's: nginx checks it first (a rejected config changes
/// nothing and its message is returned), then it is renamed over nginx.conf and nginx reloads.
pub async fn apply(binary: &Path, config: &NginxConfig, master: u32) -> Result<(), String> {
    install(binary, config).await?;
    reload(master).await
}

/// The first half of [`apply`]: `config` checked by nginx and renamed over nginx.conf, which a
/// reload then reads. The candidate has a name of its own, created exclusively, so that two
/// switches at once never test or install each other's file.
pub async fn install(binary: &Path, config: &NginxConfig) -> Result<(), String> {
    let conf = conf_path(&config.prefix);
    let mut candidate = tempfile::Builder::new()
        .prefix("nginx.conf.candidate-")
        .tempfile_in(&config.prefix)
        .map_err(|e| {
            format!(
                "cannot create a candidate config in {}: {e}",
                config.prefix.display()
            )
        })?;
    std::io::Write::write_all(&mut candidate, config.render().as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", candidate.path().display()))?;
    // A failed check drops (and so removes) the candidate.
    test_config(binary, &config.prefix, candidate.path()).await?;
    candidate
        .persist(&conf)
        .map(drop)
        .map_err(|e| format!("cannot replace {}: {}", conf.display(), e.error))
}

/// Reloads nginx (SIGHUP) with the config already written, and waits until the workers that ran the
/// old config are gone, so that the next request is balanced by the new method.
pub async fn reload(master: u32) -> Result<(), String> {
    let old = children_of(master);
    // SAFETY: kill(2) on the master PID the state file records, checked alive by the caller.
    if unsafe { libc::kill(master as libc::pid_t, libc::SIGHUP) } != 0 {
        return Err(format!(
            "cannot signal nginx (pid {master}): {}",
            std::io::Error::last_os_error()
        ));
    }
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let now = children_of(master);
        let fresh = now.iter().any(|p| !old.contains(p));
        let stale = old.iter().any(|&p| alive(p) && now.contains(&p));
        if fresh && !stale {
            return Ok(());
        }
        if !alive(master) {
            return Err(format!("nginx (pid {master}) exited during the reload"));
        }
        if Instant::now() >= until {
            return Err("nginx's old workers were still running 10 s after the reload".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
