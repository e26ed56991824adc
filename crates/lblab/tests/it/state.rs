//! The record of a running lab and its prefix when commands race, stop half-way or are killed: the
//! record, nginx.conf and what nginx does must agree, and what a killed run or `up` left is cleaned
//! by the next command. Which state directories are taken at all is `state_dir`'s.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use loadtest::{Config, Expectation};
use serde_json::Value;

/// Sends `requests` through the lab at `url` and checks that they are balanced as `expect` says.
fn balanced_as(url: &str, requests: u64, expect: &str) -> Result<(), String> {
    let mut c = Config::new(loadtest::cli::parse_url(url).unwrap());
    c.requests = requests;
    c.concurrency = 10;
    c.backends = Some(3);
    c.expectations = vec![Expectation::parse(expect).unwrap()];
    let r = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(loadtest::run(&c))
        .expect("load runs");
    if r.passed {
        Ok(())
    } else {
        Err(format!("{:?}", r.expectations))
    }
}

/// What nginx must do for the method and weights `status --json` reports, as an `--expect`.
fn expectation_of(status: &Value) -> String {
    match (status["method"].as_str().unwrap(), &status["weights"]) {
        ("ip-hash", _) => "one".to_owned(),
        ("round-robin", Value::Null) => "round-robin".to_owned(),
        ("round-robin", w) => {
            let w: Vec<String> = w
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.to_string())
                .collect();
            format!("round-robin:{}", w.join(","))
        }
        (m, _) => panic!("the test switches to round-robin and ip-hash only, not {m}"),
    }
}

/// Checks that the record, nginx.conf and nginx's answers all say the same.
fn record_file_and_nginx_agree(up: &Up) {
    let status = up.status();
    let conf = std::fs::read_to_string(status["config"].as_str().unwrap()).unwrap();
    let ip_hash = status["method"] == "ip-hash";
    assert_eq!(conf.contains("ip_hash;"), ip_hash, "{status}\n{conf}");
    if let Some(w) = status["weights"].as_array() {
        for (i, w) in w.iter().enumerate() {
            let line = conf
                .lines()
                .filter(|l| l.trim_start().starts_with("server "))
                .nth(i)
                .unwrap_or_default();
            assert!(line.contains(&format!("weight={w}")), "{status}\n{conf}");
        }
    } else {
        assert!(!conf.contains("weight="), "{status}\n{conf}");
    }
    let expect = expectation_of(&status);
    // 600 is a whole number of turns for every weighting used here (6 = 1 + 2 + 3).
    if let Err(e) = balanced_as(status["url"].as_str().unwrap(), 600, &expect) {
        panic!("status says {expect}, nginx does otherwise: {e}\n{conf}");
    }
}

#[test]
fn concurrent_switches_leave_status_and_nginx_agreeing() {
    let up = Up::start(&[]);
    // Each switch names the whole setting, so whichever runs last decides what the lab does.
    let switches: [&[&str]; 6] = [
        &["--method", "round-robin", "--weights", "1,2,3"],
        &["--method", "round-robin", "--weights", "3,2,1"],
        &["--method", "ip-hash", "--weights", "none"],
        &["--method", "round-robin", "--weights", "2,3,1"],
        &["--method", "round-robin", "--weights", "none"],
        &["--method", "round-robin", "--weights", "1,3,2"],
    ];
    for round in 0..4 {
        let children: Vec<Child> = switches
            .iter()
            .cycle()
            .skip(round)
            .take(switches.len())
            .map(|args| {
                up.cmd("switch")
                    .args(*args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: a switch failed: {}{}",
                stdout(&out),
                stderr(&out)
            );
        }
        record_file_and_nginx_agree(&up);
        // No candidate file is left in the prefix.
        let status = up.status();
        let prefix = Path::new(status["config"].as_str().unwrap())
            .parent()
            .unwrap();
        let left: Vec<_> = std::fs::read_dir(prefix)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("candidate"))
            .collect();
        assert!(left.is_empty(), "left in the prefix: {left:?}");
    }
}

