//! Faults under load on real nginx: nothing is lost, every request is accounted for.

use std::time::Duration;

use crate::common::*;
use serde_json::Value;

fn fault_event(v: &Value, backend: u64) -> &Value {
    v["faults"]
        .as_array()
        .expect("faults")
        .iter()
        .find(|e| e["backend"] == backend && e.get("served_before").is_some())
        .expect("the fault's event")
}

#[test]
fn kill_9_of_a_backend_loses_nothing() {
    let v = assert_passed(&["-n", "20000", "-c", "100", "--fault", "kill:2@300ms"]);
    assert_eq!(v["ok"], 20000);
    assert_eq!(v["errors"], 0);
    assert_eq!(v["reconciled"], true);
    let before = fault_event(&v, 2)["served_before"].as_u64().unwrap();
    let counted = counts(&v)[1];
    // What it answered after its count was read and before it died: at most what was in flight.
    assert!(
        counted >= before && counted - before <= 100,
        "backend 2: {before} before the kill, {counted} counted"
    );
    // The survivors' own counts equal the client's, so the dead one got nothing after its death.
    for b in v["lab"]["backends"].as_array().unwrap() {
        if b["id"] != 2 {
            assert_eq!(b["served"], v["counts"][b["id"].to_string()], "{b}");
        }
    }
    assert_all_gone(&lab_pids(&v["lab"]), Duration::from_secs(2));
}

#[test]
fn sigterm_of_a_backend_loses_nothing() {
    let v = assert_passed(&["-n", "20000", "-c", "100", "--fault", "term:1@300ms"]);
    assert_eq!(v["ok"], 20000);
    assert_eq!(v["errors"], 0);
}

#[test]
fn a_backend_killed_and_started_again_is_back_in_the_rotation() {
    let v = assert_passed(&["-d", "5s", "-c", "50", "--fault", "restart:2@500ms+500ms"]);
    assert_eq!(v["errors"], 0);
    assert_eq!(v["reconciled"], true);
    let events = v["faults"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        events.iter().all(|e| e.get("error").is_none()),
        "{events:?}"
    );
    // The new process counts from its start: it served again once nginx's fail_timeout (2 s) had
    // passed, and what it served plus what the old one had served fits the client's count.
    let new = &v["lab"]["backends"][1];
    let since = new["served"].as_u64().unwrap();
    assert!(since > 100, "backend 2 served {since} after its restart");
    let before = fault_event(&v, 2)["served_before"].as_u64().unwrap();
    assert!(
        before + since <= counts(&v)[1],
        "{before} + {since} > {}",
        counts(&v)[1]
    );
    // The started-again backend is torn down with the lab like the others.
    assert_all_gone(&lab_pids(&v["lab"]), Duration::from_secs(2));
}

#[test]
fn a_hung_backend_costs_time_bounded_by_the_read_timeout_not_requests() {
    // nginx takes the hung backend out for fail_timeout (2 s) once a request to it times out, so the
    // run goes on for a while after SIGCONT to see it back.
    let v = assert_passed(&["-d", "8s", "-c", "50", "--fault", "pause:3@1s+3s"]);
    assert_eq!(v["errors"], 0);
    // proxy_read_timeout is 2 s: no request waits much longer for the hung backend.
    let max = v["latency_ms"]["max"].as_f64().unwrap();
    assert!(max < 3000.0, "max latency {max} ms");
    // It answered again after SIGCONT: more answers from it than it had when it was stopped (plus
    // what was in flight then).
    let before = fault_event(&v, 3)["served_before"].as_u64().unwrap();
    let counted = counts(&v)[2];
    assert!(
        counted > before + 20,
        "backend 3: {before} when paused, {counted} in all"
    );
}

