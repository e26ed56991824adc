//! The state directory and its record: another user must not be able to make `up`, `status` or
//! `switch` run a program, rewrite a file or signal a process as this user.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

fn refused(out: &std::process::Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
}

#[test]
fn a_state_dir_others_can_write_is_refused_before_anything_starts() {
    let scratch = scratch();
    let dir = scratch.path().join("state");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = lblab()
        .args(["up", "--state-dir"])
        .arg(&dir)
        .env("TMPDIR", scratch.path())
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    refused(&out, "writable by group or others (mode 0777)");
    assert!(!dir.join("lab.json").exists());
    // Nothing was started: no nginx prefix was made.
    let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");

    // A record planted in such a directory is not read.
    std::fs::write(dir.join("lab.json"), "{}").unwrap();
    for sub in [&["status"][..], &["switch", "--method", "random"]] {
        let out = lblab()
            .args(sub)
            .arg("--state-dir")
            .arg(&dir)
            .output()
            .unwrap();
        refused(&out, "mode 0777");
    }
}

#[test]
fn a_state_dir_of_another_user_is_refused() {
    let scratch = scratch();
    let dir = scratch.path().join("state");
    std::fs::create_dir(&dir).unwrap();
    // SAFETY: getuid cannot fail.
    let me = unsafe { libc::getuid() };
    let (other, target) = if me == 0 {
        let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
        // SAFETY: chown(2) on a directory this test created; as root it may give it away.
        assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
        (65534, dir.clone())
    } else {
        // Not root: `/` stands for another user's directory. Its owner is read, not assumed: root
        // on an ordinary host, the overflow uid 65534 in Nix's build sandbox.
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata("/").unwrap().uid();
        assert_ne!(
            owner, me,
            "/ is this user's own; no directory of another user to try"
        );
        (owner, Path::new("/").to_owned())
    };
    let out = lblab()
        .args(["up", "--state-dir"])
        .arg(&target)
        .env("TMPDIR", scratch.path())
        .output()
        .unwrap();
    refused(&out, &format!("owned by uid {other}, not by you"));
}

/// Rewrites the running lab's record with `edit`, runs `switch`, and checks it was refused with
/// `needle`; the record is put back afterwards.
fn tampered_switch_is_refused(up: &Up, needle: &str, edit: impl FnOnce(&mut Value)) {
    let path = up.state.join("lab.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut v: Value = serde_json::from_str(&original).unwrap();
    edit(&mut v);
    std::fs::write(&path, v.to_string()).unwrap();
    let out = up
        .cmd("switch")
        .args(["--method", "least-conn"])
        .output()
        .unwrap();
    refused(&out, needle);
    std::fs::write(&path, original).unwrap();
}

#[test]
fn a_replaced_record_cannot_make_switch_run_a_program_or_signal_a_process() {
    let mut up = Up::start(&[]);
    let attacker = scratch();
    let marker = attacker.path().join("ran");
    let fake = attacker.path().join("fake-nginx");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\ntouch {}\necho 'nginx version: fake' >&2\n",
            marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    // The recorded nginx binary is not the one running as the recorded PID.
    tampered_switch_is_refused(&up, "but pid", |v| {
        v["nginx_bin"] = fake.to_str().unwrap().into();
    });
    assert!(!marker.exists(), "switch ran the planted program");

    // The recorded nginx PID is some other process of this user: it gets no SIGHUP.
    let mut bystander = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    tampered_switch_is_refused(&up, "is not an nginx of yours", |v| {
        v["nginx_pid"] = bystander.id().into();
    });
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "the bystander was signalled"
    );
    let _ = bystander.kill();
    let _ = bystander.wait();

    // The recorded prefix is not the lab's: no config is written into it.
    let elsewhere = attacker.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    tampered_switch_is_refused(&up, "is not the one nginx", |v| {
        v["config"]["prefix"] = elsewhere.to_str().unwrap().into();
    });
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);

    // A backend PID that is not one of the lab's backends.
    tampered_switch_is_refused(&up, "is not a backend of this lab", |v| {
        v["backends"][0]["pid"] = std::process::id().into();
    });

    // A record others can write is not read even when what it says is true.
    let path = up.state.join("lab.json");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = up.cmd("status").output().unwrap();
    refused(&out, "mode 0666");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();

    // The true record still works.
    let out = up
        .cmd("switch")
        .args(["--method", "least-conn"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!marker.exists());
    assert!(up.stop().success());
}

