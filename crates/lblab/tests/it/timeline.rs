//! Issue 21's "done when": a run with a kill at 500 ms shows, in the JSON and in the HTML, backend
//! 2's answers dropping to zero within a bucket of the kill and the others taking its share, with
//! the kill marked where it was done and every backend's time series drawn as the JSON says.

use serde_json::Value;

use crate::common::*;
use crate::svg::{Element, parse_svg};

fn row(v: &Value) -> Vec<u64> {
    v.as_array()
        .expect("a row")
        .iter()
        .map(|n| n.as_u64().expect("a count"))
        .collect()
}

/// The chart `id` of the page, read back.
fn chart(page: &str, id: &str) -> Vec<Element> {
    let start = page
        .find(&format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{id}\""
        ))
        .unwrap_or_else(|| panic!("the page has no chart {id}"));
    let end = page[start..].find("</svg>").unwrap() + start + 6;
    parse_svg(&page[start..end])
}

#[test]
fn a_kill_shows_in_the_timeline_and_the_report_marks_it() {
    let dir = scratch();
    let html = dir.path().join("run.html");
    // A 5 ms delay, so that each backend holds requests in flight for /stats to show.
    let (code, v) = run_json(&[
        "-d",
        "2s",
        "-c",
        "32",
        "--delay",
        "5",
        "--fault",
        "kill:2@500ms",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{v}");
    let t = &v["timeline"];
    // About 100 buckets over the run: 2 s / 100 = 20 ms.
    let width = t["bucket_ms"].as_f64().unwrap();
    assert_eq!(width, 20.0, "{t}");
    let elapsed_ms = v["elapsed_s"].as_f64().unwrap() * 1000.0;
    let buckets = t["errors"].as_array().unwrap().len();
    assert_eq!(
        buckets,
        (elapsed_ms / width).ceil() as usize,
        "the rows end with the run"
    );
    let answered: Vec<Vec<u64>> = (1..=3)
        .map(|b| row(&t["answered"][b.to_string()]))
        .collect();
    for (i, r) in answered.iter().enumerate() {
        assert_eq!(r.len(), buckets);
        assert_eq!(
            r.iter().sum::<u64>(),
            v["counts"][(i + 1).to_string()].as_u64().unwrap(),
            "backend {}: the buckets add up to its count",
            i + 1
        );
    }

    // The third witness: nginx's access log names each backend for exactly the client's count.
    for b in 1..=3 {
        assert_eq!(
            v["logged"]["answered"][b - 1],
            v["counts"][b.to_string()],
            "backend {b}: {}",
            v["logged"]
        );
    }
    assert_eq!(v["reconciled"], true);

    let kill = &v["faults"][0];
    assert_eq!(kill["action"], "kill -KILL backend 2", "{kill}");
    let fired = kill["fired_ms"].as_f64().expect("the kill's actual time");
    assert!((500.0..900.0).contains(&fired), "kill done at {fired} ms");
    let k = (fired / width) as usize;
    // Before the kill, backend 2 answered in every bucket, about a third of them.
    let before = 3..k.saturating_sub(1);
    assert!(before.len() >= 10, "{before:?}");
    let share = |b: usize, range: std::ops::Range<usize>| {
        let mine: u64 = answered[b - 1][range.clone()].iter().sum();
        let all: u64 = answered
            .iter()
            .map(|r| r[range.clone()].iter().sum::<u64>())
            .sum();
        mine as f64 / all as f64
    };
    // A machine busy with other tests stalls everything now and then for a few buckets: "in
    // most buckets" is what a live backend shows whatever the load.
    let most = |r: &[u64]| r.iter().filter(|&&n| n > 0).count() * 10 >= r.len() * 7;
    assert!(
        most(&answered[1][before.clone()]),
        "backend 2 before the kill: {:?}",
        answered[1]
    );
    for b in 1..=3 {
        let s = share(b, before.clone());
        assert!(
            (0.25..0.42).contains(&s),
            "backend {b}'s share before the kill: {s}"
        );
    }
    // From the bucket after the kill's, backend 2 answers only what it had already written when
    // it died (at most one request per connection), and in no more than two buckets; from the
    // next it answers nothing.
    let after = &answered[1][k + 1..];
    assert!(
        after.iter().sum::<u64>() <= 32 && after.iter().filter(|&&n| n > 0).count() <= 2,
        "backend 2 after its kill in bucket {k}: {:?}",
        answered[1]
    );
    assert_eq!(
        answered[1][k + 1],
        0,
        "backend 2 still answered a bucket after its kill: {:?}",
        answered[1]
    );
    // The two others take its share, half each (round-robin), and keep answering.
    let rest = k + 2..buckets - 1;
    for b in [1, 3] {
        let s = share(b, rest.clone());
        assert!(
            (0.45..=0.55).contains(&s),
            "backend {b}'s share after the kill: {s}"
        );
        assert!(
            most(&answered[b - 1][rest.clone()]),
            "backend {b} after the kill: {:?}",
            answered[b - 1]
        );
    }
    // Latency and the client's in-flight follow the same buckets: none for backend 2 once it is
    // dead, some for the others.
    let p99_2 = t["p99_ms"]["2"].as_array().unwrap();
    assert!(p99_2[k + 3..].iter().all(Value::is_null), "{p99_2:?}");
    assert!(t["p99_ms"]["1"][k + 3].as_f64().unwrap() > 0.0);
    let in_flight = |b: &str, i: usize| t["in_flight"][b][i].as_f64().unwrap();
    assert!(
        in_flight("2", k + 3) == 0.0 && in_flight("1", k + 3) > 0.0,
        "{}",
        t["in_flight"]
    );
    // The backends' own count: backend 2 cannot be asked once dead, the others hold requests.
    let own = &v["backends_in_flight"];
    let at: Vec<f64> = own["at_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(at.len() >= 50, "{own}");
    for (i, at) in at.iter().enumerate() {
        if *at > fired + 50.0 {
            assert!(
                own["in_flight"]["2"][i].is_null(),
                "backend 2 answered /stats at {at} ms"
            );
        }
    }
    assert!(
        own["in_flight"]["1"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_u64().is_some_and(|n| n > 0)),
        "{own}"
    );

    // The page: the bucket said, every chart over time, each backend's answers drawn as the JSON
    // says, and the kill marked where it was done.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains(&format!("buckets of {width} ms")),
        "the page names the bucket"
    );
    assert!(!page.contains("<script"), "no script");
    for id in [
        "share-time",
        "failures-time",
        "latency-time",
        "in-flight-client",
        "in-flight-backends",
    ] {
        let els = chart(&page, id);
        assert!(els.iter().any(|e| e.name == "polyline"), "{id} draws lines");
    }
    let els = chart(&page, "timeline");
    let lines: Vec<&Element> = els.iter().filter(|e| e.name == "polyline").collect();
    assert_eq!(lines.len(), 3);
    for l in lines {
        let b: usize = l.attrs["data-series"]
            .trim_start_matches("backend ")
            .parse()
            .unwrap();
        let drawn: Vec<u64> = l.attrs["data-values"]
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(drawn, answered[b - 1], "backend {b}");
        let xs: Vec<f64> = l.attrs["data-x"]
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        assert!(
            xs.windows(2).all(|w| w[0] < w[1]) && *xs.last().unwrap() * 1000.0 <= elapsed_ms,
            "drawn within the run: {xs:?}"
        );
    }
    let marker = els
        .iter()
        .find(|e| e.attrs.get("class").map(String::as_str) == Some("marker"))
        .expect("the kill is marked");
    let drawn_at: f64 = marker.attrs["data-at"].parse().unwrap();
    assert!(
        (drawn_at * 1000.0 - fired).abs() < 0.01,
        "kill drawn at {drawn_at} s, done at {fired} ms"
    );
    assert!(
        page.contains("kill -KILL backend 2"),
        "the kill is labelled"
    );
}
