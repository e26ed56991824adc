//! A concurrency beyond the open-files limit is refused up front, naming the limit.

use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::support::{Answer, OK_FROM_1, RawServer};

/// `loadtest ARGS` with the open-files limit (soft and hard) lowered to `limit`, set in the child
/// between fork and exec, as `prlimit` or the shell's `ulimit -n` would: no tool outside the test
/// is needed, so the test runs the same in Nix's build sandbox.
fn loadtest_limited(limit: u64, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loadtest"));
    cmd.args(args);
    // SAFETY: setrlimit(2) is async-signal-safe, and the closure touches nothing else.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    cmd.output().expect("loadtest runs with the lowered limit")
}

#[test]
fn a_concurrency_the_limit_cannot_hold_is_refused_naming_the_limit() {
    let server = RawServer::start(Answer::Bytes(OK_FROM_1));
    let out = loadtest_limited(256, &[&server.url, "-c", "1000", "-n", "1000", "-t", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("-c 1000 needs about 1068 open files, but the open-files limit is 256")
            && err.contains("ulimit -n")
            && err.contains("-c 188 at most"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(server.accepted(), 0, "nothing was sent");
    // Within the same limit the run goes ahead.
    let out = loadtest_limited(256, &[&server.url, "-c", "100", "-n", "200", "-t", "2"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}
