//! nginx's upstream settings beside the method (`--max-fails`, `--fail-timeout`, `--backup`,
//! `--keepalive`): refused in one line where nginx would refuse them or where they mean nothing, and
//! what nginx/methods.json says of `backup` held against a real nginx's verdict.

use std::process::Command;

use crate::common::*;

/// `lblab ARGS` refused: exit 2, one line holding each of `needles`, nothing printed, nothing
/// started (a lab's prefix would be in TMPDIR).
fn refused(args: &[&str], needles: &[&str]) {
    let dir = scratch();
    let out = lblab()
        .args(args)
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected '{n}' in {err}");
    }
    assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "{args:?}"
    );
}

#[test]
fn settings_nginx_would_refuse_are_refused_in_one_line_by_every_command() {
    let takes = "only with round-robin, least-conn";
    for cmd in ["run", "up", "nginx-config"] {
        for m in ["hash", "ip-hash", "random", "random-two"] {
            refused(
                &[cmd, "--method", m, "--backup", "3"],
                &["--backup 3", takes],
            );
        }
        refused(
            &[cmd, "--backup", "1,2,3"],
            &["every backend would be a backup"],
        );
        refused(&[cmd, "--backup", "4"], &["there is no backend 4"]);
        refused(&[cmd, "--backup", "2,2"], &["names a backend twice"]);
        refused(
            &[cmd, "--backup", "x"],
            &["--backup", "accepted: ids from 1"],
        );
        refused(
            &[cmd, "--fail-timeout", "500ms"],
            &[
                "--fail-timeout",
                "no milliseconds",
                "accepted: whole seconds",
            ],
        );
        refused(
            &[cmd, "--fail-timeout", "0"],
            &["accepted: whole seconds from 1"],
        );
        refused(
            &[cmd, "--keepalive", "0"],
            &["--keepalive", "accepted: off, or"],
        );
        refused(&[cmd, "--max-fails=-1"], &["--max-fails"]);
    }
    for args in [
        &["run", "--proxy", "haproxy", "--keepalive", "off"][..],
        &["up", "--proxy", "haproxy", "--max-fails", "0"],
        &["haproxy-config", "--backup", "1"],
    ] {
        refused(args, &["nginx's upstream settings"]);
    }
    refused(
        &["compare", "--methods", "round-robin,hash", "--backup", "3"],
        &[takes, "(not hash)"],
    );
    refused(
        &[
            "run",
            "--backup",
            "3",
            "--fault",
            "switch:hash@1s",
            "-d",
            "2s",
        ],
        &["--fault switch:hash with --backup", takes],
    );
}

/// Each method's `backup` in nginx/methods.json is what nginx says: the config `lblab nginx-config`
/// renders with `backup` added to a server passes `nginx -t` exactly for the methods that take it.
#[test]
fn methods_json_says_what_nginx_says_of_backup() {
    let table: serde_json::Value =
        serde_json::from_str(include_str!("../../../../nginx/methods.json")).unwrap();
    let dir = scratch();
    for (method, row) in table.as_object().unwrap() {
        let out = lblab()
            .args(["nginx-config", "--method", method, "--prefix"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out).replacen(":8003 ", ":8003 backup ", 1);
        assert!(text.contains(":8003 backup "), "{text}");
        let conf = dir.path().join(format!("{method}.conf"));
        std::fs::write(&conf, text).unwrap();
        let t = Command::new(nginx())
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-t")
            .output()
            .unwrap();
        let said = stderr(&t);
        let takes = row["backup"].as_bool().unwrap();
        assert_eq!(
            t.status.success(),
            takes,
            "{method}: methods.json says backup {takes}, nginx -t says: {said}"
        );
        if !takes {
            assert!(
                said.contains("does not support parameter \"backup\""),
                "{said}"
            );
        }
    }
}

/// `switch` changes the settings of a running lab, keeps them across a method switch, shows them in
/// `status`, and refuses a method that does not take the lab's backups.
#[test]
fn switch_changes_the_settings_and_keeps_them_across_methods() {
    let mut up = Up::start(&["--backup", "3", "--keepalive", "off"]);
    let s = up.status();
    assert_eq!(s["upstream"]["backup"], serde_json::json!([3]), "{s}");
    assert_eq!(s["upstream"]["keepalive"], "off", "{s}");
    let out = up.cmd("status").output().unwrap();
    assert!(
        stdout(&out).contains("upstream max_fails 1, fail_timeout 2s, backup 3, keepalive off"),
        "{}",
        stdout(&out)
    );

    let switch = |args: &[&str]| up.cmd("switch").args(args).output().unwrap();
    let out = switch(&["--method", "hash"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nginx takes backup servers only with round-robin, least-conn"),
        "{}",
        stderr(&out)
    );
    let out = switch(&[
        "--method",
        "least-conn",
        "--max-fails",
        "0",
        "--fail-timeout",
        "5",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("least-conn, max_fails 0, fail_timeout 5s, backup 3, keepalive off"),
        "{}",
        stdout(&out)
    );
    let conf = std::fs::read_to_string(up.status()["config"].as_str().unwrap()).unwrap();
    assert!(
        conf.contains(" backup max_fails=0 fail_timeout=5s;"),
        "{conf}"
    );
    assert!(
        !conf
            .lines()
            .any(|l| l.trim_start().starts_with("keepalive ")),
        "{conf}"
    );
    assert!(conf.contains("proxy_http_version 1.0;"), "{conf}");

    let out = switch(&["--method", "hash", "--backup", "none", "--keepalive", "16"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s = up.status();
    assert_eq!(s["method"], "hash");
    assert_eq!(s["upstream"]["keepalive"], 16, "{s}");
    assert_eq!(s["upstream"]["max_fails"], 0, "{s}");
    assert!(s["upstream"].get("backup").is_none(), "{s}");
    up.stop();
}

/// The run's report says the settings under its lab line, and the connections nginx opened.
#[test]
fn the_run_report_shows_the_settings_and_the_connections() {
    let out = lblab()
        .args([
            "run",
            "-n",
            "90",
            "-c",
            "3",
            "--max-fails",
            "0",
            "--keepalive",
            "off",
        ])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{}{text}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    let lab = lines
        .iter()
        .position(|l| l.starts_with("lab      "))
        .expect("a lab line");
    assert_eq!(
        lines[lab + 1],
        "upstream max_fails 0, fail_timeout 2s, backup none, keepalive off",
        "{text}"
    );
    assert!(
        text.contains("conns    TCP connections each backend accepted from nginx during the load: 1: 30, 2: 30, 3: 30\n"),
        "{text}"
    );
}
