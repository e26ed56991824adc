//! Bad input: one line naming what was wrong, exit 2, no panic, nothing started.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

fn rejects(args: &[&str], needle: &str) {
    let out = lblab().args(args).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: expected '{needle}' in: {err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{args:?}: {err}"
    );
    assert!(
        stdout(&out).is_empty(),
        "{args:?} printed: {}",
        stdout(&out)
    );
}

#[test]
fn bad_values_are_named() {
    rejects(
        &["run", "--method", "leastconn"],
        "accepted: round-robin, least-conn, ip-hash, hash, random, random-two",
    );
    rejects(&["run", "-n", "0"], "--requests");
    rejects(&["run", "-c", "0"], "--concurrency");
    rejects(&["run", "--weights", "1,2"], "2 weights for 3 backends");
    rejects(&["run", "--weights", "1,x,3"], "'x'");
    rejects(
        &["run", "--method", "random", "--hash-key", "$uri"],
        "--hash-key only applies to --method hash",
    );
    rejects(&["run", "--consistent"], "--consistent only applies");
    rejects(&["run", "-H", "nocolon"], "no ':'");
    rejects(&["run", "--expect", "most"], "unknown expectation 'most'");
    rejects(&["run", "--delay", "5=10"], "there is no backend 5");
    rejects(&["switch", "--weights", "1,x"], "or none to clear them");
    rejects(
        &["run", "-d", "200ms", "--fault", "kill:1@5s"],
        "comes after the run ends (-d 200ms)",
    );
    rejects(
        &["run", "-d", "1s", "--fault", "switch:random@1h"],
        "after the run ends",
    );
    rejects(
        &["run", "--source-ip", "127.0.1-300.1"],
        "not an address or range",
    );
    rejects(
        &["nginx-config", "--backends", "3", "--base-port", "65534"],
        "past port 65535",
    );
}

#[test]
fn nginx_problems_are_reported_with_nginx_words() {
    rejects(
        &["run", "--nginx", "/nonexistent/nginx"],
        "apt-get install -y nginx",
    );
    // A directory that holds an nginx, and a program that is not nginx, both of this test's own
    // making: the host's /usr/sbin and /bin/true are not there in Nix's build sandbox.
    let scratch = scratch();
    let dir = scratch.path().join("sbin");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(nginx(), dir.join("nginx")).unwrap();
    let dir = dir.display().to_string();
    rejects(
        &["run", "--nginx", &dir],
        &format!("--nginx {dir} is a directory; did you mean --nginx {dir}/nginx?"),
    );
    let silent = scratch.path().join("true");
    std::fs::write(&silent, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&silent, std::fs::Permissions::from_mode(0o755)).unwrap();
    let silent = silent.display().to_string();
    rejects(
        &["run", "--nginx", &silent],
        &format!("{silent} is not nginx: `{silent} -v` printed nothing"),
    );
    rejects(
        &["run", "--nginx", "no-such-nginx"],
        "--nginx no-such-nginx: not found on PATH",
    );
    rejects(
        &["run", "--listen", "127.0.0.1:0"],
        "--listen 127.0.0.1:0: port 0 is not accepted",
    );
    // Open to every network the machine is on only when asked, as the dashboard.
    rejects(
        &["up", "--listen", "0.0.0.0:8080"],
        "--listen 0.0.0.0:8080 is not a loopback address: whoever reaches it can send the lab requests; add --listen-public",
    );
    rejects(
        &["nginx-config", "--prefix", "/tmp/a\"b"],
        "--prefix '/tmp/a\"b' has '\"'",
    );
    rejects(
        &["run", "--method", "hash", "--hash-key", "$no_such_variable"],
        "unknown \"no_such_variable\" variable",
    );
}

#[test]
fn a_port_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    rejects(&["run", "--listen", &addr], &format!("--listen {addr}"));
}

