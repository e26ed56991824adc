//! `--nginx PROGRAM` that is not a well-behaved nginx: one that hangs on `-v` or `-t`, or floods its
//! output, costs lblab seconds and kilobytes and leaves nothing running; and a terminal's Ctrl-C
//! while such a probe runs reaches lblab alone, which stops with 130 and takes the probe with it.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{alive, lblab};

/// Writes an executable `#!/bin/sh` script. A shell writes it, so that no writable descriptor of
/// it is ever in this process, where a child forked meanwhile by another test could inherit it and
/// make running the script fail with "text file busy".
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let mut sh = Command::new("sh")
        .arg("-c")
        .arg("cat > \"$1\" && chmod 755 \"$1\"")
        .arg("sh")
        .arg(&path)
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh runs");
    sh.stdin
        .take()
        .unwrap()
        .write_all(format!("#!/bin/sh\n{body}").as_bytes())
        .unwrap();
    assert!(sh.wait().unwrap().success(), "the script was not written");
    path
}

/// `lblab run -n 10 -c 2 --nginx PROGRAM`, in a process group of its own as a terminal's foreground
/// job is.
fn spawn_run(nginx: &Path) -> Child {
    lblab()
        .args(["run", "-n", "10", "-c", "2", "-b", "2", "--nginx"])
        .arg(nginx)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("lblab runs")
}

/// Its exit code, stderr and how long it took, or a failure (and the whole group killed) if it
/// has not ended within `limit`.
fn finish(mut child: Child, started: Instant, limit: Duration) -> (Option<i32>, String, Duration) {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status.code(), err, started.elapsed());
        }
        if started.elapsed() > limit {
            // SAFETY: kill(2) of the process group this test started lblab in.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
            panic!("lblab was still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The PID a script wrote to `file`, once it has.
fn pid_in(file: &Path) -> u64 {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(Instant::now() < until, "the script never started");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn assert_gone(pid: u64, what: &str) {
    let until = Instant::now() + Duration::from_secs(2);
    while alive(pid) {
        assert!(
            Instant::now() < until,
            "{what} (pid {pid}) was left running"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_program_that_hangs_on_v_is_stopped_within_seconds_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let fake = script(
        dir.path(),
        "nginx",
        &format!("sleep 1000 &\necho $! > '{}'\nwait\n", pid_file.display()),
    );
    let (code, err, took) = finish(spawn_run(&fake), Instant::now(), Duration::from_secs(30));
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(
        err.contains("is not nginx") && err.contains("-v` did not finish within 5 s"),
        "{err}"
    );
    assert!(took < Duration::from_secs(15), "it took {took:?}");
    assert_gone(pid_in(&pid_file), "the probe's child");
}

#[test]
fn a_program_that_floods_its_output_is_stopped_at_a_few_kib() {
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "nginx",
        "while :; do echo 'flood flood flood flood flood flood flood flood flood flood'; done\n",
    );
    // Well under the 5 s time bound: the output bound stops it, not the clock.
    let (code, err, took) = finish(spawn_run(&fake), Instant::now(), Duration::from_secs(4));
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains("printed more than 16 KiB"), "{err}");
    assert!(took < Duration::from_secs(4), "it took {took:?}");
}

/// `lblab run` with `fake` as nginx, Ctrl-C'd once the fake has written the PID to watch into
/// `pid_file`: that PID, and how lblab ended (waited for at most `within`).
fn ctrl_c_during(
    fake: &Path,
    pid_file: &Path,
    within: Duration,
) -> (u64, (Option<i32>, String, Duration)) {
    let child = spawn_run(fake);
    let watched = pid_in(pid_file);
    // lblab has its handler in place by the time the probe runs; a moment more for a slow machine.
    std::thread::sleep(Duration::from_millis(300));
    let pressed = Instant::now();
    crate::common::ctrl_c(child.id());
    (watched, finish(child, pressed, within))
}

/// A terminal's Ctrl-C goes to its whole foreground process group: it must reach lblab alone, not
/// the probe, even one that ignores it.
#[test]
fn ctrl_c_while_v_hangs_stops_lblab_at_once_and_the_probe_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let fake = script(
        dir.path(),
        "nginx",
        &format!(
            "trap '' INT TERM\nsleep 1000 &\necho $! > '{}'\nwait\n",
            pid_file.display()
        ),
    );
    let (sleeper, (code, err, took)) = ctrl_c_during(&fake, &pid_file, Duration::from_secs(10));
    assert_eq!(code, Some(130), "{err}");
    assert!(
        took < Duration::from_secs(3),
        "it took {took:?} after Ctrl-C"
    );
    assert_gone(sleeper, "the probe's child");
}

/// nginx -t run in the terminal's process group died of the Ctrl-C itself, and lblab reported
/// "nginx rejected the config: " with nothing after it; it must say it was interrupted (130).
#[test]
fn ctrl_c_during_nginx_t_is_an_interruption_not_a_rejected_config() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let fake = script(
        dir.path(),
        "nginx",
        &format!(
            "if [ \"$1\" = -v ]; then echo 'nginx version: nginx/1.0' >&2; exit 0; fi\n\
             echo $$ > '{}'\nexec sleep 1000\n",
            pid_file.display()
        ),
    );
    let (tester, (code, err, took)) = ctrl_c_during(&fake, &pid_file, Duration::from_secs(15));
    assert_eq!(code, Some(130), "{err}");
    assert!(!err.contains("rejected"), "{err}");
    assert!(
        took < Duration::from_secs(8),
        "it took {took:?} after Ctrl-C"
    );
    assert_gone(tester, "nginx -t");
}
