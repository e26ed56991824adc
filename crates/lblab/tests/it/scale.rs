//! The lab at its limits: the most backends `-b` takes, nginx sized for `-c 10000` within the
//! open-files limit, and a run at that concurrency.

use std::time::Duration;

use crate::common::*;

#[test]
fn the_largest_lab_runs() {
    // 64 backends, the most -b takes: the upstream zone must hold them all.
    let v = assert_passed(&[
        "-b",
        "64",
        "-n",
        "640",
        "-c",
        "64",
        "--expect",
        "round-robin",
    ]);
    assert_eq!(v["lab"]["backends"].as_array().unwrap().len(), 64);
    assert_eq!(v["ok"], 640);
    assert_all_gone(&lab_pids(&v["lab"]), Duration::from_secs(5));
}

#[test]
fn nginx_is_sized_within_the_open_files_limit() {
    // `up` sizes nginx for -c 10000, which wants more files than the hard limit of most machines.
    let mut up = Up::start(&[]);
    let status = up.status();
    let conf = std::path::PathBuf::from(status["config"].as_str().unwrap());
    let prefix = conf.parent().unwrap();
    let log = std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default()
        + &std::fs::read_to_string(prefix.join("nginx.stderr")).unwrap_or_default();
    assert!(!log.contains("setrlimit"), "{log}");
    assert!(!log.contains("exceed open file resource limit"), "{log}");
    let rendered = std::fs::read_to_string(&conf).unwrap();
    assert!(rendered.contains("worker_rlimit_nofile"), "{rendered}");
    up.stop();
}

#[test]
fn a_run_at_c_10000_answers_every_request() {
    let v = assert_passed(&["-n", "50000", "-c", "10000"]);
    assert_eq!(v["ok"], 50000);
    assert_eq!(v["errors"], 0);
}
