//! What the lab does alike with nginx's and HAProxy's master process: a config installed only once
//! the program accepts it, the wait until a started master listens, and the wait until a reload has
//! replaced every old worker.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::child::Guarded;
use crate::procfs::{alive, children_of};

/// How long a master may take to listen after its start, and its old workers to leave after a
/// reload: both take milliseconds, seconds only on a machine under heavy load.
const WITHIN: Duration = Duration::from_secs(10);

/// Writes `text` as a candidate beside `conf`, has `check` judge the candidate's path, and renames it
/// over `conf`. The candidate has a name of its own, created exclusively, so that two switches at once
/// never check or install each other's file; a rejected one is removed and changes nothing.
pub async fn install<F, Fut>(conf: &Path, text: &str, check: F) -> Result<(), String>
where
    F: FnOnce(std::path::PathBuf) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let dir = conf.parent().unwrap_or(Path::new("."));
    let mut prefix = conf.file_name().unwrap_or_default().to_owned();
    prefix.push(".candidate-");
    let mut candidate = tempfile::Builder::new()
        .prefix(&prefix)
        .tempfile_in(dir)
        .map_err(|e| format!("cannot create a candidate config in {}: {e}", dir.display()))?;
    std::io::Write::write_all(&mut candidate, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", candidate.path().display()))?;
    // A failed check drops (and so removes) the candidate.
    check(candidate.path().to_owned()).await?;
    candidate
        .persist(conf)
        .map(drop)
        .map_err(|e| format!("cannot replace {}: {}", conf.display(), e.error))
}

/// Waits until the master `process` (`name` in messages) accepts connections on `listen` and
/// `ready` says the rest is in place too. If it exits first, `why_exited` says why, in its words.
pub async fn await_listening(
    name: &str,
    process: &mut Guarded,
    listen: SocketAddr,
    ready: impl Fn() -> bool,
    why_exited: impl Fn() -> String,
) -> Result<(), String> {
    let until = Instant::now() + WITHIN;
    loop {
        if let Some(status) = process.exited() {
            return Err(format!("{name} exited ({status}): {}", why_exited()));
        }
        if tokio::net::TcpStream::connect(listen).await.is_ok() && ready() {
            return Ok(());
        }
        if Instant::now() >= until {
            return Err(format!(
                "{name} did not listen on {listen} within {} s",
                WITHIN.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends `signal` to the master `master` (`name` in messages), which reads its config again and
/// starts new workers, and waits until the workers that ran the old config are gone, so that the
/// next request is balanced by the new one.
pub async fn reload(name: &str, master: u32, signal: libc::c_int) -> Result<(), String> {
    let old = children_of(master);
    // SAFETY: kill(2) on the master PID the lab (or the state file, checked alive) records.
    if unsafe { libc::kill(master as libc::pid_t, signal) } != 0 {
        return Err(format!(
            "cannot signal {name} (pid {master}): {}",
            std::io::Error::last_os_error()
        ));
    }
    let until = Instant::now() + WITHIN;
    loop {
        let now = children_of(master);
        let fresh = now.iter().any(|p| !old.contains(p));
        let stale = old.iter().any(|&p| alive(p) && now.contains(&p));
        if fresh && !stale {
            return Ok(());
        }
        if !alive(master) {
            return Err(format!("{name} (pid {master}) exited during the reload"));
        }
        if Instant::now() >= until {
            return Err(format!(
                "{name}'s old workers were still running {} s after the reload",
                WITHIN.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
