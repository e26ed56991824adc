//! A real `lblab-backend` process on loopback, for the tests that need the lab's own backend
//! (its `--delay`, or a process to pause with SIGSTOP). `cargo test --workspace` builds it beside
//! the `loadtest` binary; a test fails, with how to build it, when it is not there.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Backend {
    pub addr: String,
    child: Child,
}

impl Backend {
    /// Starts backend `id` on a free port, with `extra` arguments (e.g. `--delay 20`), and returns
    /// once it listens.
    pub fn start(id: u32, extra: &[&str]) -> Backend {
        let exe = backend_exe();
        let mut child = Command::new(&exe)
            .args(["--id", &id.to_string(), "--threads", "1"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("lblab-backend said {line:?}, not where it listens"))
            .to_string();
        Backend { addr, child }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // SIGCONT first: a test that stopped it may have failed before resuming it.
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.pid(), libc::SIGCONT) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `lblab-backend` in the directory of the `loadtest` binary under test.
fn backend_exe() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_loadtest")).with_file_name("lblab-backend");
    assert!(
        exe.is_file(),
        "{} is not built: these tests run a real backend; build it with `cargo build -p \
         lblab-backend` (or run `cargo test --workspace`, which builds it)",
        exe.display()
    );
    exe
}
