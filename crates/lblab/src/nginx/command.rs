//! How nginx is run: its command line (prefix, config, error log), brief runs (`-v`, `-t`) with a
//! bound on their time and on what they print, so that a program that is not nginx, or hangs,
//! cannot hold the runner, and what nginx says when it refuses, in one line.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// nginx with `prefix` and `conf`, its error log in the prefix.
pub(super) fn base_command(binary: &Path, prefix: &Path, conf: &Path) -> Command {
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

/// The most a probe may print: nginx prints a line or a few; more is a program that floods.
const PROBE_OUTPUT: usize = 16 * 1024;

/// What a probe printed and how it ended.
pub(crate) struct Probed {
    pub status: std::process::ExitStatus,
    stderr: Vec<u8>,
    stdout: Vec<u8>,
}

impl Probed {
    /// Why nginx refused, in its own words: the lines of its stderr that say what went wrong, with
    /// the text of the line of the config it names (read now: the file may be a candidate that is
    /// removed once it is rejected).
    pub fn refusal(&self) -> String {
        let message = nginx_message(&String::from_utf8_lossy(&self.stderr));
        let line = named_line(&message)
            .map(|(n, text)| format!(" (line {n}: `{text}`)"))
            .unwrap_or_default();
        format!("{message}{line}")
    }

    /// What it printed, stderr first.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned() + &String::from_utf8_lossy(&self.stdout)
    }
}

pub(crate) enum ProbeError {
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
pub(crate) async fn probe(cmd: Command, within: Duration) -> Result<Probed, ProbeError> {
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
pub(super) fn nginx_message(output: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
