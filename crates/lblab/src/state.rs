//! The record a running `lblab up` leaves for `switch` and `status`. `switch` runs the nginx it names
//! and signals the PIDs in it, so the record is only believed when it is this user's own and
//! describes processes that are this user's running lab.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backends::BackendInfo;
use crate::front::Front;
use crate::private;
use crate::private::Lock;
use crate::procfs::{self, alive, my_uid};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub runner_pid: u32,
    /// The runner's start time (/proc), so that a record of a dead runner whose PID was given to
    /// another process is not taken for a live lab. Records of older versions have none.
    #[serde(default)]
    pub runner_start: Option<u64>,
    pub url: String,
    /// The balancer's binary and config (nginx's as `nginx_bin` and `config`, HAProxy's as
    /// `haproxy_bin` and `haproxy`).
    #[serde(flatten)]
    pub front: Front,
    /// The balancer's master pid (named so since nginx was the only one).
    pub nginx_pid: u32,
    pub backends: Vec<BackendInfo>,
}

pub fn dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(d) = explicit {
        return d.to_owned();
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("lblab"),
        // Not $TMPDIR: `up` and `status` run from shells whose TMPDIR may differ, and must meet.
        _ => PathBuf::from("/tmp").join(format!("lblab-{}", my_uid())),
    }
}

fn file(dir: &Path) -> PathBuf {
    dir.join("lab.json")
}

/// The lock `up` holds for its lab's whole life, from before the lab starts until after its record
/// is removed. The kernel drops it when `up` dies, even by SIGKILL.
fn up_lock(dir: &Path) -> PathBuf {
    dir.join("up.lock")
}

/// Takes the state directory for this process's lab, or says which lab has it: two `up` started at
/// once cannot both run with one record.
pub fn claim(dir: &Path) -> Result<Lock, String> {
    let path = up_lock(dir);
    if let Some(mut held) = Lock::try_take(&path)? {
        held.say(&std::process::id().to_string());
        // Nobody else holds the lock, so a record left here is of a lab that is gone.
        remove_stale(dir);
        return Ok(held);
    }
    Err(match State::load(dir) {
        Ok(other) => format!(
            "a lab is already up at {} (runner pid {}); stop it, or give this one another --state-dir",
            other.url, other.runner_pid
        ),
        Err(_) => format!(
            "a lab is already up or starting with state dir {} (runner pid {}); stop it, or give this one another --state-dir",
            dir.display(),
            Lock::said(&path).unwrap_or_else(|| "unknown".into())
        ),
    })
}

/// Removes the record in `dir` if its runner is gone.
fn remove_stale(dir: &Path) {
    let path = file(dir);
    let record = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str::<State>(&t).ok());
    if let Some(stale) = record.filter(|s| !s.runner_alive()) {
        let _ = std::fs::remove_file(&path);
        // Its prefix too, which may be in another $TMPDIR than this run's.
        crate::prefix::remove_if_stale(stale.front.prefix());
    }
}

/// Creates the state directory (0700) or checks that the one there is this user's alone.
pub fn prepare(dir: &Path) -> Result<(), String> {
    private::ensure_dir(dir)
}

impl State {
    /// The running lab recorded in `dir`, or a sentence saying there is none or why it is not
    /// believed.
    pub fn load(dir: &Path) -> Result<State, String> {
        let path = file(dir);
        if std::fs::symlink_metadata(&path).is_err() {
            return Err(format!(
                "no lab is up (nothing in {}; start one with `lblab up`)",
                dir.display()
            ));
        }
        private::check(dir, true)?;
        private::check(&path, false)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let state: State = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a lab record: {e}", path.display()))?;
        if !state.runner_alive() {
            // The record is removed unless an `up` holds the directory (it may be about to write
            // a new record): the next command then finds nothing rather than a dead lab.
            let free = Lock::try_take(&up_lock(dir)).ok().flatten();
            let removed = free.is_some() && std::fs::remove_file(&path).is_ok();
            if removed {
                crate::prefix::remove_if_stale(state.front.prefix());
            }
            return Err(format!(
                "no lab is up: {} recorded one whose runner (pid {}) is gone{}",
                path.display(),
                state.runner_pid,
                if removed {
                    "; the record is removed"
                } else {
                    ""
                }
            ));
        }
        if !alive(state.nginx_pid) {
            return Err(format!(
                "the lab at {} is broken: its {} (pid {}) is not running; its runner (pid {}) is still up and stops the lab",
                state.url,
                state.front.proxy(),
                state.nginx_pid,
                state.runner_pid
            ));
        }
        state
            .verify()
            .map_err(|why| format!("refusing {}: {why}", path.display()))?;
        Ok(state)
    }

    /// Whether the recorded runner still runs: the same PID, started at the same time.
    fn runner_alive(&self) -> bool {
        match self.runner_start {
            Some(start) => procfs::alive_since(self.runner_pid, start),
            None => alive(self.runner_pid),
        }
    }

    /// Checks that the recorded PIDs are this user's runner, its nginx started from the recorded
    /// binary in the recorded prefix, and its backends.
    fn verify(&self) -> Result<(), String> {
        let me = my_uid();
        let runner = self.runner_pid;
        if procfs::owner(runner) != Some(me) {
            return Err(format!("its runner pid {runner} is not yours"));
        }
        let nginx = self.nginx_pid;
        let proxy = self.front.proxy();
        if procfs::owner(nginx) != Some(me) || procfs::parent_of(nginx) != Some(runner) {
            return Err(format!(
                "pid {nginx} is not an {proxy} of yours started by the runner (pid {runner})"
            ));
        }
        let recorded = std::fs::canonicalize(self.front.bin()).ok();
        if recorded.is_none() || procfs::exe(nginx) != recorded {
            return Err(format!(
                "it names {proxy} {}, but pid {nginx} runs {}",
                self.front.bin().display(),
                procfs::exe(nginx)
                    .map_or("something unreadable".into(), |e| e.display().to_string())
            ));
        }
        // nginx rewrites its argv into a process title, so the prefix is tied to the PID by the
        // pid file nginx (or HAProxy's master) itself wrote there.
        let prefix = self.front.prefix();
        private::check(prefix, true)?;
        let pid_file = std::fs::read_to_string(self.front.pid_file()).unwrap_or_default();
        if pid_file.trim() != nginx.to_string() {
            return Err(format!(
                "its prefix {} is not the one {proxy} (pid {nginx}) runs in",
                prefix.display()
            ));
        }
        let runner_exe = procfs::exe(runner);
        for b in &self.backends {
            let args = procfs::cmdline(b.pid);
            let ours = procfs::owner(b.pid) == Some(me)
                && procfs::parent_of(b.pid) == Some(runner)
                && procfs::exe(b.pid) == runner_exe
                && args.get(1).map(String::as_str) == Some("backend");
            // A backend may have been killed (a `kill` fault is for `run` only, but a user may have
            // killed one); a PID that is running must be the lab's.
            if alive(b.pid) && !ours {
                return Err(format!(
                    "backend {}'s pid {} is not a backend of this lab",
                    b.id, b.pid
                ));
            }
        }
        Ok(())
    }

    pub fn save(&self, dir: &Path) -> Result<(), String> {
        prepare(dir)?;
        let path = file(dir);
        let tmp = path.with_extension("json.new");
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        let _ = std::fs::remove_file(&tmp);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Removes the record if it is this process's own.
    pub fn remove(dir: &Path) {
        let path = file(dir);
        let own = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<State>(&t).ok())
            .is_some_and(|s| s.runner_pid == std::process::id());
        if own {
            let _ = std::fs::remove_file(&path);
        }
    }
}
