//! The state directory and its record: another user must not be able to make `up`, `status` or
//! `switch` run a program, rewrite a file or signal a process as this user.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

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
