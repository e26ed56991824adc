//! The same lab with a real HAProxy in front (`--proxy haproxy`): its methods, judged by the
//! client's `--expect` and by the counts, and every run reconciled three ways (client, backends,
//! HAProxy's own `lbtot`). The tests find haproxy on PATH only, as in Nix's build sandbox.

use crate::common::{counts, haproxy, lblab, run_json, stderr};

/// `lblab run --proxy haproxy ARGS --json` with the haproxy on PATH; asserts the run passed (its
/// expectations, and the three counts agreeing) and returns the report.
fn passed(args: &[&str]) -> serde_json::Value {
    let bin = haproxy();
    let mut all = vec!["--proxy", "haproxy", "--haproxy", bin.to_str().unwrap()];
    all.extend_from_slice(args);
    let (code, v) = run_json(&all);
    assert_eq!(
        code, 0,
        "lblab run {all:?} failed: expectations {} errors {} counts {} lab {}",
        v["expectations"], v["errors_by_kind"], v["counts"], v["lab"]
    );
    assert_eq!(v["reconciled"], true, "{v}");
    assert_eq!(v["lab"]["proxy"], "haproxy", "{}", v["lab"]);
    v
}

#[test]
fn roundrobin_over_three_backends_is_exact_thirds_and_lbtot_agrees() {
    let v = passed(&["-n", "999", "-c", "999", "--expect", "round-robin"]);
    assert_eq!(counts(&v), [333, 333, 333]);
    assert_eq!(v["lab"]["method"], "roundrobin");
    assert_eq!(
        v["picked"],
        serde_json::json!([333, 333, 333]),
        "HAProxy's own lbtot"
    );
    // The run's text says what HAProxy itself counted, and that it agrees.
    let out = lblab()
        .args(["run", "--proxy", "haproxy", "-n", "300", "-c", "30"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "picked   by HAProxy (lbtot) = the client's: 1: 100 picked, 100 counted; 2: 100 picked"
        ),
        "{text}"
    );
}

#[test]
fn weighted_roundrobin_follows_the_weights() {
    let v = passed(&[
        "--weights",
        "1,2,3",
        "-n",
        "600",
        "-c",
        "60",
        "--expect",
        "round-robin:1,2,3",
    ]);
    assert_eq!(counts(&v), [100, 200, 300]);
}

#[test]
fn leastconn_sends_the_next_requests_away_from_a_busy_backend() {
    // Backend 1 holds each request 1.5 s; three connections send 13 requests. leastconn gives
    // backend 1 one of the first three and, while it holds it, the next twelve go to 2 and 3.
    // Round-robin would have given backend 1 every third request.
    let v = passed(&[
        "--method",
        "leastconn",
        "--delay",
        "1=1500",
        "-n",
        "13",
        "-c",
        "3",
    ]);
    let c = counts(&v);
    assert_eq!(c[0], 1, "{c:?}");
    // How the twelve split between 2 and 3 depends on when each answer lands: whichever is idle
    // when a request comes takes it.
    assert_eq!(c[1] + c[2], 12, "{c:?}");
}

#[test]
fn first_fills_backend_one_to_its_maxconn_before_backend_two_gets_any() {
    // Two connections at once fit in backend 1's maxconn 2: it takes them all.
    let v = passed(&[
        "--method",
        "first",
        "--maxconn",
        "2",
        "--delay",
        "10",
        "-n",
        "100",
        "-c",
        "2",
        "--expect",
        "one",
    ]);
    assert_eq!(counts(&v), [100, 0, 0]);
    // Four at once: backend 1 is full with two, backend 2 takes the other two, 3 gets none.
    let v = passed(&[
        "--method",
        "first",
        "--maxconn",
        "2",
        "--delay",
        "20",
        "-n",
        "200",
        "-c",
        "4",
    ]);
    let c = counts(&v);
    assert_eq!(c[2], 0, "{c:?}");
    assert!(c[0] >= 90 && c[1] >= 90, "{c:?}");
}

#[test]
fn source_keeps_each_client_address_on_one_backend() {
    // Eight addresses of one /24: nginx's ip_hash sends them all to one backend (it keys on the
    // first three octets); HAProxy's source hashes the whole address and spreads them.
    let v = passed(&[
        "--method",
        "source",
        "--source-ip",
        "127.0.0.1-8",
        "-n",
        "800",
        "-c",
        "8",
        "--expect",
        "sticky",
    ]);
    let clients = v["clients"].as_object().expect("clients");
    assert_eq!(clients.len(), 8);
    for (addr, backends) in clients {
        assert_eq!(
            backends.as_object().unwrap().len(),
            1,
            "{addr} reached {backends}"
        );
    }
    let used = counts(&v).iter().filter(|&&n| n > 0).count();
    assert!(
        used >= 2,
        "8 addresses of one /24 all on one backend: {:?}",
        counts(&v)
    );
}

