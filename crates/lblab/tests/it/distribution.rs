//! Each balancing method through a real nginx, judged by the client's own `--expect`.

use crate::common::{assert_passed, counts};

#[test]
fn round_robin_999_at_once_is_exact_thirds() {
    let v = assert_passed(&["-n", "999", "-c", "999", "--expect", "round-robin"]);
    assert_eq!(counts(&v), [333, 333, 333]);
}

#[test]
fn weighted_round_robin_follows_the_weights() {
    let v = assert_passed(&[
        "--weights",
        "1,2,3",
        "-n",
        "600",
        "-c",
        "600",
        "--expect",
        "round-robin:1,2,3",
    ]);
    assert_eq!(counts(&v), [100, 200, 300]);
}

#[test]
fn ip_hash_from_one_address_sends_all_to_one_backend() {
    let v = assert_passed(&["--method", "ip-hash", "--expect", "one"]);
    let c = counts(&v);
    assert_eq!(c.iter().sum::<u64>(), 1000);
    assert_eq!(c.iter().filter(|&&n| n == 1000).count(), 1, "{c:?}");
}

#[test]
fn ip_hash_from_30_networks_is_sticky_and_uses_every_backend() {
    let v = assert_passed(&[
        "--method",
        "ip-hash",
        "--source-ip",
        "127.0.1-30.1",
        "-n",
        "3000",
        "-c",
        "300",
        "--expect",
        "sticky",
        "--expect",
        "backends=3",
    ]);
    let clients = v["clients"].as_object().expect("clients");
    assert_eq!(clients.len(), 30);
    for (addr, backends) in clients {
        assert_eq!(
            backends.as_object().unwrap().len(),
            1,
            "{addr} reached {backends}"
        );
    }
}

#[test]
fn hash_on_a_header_keeps_each_key_on_one_backend() {
    let v = assert_passed(&[
        "--method",
        "hash",
        "--hash-key",
        "$http_x_key",
        "-H",
        "X-Key: k{n%20}",
        "--expect",
        "sticky",
        "--expect",
        "backends=3",
    ]);
    assert_eq!(v["clients"].as_object().unwrap().len(), 20);
}

#[test]
fn consistent_hash_is_sticky_too() {
    assert_passed(&[
        "--method",
        "hash",
        "--hash-key",
        "$http_x_key",
        "--consistent",
        "-H",
        "X-Key: user{n%50}",
        "--expect",
        "sticky",
    ]);
}

#[test]
fn least_conn_starves_a_slow_backend_where_round_robin_cannot() {
    let slow = ["--delay", "1=50", "-n", "2000", "-c", "100"];
    let lc: Vec<&str> = ["--method", "least-conn", "--expect", "max-share:1=15%"]
        .iter()
        .chain(&slow)
        .copied()
        .collect();
    let v = assert_passed(&lc);
    assert!(counts(&v)[0] * 100 < 15 * 2000, "{:?}", counts(&v));
    let rr: Vec<&str> = ["--method", "round-robin", "--expect", "round-robin"]
        .iter()
        .chain(&slow)
        .copied()
        .collect();
    let v = assert_passed(&rr);
    let c = counts(&v);
    assert!(
        c.iter().all(|&n| (666..=667).contains(&n)),
        "round-robin with a slow backend: {c:?}"
    );
}

#[test]
fn random_is_uniform() {
    assert_passed(&[
        "--method",
        "random",
        "-n",
        "3000",
        "-c",
        "100",
        "--expect",
        "uniform",
        "--expect",
        "backends=3",
    ]);
}

/// random two least_conn puts two random backends in the running and sends to the less busy: no
/// backend can get more than the two-in-three chance of being in the running, and every one is
/// used. It is not uniform once backends are not equally busy, and on two cores shared with the
/// other tests they are not (it was rejected as uniform at -c 100, -c 30 and even -c 3): that is the
/// method working, which `compare --scenario slow-backend` shows.
#[test]
fn random_two_uses_every_backend_and_none_beyond_its_chance_in_the_pair() {
    assert_passed(&[
        "--method",
        "random-two",
        "-n",
        "3000",
        "-c",
        "30",
        "--expect",
        "backends=3",
        "--expect",
        "max-share:1=67%",
        "--expect",
        "max-share:2=67%",
        "--expect",
        "max-share:3=67%",
    ]);
}

#[test]
fn a_wrong_expectation_fails_the_run() {
    // ip-hash from one address cannot be round-robin: the run must say so and exit 1.
    let (code, v) = crate::common::run_json(&[
        "--method",
        "ip-hash",
        "-n",
        "300",
        "--expect",
        "round-robin",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["passed"], false);
    assert_eq!(v["expectations"][0]["ok"], false);
    assert!(
        v["expectations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("within ±1")
    );
}

#[test]
fn backends_own_counts_reconcile_with_the_client() {
    let v = assert_passed(&["-n", "1500", "-c", "200"]);
    let served: u64 = v["lab"]["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["served"].as_u64().expect("served"))
        .sum();
    assert_eq!(served, 1500);
    assert_eq!(v["ok"], 1500);
    assert_eq!(v["reconciled"], true);
}

/// The lean engine and reqwest through the same kind of lab, method by method. Where nginx's choice
/// depends only on the request, the result is identical: round-robin's counts from a fresh lab,
/// and for ip-hash (by address) and hash (by key) which backend each client went to (how many
/// requests each client sent depends on timing). Where the choice depends on timing (least-conn,
/// random, random-two), both engines see every backend and every answer.
#[test]
fn both_engines_count_the_same_for_every_method() {
    let by_counts: [&[&str]; 2] = [
        &["-n", "300", "-c", "30"],
        &["--weights", "1,2,3", "-n", "600", "-c", "60"],
    ];
    for args in by_counts {
        let lean = assert_passed(&[args, &["--engine", "lean"][..]].concat());
        let reqwest = assert_passed(&[args, &["--engine", "reqwest"][..]].concat());
        assert_eq!(lean["counts"], reqwest["counts"], "{args:?}");
    }
    let by_client: [&[&str]; 2] = [
        &[
            "--method",
            "ip-hash",
            "--source-ip",
            "127.0.1-6.1",
            "-n",
            "300",
            "-c",
            "30",
        ],
        &[
            "--method",
            "hash",
            "--hash-key",
            "$http_x_key",
            "-H",
            "X-Key: k{n%20}",
            "-n",
            "400",
            "-c",
            "20",
        ],
    ];
    // Each client's backends, without how many requests it sent.
    let chosen = |v: &serde_json::Value| -> Vec<(String, Vec<String>)> {
        let mut out: Vec<_> = v["clients"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(c, b)| (c.clone(), b.as_object().unwrap().keys().cloned().collect()))
            .collect();
        out.sort();
        out
    };
    for args in by_client {
        let lean = assert_passed(&[args, &["--engine", "lean", "--expect", "sticky"][..]].concat());
        let reqwest =
            assert_passed(&[args, &["--engine", "reqwest", "--expect", "sticky"][..]].concat());
        assert_eq!(chosen(&lean), chosen(&reqwest), "{args:?}");
    }
    for method in ["least-conn", "random", "random-two"] {
        for engine in ["lean", "reqwest"] {
            let v = assert_passed(&[
                "--method",
                method,
                "-n",
                "600",
                "-c",
                "30",
                "--engine",
                engine,
                "--expect",
                "backends=3",
            ]);
            assert_eq!(counts(&v).iter().sum::<u64>(), 600, "{method} {engine}");
        }
    }
}
