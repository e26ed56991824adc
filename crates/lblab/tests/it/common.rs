//! Helpers for the end-to-end tests: they run the real `lblab` binary, which starts real backends
//! and a real nginx on free loopback ports, so the tests may run in parallel.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn lblab() -> Command {
    require_nginx();
    Command::new(env!("CARGO_BIN_EXE_lblab"))
}

/// The end-to-end tests need nginx; without it they fail, saying how to get it.
pub fn require_nginx() {
    nginx();
}

/// The nginx the tests and the runner use: the first on PATH, as in Nix's build sandbox, where
/// PATH is the only way to find a tool (there is no /usr there).
pub fn nginx() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
        .expect(
            "nginx is required by the end-to-end tests and was not found on PATH: install it with \
             `apt-get install -y nginx` (Debian/Ubuntu; it is in /usr/sbin, which an ordinary \
             user adds to PATH)",
        )
}

/// The HAProxy the tests use: the first on PATH; without it the tests fail saying how to get it.
pub fn haproxy() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("haproxy"))
        .find(|p| p.is_file())
        .expect(
            "haproxy is required by the HAProxy tests and was not found on PATH: install it with \
             `apt-get install -y haproxy` (Debian/Ubuntu; it is in /usr/sbin, which an ordinary \
             user adds to PATH)",
        )
}

/// `lblab compare ARGS --json`: the exit code and the parsed output.
pub fn compare_json(args: &[&str]) -> (i32, Value) {
    let out = lblab()
        .arg("compare")
        .args(args)
        .arg("--json")
        .output()
        .expect("lblab runs");
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "compare {args:?} printed no JSON ({e}); exit {code}\nstdout: {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        )
    });
    (code, v)
}

/// `lblab run ARGS --json`: the exit code and the parsed report.
pub fn run_json(args: &[&str]) -> (i32, Value) {
    let out = lblab()
        .arg("run")
        .args(args)
        .arg("--json")
        .output()
        .expect("lblab runs");
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "lblab run {args:?} printed no JSON ({e}); exit {code}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

/// Asserts the run passed, showing its expectations' verdicts when not.
pub fn assert_passed(args: &[&str]) -> Value {
    let (code, v) = run_json(args);
    assert_eq!(
        code, 0,
        "lblab run {args:?} failed: expectations {} errors {} counts {}",
        v["expectations"], v["errors_by_kind"], v["counts"]
    );
    assert_eq!(v["passed"], true);
    v
}

pub fn counts(v: &Value) -> Vec<u64> {
    (1..=3)
        .map(|i| v["counts"][i.to_string()].as_u64().unwrap_or(0))
        .collect()
}

pub fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit_once(") ")
                .map(|(_, r)| r.starts_with('Z'))
                .unwrap_or(true)
        })
        .unwrap_or(false)
}

/// Every PID the lab in `lab` (the `lab` object of the JSON) consists of.
pub fn lab_pids(lab: &Value) -> Vec<u64> {
    let mut pids: Vec<u64> = lab["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .map(|b| b["pid"].as_u64().expect("pid"))
        .collect();
    pids.push(lab["nginx_pid"].as_u64().expect("nginx pid"));
    pids
}

/// Waits until none of `pids` is alive; panics naming the survivors after `within`.
pub fn assert_all_gone(pids: &[u64], within: Duration) {
    let until = Instant::now() + within;
    loop {
        let left: Vec<u64> = pids.iter().copied().filter(|&p| alive(p)).collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < until,
            "processes of the lab still running: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// PIDs whose parent is `pid` (the runner's children: backends and nginx).
pub fn children_of(pid: u32) -> Vec<u64> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(") ")?
                        .1
                        .split_whitespace()
                        .nth(1)?
                        .parse::<u32>()
                        .ok()
                })
                == Some(pid)
        })
        .collect()
}

pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a child this test spawned.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0, "kill {pid}");
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A private directory for one test, removed when it is dropped (nothing is left in the temp dir).
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("lblab-test-")
        .tempdir()
        .expect("a temporary directory")
}

/// The entries of `dir` whose names start with `lblab-`: nginx prefixes.
pub fn prefixes_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("lblab-")
        })
        .collect();
    found.sort();
    found
}

/// A `lblab up` in the background with its own state dir; stopped (SIGINT) on drop. Its nginx
/// prefix is made inside the same scratch directory (TMPDIR), so even a runner killed with SIGKILL
/// leaves nothing behind once the test ends.
pub struct Up {
    pub child: Child,
    pub state: PathBuf,
    pub scratch: tempfile::TempDir,
}

impl Up {
    pub fn start(args: &[&str]) -> Up {
        let up = Up::spawn(args, Stdio::null());
        up.wait_up();
        up
    }

    /// Starts `lblab up` without waiting for it; its stdout goes to `stdout`.
    pub fn spawn(args: &[&str], stdout: Stdio) -> Up {
        let scratch = scratch();
        let state = scratch.path().join("state");
        let child = lblab()
            .arg("up")
            .args(args)
            .arg("--state-dir")
            .arg(&state)
            .env("TMPDIR", scratch.path())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("lblab up starts");
        Up {
            child,
            state,
            scratch,
        }
    }

    pub fn wait_up(&self) {
        let until = Instant::now() + Duration::from_secs(30);
        while self.status_json().is_none() {
            assert!(Instant::now() < until, "lblab up did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn cmd(&self, sub: &str) -> Command {
        let mut c = lblab();
        c.arg(sub).arg("--state-dir").arg(&self.state);
        c
    }

    pub fn status_json(&self) -> Option<Value> {
        let out = self.cmd("status").arg("--json").output().ok()?;
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())?
    }

    pub fn status(&self) -> Value {
        self.status_json().expect("lblab status answers")
    }

    /// Sends `sig` and waits for `up` to exit.
    pub fn stop_with(&mut self, sig: i32) -> (std::process::ExitStatus, String) {
        signal(self.child.id(), sig);
        let status = self.child.wait().expect("lblab up exits");
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        (status, err)
    }

    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.stop_with(libc::SIGINT).0
    }

    /// Waits up to `within` for `up` to exit on its own.
    pub fn exits_within(&mut self, within: Duration) -> std::process::ExitStatus {
        let until = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < until,
                "lblab up still runs after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ctrl-C as a terminal sends it: SIGINT to the whole process group `pgid` (a child started in a
/// group of its own).
pub fn ctrl_c(pgid: u32) {
    // SAFETY: kill(2) of the process group of a child the test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(-(pgid as i32), libc::SIGINT) }, 0);
}