#[test]
fn a_bare_nginx_name_is_looked_up_on_path() {
    // Not in the current directory, as a shell does: the repository has an `nginx/` directory.
    // nginx is on PATH (common::nginx found it there).
    let out = lblab()
        .args(["run", "-n", "10", "-c", "2", "--nginx", "nginx"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_prefix_with_spaces_and_semicolons_is_quoted() {
    let scratch = scratch();
    let prefix = scratch.path().join("a b;c{d}");
    std::fs::create_dir(&prefix).unwrap();
    let out = lblab()
        .arg("nginx-config")
        .arg("--prefix")
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let conf = prefix.join("nginx.conf");
    std::fs::write(&conf, &out.stdout).unwrap();
    assert!(
        stdout(&out).contains(&format!("pid \"{}/nginx.pid\";", prefix.display())),
        "{}",
        stdout(&out)
    );
    // nginx itself reads it as one path.
    let t = std::process::Command::new(nginx())
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .arg("-t")
        .output()
        .unwrap();
    assert!(t.status.success(), "{}", stderr(&t));
}

#[test]
fn nginx_config_renders_the_method() {
    let out = lblab()
        .args([
            "nginx-config",
            "--method",
            "hash",
            "--hash-key",
            "$http_x_key",
            "--consistent",
            "--weights",
            "1,2,3",
            "--upstream-only",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("zone lblab 64k;"), "{text}");
    assert!(text.contains("hash $http_x_key consistent;"), "{text}");
    assert!(text.contains("server 127.0.0.1:8003 weight=3 "), "{text}");
}

#[test]
fn every_subcommand_has_examples_exit_statuses_and_a_version() {
    for sub in ["run", "up", "switch", "status", "nginx-config"] {
        let out = lblab().args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{sub} --help");
        let help = stdout(&out);
        let tail = &help[help
            .find("Examples:")
            .unwrap_or_else(|| panic!("{sub}: {help}"))..];
        assert!(
            tail.matches(&format!("lblab {sub}")).count() >= 2,
            "{sub}: {tail}"
        );
        assert!(tail.contains("Exit status: 0"), "{sub}: {tail}");
        let out = lblab().args([sub, "--version"]).output().unwrap();
        assert!(out.status.success(), "{sub} --version: {}", stderr(&out));
        assert!(
            stdout(&out).contains(env!("CARGO_PKG_VERSION")),
            "{sub} --version: {}",
            stdout(&out)
        );
    }
}

/// `args` refused in one line naming `flag`, exit 2, before a lab or a report is made in TMPDIR.
fn refused(args: &[&str], flag: &str) {
    let dir = scratch();
    let out = lblab()
        .args(args)
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(flag), "{args:?}: expected {flag} in {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
    // No lab was started: its prefix would be in TMPDIR.
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "{args:?} left something"
    );
}

#[test]
fn bad_input_is_one_line_naming_the_flag_and_starts_nothing() {
    refused(&["compare", "--scenario", "slow"], "--scenario");
    refused(
        &["compare", "--scenario", "slow"],
        "accepted: even, slow-backend, many-clients, keys, lose-backend",
    );
    refused(&["compare", "--methods", "round-robin,fast"], "--methods");
    refused(&["compare", "--methods", "fast"], "hash-consistent");
    refused(
        &["compare", "--methods", "hash,hash"],
        "--methods names hash twice",
    );
    refused(&["compare", "--method", "least-conn"], "--methods");
    refused(
        &["compare", "--html", "/nonexistent-dir/r.html"],
        "--html /nonexistent-dir/r.html",
    );
    refused(&["compare", "--svg", "/"], "--svg /: is a directory");
    refused(&["run", "--html", "/nonexistent-dir/r.html"], "--html");
    refused(
        &["compare", "--scenario", "lose-backend", "-b", "1"],
        "at least 2 backends",
    );
    let out = lblab()
        .args(["compare", "--html", "/nonexistent-dir/r.html"])
        .output()
        .unwrap();
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
}
