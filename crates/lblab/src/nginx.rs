//! The real nginx: found, given a config in a private prefix, started in the foreground, reloaded.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lblab_config::NginxConfig;

use crate::child::Guarded;
use crate::procfs::{alive, children_of};

const INSTALL_HINT: &str =
    "install it (Debian/Ubuntu: apt-get install -y nginx) or pass --nginx PATH";

/// The nginx binary: `--nginx` (a path, or a bare name looked up on PATH), else nginx on PATH, else
/// where distributions put it outside a normal user's PATH. Checked to be nginx by its `-v`.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = |name: &Path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    let found = match explicit {
        // A bare name, as a shell takes it: looked up on PATH (not in the current directory).
        Some(p) if !p.as_os_str().as_encoded_bytes().contains(&b'/') && !p.starts_with(".") => {
            on_path(p).ok_or_else(|| {
                format!(
                    "--nginx {}: not found on PATH; give its path, or {INSTALL_HINT}",
                    p.display()
                )
            })?
        }
        Some(p) if p.is_dir() => {
            let hint = if p.join("nginx").is_file() {
                format!("; did you mean --nginx {}?", p.join("nginx").display())
            } else {
                format!("; give the nginx binary itself, or {INSTALL_HINT}")
            };
            return Err(format!("--nginx {} is a directory{hint}", p.display()));
        }
        Some(p) if p.is_file() => p.to_owned(),
        Some(p) => {
            return Err(format!(
                "--nginx {}: no such file; {INSTALL_HINT}",
                p.display()
            ));
        }
        None => on_path(Path::new("nginx"))
            .or_else(|| {
                [
                    "/usr/sbin/nginx",
                    "/usr/local/sbin/nginx",
                    "/usr/local/nginx/sbin/nginx",
                ]
                .map(PathBuf::from)
                .into_iter()
                .find(|p| p.is_file())
            })
            .ok_or_else(|| {
                format!("nginx was not found on PATH or in /usr/sbin; {INSTALL_HINT}")
            })?,
    };
    check_is_nginx(&found)?;
    Ok(found)
}

/// nginx -v prints `nginx version: nginx/1.x` on stderr; anything else is not nginx.
fn check_is_nginx(binary: &Path) -> Result<(), String> {
    let shown = binary.display();
    let out = Command::new(binary)
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{shown} is not nginx: it cannot be run ({e})"))?;
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    if text.contains("nginx version:") {
        return Ok(());
    }
    let said = match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => format!("printed '{line}'"),
        None => "printed nothing".to_owned(),
    };
    Err(format!("{shown} is not nginx: `{shown} -v` {said}"))
}

pub fn conf_path(prefix: &Path) -> PathBuf {
    prefix.join("nginx.conf")
}

fn base_command(binary: &Path, prefix: &Path, conf: &Path) -> Command {
    let mut cmd = Command::new(binary);
    // -e: nginx opens its compiled-in error log before it reads the config; point it into the prefix
    // so that an unprivileged user gets no alert about /var/log/nginx.
    cmd.arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .stdin(Stdio::null());
    cmd
}

/// Writes `config` to `path` via a rename, so a reload never reads half a file.
pub fn write_config(path: &Path, config: &NginxConfig) -> Result<(), String> {
    let tmp = path.with_extension("conf.new");
    std::fs::write(&tmp, config.render())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `nginx -t` on `conf`: nginx's own words when it rejects it.
pub fn test_config(binary: &Path, prefix: &Path, conf: &Path) -> Result<(), String> {
    let out = base_command(binary, prefix, conf)
        .arg("-t")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "nginx rejected the config: {}",
        nginx_message(&String::from_utf8_lossy(&out.stderr))
    ))
}

/// The lines of nginx's output that say what went wrong.
fn nginx_message(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("[emerg]") || l.contains("[alert]") || l.contains("[crit]"))
        .collect();
    let chosen = if lines.is_empty() {
        output.lines().collect()
    } else {
        lines
    };
    chosen.join(" | ").trim().to_owned()
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

/// Starts nginx in the foreground and returns once it accepts connections on `listen`.
pub async fn start(binary: &Path, config: &NginxConfig) -> Result<Guarded, String> {
    let prefix = &config.prefix;
    let conf = conf_path(prefix);
    write_config(&conf, config)?;
    test_config(binary, prefix, &conf)?;
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
    install(binary, config)?;
    reload(master).await
}

/// The first half of [`apply`]: `config` checked by nginx and renamed over nginx.conf, which a
/// reload then reads. The candidate has a name of its own, created exclusively, so that two
/// switches at once never test or install each other's file.
pub fn install(binary: &Path, config: &NginxConfig) -> Result<(), String> {
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
    test_config(binary, &config.prefix, candidate.path())?;
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
