//! The recipes of docs/methods.md's "Scenarios that teach", run as written, each with the outcome
//! the page says it shows: the same load against a backend killed (SIGKILL), hung (SIGSTOP) and
//! slow (a delay). A dead backend refuses at once and nginx sends the request to the next one
//! (`proxy_next_upstream`): nothing fails and nothing waits. A hung one accepts and never answers,
//! so the requests it holds wait out `proxy_read_timeout` (2 s) before they are sent elsewhere:
//! nothing fails, but some wait 2 s. A slow one answers every request late, and round-robin still
//! gives it its third while least-conn steers around it.

use crate::common::*;

fn max_ms(v: &serde_json::Value) -> f64 {
    v["latency_ms"]["max"].as_f64().unwrap()
}

#[test]
fn sigkill_fails_over_at_once_sigstop_stalls_for_the_read_timeout_a_slow_backend_only_slows() {
    let load = ["-d", "3s", "-c", "20"];
    let run = |extra: &[&str]| {
        let mut args = load.to_vec();
        args.extend_from_slice(extra);
        assert_passed(&args)
    };
    let killed = run(&["--fault", "kill:2@1s"]);
    assert_eq!(killed["errors"], 0, "{}", killed["errors_by_kind"]);
    assert!(
        max_ms(&killed) < 1000.0,
        "a killed backend refuses at once, yet a request waited {} ms",
        max_ms(&killed)
    );

    let hung = run(&["--fault", "pause:2@500ms+2500ms"]);
    assert_eq!(hung["errors"], 0, "{}", hung["errors_by_kind"]);
    assert!(
        max_ms(&hung) >= 2000.0 && max_ms(&hung) < 3500.0,
        "a hung backend's requests wait out the 2 s read timeout, then go elsewhere: the longest waited {} ms",
        max_ms(&hung)
    );

    let slow = run(&["--delay", "2=300"]);
    assert_eq!(slow["errors"], 0);
    let b2 = &slow["backends"]["2"];
    assert!(b2["latency_ms"]["p50"].as_f64().unwrap() >= 300.0, "{b2}");
    let share = b2["share"].as_f64().unwrap();
    let slow_lc = run(&["--delay", "2=300", "--method", "least-conn"]);
    let share_lc = slow_lc["backends"]["2"]["share"].as_f64().unwrap();
    assert!(
        share_lc < share / 2.0,
        "least-conn gave the slow backend {share_lc}, round-robin {share}"
    );
    assert_eq!(slow_lc["theory"]["kind"], "direction");
    assert_eq!(slow_lc["theory"]["fits"], true, "{}", slow_lc["theory"]);
}

/// The answers of backend `id` in each bucket of the run's timeline.
fn answered(v: &serde_json::Value, id: u32) -> Vec<u64> {
    v["timeline"]["answered"][id.to_string()]
        .as_array()
        .unwrap_or_else(|| panic!("no timeline row for backend {id}: {}", v["timeline"]))
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect()
}

fn bucket_ms(v: &serde_json::Value) -> f64 {
    v["timeline"]["bucket_ms"].as_f64().unwrap()
}

