//! `lblab compare` on real nginx: each scenario's JSON has the right shape and sane numbers, the
//! report's SVG is read back and its bars held against the JSON, and a lab that dies midway is torn
//! down. Its bad input is `errors`', the report of `lblab run --html` is `run_report`'s.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::svg::{Element, num, parse_svg};
use serde_json::Value;

fn passed(args: &[&str]) -> Value {
    let (code, v) = compare_json(args);
    assert_eq!(code, 0, "compare {args:?}: {v}");
    assert_eq!(v["passed"], true);
    assert_eq!(v["reconciled"], true, "{}", v["lab"]);
    v
}

fn method<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["method"] == name)
        .unwrap_or_else(|| panic!("no method {name} in {}", v["methods"]))
}

fn share(m: &Value, backend: u32) -> f64 {
    m["shares"][backend.to_string()].as_f64().unwrap()
}

fn counts_of(m: &Value) -> Vec<u64> {
    (1..=3)
        .map(|i| m["counts"][i.to_string()].as_u64().unwrap())
        .collect()
}

/// What every method's row must satisfy, whatever the scenario.
fn sane(v: &Value, requests: u64) {
    for m in v["methods"].as_array().unwrap() {
        let c = counts_of(m);
        assert_eq!(c.iter().sum::<u64>(), requests, "{}: {c:?}", m["method"]);
        let total: f64 = (1..=3).map(|b| share(m, b)).sum();
        assert!((total - 1.0).abs() < 1e-9, "{}", m["shares"]);
        let l = &m["latency_ms"];
        assert!(l["p50"].as_f64().unwrap() > 0.0, "{l}");
        assert!(
            l["p50"].as_f64().unwrap() <= l["p99"].as_f64().unwrap(),
            "{l}"
        );
        assert_eq!(m["errors"], 0);
        let p = m["spread"]["p"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{}", m["spread"]);
    }
}

/// The share chart's bars against the JSON: one per method and backend, each `data-value` the
/// JSON's share in percent, each bar's height that value on the chart's y scale.
fn check_share_chart(svg: &str, v: &Value) {
    let els = parse_svg(svg);
    let y_max = num(&els[0], "data-y-max");
    let axis = els
        .iter()
        .find(|e| e.name == "line" && e.attrs["class"] == "axis" && e.attrs["x1"] == e.attrs["x2"])
        .expect("a y axis");
    let plot_h = num(axis, "y2") - num(axis, "y1");
    let bars: Vec<&Element> = els
        .iter()
        .filter(|e| e.name == "rect" && e.attrs.get("class").map(String::as_str) == Some("bar"))
        .collect();
    let methods = v["methods"].as_array().unwrap();
    assert_eq!(
        bars.len(),
        methods.len() * 3,
        "one bar per method and backend"
    );
    for m in methods {
        let name = m["method"].as_str().unwrap();
        for b in 1..=3 {
            let bar = bars
                .iter()
                .find(|e| {
                    e.attrs["data-group"] == name
                        && e.attrs["data-series"] == format!("backend {b}")
                })
                .unwrap_or_else(|| panic!("no bar for {name} backend {b}"));
            let want = share(m, b) * 100.0;
            let drawn = num(bar, "data-value");
            assert!(
                (drawn - want).abs() < 1e-9,
                "{name} {b}: drawn {drawn}, JSON {want}"
            );
            let height = num(bar, "height");
            assert!(
                (height - want / y_max * plot_h).abs() < 0.02,
                "{name} {b}: height {height} for {want}% of {y_max}"
            );
            assert!(
                (num(bar, "y") + height - num(axis, "y2")).abs() < 0.02,
                "{name} {b} floats"
            );
        }
    }
}

#[test]
fn even_round_robin_is_exactly_even_and_the_chart_says_what_the_json_says() {
    let dir = scratch();
    let svg = dir.path().join("shares.svg");
    let html = dir.path().join("report.html");
    let v = passed(&[
        "-n",
        "999",
        "-c",
        "999",
        "--svg",
        svg.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(v["scenario"], "even");
    let names: Vec<&str> = v["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "round-robin",
            "least-conn",
            "ip-hash",
            "hash",
            "random",
            "random-two"
        ]
    );
    sane(&v, 999);
    let rr = method(&v, "round-robin");
    assert_eq!(counts_of(rr), [333, 333, 333]);
    assert_eq!(rr["spread"]["max_min"], 1.0);
    assert!(rr["spread"]["p"].as_f64().unwrap() > 0.99);
    // One client, one URI: the hash methods send everything to one backend.
    for m in ["ip-hash", "hash"] {
        let c = counts_of(method(&v, m));
        assert_eq!(c.iter().filter(|&&n| n == 999).count(), 1, "{m}: {c:?}");
        assert!(method(&v, m)["spread"]["max_min"].is_null());
    }
    check_share_chart(&std::fs::read_to_string(&svg).unwrap(), &v);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.contains("<script") && !page.contains("src=") && !page.contains("href="));
    assert!(!page.contains("https://") && !page.contains("@import") && !page.contains("url("));
    let start = page.find("<svg").unwrap();
    let end = page[start..].find("</svg>").unwrap() + start + 6;
    check_share_chart(&page[start..end], &v);
    for id in [
        "id=\"latency\"",
        "id=\"backend-latency\"",
        "lblab compare --scenario even",
    ] {
        assert!(page.contains(id), "{id} missing from the report");
    }
}

#[test]
fn slow_backend_least_conn_gives_the_slow_one_less_than_round_robin() {
    let v = passed(&[
        "--scenario",
        "slow-backend",
        "--methods",
        "round-robin,least-conn,random-two",
        "-n",
        "2000",
        "-c",
        "100",
    ]);
    sane(&v, 2000);
    let rr = share(method(&v, "round-robin"), 1);
    assert!(
        (rr - 1.0 / 3.0).abs() < 0.01,
        "round-robin gave the slow one {rr}"
    );
    for m in ["least-conn", "random-two"] {
        let s = share(method(&v, m), 1);
        assert!(
            s < rr / 2.0,
            "{m} gave the slow backend {s}, round-robin {rr}"
        );
    }
    let slow_p99 = method(&v, "round-robin")["report"]["backends"]["1"]["latency_ms"]["p99"]
        .as_f64()
        .unwrap();
    assert!(slow_p99 >= 50.0, "the delay did not apply: {slow_p99}");
}

#[test]
fn many_clients_ip_hash_keeps_each_client_on_one_backend_and_round_robin_does_not() {
    let v = passed(&[
        "--scenario",
        "many-clients",
        "--methods",
        "ip-hash,round-robin",
    ]);
    sane(&v, 1000);
    let ip = &method(&v, "ip-hash")["stickiness"];
    assert_eq!(ip["clients"], 100, "{ip}");
    assert_eq!(ip["sticky"], 100, "{ip}");
    assert!(counts_of(method(&v, "ip-hash")).iter().all(|&n| n > 0));
    let rr = &method(&v, "round-robin")["stickiness"];
    assert!(rr["sticky"].as_u64().unwrap() < 100, "{rr}");
}

#[test]
fn keys_hash_and_consistent_hash_keep_every_key_on_one_backend() {
    let v = passed(&[
        "--scenario",
        "keys",
        "--methods",
        "hash,hash-consistent,random",
    ]);
    sane(&v, 1000);
    for m in ["hash", "hash consistent"] {
        let st = &method(&v, m)["stickiness"];
        assert_eq!(st["clients"], 100, "{m}: {st}");
        assert_eq!(st["sticky"], 100, "{m}: {st}");
        assert_eq!(method(&v, m)["hash_key"], "$http_x_key");
        assert!(counts_of(method(&v, m)).iter().all(|&n| n > 0), "{m}");
    }
    assert!(
        method(&v, "random")["stickiness"]["sticky"]
            .as_u64()
            .unwrap()
            < 100
    );
}

#[test]
fn lose_backend_consistent_hash_moves_only_the_lost_keys_and_plain_hash_more() {
    let v = passed(&["--scenario", "lose-backend"]);
    sane(&v, 1000);
    let mv = &v["key_movement"];
    assert_eq!(mv["lost_backend"], 3);
    let by: BTreeMap<&str, &Value> = mv["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["method"].as_str().unwrap(), m))
        .collect();
    assert_eq!(
        by.keys().copied().collect::<Vec<_>>(),
        ["hash", "hash consistent", "ip-hash"]
    );
    for (name, m) in &by {
        for phase in ["marked_down", "removed"] {
            let p = &m[phase];
            assert_eq!(p["keys"], 100, "{name} {phase}: {p}");
            // The lost backend's keys must all go elsewhere.
            let lost = p["lost_keys"].as_u64().unwrap();
            assert!(lost > 10, "{name} {phase}: {p}");
            assert_eq!(
                p["moved"].as_u64().unwrap() - p["moved_others"].as_u64().unwrap(),
                lost
            );
        }
        // nginx keeps a server marked down in the hash: only its keys move, for every method.
        assert_eq!(m["marked_down"]["moved_others"], 0, "{name}: {m}");
    }
    assert_eq!(by["hash consistent"]["removed"]["moved_others"], 0);
    let moved = |m: &str| by[m]["removed"]["moved_share"].as_f64().unwrap();
    assert!(moved("hash") > moved("hash consistent") + 0.15, "{mv}");
    assert!(
        by["ip-hash"]["removed"]["moved_others"].as_u64().unwrap() > 0,
        "{mv}"
    );
    assert_eq!(by["hash"]["key"], "header");
    assert_eq!(by["ip-hash"]["key"], "source");
}

#[test]
fn expectations_are_judged_per_method() {
    let (code, v) = compare_json(&[
        "--methods",
        "round-robin,ip-hash",
        "--expect",
        "round-robin",
    ]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(method(&v, "round-robin")["expectations"][0]["ok"], true);
    assert_eq!(method(&v, "ip-hash")["expectations"][0]["ok"], false);
    assert_eq!(v["passed"], false);
}

#[test]
fn a_lab_that_dies_midway_is_torn_down_and_the_failed_method_named() {
    let dir = scratch();
    let child = lblab()
        .args(["compare", "-d", "4s", "-c", "5", "--json"])
        .env("TMPDIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    let nginx = loop {
        // The master, known by its workers: `nginx -v` and `nginx -t` are children too, briefly.
        let found = children_of(child.id()).into_iter().find(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "nginx")
                && !children_of(p as u32).is_empty()
        });
        if let Some(p) = found {
            break p;
        }
        assert!(Instant::now() < until, "nginx never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    let pids = children_of(child.id());
    std::thread::sleep(Duration::from_millis(1000));
    signal(nginx as u32, libc::SIGKILL);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the run of round-robin failed: nginx"),
        "{err}"
    );
    assert!(err.contains("the lab was stopped"), "{err}");
    assert!(stdout(&out).is_empty());
    assert_all_gone(&pids, Duration::from_secs(10));
}
