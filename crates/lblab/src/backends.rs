use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lblab_backend::LISTENING_PREFIX;
use serde::{Deserialize, Serialize};

use crate::child::Guarded;
use crate::probe;
use crate::spec::LabSpec;

pub struct Backend {
    pub id: u32,
    pub addr: SocketAddr,
    pub process: Guarded,
}

/// What `--json` and the state file say of a backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackendInfo {
    pub id: u32,
    pub addr: SocketAddr,
    pub pid: u32,
    /// Requests it answered on `/`, from its `/stats`; `None` when it could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served: Option<u64>,
    /// `lblab run`: the TCP connections nginx opened to it during the load (its own count of those
    /// that asked for `/`); `None` where that is not known (it was killed, or started again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<u64>,
}

const READY_WITHIN: Duration = Duration::from_secs(10);

/// Starts backends 1..=N on free loopback ports (this executable's hidden `backend` subcommand, the
/// same code as `lblab-backend`) and returns once every one answers `/healthz`: nginx must never see
/// a backend that is not listening yet, or it marks it failed for fail_timeout.
pub async fn start(args: &LabSpec) -> Result<Vec<Backend>, String> {
    let mut started = Vec::new();
    for id in 1..=args.backends() {
        started.push(spawn(args, id, SocketAddr::from(([127, 0, 0, 1], 0)))?);
    }
    for b in &mut started {
        wait_ready(b).await?;
    }
    Ok(started)
}

/// Starts backend `id` again on the address it had (`restart` fault), and returns once it answers.
pub async fn restart(args: &LabSpec, id: u32, addr: SocketAddr) -> Result<Backend, String> {
    let mut b = spawn(args, id, addr)?;
    wait_ready(&mut b).await?;
    Ok(b)
}

/// Starts backend `id` listening on `listen` (port 0: a free one) and reads the address it took.
fn spawn(args: &LabSpec, id: u32, listen: SocketAddr) -> Result<Backend, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find this program's own path to start the backends: {e}"))?;
    let mut cmd = Command::new(&exe);
    cmd.args([
        "backend",
        "--id",
        &id.to_string(),
        "--listen",
        &listen.to_string(),
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    if let Some(d) = args.delay_for(id) {
        cmd.args(["--delay", &d.to_string()]);
    }
    let name = format!("backend {id}");
    // A process group of its own: the terminal's Ctrl-C goes to its foreground group, and a
    // backend in the runner's group would die of it before the runner could stop the lab in order
    // (a compare then failed with "backend 1 exited"). The runner alone decides when it stops.
    let mut process = Guarded::spawn_group(name.clone(), &mut cmd, libc::SIGKILL)
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    let addr = read_listening(&mut process)?;
    Ok(Backend { id, addr, process })
}

async fn wait_ready(b: &mut Backend) -> Result<(), String> {
    let Backend { id, addr, process } = b;
    probe::wait_ok(*addr, "/healthz", READY_WITHIN, || match process.exited() {
        Some(status) => Err(format!(
            "backend {id} exited ({status}) before it was ready"
        )),
        None => Ok(()),
    })
    .await
}

/// The address from the backend's first stdout line.
fn read_listening(process: &mut Guarded) -> Result<SocketAddr, String> {
    let name = process.name.clone();
    let stdout = process
        .child_mut()
        .stdout
        .take()
        .ok_or_else(|| format!("{name}: no stdout"))?;
    let (tx, rx) = mpsc::channel();
    // A thread, so that a backend that never prints cannot hang the runner past the timeout.
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(READY_WITHIN)
        .map_err(|_| format!("{name} did not start listening within {READY_WITHIN:?}"))?;
    line.trim()
        .strip_prefix(LISTENING_PREFIX)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| match process.exited() {
            Some(status) => format!("{name} exited ({status}) before it listened"),
            None => format!("{name} printed '{}' instead of its address", line.trim()),
        })
}

impl Backend {
    pub fn info(&self, served: Option<u64>) -> BackendInfo {
        BackendInfo {
            id: self.id,
            addr: self.addr,
            pid: self.process.pid(),
            served,
            connections: None,
        }
    }
}