#[test]
fn random_two_spreads_within_the_binomial_band_and_avoids_a_busy_backend() {
    // One request at a time: every server is idle, so each pick is the first draw, a point of
    // the consistent-hash ring. Each server has 16 points per unit of weight: with weight 1 the
    // arcs are uneven (1086/852/1062 here); with weight 256 each they are near equal, and 3000
    // requests give a third each within 4 standard deviations (±103).
    let v = passed(&[
        "--method",
        "random(2)",
        "--weights",
        "256,256,256",
        "-n",
        "3000",
        "-c",
        "1",
        "--expect",
        "uniform",
    ]);
    for n in counts(&v) {
        assert!((897..=1103).contains(&n), "{:?}", counts(&v));
    }
    // Backend 1 slow, twenty at once: of two draws the less loaded wins, so backend 1 gets far
    // less than its third. It still gets some: the two draws may land on the same server (HAProxy
    // draws with replacement), and then there is nothing to compare.
    let v = passed(&[
        "--method",
        "random-two",
        "--delay",
        "1=50",
        "-n",
        "2000",
        "-c",
        "20",
    ]);
    let c = counts(&v);
    assert!(
        c[0] < 2000 / 5,
        "the busy backend got {} of 2000: {c:?}",
        c[0]
    );
}

#[test]
fn a_method_haproxy_lacks_is_refused_in_one_line_naming_its_methods() {
    for (args, names) in [
        (
            &["--proxy", "haproxy", "--method", "ip-hash"][..],
            "leastconn, first",
        ),
        (&["--method", "leastconn"][..], "least-conn, ip-hash"),
        (
            &["--proxy", "haproxy", "--method", "random(0)"][..],
            "random(2)",
        ),
        (
            &["--proxy", "haproxy", "--hash-key", "$uri"][..],
            "uri or hdr(NAME)",
        ),
        (&["--maxconn", "3"][..], "--proxy haproxy"),
        (
            &[
                "--proxy",
                "haproxy",
                "--method",
                "uri",
                "--hash-balance-factor",
                "150",
            ][..],
            "--consistent",
        ),
    ] {
        let out = lblab().arg("run").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(names), "{args:?}: {err}");
    }
}

#[test]
fn haproxy_config_is_what_haproxy_accepts() {
    for method in [
        "roundrobin",
        "static-rr",
        "leastconn",
        "first",
        "source",
        "uri",
        "hdr(X-Key)",
        "random(3)",
    ] {
        let out = lblab()
            .args([
                "haproxy-config",
                "--method",
                method,
                "--maxconn",
                "8",
                "--weights",
                "1,2,3",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{method}: {}", stderr(&out));
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(&cfg, &out.stdout).unwrap();
        let check = std::process::Command::new(haproxy())
            .arg("-c")
            .arg("-f")
            .arg(&cfg)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{method}: haproxy -c: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("    balance {method}\n")), "{text}");
        assert!(
            text.contains("server s2 127.0.0.1:8002 weight 2 maxconn 8\n"),
            "{text}"
        );
    }
}

/// `n` requests through `url`, `c` at once, judged by `expect`.
fn load(url: &str, n: u64, c: u32, expect: &str) -> loadtest::Report {
    let mut cfg = loadtest::Config::new(loadtest::cli::parse_url(url).unwrap());
    cfg.requests = n;
    cfg.concurrency = c;
    cfg.backends = Some(3);
    cfg.expectations = vec![loadtest::Expectation::parse(expect).unwrap()];
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(loadtest::run(&cfg))
        .expect("load runs")
}

/// HAProxy's master's live workers: a worker that has exited may stay a zombie until the master
/// reaps it, and is not one.
fn live_workers(master: u32) -> Vec<u64> {
    crate::common::children_of(master)
        .into_iter()
        .filter(|&p| crate::common::alive(p))
        .collect()
}

