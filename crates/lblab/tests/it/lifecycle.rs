//! `up`, `switch`, `status` and teardown: the lab's processes, not its distributions.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use loadtest::{Config, Expectation};
use serde_json::Value;

fn pids(status: &Value) -> Vec<u64> {
    lab_pids(status)
}

fn load(url: &str, requests: u64, expect: &str) -> loadtest::Report {
    let mut c = Config::new(loadtest::cli::parse_url(url).unwrap());
    c.requests = requests;
    c.concurrency = requests.min(300) as u32;
    c.backends = Some(3);
    c.expectations = vec![Expectation::parse(expect).unwrap()];
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(loadtest::run(&c))
        .expect("load runs")
}

#[test]
fn switch_reloads_nginx_and_keeps_the_backends() {
    let mut up = Up::start(&[]);
    let before = up.status();
    assert_eq!(before["method"], "round-robin");
    let url = before["url"].as_str().unwrap().to_owned();

    let r = load(&url, 999, "round-robin");
    assert!(r.passed, "{:?}", r.expectations);

    let out = up
        .cmd("switch")
        .args(["--method", "ip-hash"])
        .output()
        .unwrap();
    assert!(out.status.success(), "switch failed: {}", stderr(&out));
    assert!(
        stdout(&out).contains("round-robin → ip-hash"),
        "{}",
        stdout(&out)
    );

    let after = up.status();
    assert_eq!(after["method"], "ip-hash");
    assert_eq!(pids(&before), pids(&after), "backend or nginx PIDs changed");
    let r = load(&url, 999, "one");
    assert!(r.passed, "after the switch: {:?}", r.expectations);

    // A bad switch leaves the lab as it was, and says what nginx said.
    let out = up
        .cmd("switch")
        .args(["--method", "hash", "--hash-key", "$no_such_var"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown \"no_such_var\" variable"),
        "{}",
        stderr(&out)
    );
    assert_eq!(up.status()["method"], "ip-hash");

    let all = pids(&after);
    let state = up.state.clone();
    assert!(up.stop().success());
    assert_all_gone(&all, Duration::from_secs(5));
    assert!(
        !state.join("lab.json").exists(),
        "the state file was left behind"
    );
}

#[test]
fn status_and_switch_without_a_lab_say_so() {
    let scratch = scratch();
    let dir = scratch.path().join("state");
    for sub in [&["status"][..], &["switch", "--method", "random"]] {
        let out = lblab()
            .args(sub)
            .arg("--state-dir")
            .arg(&dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("no lab is up"), "{}", stderr(&out));
    }
}

#[test]
fn a_second_up_on_the_same_state_dir_is_refused() {
    let mut up = Up::start(&[]);
    let out = up.cmd("up").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already up"), "{}", stderr(&out));
    up.stop();
}

#[test]
fn run_leaves_nothing_behind_when_it_passes_and_when_it_fails() {
    for expect in ["round-robin", "one"] {
        let (code, v) = run_json(&["-n", "300", "--expect", expect]);
        assert_eq!(code, if expect == "one" { 1 } else { 0 });
        assert_all_gone(&lab_pids(&v["lab"]), Duration::from_secs(2));
        let prefix = v["lab"]["prefix"].as_str().unwrap();
        assert!(
            !std::path::Path::new(prefix).exists(),
            "{prefix} left behind"
        );
    }
}