/// Waits up to `within` for the first of `children` to exit; its index and output.
fn first_to_exit(children: &mut [Child], within: Duration) -> Option<usize> {
    let until = Instant::now() + within;
    while Instant::now() < until {
        for (i, c) in children.iter_mut().enumerate() {
            if c.try_wait().unwrap().is_some() {
                return Some(i);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn output_of(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

#[test]
fn two_ups_started_at_once_one_is_refused() {
    for round in 0..3 {
        let scratch = scratch();
        let state = scratch.path().join("state");
        let spawn = || {
            lblab()
                .args(["up", "--state-dir"])
                .arg(&state)
                .env("TMPDIR", scratch.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let mut both = vec![spawn(), spawn()];
        let Some(i) = first_to_exit(&mut both, Duration::from_secs(20)) else {
            for c in &mut both {
                let _ = c.kill();
                let _ = c.wait();
            }
            panic!("round {round}: both `lblab up` run with one state directory");
        };
        let survivor = both.remove(1 - i);
        let refused = output_of(both.remove(0));
        let err = stderr(&refused);
        assert_eq!(refused.status.code(), Some(2), "round {round}: {err}");
        assert!(err.contains("already up"), "round {round}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");

        // The lab that runs is the one the record names, and the refused one started nothing.
        let up = Up {
            child: survivor,
            state: state.clone(),
            scratch,
        };
        up.wait_up();
        let status = up.status();
        assert_eq!(status["runner_pid"], up.child.id(), "round {round}");
        assert_eq!(
            prefixes_in(up.scratch.path()).len(),
            1,
            "round {round}: more than one nginx prefix"
        );
        let mut up = up;
        assert!(up.stop().success());
    }
}

#[test]
fn a_reload_not_confirmed_in_time_leaves_record_and_file_agreeing() {
    let mut up = Up::start(&[]);
    let status = up.status();
    let nginx = status["nginx_pid"].as_u64().unwrap() as u32;
    let url = status["url"].as_str().unwrap().to_owned();
    balanced_as(&url, 600, "round-robin").unwrap();

    // A stopped master cannot reload: the switch waits its 10 s and says so.
    signal(nginx, libc::SIGSTOP);
    let out = up
        .cmd("switch")
        .args(["--method", "ip-hash"])
        .output()
        .unwrap();
    let err = stderr(&out);
    // Not bad input: the lab could not do it in time.
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not confirmed"), "{err}");
    assert!(
        err.contains("now hold ip-hash"),
        "it does not say what the lab holds: {err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    // The record and the file agree while nginx is stopped ...
    let status = up.status();
    assert_eq!(status["method"], "ip-hash", "{status}");
    let conf = std::fs::read_to_string(status["config"].as_str().unwrap()).unwrap();
    assert!(conf.contains("ip_hash;"), "{conf}");

    // ... and nginx does what they say once it continues.
    signal(nginx, libc::SIGCONT);
    let until = Instant::now() + Duration::from_secs(10);
    while balanced_as(&url, 60, "one").is_err() {
        assert!(
            Instant::now() < until,
            "nginx does not balance as the record says"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    record_file_and_nginx_agree(&up);
    assert!(up.stop().success());
}

#[test]
fn switch_with_nothing_to_change_does_not_reload_nginx() {
    let mut up = Up::start(&["--weights", "1,2,3"]);
    let status = up.status();
    let nginx = status["nginx_pid"].as_u64().unwrap() as u32;
    let workers = children_of(nginx);
    assert!(!workers.is_empty());
    for args in [
        &[][..],
        &["--method", "round-robin"],
        &["--weights", "1,2,3"],
    ] {
        let out = up.cmd("switch").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("nothing to change"),
            "{args:?}: {}",
            stdout(&out)
        );
    }
    // A reload would have replaced every worker.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(children_of(nginx), workers, "nginx was reloaded");
    // A real change still reloads.
    let out = up
        .cmd("switch")
        .args(["--weights", "none"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("switched"), "{}", stderr(&out));
    assert_ne!(children_of(nginx), workers);
    assert!(up.stop().success());
}

/// Starts `lblab run -d 60s` with `tmp` as TMPDIR and waits until its lab is up.
/// The child is returned to the caller, which kills and waits for it (clippy does not follow it there).
#[allow(clippy::zombie_processes)]
fn running(tmp: &Path) -> (Child, Vec<u64>) {
    let mut child = lblab()
        .args(["run", "-d", "60s", "-c", "4"])
        .env("TMPDIR", tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let kids = children_of(child.id());
        let workers: Vec<u64> = kids.iter().flat_map(|&p| children_of(p as u32)).collect();
        if kids.len() == 4 && !workers.is_empty() {
            return (child, kids.into_iter().chain(workers).collect());
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run did not start: {kids:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Root can give a directory away; anyone else cannot, and that part of a test is skipped, saying
/// so.
fn as_another_user(path: &Path) -> bool {
    // SAFETY: getuid cannot fail.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("skipped: another user's prefix needs root to make one (not root here)");
        return false;
    }
    for p in [path.to_owned(), path.join("lblab.owner")] {
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: chown(2) on a path this test created.
        assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
    }
    true
}

#[test]
fn a_killed_run_leaves_its_prefix_to_the_next_run_and_nothing_else_is_touched() {
    // A live lab in the same TMPDIR: its prefix must survive the cleaning.
    let up = Up::start(&[]);
    let tmp = up.scratch.path();
    let live = prefixes_in(tmp);
    assert_eq!(live.len(), 1, "{live:?}");

    // A directory that looks like a dead lab's prefix, but another user's.
    let others = tmp.join("lblab-others");
    std::fs::create_dir(&others).unwrap();
    std::fs::write(others.join("lblab.owner"), "lblab 4194304 1\n").unwrap();
    let other_user = as_another_user(&others);
    if !other_user {
        // Left as this user's, it would rightly be cleaned as a dead lab's prefix.
        std::fs::remove_dir_all(&others).unwrap();
    }
    // One of this user's named like a prefix, without the owner file: not recognisably lblab's.
    let unmarked = tmp.join("lblab-unmarked");
    std::fs::create_dir(&unmarked).unwrap();

    let (mut run, pids) = running(tmp);
    let all = prefixes_in(tmp);
    let killed: Vec<&PathBuf> = all
        .iter()
        .filter(|p| !live.contains(p) && **p != others && **p != unmarked)
        .collect();
    assert_eq!(killed.len(), 1, "{all:?}");
    let killed = killed[0].clone();
    signal(run.id(), libc::SIGKILL);
    let _ = run.wait();
    assert_all_gone(&pids, Duration::from_secs(5));
    assert!(killed.exists(), "kill -9 cannot remove the prefix itself");

    let out = lblab()
        .args(["run", "-n", "30", "-c", "3"])
        .env("TMPDIR", tmp)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!killed.exists(), "the killed run's prefix is still there");
    assert!(live[0].join("nginx.conf").exists(), "the live lab's prefix");
    assert!(unmarked.exists(), "a directory without the owner file");
    if other_user {
        assert!(others.join("lblab.owner").exists(), "another user's");
        assert_eq!(std::fs::metadata(&others).unwrap().uid(), 65534);
    }
    // The live lab still works.
    let status = up.status();
    balanced_as(status["url"].as_str().unwrap(), 30, "round-robin").unwrap();
}

#[test]
fn a_killed_up_leaves_its_record_and_prefix_to_the_next_command() {
    let mut up = Up::start(&[]);
    let status = up.status();
    let mut all = lab_pids(&status);
    all.extend(children_of(status["nginx_pid"].as_u64().unwrap() as u32));
    let prefix = Path::new(status["config"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_owned();
    signal(up.child.id(), libc::SIGKILL);
    let _ = up.child.wait();
    assert_all_gone(&all, Duration::from_secs(5));
    assert!(up.state.join("lab.json").exists());
    assert!(prefix.exists());

    let out = up.cmd("status").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no lab is up"), "{err}");
    assert!(err.contains("the record is removed"), "{err}");
    assert!(!up.state.join("lab.json").exists(), "the record is left");
    assert!(!prefix.exists(), "its prefix is left");
}
