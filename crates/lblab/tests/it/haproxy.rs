//! The same lab with a real HAProxy in front (`--proxy haproxy`): its methods, judged by the
//! client's `--expect` and by the counts, and every run reconciled three ways (client, backends,
//! HAProxy's own `lbtot`). The tests find haproxy on PATH only, as in Nix's build sandbox.

use crate::common::{counts, haproxy, lblab, run_json, stderr};

/// `lblab run --proxy haproxy ARGS --json` with the haproxy on PATH: the exit code and the report.
fn run_haproxy(args: &[&str]) -> (i32, serde_json::Value) {
    let bin = haproxy();
    let mut all = vec!["--proxy", "haproxy", "--haproxy", bin.to_str().unwrap()];
    all.extend_from_slice(args);
    let (code, v) = run_json(&all);
    assert_eq!(v["lab"]["proxy"], "haproxy", "{}", v["lab"]);
    (code, v)
}

/// [`run_haproxy`], asserted to have passed (its expectations, and the counts agreeing).
fn passed(args: &[&str]) -> serde_json::Value {
    let (code, v) = run_haproxy(args);
    assert_eq!(
        code, 0,
        "lblab run {args:?} failed: expectations {} errors {} counts {} faults {}",
        v["expectations"], v["errors_by_kind"], v["counts"], v["faults"]
    );
    assert_eq!(v["reconciled"], true, "{v}");
    v
}

