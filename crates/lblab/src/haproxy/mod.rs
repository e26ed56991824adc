//! The real HAProxy: found and probed as `program/` finds any balancer, given a config in the lab's
//! private prefix and checked by `haproxy -c`, started in master-worker mode in the foreground,
//! reloaded seamlessly, and asked over its stats socket (`socket.rs`) what it picked.

mod socket;
pub mod witness;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use lblab_config::HaproxyConfig;

use crate::child::Guarded;
use crate::nginx::StartFailed;
use crate::program::{Program, master, probe};
pub use socket::{picks, set_weight};

/// HAProxy as `program::locate` finds it.
const HAPROXY: Program = Program {
    name: "haproxy",
    flag: "--haproxy",
    fallbacks: &["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"],
    says: "HAProxy version",
};

/// The HAProxy binary: `--haproxy`, else haproxy on PATH, else where distributions put it.
pub async fn locate(explicit: Option<&Path>) -> Result<PathBuf, String> {
    crate::program::locate(&HAPROXY, explicit).await
}

/// How long `haproxy -c` may take: it reads the config and resolves the addresses, in milliseconds.
const CHECK_WITHIN: Duration = Duration::from_secs(10);

pub fn conf_path(prefix: &Path) -> PathBuf {
    prefix.join("haproxy.cfg")
}

/// `haproxy -c` on `conf`: HAProxy's own words, on one line, when it rejects it.
pub async fn check_config(binary: &Path, conf: &Path) -> Result<(), String> {
    let mut cmd = Command::new(binary);
    cmd.arg("-c").arg("-q").arg("-f").arg(conf);
    let out = probe(cmd, CHECK_WITHIN)
        .await
        .map_err(|e| format!("`{} -c` {e}", binary.display()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "haproxy rejected the config: {}",
        one_line(&out.text())
    ))
}

/// HAProxy's alerts, joined on one line.
fn one_line(text: &str) -> String {
    let alerts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("[ALERT]"))
        .collect();
    let chosen: Vec<&str> = if alerts.is_empty() {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    } else {
        alerts
    };
    chosen.join(" | ")
}

/// Writes `config` as a candidate beside haproxy.cfg, has HAProxy check it, and renames it over
/// haproxy.cfg; a rejected candidate is removed and changes nothing.
pub async fn install(binary: &Path, config: &HaproxyConfig) -> Result<(), String> {
    master::install(
        &conf_path(&config.prefix),
        &config.render(),
        |candidate| async move { check_config(binary, &candidate).await },
    )
    .await
}

/// Starts HAProxy's master in the foreground (`-W -db`) in a process group of its own, and returns
/// once the worker accepts connections on `listen`.
pub async fn start(binary: &Path, config: &HaproxyConfig) -> Result<Guarded, StartFailed> {
    start_in_words(binary, config).await.map_err(|e| {
        // HAProxy says `cannot bind socket (Address already in use)`.
        if e.contains("Address already in use") {
            StartFailed::AddressInUse(e)
        } else {
            StartFailed::Other(e)
        }
    })
}

async fn start_in_words(binary: &Path, config: &HaproxyConfig) -> Result<Guarded, String> {
    let prefix = &config.prefix;
    install(binary, config).await?;
    let stderr_path = prefix.join("haproxy.stderr");
    let stderr = std::fs::File::create(&stderr_path)
        .map_err(|e| format!("cannot create {}: {e}", stderr_path.display()))?;
    let mut cmd = Command::new(binary);
    // -W: master-worker, so that a reload (SIGUSR2 to the master) starts a new worker on the new
    // config while the old one finishes its requests; -db: the master stays in the foreground, a
    // child of the runner.
    cmd.arg("-W")
        .arg("-db")
        .arg("-f")
        .arg(conf_path(prefix))
        .current_dir(prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    // SIGTERM if the runner dies: the master then stops its worker.
    let mut process = Guarded::spawn_group("haproxy".into(), &mut cmd, libc::SIGTERM)
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let why = || one_line(&std::fs::read_to_string(&stderr_path).unwrap_or_default());
    // The runner asks the stats socket for HAProxy's picks: the lab is up once that is there too.
    let socket = socket::socket_path(prefix);
    master::await_listening(
        "haproxy",
        &mut process,
        config.listen,
        || socket.exists(),
        why,
    )
    .await?;
    Ok(process)
}

/// Puts `config` in place of the running HAProxy's: checked, installed, then a seamless reload.
pub async fn apply(binary: &Path, config: &HaproxyConfig, master: u32) -> Result<(), String> {
    install(binary, config).await?;
    reload(master).await
}

/// Reloads HAProxy's master (SIGUSR2): it reads the config again and starts a new worker, which
/// takes over the listening socket; the old worker finishes what it holds and exits. Returns once
/// the old workers are gone, so that the next request is balanced by the new config.
pub async fn reload(master: u32) -> Result<(), String> {
    master::reload("haproxy", master, libc::SIGUSR2).await
}

/// Puts `next` in place of `now`, the running HAProxy's config. A change of weights alone goes
/// through the runtime API (`set server … weight`), which HAProxy applies at once without a new
/// worker, where the method takes weights at run time (static-rr does not); anything else is a
/// seamless reload. Either way haproxy.cfg says what runs.
pub async fn apply_backend(
    binary: &Path,
    now: &HaproxyConfig,
    next: &HaproxyConfig,
    master: u32,
) -> Result<(), String> {
    let mut same_but_weights = now.backend.clone();
    same_but_weights.weights = next.backend.weights.clone();
    let dynamic = next.backend.method != lblab_config::HaproxyMethod::StaticRr;
    if dynamic && same_but_weights == next.backend && now.listen == next.listen {
        install(binary, next).await?;
        for (i, _) in next.backend.servers.iter().enumerate() {
            let w = next.backend.weights.as_ref().map_or(1, |w| w.0[i]);
            set_weight(&next.prefix, &lblab_config::server_name(i), w).await?;
        }
        return Ok(());
    }
    apply(binary, next, master).await
}
