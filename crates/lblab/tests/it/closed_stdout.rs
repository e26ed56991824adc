//! A reader that goes away before lblab prints (`lblab run | true`, `lblab status | head -1`): each
//! command ends quietly, with no panic, and whatever it started is stopped and unrecorded.

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Output, Stdio};
use std::time::Duration;

use crate::common::*;

/// The write end of a pipe whose read end is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) fills the two descriptors it is given, which this function then owns.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

/// Ended quietly with `code`: no panic, nothing said about the pipe.
fn quiet(what: &str, out: &Output, code: i32) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(!err.contains("Broken pipe"), "{what}: {err}");
}

#[test]
fn run_and_compare_end_quietly_with_their_verdict_and_leave_nothing() {
    for (args, code) in [
        (&["run", "-n", "60", "-c", "3"][..], 0),
        (&["run", "-n", "60", "-c", "3", "--json"][..], 0),
        (&["run", "-n", "60", "-c", "3", "--expect", "one"][..], 1),
        (
            &[
                "compare",
                "-n",
                "30",
                "-c",
                "3",
                "--methods",
                "round-robin,random",
            ][..],
            0,
        ),
    ] {
        let scratch = scratch();
        let out = lblab()
            .args(args)
            .env("TMPDIR", scratch.path())
            .stdout(closed_pipe())
            .output()
            .unwrap();
        quiet(&format!("{args:?}"), &out, code);
        let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

#[test]
fn nginx_config_ends_quietly() {
    for args in [
        &["nginx-config"][..],
        &["nginx-config", "--upstream-only"][..],
    ] {
        let out = lblab().args(args).stdout(closed_pipe()).output().unwrap();
        quiet(&format!("{args:?}"), &out, 0);
    }
}

#[test]
fn status_and_switch_end_quietly_and_the_switch_is_done() {
    let mut up = Up::start(&[]);
    for json in [false, true] {
        let mut cmd = up.cmd("status");
        if json {
            cmd.arg("--json");
        }
        let out = cmd.stdout(closed_pipe()).output().unwrap();
        quiet("status", &out, 0);
    }
    let out = up
        .cmd("switch")
        .args(["--method", "random"])
        .stdout(closed_pipe())
        .output()
        .unwrap();
    quiet("switch", &out, 0);
    assert_eq!(up.status()["method"], "random");
    assert!(up.stop().success());
}

#[test]
fn up_whose_output_cannot_be_written_stops_its_lab_and_its_record() {
    let mut up = Up::spawn(&[], closed_pipe());
    // It must end by itself, with nobody to read it.
    let status = up.exits_within(Duration::from_secs(30));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut up.child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!up.state.join("lab.json").exists(), "lab.json was left");
    // Its nginx prefix is gone too: only the state directory is left in its TMPDIR.
    let left: Vec<_> = std::fs::read_dir(up.scratch.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["state"], "left behind: {left:?}");
}
