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
pub async fn locate(explicit: Option<&Path>) -> Result<PathBuf, String> {
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
    check_is_nginx(&found).await?;
    Ok(found)
}

/// nginx -v prints `nginx version: nginx/1.x` on stderr; anything else is not nginx.
async fn check_is_nginx(binary: &Path) -> Result<(), String> {
    let shown = binary.display();
    let mut cmd = Command::new(binary);
    cmd.arg("-v");
    let out = match probe(cmd, VERSION_WITHIN).await {
        Ok(out) => out,
        Err(ProbeError::Spawn(e)) => {
            return Err(format!("{shown} is not nginx: it cannot be run ({e})"));
        }
        Err(e) => return Err(format!("{shown} is not nginx: `{shown} -v` {e}")),
    };
    let text = out.text();
    if text.contains("nginx version:") {
        return Ok(());
    }
    let said = match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => format!("printed '{line}'"),
        None => "printed nothing".to_owned(),
    };
    Err(format!("{shown} is not nginx: `{shown} -v` {said}"))
}

/// How long `nginx -v` may take: nginx answers at once, so a program that does not is not nginx.
const VERSION_WITHIN: Duration = Duration::from_secs(5);
/// How long `nginx -t` may take: it reads the config and opens its files, which takes milliseconds
/// even on a busy machine.
const TEST_WITHIN: Duration = Duration::from_secs(10);
/// The most a probe may print: nginx prints a line or a few; more is a program that floods.
const PROBE_OUTPUT: usize = 16 * 1024;

/// What a probe printed and how it ended.
struct Probed {
    status: std::process::ExitStatus,
    stderr: Vec<u8>,
    stdout: Vec<u8>,
}

impl Probed {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned() + &String::from_utf8_lossy(&self.stdout)
    }
}

enum ProbeError {
    Spawn(std::io::Error),
    TooSlow(Duration),
    TooLong,
    Read(std::io::Error),
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeError::Spawn(e) => write!(f, "cannot be run ({e})"),
            ProbeError::TooSlow(d) => {
                write!(
                    f,
                    "did not finish within {} s (it was stopped)",
                    d.as_secs()
                )
            }
            ProbeError::TooLong => write!(
                f,
                "printed more than {} KiB (it was stopped)",
                PROBE_OUTPUT / 1024
            ),
            ProbeError::Read(e) => write!(f, "could not be read ({e})"),
        }
    }
}

/// Kills a probe's whole process group when dropped: when it ends, overruns, or the command that
/// started it is interrupted and drops the probe mid-way. Whatever the probe left behind in its
/// group (a child holding the output open, say) goes with it.
struct Group(libc::pid_t);

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: kill(2) of the process group this probe's child leads; the leader is not reaped
        // before this runs, so the group's id is still ours.
        unsafe { libc::kill(-self.0, libc::SIGKILL) };
    }
}