/// Starts `lblab run -d 60s`, sends `sig` once the lab is up, and checks that the run exits
/// `code` with its processes and its nginx prefix gone.
fn a_signal_during_a_run_stops_everything(sig: i32, code: i32) {
    let scratch = scratch();
    let child = lblab()
        .args(["run", "-d", "60s", "-c", "20", "--json"])
        .env("TMPDIR", scratch.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let runner = child.id();
    // Wait for the three backends and nginx with its workers (a `nginx -t` child comes and goes
    // before the real master starts).
    let until = Instant::now() + Duration::from_secs(20);
    let (lab, workers) = loop {
        let kids = children_of(runner);
        let workers: Vec<u64> = kids.iter().flat_map(|&p| children_of(p as u32)).collect();
        if kids.len() == 4 && !workers.is_empty() {
            break (kids, workers);
        }
        assert!(Instant::now() < until, "the lab did not start: {kids:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 1);
    std::thread::sleep(Duration::from_millis(300));
    signal(runner, sig);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    // What was done before the signal is reported, as oha and wrk do.
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report on stdout ({e}): {}", stdout(&out)));
    assert_eq!(report["interrupted"], true, "{report}");
    assert!(
        report["ok"].as_u64().unwrap() > 0,
        "nothing answered before the signal: {report}"
    );
    let all: Vec<u64> = lab.into_iter().chain(workers).collect();
    assert_all_gone(&all, Duration::from_secs(2));
    let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
    assert!(left.is_empty(), "the nginx prefix was left: {left:?}");
}

#[test]
fn ctrl_c_during_a_run_stops_everything() {
    a_signal_during_a_run_stops_everything(libc::SIGINT, 130);
}

#[test]
fn a_hangup_during_a_run_stops_everything() {
    a_signal_during_a_run_stops_everything(libc::SIGHUP, 129);
}

#[test]
fn a_hangup_stops_up_like_ctrl_c() {
    let mut up = Up::start(&[]);
    let status = up.status();
    let mut all = pids(&status);
    all.extend(children_of(status["nginx_pid"].as_u64().unwrap() as u32));
    let (code, err) = up.stop_with(libc::SIGHUP);
    assert!(code.success(), "{code}: {err}");
    assert_all_gone(&all, Duration::from_secs(2));
    assert!(!up.state.join("lab.json").exists(), "lab.json was left");
    // Only the state dir is left in the scratch dir: the nginx prefix is gone.
    let left: Vec<_> = std::fs::read_dir(up.scratch.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["state"], "left behind: {left:?}");
}

#[test]
fn a_killed_runner_takes_its_lab_with_it() {
    let mut up = Up::start(&[]);
    let status = up.status();
    let mut all = pids(&status);
    all.extend(children_of(status["nginx_pid"].as_u64().unwrap() as u32));

    signal(up.child.id(), libc::SIGKILL);
    let _ = up.child.wait();
    assert_all_gone(&all, Duration::from_secs(5));
}

fn up_stderr(up: &mut Up) -> String {
    let mut err = String::new();
    if let Some(mut e) = up.child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    err
}

#[test]
fn up_notices_its_nginx_dying_and_takes_the_lab_down() {
    let mut up = Up::start(&[]);
    let status = up.status();
    let nginx = status["nginx_pid"].as_u64().unwrap() as u32;
    let workers = children_of(nginx);
    assert!(!workers.is_empty());
    let listen: std::net::SocketAddr = status["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let mut all = pids(&status);
    all.extend(&workers);

    // With the runner stopped it cannot react yet: status tells the truth meanwhile.
    signal(up.child.id(), libc::SIGSTOP);
    signal(nginx, libc::SIGKILL);
    std::thread::sleep(Duration::from_millis(100));
    let out = up.cmd("status").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("its nginx (pid {nginx}) is not running")),
        "{}",
        stderr(&out)
    );
    signal(up.child.id(), libc::SIGCONT);

    let code = up.exits_within(Duration::from_secs(5));
    assert_eq!(code.code(), Some(1), "{code}");
    let err = up_stderr(&mut up);
    assert!(
        err.contains(&format!("nginx (pid {nginx}) exited")),
        "{err}"
    );
    // The orphaned workers went with it: nothing answers on the lab's port.
    assert_all_gone(&all, Duration::from_secs(2));
    assert!(std::net::TcpStream::connect(listen).is_err());
    assert!(!up.state.join("lab.json").exists());
}

#[test]
fn up_notices_a_backend_dying() {
    let mut up = Up::start(&[]);
    let status = up.status();
    let backend = status["backends"][1]["pid"].as_u64().unwrap() as u32;
    let mut all = pids(&status);
    all.extend(children_of(status["nginx_pid"].as_u64().unwrap() as u32));
    signal(backend, libc::SIGKILL);
    let code = up.exits_within(Duration::from_secs(5));
    assert_eq!(code.code(), Some(1));
    assert!(up_stderr(&mut up).contains("backend 2"));
    assert_all_gone(&all, Duration::from_secs(2));
}

#[test]
fn switch_keeps_what_it_is_not_told_to_change() {
    let mut up = Up::start(&[
        "--method",
        "hash",
        "--hash-key",
        "$http_x_key",
        "--consistent",
        "--weights",
        "1,2,3",
    ]);
    let switch = |args: &[&str]| {
        let out = up.cmd("switch").args(args).output().unwrap();
        assert!(out.status.success(), "switch {args:?}: {}", stderr(&out));
        let s = up.status();
        let text = stdout(&up.cmd("status").output().unwrap());
        (s, text)
    };
    let settings = |s: &Value| {
        (
            s["method"].clone(),
            s["weights"].clone(),
            s["hash_key"].clone(),
            s["consistent"].clone(),
        )
    };
    let hashed = (
        Value::from("hash"),
        serde_json::json!([1, 2, 3]),
        Value::from("$http_x_key"),
        Value::from(true),
    );
    assert_eq!(settings(&up.status()), hashed);

    // New weights only: the method, its key and consistent stay.
    let (s, text) = switch(&["--weights", "3,2,1"]);
    assert_eq!(
        settings(&s),
        (
            hashed.0.clone(),
            serde_json::json!([3, 2, 1]),
            hashed.2.clone(),
            hashed.3.clone()
        )
    );
    assert!(
        text.contains("method   hash $http_x_key consistent, weights 3,2,1"),
        "{text}"
    );
    let conf = std::fs::read_to_string(s["config"].as_str().unwrap()).unwrap();
    assert!(conf.contains("hash $http_x_key consistent;"), "{conf}");

    // Nothing given: nothing changes (it used to fall back to round-robin).
    let (s, _) = switch(&[]);
    assert_eq!(settings(&s).0, "hash");
    assert_eq!(settings(&s).2, "$http_x_key");

    // consistent off, then another method: the weights stay, the hash settings go.
    let (s, _) = switch(&["--consistent", "false"]);
    assert_eq!(s["consistent"], false);
    let (s, text) = switch(&["--method", "least-conn"]);
    assert_eq!(
        settings(&s),
        (
            Value::from("least-conn"),
            serde_json::json!([3, 2, 1]),
            Value::Null,
            Value::from(false)
        )
    );
    assert!(
        text.contains("method   least-conn, weights 3,2,1"),
        "{text}"
    );

    // `--weights none` clears them.
    let (s, text) = switch(&["--weights", "none"]);
    assert_eq!(s["weights"], Value::Null);
    assert!(text.contains("weights  none"), "{text}");
    let conf = std::fs::read_to_string(s["config"].as_str().unwrap()).unwrap();
    assert!(!conf.contains("weight="), "{conf}");
    up.stop();
}

#[test]
fn run_json_reports_each_process_peak_memory() {
    let v = assert_passed(&["-n", "200", "-c", "10", "--workers", "2"]);
    let m = &v["peak_rss"];
    assert!(m["runner_kib"].as_u64().unwrap() > 1000, "{m}");
    // The master and its two workers; the three backends.
    let nginx = m["nginx_kib"].as_array().unwrap();
    assert_eq!(nginx.len(), 3, "{m}");
    let backends = m["backends_kib"].as_array().unwrap();
    assert_eq!(backends.len(), 3, "{m}");
    assert!(
        nginx
            .iter()
            .chain(backends)
            .all(|k| k.as_u64().unwrap() > 100),
        "{m}"
    );
}