/// When fault `i` was done, on the timeline's clock.
fn fired_ms(v: &serde_json::Value, i: usize) -> f64 {
    v["faults"][i]["fired_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("fault {i} has no fired_ms: {}", v["faults"]))
}

/// The start (ms) of the first bucket after `from_ms` where backend `id` answers again, after a
/// bucket where it answered nothing.
fn back_ms(v: &serde_json::Value, id: u32, from_ms: f64) -> f64 {
    let w = bucket_ms(v);
    let row = answered(v, id);
    let first = (from_ms / w) as usize;
    let gone = (first..row.len())
        .find(|&i| row[i] == 0)
        .unwrap_or_else(|| {
            panic!("backend {id} never stopped answering after {from_ms} ms: {row:?}")
        });
    let back = (gone..row.len())
        .find(|&i| row[i] > 0)
        .unwrap_or_else(|| panic!("backend {id} never answered again: {row:?}"));
    back as f64 * w
}

fn passed_on(v: &serde_json::Value, id: usize) -> u64 {
    v["logged"]["passed_on"][id - 1].as_u64().unwrap()
}

/// max_fails/fail_timeout: backend 2 is killed and started again 100 ms later, but nginx, which
/// took it out at its first failed try (max_fails 1), sends it nothing until fail_timeout has
/// passed since that failure. nginx keeps that time in whole seconds (ngx_time()), so a server
/// that failed at second S is out while now - S <= fail_timeout: it comes back between
/// fail_timeout and fail_timeout + 1 s after the kill. With max_fails 0 nginx never takes it out:
/// every turn of backend 2 while it is dead is a try that fails and is passed on, and it answers
/// again as soon as it is started.
#[test]
fn a_restarted_backend_comes_back_after_fail_timeout_and_max_fails_0_keeps_trying_it() {
    let run = |extra: &[&str]| {
        let mut args = vec!["-d", "5s", "-c", "20"];
        args.extend_from_slice(extra);
        assert_passed(&args)
    };
    let mut back_after = Vec::new();
    for ft in [1u32, 3] {
        let secs = ft.to_string();
        let v = run(&["--fault", "restart:2@500ms+100ms", "--fail-timeout", &secs]);
        assert_eq!(v["errors"], 0, "{}", v["errors_by_kind"]);
        assert_eq!(v["lab"]["upstream"]["fail_timeout_s"], ft, "{}", v["lab"]);
        let killed = fired_ms(&v, 0);
        let started = fired_ms(&v, 1);
        let w = bucket_ms(&v);
        let back = back_ms(&v, 2, killed);
        let after = back - killed;
        let ft_ms = f64::from(ft) * 1000.0;
        assert!(
            started < killed + ft_ms - w,
            "the backend must be running again well before fail_timeout: started at {started} ms"
        );
        assert!(
            after >= ft_ms - w && after <= ft_ms + 1000.0 + 2.0 * w,
            "fail_timeout {ft}s: backend 2 answered again {after} ms after its kill (bucket {w} ms): {:?}",
            answered(&v, 2)
        );
        // Out for fail_timeout, tried once, and back: a few tries passed on, not one per turn.
        assert!(passed_on(&v, 2) <= 30, "{}", v["logged"]);
        back_after.push(after);
    }
    assert!(
        back_after[1] - back_after[0] >= 1000.0,
        "a longer fail_timeout keeps the backend out longer: {back_after:?}"
    );

    // Dead for 1.5 s, never taken out.
    let kept = run(&["--fault", "restart:2@500ms+1500ms", "--max-fails", "0"]);
    let left_out = run(&["--fault", "restart:2@500ms+1500ms"]);
    for v in [&kept, &left_out] {
        assert_eq!(v["errors"], 0, "{}", v["errors_by_kind"]);
    }
    assert!(
        passed_on(&kept, 2) > 100 && passed_on(&kept, 2) > 10 * passed_on(&left_out, 2),
        "max_fails 0 tries the dead backend at each of its turns: passed on {} against {} with max_fails 1",
        passed_on(&kept, 2),
        passed_on(&left_out, 2)
    );
    let started = fired_ms(&kept, 1);
    let back = back_ms(&kept, 2, fired_ms(&kept, 0));
    let w = bucket_ms(&kept);
    assert!(
        back <= started + 2.0 * w,
        "with max_fails 0 backend 2 answers as soon as it runs again ({started} ms), not at {back} ms"
    );
}

/// `--backup 3`: backend 3 answers nothing while 1 and 2 are up; once both are killed it answers
/// every request, and nothing fails (the tries on the dead ones are passed on to it).
#[test]
fn a_backup_answers_only_once_the_others_are_down() {
    let (code, v) = run_json(&[
        "-d",
        "3s",
        "-c",
        "20",
        "--backup",
        "3",
        "--fault",
        "kill:1@1500ms",
        "--fault",
        "kill:2@1500ms",
    ]);
    assert_eq!(
        (code, &v["passed"]),
        (0, &serde_json::json!(true)),
        "reconciled {} errors {} faults {} logged {} lab {}",
        v["reconciled"],
        v["errors_by_kind"],
        v["faults"],
        v["logged"],
        v["lab"]
    );
    assert_eq!(v["errors"], 0, "{}", v["errors_by_kind"]);
    assert_eq!(v["lab"]["upstream"]["backup"], serde_json::json!([3]));
    let w = bucket_ms(&v);
    let first_kill = fired_ms(&v, 0).min(fired_ms(&v, 1));
    let last_kill = fired_ms(&v, 0).max(fired_ms(&v, 1));
    let (one, two, three) = (answered(&v, 1), answered(&v, 2), answered(&v, 3));
    let before = (first_kill / w) as usize;
    assert!(before >= 10, "{first_kill}");
    assert!(
        three[..before].iter().all(|&n| n == 0),
        "the backup answered while 1 and 2 were up: {three:?}"
    );
    assert!(one[..before].iter().sum::<u64>() > 0 && two[..before].iter().sum::<u64>() > 0);
    let after = (last_kill / w) as usize + 2;
    assert!(after + 5 < three.len(), "{last_kill}");
    for i in after..three.len() {
        assert_eq!(
            (one[i], two[i]),
            (0, 0),
            "bucket {i}: 1 and 2 were killed at {first_kill}/{last_kill} ms"
        );
    }
    let late: u64 = three[after..].iter().sum();
    assert!(late > 0, "the backup took over: {three:?}");
}

/// `--keepalive off` against the default pool, under least-conn with backend 2 slow: without a pool
/// every request is a TCP connection of its own (each backend accepted as many as it served); with
/// one nginx opens a handful, bounded by the pool of each worker plus the client's concurrency
/// (and one more per 1000 requests on a connection, nginx's keepalive_requests). least_conn counts
/// a server's active requests (`peer->conns`, raised when it is picked and lowered when the request
/// ends, in ngx_http_upstream_least_conn_module.c), never the idle connections in the pool: the
/// slow backend holds about as many requests either way, so it is sent about as many.
#[test]
fn keepalive_off_opens_a_connection_per_request_and_least_conn_counts_requests_not_connections() {
    let (c, workers, pool) = (20u64, 2u64, 64u64);
    let run = |keepalive: &str| {
        assert_passed(&[
            "-d",
            "3s",
            "-c",
            &c.to_string(),
            "--workers",
            &workers.to_string(),
            "--method",
            "least-conn",
            "--delay",
            "2=50",
            "--keepalive",
            keepalive,
        ])
    };
    let off = run("off");
    let on = run(&pool.to_string());
    let of = |v: &serde_json::Value, id: usize, what: &str| {
        v["lab"]["backends"][id - 1][what]
            .as_u64()
            .unwrap_or_else(|| panic!("backend {id} has no {what}: {}", v["lab"]))
    };
    for id in 1..=3 {
        assert_eq!(
            of(&off, id, "connections"),
            of(&off, id, "served"),
            "keepalive off: one connection per request"
        );
    }
    let served: u64 = (1..=3).map(|id| of(&on, id, "served")).sum();
    let opened: u64 = (1..=3).map(|id| of(&on, id, "connections")).sum();
    assert!(
        opened <= pool * workers + c + served / 1000 + 1 && opened * 10 < served,
        "keepalive {pool}: {opened} connections for {served} requests"
    );
    let slow = |v: &serde_json::Value| of(v, 2, "served") as f64;
    let ratio = slow(&on) / slow(&off);
    assert!(
        (0.5..=2.0).contains(&ratio),
        "least-conn sends the slow backend about as many requests with the pool as without: {} and {}",
        slow(&on),
        slow(&off)
    );
    for v in [&on, &off] {
        let share = v["backends"]["2"]["share"].as_f64().unwrap();
        assert!(
            share < 0.1,
            "least-conn steers around the slow backend: {share}"
        );
    }
}