/// Runs `cmd` as a probe: in a process group of its own, so that a terminal's Ctrl-C reaches lblab
/// alone and lblab decides what to stop; killed should lblab die; with its output and its time
/// bounded, so that a program that hangs or floods costs seconds and kilobytes, not the machine.
async fn probe(cmd: Command, within: Duration) -> Result<Probed, ProbeError> {
    use tokio::io::AsyncReadExt as _;
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(ProbeError::Spawn)?;
    let group = child.id().map(|pid| Group(pid as libc::pid_t));
    let (Some(mut out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ProbeError::Read(std::io::Error::other("no pipe to it")));
    };
    // Both pipes are read together, each chunk counted against one limit, until both are closed.
    let read = async {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let (mut out_open, mut err_open) = (true, true);
        let (mut a, mut b) = ([0u8; 4096], [0u8; 4096]);
        while out_open || err_open {
            let (n, from_out) = tokio::select! {
                n = out.read(&mut a), if out_open => (n, true),
                n = err.read(&mut b), if err_open => (n, false),
            };
            let n = n.map_err(ProbeError::Read)?;
            if stdout.len() + stderr.len() + n > PROBE_OUTPUT {
                return Err(ProbeError::TooLong);
            }
            match (n, from_out) {
                (0, true) => out_open = false,
                (0, false) => err_open = false,
                (n, true) => stdout.extend_from_slice(&a[..n]),
                (n, false) => stderr.extend_from_slice(&b[..n]),
            }
        }
        Ok((stdout, stderr))
    };
    let (stdout, stderr) = match tokio::time::timeout(within, read).await {
        Ok(r) => r?,
        Err(_) => return Err(ProbeError::TooSlow(within)),
    };
    let status = match tokio::time::timeout(within, child.wait()).await {
        Ok(s) => s.map_err(ProbeError::Read)?,
        Err(_) => return Err(ProbeError::TooSlow(within)),
    };
    drop(group);
    Ok(Probed {
        status,
        stderr,
        stdout,
    })
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

/// `nginx -t` on `conf`: nginx's own words when it rejects it, with the text of the line it names
/// (read now: the file may be a candidate that is removed once it is rejected).
pub async fn test_config(binary: &Path, prefix: &Path, conf: &Path) -> Result<(), String> {
    let mut cmd = base_command(binary, prefix, conf);
    cmd.arg("-t");
    let out = probe(cmd, TEST_WITHIN)
        .await
        .map_err(|e| format!("`{} -t` {e}", binary.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let message = nginx_message(&String::from_utf8_lossy(&out.stderr));
    let line = named_line(&message)
        .map(|(n, text)| format!(" (line {n}: `{text}`)"))
        .unwrap_or_default();
    Err(format!("nginx rejected the config: {message}{line}"))
}

/// The line a message of nginx's names (`… in /path/nginx.conf:12`), as its number and its text,
/// control characters shown as escapes so that the message stays one line.
fn named_line(message: &str) -> Option<(usize, String)> {
    let (path, number) = message.split(" | ").find_map(|l| {
        let (_, place) = l.rsplit_once(" in ")?;
        let (path, number) = place.trim().rsplit_once(':')?;
        Some((path, number.parse::<usize>().ok()?))
    })?;
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().nth(number.checked_sub(1)?)?.trim();
    let shown = line
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    Some((number, shown))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// nginx names the line of a candidate that lblab removes once it is rejected; the message
    /// carries that line's text, so it still says what was wrong after the file is gone.
    #[tokio::test]
    async fn a_rejected_config_is_shown_with_its_line() {
        let nginx = locate(None)
            .await
            .unwrap_or_else(|e| panic!("this test needs nginx: {e}"));
        let prefix = tempfile::tempdir().unwrap();
        let candidate = prefix.path().join("nginx.conf.candidate");
        std::fs::write(
            &candidate,
            "events {}\nhttp {\n    upstream lblab { server 127.0.0.1:9; hash $x consistent consistent; }\n}\n",
        )
        .unwrap();
        let e = test_config(&nginx, prefix.path(), &candidate)
            .await
            .unwrap_err();
        std::fs::remove_file(&candidate).unwrap();
        assert!(e.starts_with("nginx rejected the config: "), "{e}");
        assert!(e.contains("[emerg]"), "nginx's own words are missing: {e}");
        assert!(
            e.ends_with(
                "(line 3: `upstream lblab { server 127.0.0.1:9; hash $x consistent consistent; }`)"
            ),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
    }

    #[test]
    fn a_named_line_keeps_the_message_on_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("c.conf");
        std::fs::write(&conf, "a;\n  hash \"$x\\r\" \u{7} ;  \n").unwrap();
        let message = format!("nginx: [emerg] oops in {}:2", conf.display());
        assert_eq!(
            named_line(&message),
            Some((2, r#"hash "$x\r" \u{7} ;"#.to_owned()))
        );
        assert_eq!(named_line("nginx: [emerg] no place"), None);
        assert_eq!(named_line(&format!("x in {}:9", conf.display())), None);
    }
}
