//! Where a lab keeps itself: the state directories `up` refuses (a file, a device, one it cannot
//! write in), the default one, which does not follow TMPDIR, and the nginx prefix, private yet
//! usable by nginx's workers.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

/// `lblab up --state-dir DIR`, with TMPDIR in `scratch`, which must refuse before anything starts.
fn up_refused(scratch: &Path, dir: &Path, needle: &str, cmd: Option<Command>) {
    let mut cmd = cmd.unwrap_or_else(lblab);
    let out = cmd
        .args(["up", "--state-dir"])
        .arg(dir)
        .env("TMPDIR", scratch)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    assert!(
        prefixes_in(scratch).is_empty(),
        "a lab was started: {:?}",
        prefixes_in(scratch)
    );
}

#[test]
fn a_state_dir_that_is_not_a_directory_is_refused_for_what_it_is() {
    let scratch = scratch();
    let file = scratch.path().join("plain");
    std::fs::write(&file, "").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    for (dir, what) in [
        (file.as_path(), "it is not a directory but a regular file"),
        (
            Path::new("/dev/null"),
            "it is not a directory but a character device",
        ),
    ] {
        up_refused(scratch.path(), dir, what, None);
        for sub in ["status", "switch"] {
            let out = lblab()
                .arg(sub)
                .arg("--state-dir")
                .arg(dir)
                .output()
                .unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{err}");
            assert!(!err.contains("another user"), "{sub}: {err}");
        }
        let out = lblab()
            .args(["up", "--state-dir"])
            .arg(dir)
            .env("TMPDIR", scratch.path())
            .output()
            .unwrap();
        assert!(!stderr(&out).contains("another user"), "{}", stderr(&out));
    }
}

#[test]
fn a_read_only_state_dir_is_refused_before_the_lab_starts() {
    let scratch = scratch();
    let dir = scratch.path().join("state");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    // SAFETY: getuid cannot fail.
    let cmd = if unsafe { libc::getuid() } == 0 {
        // Root writes through any mode: the command runs as another user, who owns the directory
        // and the scratch directory where its lab would be made.
        for p in [scratch.path(), &dir] {
            let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
            // SAFETY: chown(2) on a directory this test created.
            assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
        }
        let mut c = lblab();
        c.uid(65534).gid(65534);
        Some(c)
    } else {
        None
    };
    up_refused(scratch.path(), &dir, "cannot write in", cmd);
}

#[test]
fn the_default_state_dir_does_not_follow_tmpdir() {
    let (a, b) = (scratch(), scratch());
    let default = |cmd: &mut Command, tmp: &Path| {
        cmd.env_remove("LBLAB_STATE_DIR")
            .env_remove("XDG_RUNTIME_DIR")
            .env("TMPDIR", tmp);
    };
    let mut cmd = lblab();
    cmd.arg("status");
    default(&mut cmd, b.path());
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success(),
        "a lab of yours is already up in the default state directory; stop it to run this test"
    );
    // SAFETY: getuid cannot fail.
    let default_dir = PathBuf::from(format!("/tmp/lblab-{}", unsafe { libc::getuid() }));
    let existed = default_dir.exists();
    let mut up = lblab();
    up.arg("up").stdout(Stdio::null()).stderr(Stdio::piped());
    default(&mut up, a.path());
    let child = up.spawn().unwrap();
    let mut up = Up {
        child,
        state: PathBuf::new(),
        scratch: a,
    };
    let until = Instant::now() + Duration::from_secs(30);
    let found = loop {
        let mut cmd = lblab();
        cmd.args(["status", "--json"]);
        default(&mut cmd, b.path());
        let out = cmd.output().unwrap();
        if out.status.success() {
            break serde_json::from_slice::<Value>(&out.stdout).unwrap();
        }
        if Instant::now() >= until || up.child.try_wait().unwrap().is_some() {
            let _ = up.child.kill();
            let mut err = String::new();
            if let Some(mut e) = up.child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!(
                "status under another TMPDIR does not find the lab: {} / up: {err}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(found["runner_pid"], up.child.id());
    assert_eq!(
        Path::new(found["config"].as_str().unwrap()).parent(),
        prefixes_in(up.scratch.path()).first().map(PathBuf::as_path),
        "the prefix still follows TMPDIR"
    );
    assert!(up.stop().success());
    assert!(default_dir.is_dir(), "not in {}", default_dir.display());
    if !existed {
        // Made by this test: nothing is left behind.
        std::fs::remove_dir_all(&default_dir).unwrap();
    }
}

#[test]
fn the_prefix_is_private_and_nginx_can_still_use_it() {
    let mut up = Up::start(&[]);
    let status = up.status();
    let prefix = Path::new(status["config"].as_str().unwrap())
        .parent()
        .unwrap();
    let mode = std::fs::metadata(prefix).unwrap().permissions().mode() & 0o777;
    // SAFETY: getuid cannot fail.
    let root = unsafe { libc::getuid() } == 0;
    // Root's nginx runs its workers as an unprivileged user, which must pass through the prefix.
    assert_eq!(mode, if root { 0o711 } else { 0o700 }, "mode {mode:o}");
    // A body larger than nginx keeps in memory goes to a file under the prefix, written by a
    // worker: the backend answers it (405 to a POST), not nginx with a 500.
    let addr = status["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let body = vec![b'x'; 256 * 1024];
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(&body).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let first = answer.lines().next().unwrap_or_default().to_owned();
    // The backend may answer (405) before it reads the body and close, which nginx may report as
    // a 502; what a worker that cannot reach the prefix gives is a 500 and a logged EACCES.
    assert!(first.starts_with("HTTP/1.1 "), "no answer: {answer}");
    assert!(!first.contains(" 500 "), "{first}");
    let log = std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default();
    assert!(!log.contains("Permission denied"), "{log}");
    assert!(up.stop().success());
}