/// `lblab ARGS` (with a state directory of its own) refused before anything starts: exit 2, one
/// line, which says `says`.
fn refused(args: &[&str], says: &str) {
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

/// Each backend's answers bucket by bucket, from the report's timeline.
fn answered(v: &serde_json::Value) -> Vec<Vec<u64>> {
    (1..=3)
        .map(|b| {
            v["timeline"]["answered"][b.to_string()]
                .as_array()
                .expect("a row per backend")
                .iter()
                .map(|n| n.as_u64().unwrap())
                .collect()
        })
        .collect()
}

/// The fault's `fired_ms` as a bucket of the timeline.
fn bucket_of(v: &serde_json::Value, fault: &serde_json::Value) -> usize {
    let fired = fault["fired_ms"].as_f64().expect("the fault was done");
    (fired / v["timeline"]["bucket_ms"].as_f64().unwrap()) as usize
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
    let fault = |proxy, method: &str| {
        [
            "--proxy".to_owned(),
            proxy,
            "--fault".into(),
            format!("switch:{method}@1s"),
            "-d".into(),
            "2s".into(),
        ]
    };
    let haproxy_fault = fault("haproxy".into(), "ip-hash");
    let nginx_fault = fault("nginx".into(), "leastconn");
    let haproxy_fault: Vec<&str> = haproxy_fault.iter().map(String::as_str).collect();
    let nginx_fault: Vec<&str> = nginx_fault.iter().map(String::as_str).collect();
    for (args, names) in [
        (&haproxy_fault[..], "leastconn, first"),
        (&nginx_fault[..], "least-conn, ip-hash"),
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
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        refused(&all, names);
    }
}

#[test]
fn a_switch_fault_reloads_haproxy_mid_run_and_is_marked_where_it_was_done() {
    let dir = crate::common::scratch();
    let html = dir.path().join("run.html");
    // Round-robin, then `first` (no maxconn: server 1 is never full, so it takes everything).
    let v = passed(&[
        "-d",
        "2s",
        "-c",
        "10",
        "--delay",
        "2",
        "--fault",
        "switch:first@800ms",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(
        v["lab"]["method"], "first",
        "the method in force at the end"
    );
    let switch = &v["faults"][0];
    assert_eq!(
        switch["action"], "switch to first (haproxy reload)",
        "{switch}"
    );
    assert!(switch.get("error").is_none(), "{switch}");
    let k = bucket_of(&v, switch);
    let rows = answered(&v);
    for (b, row) in rows.iter().enumerate() {
        assert_eq!(
            row.iter().sum::<u64>(),
            counts(&v)[b],
            "backend {}: the buckets add up to its count",
            b + 1
        );
        assert!(
            row[..k.saturating_sub(1)].iter().sum::<u64>() > 0,
            "backend {} answered nothing before the switch: {row:?}",
            b + 1
        );
    }
    // The reload returns once the old worker is gone: from the next bucket on, HAProxy's new
    // worker alone answers, and it runs `first`.
    for b in [1, 2] {
        assert_eq!(
            rows[b][k + 1..].iter().sum::<u64>(),
            0,
            "backend {} after the switch in bucket {k}: {:?}",
            b + 1,
            rows[b]
        );
    }
    assert!(rows[0][k + 1..].iter().sum::<u64>() > 0, "{:?}", rows[0]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("switch to first (haproxy reload)"),
        "the report does not mark the switch"
    );
    let text = lblab()
        .args([
            "run",
            "--proxy",
            "haproxy",
            "-d",
            "1s",
            "-c",
            "5",
            "--fault",
            "switch:leastconn@300ms",
        ])
        .output()
        .unwrap();
    assert!(text.status.success(), "{}", stderr(&text));
    let text = crate::common::stdout(&text);
    assert!(
        text.contains("(method leastconn at the end, roundrobin at the start)"),
        "{text}"
    );
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

/// `lblab compare --proxies nginx,haproxy ARGS --json` with the haproxy on PATH, asserted to have
/// passed; its report.
fn compare_both(args: &[&str]) -> serde_json::Value {
    let bin = haproxy();
    let out = lblab()
        .args(["compare", "--proxies", "nginx,haproxy", "--haproxy"])
        .arg(&bin)
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "compare {args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("compare --json prints JSON")
}

/// Backend `b`'s share (from 1) of what all answered in `buckets`.
fn share(rows: &[Vec<u64>], b: usize, buckets: std::ops::Range<usize>) -> f64 {
    let sum = |r: &Vec<u64>| r[buckets.clone()].iter().sum::<u64>();
    sum(&rows[b - 1]) as f64 / rows.iter().map(sum).sum::<u64>() as f64
}

#[test]
fn a_down_fault_puts_the_server_in_maintenance_without_a_reload_and_lbtot_agrees() {
    let v = passed(&[
        "-d",
        "2s",
        "-c",
        "10",
        "--delay",
        "2",
        "--fault",
        "down:2@600ms+800ms",
    ]);
    let (down, up) = (&v["faults"][0], &v["faults"][1]);
    assert_eq!(
        down["action"], "take backend 2 out of the balancing for 800ms",
        "{down}"
    );
    assert_eq!(up["action"], "put backend 2 back in the balancing", "{up}");
    assert!(
        down.get("error").is_none() && up.get("error").is_none(),
        "{}",
        v["faults"]
    );
    // No reload: the same worker's lbtot goes on through both, and equals the client's counts
    // (`passed` asserted the witness was judged and agreed).
    assert_eq!(
        v["picked"],
        serde_json::json!(counts(&v)),
        "{}",
        v["picked"]
    );
    let (kd, ku) = (bucket_of(&v, down), bucket_of(&v, up));
    assert!(ku > kd + 10, "down in bucket {kd}, up in bucket {ku}");
    let rows = answered(&v);
    // From the bucket after it went into maintenance until the one it was made ready in, backend 2
    // answers nothing, and backends 1 and 3 take half each.
    assert_eq!(
        rows[1][kd + 1..ku].iter().sum::<u64>(),
        0,
        "backend 2 while in maintenance (buckets {kd}..{ku}): {:?}",
        rows[1]
    );
    for b in [1, 3] {
        let s = share(&rows, b, kd + 1..ku);
        assert!(
            (0.4..0.6).contains(&s),
            "backend {b}'s share while 2 was out: {s}"
        );
    }
    // Before, a third each; after, backend 2 answers again.
    let before = 2..kd.saturating_sub(1);
    assert!(before.len() >= 10, "{before:?}");
    for b in 1..=3 {
        let s = share(&rows, b, before.clone());
        assert!((0.25..0.42).contains(&s), "backend {b}'s share before: {s}");
    }
    assert!(rows[1][ku + 1..].iter().sum::<u64>() > 0, "{:?}", rows[1]);
}

#[test]
fn compare_puts_each_nginx_method_beside_its_haproxy_counterpart() {
    let v = compare_both(&[
        "--methods",
        "round-robin,least-conn,random-two",
        "-n",
        "300",
        "-c",
        "30",
    ]);
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
fn lose_backend_measures_haproxy_key_movement_beside_nginx() {
    let v = compare_both(&["--scenario", "lose-backend"]);
    assert_eq!(v["reconciled"], true, "{v}");
    let mv = &v["key_movement"];
    assert_eq!(mv["lost_backend"], 3);
    let methods = mv["methods"].as_array().unwrap();
    let names: Vec<&str> = methods
        .iter()
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "hash",
            "haproxy hdr(X-Key)",
            "hash consistent",
            "haproxy hdr(X-Key) consistent",
            "ip-hash",
            "haproxy source"
        ]
    );
    let n = |m: &serde_json::Value, phase: &str, k: &str| m[phase][k].as_u64().unwrap();
    for m in methods {
        let name = m["method"].as_str().unwrap();
        for phase in ["marked_down", "removed"] {
            assert_eq!(n(m, phase, "keys"), 100, "{name} {phase}: {m}");
            // Whatever the method, every key of the backend that left finds another.
            assert_eq!(
                n(m, phase, "moved") - n(m, phase, "moved_others"),
                n(m, phase, "lost_keys"),
                "{name} {phase}: {m}"
            );
            // Each row judged by its own balancer's theory (HAProxy's: keys::movement_haproxy,
            // under which a map-based server in maintenance moves other keys too, as below).
            let theory = &m["theory"][phase];
            assert_eq!(theory["fits"], true, "{name} {phase}: {theory}");
        }
    }
    // HAProxy's consistent hash moves only the lost keys, whether the server is in maintenance or
    // removed. Its map-based hash (and source, map-based too) rebuilds the map from the servers
    // that are up, so a server in maintenance moves other keys as well, as many as its removal:
    // unlike nginx's `down`, which keeps the server's place in the hash.
    for m in methods {
        let name = m["method"].as_str().unwrap();
        match name {
            "haproxy hdr(X-Key) consistent" => {
                for phase in ["marked_down", "removed"] {
                    assert_eq!(n(m, phase, "moved_others"), 0, "{name} {phase}: {m}");
                }
            }
            "haproxy hdr(X-Key)" | "haproxy source" => {
                assert!(n(m, "marked_down", "moved_others") > 0, "{name}: {m}");
                assert_eq!(
                    n(m, "marked_down", "moved"),
                    n(m, "removed", "moved"),
                    "{name}: {m}"
                );
            }
            "hash" | "ip-hash" => assert_eq!(n(m, "marked_down", "moved_others"), 0, "{m}"),
            _ => {}
        }
    }
}

#[test]
fn what_haproxy_cannot_do_in_the_lab_yet_is_refused_in_one_line() {
    for (args, says) in [
        (&["run", "--haproxy", "haproxy"][..], "add --proxy haproxy"),
        (
            &["run", "--proxy", "haproxy", "--weights", "1,300,1"][..],
            "1 to 256",
        ),
        (
            &[
                "run",
                "--proxy",
                "haproxy",
                "-d",
                "2s",
                "--fault",
                "down:1@1s",
                "--fault",
                "switch:uri@500ms",
            ][..],
            "not both",
        ),
        (
            &["run", "-d", "2s", "--fault", "down:4@1s"][..],
            "backends 1..=3",
        ),
    ] {
        refused(args, says);
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