#[test]
fn switching_the_method_every_500ms_loses_nothing() {
    let mut args = vec!["-d".to_string(), "5s".into(), "-c".into(), "50".into()];
    for (i, t) in (500..5000).step_by(500).enumerate() {
        let m = if i % 2 == 0 { "ip-hash" } else { "round-robin" };
        args.push("--fault".into());
        args.push(format!("switch:{m}@{t}ms"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let v = assert_passed(&args);
    assert_eq!(v["errors"], 0);
    assert_eq!(v["reconciled"], true);
    let events = v["faults"].as_array().unwrap();
    assert_eq!(events.len(), 9);
    assert!(
        events.iter().all(|e| e.get("error").is_none()),
        "{events:?}"
    );
    // The same three backends answered /stats at the end: none was restarted.
    assert!(
        v["lab"]["backends"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["served"].as_u64().is_some())
    );
}

#[test]
fn with_every_backend_dead_requests_fail_fast_as_502_and_the_run_fails() {
    let (code, v) = run_json(&[
        "-d",
        "2s",
        "-c",
        "20",
        "--fault",
        "kill:1@300ms",
        "--fault",
        "kill:2@300ms",
        "--fault",
        "kill:3@300ms",
    ]);
    assert_eq!(code, 1);
    let kinds = v["errors_by_kind"].as_object().unwrap();
    assert_eq!(
        kinds.keys().collect::<Vec<_>>(),
        ["status 502"],
        "{kinds:?}"
    );
    assert!(v["errors"].as_u64().unwrap() > 1000, "{}", v["errors"]);
    assert!(
        v["latency_ms"]["p99"].as_f64().unwrap() < 200.0,
        "502s were not fast: {}",
        v["latency_ms"]
    );
    assert_all_gone(&lab_pids(&v["lab"]), Duration::from_secs(2));
}

#[test]
fn a_fault_on_a_backend_that_does_not_exist_is_refused() {
    let out = lblab()
        .args(["run", "--fault", "kill:4@1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("backends 1..=3"), "{}", stderr(&out));
}

#[test]
fn a_fault_after_the_load_ends_is_not_waited_for() {
    let t = std::time::Instant::now();
    let (code, v) = run_json(&["-n", "200", "-c", "5", "--fault", "kill:1@1h"]);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert_eq!(code, 0);
    let e = &v["faults"][0];
    assert!(
        e["not_done"].as_str().unwrap().starts_with("not reached"),
        "{e}"
    );
    // Not reached, so backend 1 was not killed: it answered /stats at the end.
    assert!(v["lab"]["backends"][0]["served"].as_u64().is_some());
    assert_eq!(v["reconciled"], true);
}

#[test]
fn a_pause_cut_short_by_the_end_of_the_load_says_so() {
    let t = std::time::Instant::now();
    // Requests held by the stopped backend when the load ends are unanswered, so the run fails;
    // what is looked at here is what the report says of the pause.
    let (_, v) = run_json(&["-d", "1s", "-c", "4", "--fault", "pause:1@300ms+5s"]);
    // The backend is continued when the load ends, not 5 s later.
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    let resumed = v["faults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["action"]
                .as_str()
                .unwrap()
                .starts_with("kill -CONT backend 1")
        })
        .unwrap_or_else(|| panic!("no continue: {}", v["faults"]));
    let action = resumed["action"].as_str().unwrap();
    assert!(
        action.contains("early: the load ended at +")
            && action.contains("before the pause's end at +5300 ms"),
        "{action}"
    );
}

#[test]
fn a_second_kill_of_a_dead_backend_is_not_done() {
    let v = assert_passed(&[
        "-d",
        "1s",
        "-c",
        "20",
        "--fault",
        "kill:2@100ms",
        "--fault",
        "kill:2@300ms",
    ]);
    let events = v["faults"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events[0].get("not_done").is_none(), "{events:?}");
    assert_eq!(events[1]["not_done"], "backend 2 was already dead");
    assert_eq!(v["reconciled"], true);
}

#[test]
fn the_report_names_the_method_in_force_at_the_end() {
    let v = assert_passed(&["-d", "1s", "-c", "20", "--fault", "switch:ip-hash@200ms"]);
    assert_eq!(v["lab"]["method"], "ip-hash");
    let out = lblab()
        .args([
            "run",
            "-d",
            "1s",
            "-c",
            "20",
            "--fault",
            "switch:random@200ms",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("(method random at the end, round-robin at the start)"),
        "{text}"
    );
}

/// The port of backend `id` of the lab whose prefix is under `tmp`, from the upstream block of its
/// nginx.conf (the lab's own record of where each backend listens). /proc/net/tcp was read here
/// before, but under load the kernel's listing can skip a socket while other sockets come and go.
fn backend_port(tmp: &std::path::Path, id: usize) -> Option<u16> {
    let prefix = std::fs::read_dir(tmp)
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("lblab-"))?;
    let conf = std::fs::read_to_string(prefix.path().join("nginx.conf")).ok()?;
    let servers: Vec<u16> = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("server 127.0.0.1:"))
        .filter_map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect();
    servers.get(id - 1).copied()
}

/// The runner's child that is backend `id`, by its command line.
fn backend_pid(runner: u32, id: u32) -> Option<u64> {
    children_of(runner).into_iter().find(|p| {
        std::fs::read(format!("/proc/{p}/cmdline"))
            .map(|c| {
                let args: Vec<&[u8]> = c.split(|&b| b == 0).collect();
                args.windows(2)
                    .any(|w| w[0] == b"--id" && w[1] == id.to_string().as_bytes())
            })
            .unwrap_or(false)
    })
}

/// Another program takes backend 2's port while it is dead: its restart fails. The run must fail
/// (exit 1) saying so, and the other program must get no request attributed to backend 2.
#[test]
fn a_restart_whose_port_was_taken_fails_the_run_and_the_taker_is_not_counted() {
    let scratch = scratch();
    let child = lblab()
        .args(["run", "-d", "4s", "-c", "10", "--json"])
        .args(["--fault", "restart:2@500ms+1500ms"])
        .env("TMPDIR", scratch.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let runner = child.id();
    let until = std::time::Instant::now() + Duration::from_secs(20);
    let (pid, port) = loop {
        if let Some(pid) = backend_pid(runner, 2)
            && let Some(port) = backend_port(scratch.path(), 2)
        {
            break (pid, port);
        }
        assert!(
            std::time::Instant::now() < until,
            "backend 2 and its port (the lab's nginx.conf) never showed"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    // The moment it is killed, something that is not the lab's takes its port: a listener of this
    // test's own, bound at once (a program started here could lose the race to the lab's restart on
    // a busy machine), which counts every connection made to it and answers none.
    assert_all_gone(&[pid], Duration::from_secs(10));
    let taker = std::net::TcpListener::bind(("127.0.0.1", port))
        .expect("the port of the dead backend 2 is free");
    taker.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let counting = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // The first bytes of each connection: who asked what.
            let mut asked = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match taker.accept() {
                    Ok((mut c, _)) => {
                        use std::io::Read;
                        c.set_nonblocking(false).unwrap();
                        c.set_read_timeout(Some(Duration::from_millis(500)))
                            .unwrap();
                        let mut head = [0u8; 256];
                        let n = c.read(&mut head).unwrap_or(0);
                        asked.push(String::from_utf8_lossy(&head[..n]).into_owned());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            asked
        })
    };
    let out = child.wait_with_output().unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let taken = counting.join().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", stderr(&out)));
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["faults_applied"], false, "{v}");
    let failed: Vec<&Value> = v["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("error").is_some())
        .collect();
    assert_eq!(failed.len(), 1, "{}", v["faults"]);
    assert!(
        failed[0]["action"]
            .as_str()
            .unwrap()
            .starts_with("start backend 2 again"),
        "{}",
        failed[0]
    );
    // The runner never asked it for backend 2's count (when it played a fault, or at the end):
    // whatever holds a dead backend's address is not that backend.
    let probes: Vec<&String> = taken
        .iter()
        .filter(|h| h.starts_with("GET /stats"))
        .collect();
    assert!(probes.is_empty(), "the runner asked the taker: {probes:?}");
    // nginx held the dead server out for fail_timeout after the kill, and once the restart failed
    // it is marked down; between the end of fail_timeout and that reload, nginx may try the server
    // once per connection (and, answered by nothing, goes on to the next server), no more.
    let from_nginx = taken.len() - probes.len();
    assert!(
        from_nginx <= 10,
        "nginx sent the taker {from_nginx} requests: {taken:?}"
    );
    let before = fault_event(&v, 2)["served_before"].as_u64().unwrap();
    let counted = counts(&v)[1];
    assert!(
        counted >= before && counted - before <= 10,
        "backend 2: {before} before the kill, {counted} counted"
    );
    // Its end-of-run count is not read from whatever holds its address.
    let b2 = &v["lab"]["backends"][1];
    assert!(b2.get("served").is_none(), "{b2}");
}

/// A fault at 0s happens as the load starts: backend 2 is killed before it answers much.
#[test]
fn a_fault_at_zero_happens_as_the_load_starts() {
    let v = assert_passed(&["-n", "3000", "-c", "10", "--fault", "kill:2@0s"]);
    let e = fault_event(&v, 2);
    assert!(e["at_ms"].as_u64().unwrap() < 500, "{e}");
    assert_eq!(v["ok"], 3000);
    assert!(
        counts(&v)[1] <= 10 + e["served_before"].as_u64().unwrap(),
        "{v}"
    );
}

#[test]
fn a_down_fault_marks_the_server_down_in_nginx_and_the_others_take_its_share() {
    let v = assert_passed(&[
        "-d",
        "2s",
        "-c",
        "10",
        "--delay",
        "2",
        "--fault",
        "down:2@600ms",
    ]);
    let down = &v["faults"][0];
    assert_eq!(
        down["action"], "take backend 2 out of the balancing",
        "{down}"
    );
    assert!(down.get("error").is_none(), "{down}");
    let width = v["timeline"]["bucket_ms"].as_f64().unwrap();
    let k = (down["fired_ms"].as_f64().expect("done") / width) as usize;
    let rows: Vec<Vec<u64>> = (1..=3)
        .map(|b| {
            v["timeline"]["answered"][b.to_string()]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_u64().unwrap())
                .collect()
        })
        .collect();
    // nginx's reload returns once the old workers are gone: from the next bucket, backend 2 is
    // sent nothing, and its process, which still runs, served exactly what the client counted.
    assert_eq!(rows[1][k + 1..].iter().sum::<u64>(), 0, "{:?}", rows[1]);
    assert!(rows[1][..k].iter().sum::<u64>() > 0, "{:?}", rows[1]);
    let after = |b: usize| rows[b][k + 1..].iter().sum::<u64>() as f64;
    let s = after(0) / (after(0) + after(2));
    assert!((0.4..0.6).contains(&s), "backend 1's share after: {s}");
    assert_eq!(
        v["logged"]["answered"][1], v["counts"]["2"],
        "{}",
        v["logged"]
    );

    // A switch after it keeps the server marked down.
    let v = assert_passed(&[
        "-d",
        "1500ms",
        "-c",
        "10",
        "--fault",
        "down:2@300ms",
        "--fault",
        "switch:least-conn@700ms",
    ]);
    let k = (v["faults"][0]["fired_ms"].as_f64().expect("done")
        / v["timeline"]["bucket_ms"].as_f64().unwrap()) as usize;
    let row = &v["timeline"]["answered"]["2"].as_array().unwrap()[k + 1..];
    assert!(
        row.iter().all(|n| n == 0),
        "backend 2 after its down: {row:?}"
    );
    assert_eq!(v["lab"]["method"], "least-conn");
}
