//! Brief runs of a balancer's program (`-v`, `-t`, `-c`) with a bound on their time and on what
//! they print, so that a program that is not what it claims, or hangs, cannot hold the runner.

use std::process::{Command, Stdio};
use std::time::Duration;

/// The most a probe may print: nginx and HAProxy print a line or a few; more is a program that floods.
const PROBE_OUTPUT: usize = 16 * 1024;

/// What a probe printed and how it ended.
pub struct Probed {
    pub status: std::process::ExitStatus,
    stderr: Vec<u8>,
    stdout: Vec<u8>,
}

impl Probed {
    /// What it printed on stderr.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// What it printed, stderr first.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned() + &String::from_utf8_lossy(&self.stdout)
    }
}

pub enum ProbeError {
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
pub async fn probe(cmd: Command, within: Duration) -> Result<Probed, ProbeError> {
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