#[test]
fn a_switch_reloads_haproxy_and_keeps_the_backends() {
    let bin = haproxy();
    let up = crate::common::Up::start(&["--proxy", "haproxy", "--haproxy", bin.to_str().unwrap()]);
    let before = up.status();
    assert_eq!(before["method"], "roundrobin");
    assert_eq!(before["proxy"], "haproxy");
    let url = before["url"].as_str().unwrap().to_owned();
    let master = before["nginx_pid"].as_u64().unwrap() as u32;
    let r = load(&url, 300, 30, "round-robin");
    assert!(r.passed, "{:?}", r.expectations);
    let workers = live_workers(master);

    // A new method is a seamless reload: the master stays, its worker is a new one.
    let out = up
        .cmd("switch")
        .args(["--method", "source"])
        .output()
        .unwrap();
    assert!(out.status.success(), "switch failed: {}", stderr(&out));
    assert!(
        crate::common::stdout(&out).contains("roundrobin → source (haproxy"),
        "{}",
        crate::common::stdout(&out)
    );
    let after = up.status();
    assert_eq!(after["method"], "source");
    assert_eq!(
        crate::common::lab_pids(&before),
        crate::common::lab_pids(&after)
    );
    let now = live_workers(master);
    assert!(
        now.iter().all(|p| !workers.contains(p)),
        "{workers:?} → {now:?}"
    );
    let r = load(&url, 300, 30, "one");
    assert!(r.passed, "after the switch: {:?}", r.expectations);

    // Weights alone go through the runtime API: no new worker, and the new weights count at once.
    let out = up
        .cmd("switch")
        .args(["--method", "roundrobin"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let workers = live_workers(master);
    let out = up
        .cmd("switch")
        .args(["--weights", "1,2,3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        crate::common::stdout(&out).contains("took the weights at run time, no reload"),
        "{}",
        crate::common::stdout(&out)
    );
    assert_eq!(live_workers(master), workers, "a worker changed");
    let r = load(&url, 600, 1, "round-robin:1,2,3");
    assert!(r.passed, "after the weights: {:?}", r.expectations);
    let conf = std::fs::read_to_string(up.status()["config"].as_str().unwrap()).unwrap();
    assert!(
        conf.contains(" weight 3"),
        "haproxy.cfg does not say it: {conf}"
    );

    // A method HAProxy lacks is refused, naming HAProxy's, and changes nothing.
    let out = up
        .cmd("switch")
        .args(["--method", "ip-hash"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("leastconn, first"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        crate::common::lab_pids(&up.status()),
        crate::common::lab_pids(&before)
    );
}

#[test]
fn compare_puts_each_nginx_method_beside_its_haproxy_counterpart() {
    let bin = haproxy();
    let out = lblab()
        .args([
            "compare",
            "--proxies",
            "nginx,haproxy",
            "--haproxy",
            bin.to_str().unwrap(),
            "--methods",
            "round-robin,least-conn,random-two",
            "-n",
            "300",
            "-c",
            "30",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<&str> = v["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            "round-robin",
            "haproxy roundrobin",
            "least-conn",
            "haproxy leastconn",
            "random-two",
            "haproxy random(2)"
        ]
    );
    assert_eq!(v["reconciled"], true, "{v}");
    for row in &v["methods"].as_array().unwrap()[..2] {
        assert_eq!(
            row["counts"],
            serde_json::json!({"1": 100, "2": 100, "3": 100}),
            "{row}"
        );
    }
    // What HAProxy cannot stand beside nginx in is refused before anything starts.
    for (args, says) in [
        (&["--scenario", "lose-backend"][..], "lose-backend"),
        (
            &["--hash-key", "$uri", "--methods", "hash"][..],
            "no HAProxy counterpart",
        ),
        (&["--proxies", "haproxy,haproxy"][..], "twice"),
    ] {
        let mut all = vec!["compare", "--proxies", "nginx,haproxy"];
        all.extend_from_slice(args);
        let out = lblab().args(&all).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        assert!(stderr(&out).contains(says), "{all:?}: {}", stderr(&out));
    }
}

#[test]
fn what_haproxy_cannot_do_in_the_lab_yet_is_refused_in_one_line() {
    for (args, says) in [
        (
            &["up", "--proxy", "haproxy", "--dashboard"][..],
            "--dashboard drives nginx",
        ),
        (&["run", "--haproxy", "haproxy"][..], "add --proxy haproxy"),
        (
            &[
                "run",
                "--proxy",
                "haproxy",
                "--fault",
                "switch:least-conn@1s",
                "-d",
                "2s",
            ][..],
            "switch:METHOD",
        ),
        (
            &["run", "--proxy", "haproxy", "--weights", "1,300,1"][..],
            "1 to 256",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = lblab()
            .args(args)
            .env("LBLAB_STATE_DIR", dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn haproxy_is_torn_down_whichever_way_the_lab_stops() {
    use crate::common::{Up, assert_all_gone, children_of, lab_pids, signal};
    use std::time::Duration;

    // A run that passes and one that fails leave no process and no prefix.
    for expect in ["round-robin", "one"] {
        let (code, v) = run_json(&["--proxy", "haproxy", "-n", "300", "--expect", expect]);
        assert_eq!(code, if expect == "one" { 1 } else { 0 });
        assert_all_gone(&lab_pids(&v["lab"]), Duration::from_secs(5));
        let prefix = v["lab"]["prefix"].as_str().unwrap();
        assert!(
            !std::path::Path::new(prefix).exists(),
            "{prefix} left behind"
        );
    }
    // A runner killed with SIGKILL takes HAProxy's master and its worker with it.
    let mut up = Up::start(&["--proxy", "haproxy"]);
    let status = up.status();
    let mut all = lab_pids(&status);
    let workers = children_of(status["nginx_pid"].as_u64().unwrap() as u32);
    assert!(!workers.is_empty(), "HAProxy's master has no worker");
    all.extend(workers);
    signal(up.child.id(), libc::SIGKILL);
    let _ = up.child.wait();
    assert_all_gone(&all, Duration::from_secs(5));
}