/// A process's uids and gids: real, effective, saved and filesystem, as /proc lists them.
type Ids = (Vec<u32>, Vec<u32>);

/// The uids and gids of `pid`, from /proc: all four must agree for a process that dropped
/// privileges for good.
fn ids_of(pid: u64) -> Ids {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ids = |key: &str| -> Vec<u32> {
        let line = status.lines().find(|l| l.starts_with(key)).unwrap();
        line[key.len()..]
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect()
    };
    (ids("Uid:"), ids("Gid:"))
}

/// nobody's uid and gid as the user database has them (what the runner gives HAProxy as root).
fn nobody() -> (u32, u32) {
    // SAFETY: getpwnam with a NUL-terminated name; the two integers are read at once.
    let pw = unsafe { libc::getpwnam(c"nobody".as_ptr()) };
    assert!(!pw.is_null(), "no user nobody in the user database");
    // SAFETY: pw is non-null and points to getpwnam's record.
    unsafe { ((*pw).pw_uid, (*pw).pw_gid) }
}

/// HAProxy's live workers under `master`, each with its ids: they are what the tests compare.
fn haproxy_workers(master: u32) -> Vec<(u64, Ids)> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let workers: Vec<u64> = children_of(master)
            .into_iter()
            .filter(|&p| alive(p))
            .collect();
        if !workers.is_empty() {
            return workers.into_iter().map(|p| (p, ids_of(p))).collect();
        }
        assert!(Instant::now() < until, "haproxy {master} has no worker");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run by root, HAProxy's worker drops to nobody, as nginx's workers do by themselves (the master
/// stays root to reload); run by anyone else (the Nix build sandbox's uid 1000) it is that user and
/// nothing drops. Either way the stats socket still answers the runner (a weights switch goes
/// through it), and a reload's new worker is as unprivileged as the first.
#[test]
fn haproxy_workers_run_as_nobody_when_the_lab_runs_as_root() {
    // SAFETY: getuid and getgid cannot fail.
    let (me, my_gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let (uid, gid) = if me == 0 { nobody() } else { (me, my_gid) };
    assert!(me != 0 || uid != 0, "nobody is root in this user database");
    let bin = haproxy();
    let up = Up::start(&["--proxy", "haproxy", "--haproxy", bin.to_str().unwrap()]);
    let master = up.status()["nginx_pid"].as_u64().unwrap() as u32;
    assert_eq!(
        ids_of(u64::from(master)).0[1],
        me,
        "the master is the runner's user"
    );
    let check = |when: &str| {
        for (pid, (uids, gids)) in haproxy_workers(master) {
            assert_eq!(uids, [uid; 4], "{when}: worker {pid}'s uids");
            assert_eq!(gids, [gid; 4], "{when}: worker {pid}'s gids");
        }
    };
    check("at start");
    let cfg = std::fs::read_to_string(up.status()["config"].as_str().unwrap()).unwrap();
    assert_eq!(
        cfg.contains(&format!("\n    uid {uid}\n    gid {gid}\n")),
        me == 0,
        "{cfg}"
    );
    let out = up
        .cmd("switch")
        .args(["--method", "leastconn"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    check("after a reload");
    let out = up
        .cmd("switch")
        .args(["--weights", "1,2,3"])
        .output()
        .unwrap();
    assert!(
        out.status.success() && stdout(&out).contains("took the weights at run time"),
        "the stats socket did not take the weights: {}{}",
        stdout(&out),
        stderr(&out)
    );
    // And the dropped worker still serves: one request through it reaches a backend.
    let url = up.status()["url"].as_str().unwrap().to_owned();
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.0 200") && answer.to_ascii_lowercase().contains("x-backend-id:"),
        "{answer}"
    );
}
