//! The dashboard's rolling chart in headless Chromium: what it draws is the backends' own `/stats`
//! over time (each backend's answers per second, summed over the chart's intervals, are what its
//! `/stats` says it served; its requests in flight are `/stats`' in-flight), it moves at least
//! once a second, and a click on a method or on "send" puts a mark on it; with backend 1 slow,
//! least-conn visibly gives it less than round-robin did. Needs `chromium` (Debian) on PATH, or
//! LBLAB_CHROMIUM; `LBLAB_SCREENSHOT=docs/dashboard.png` refreshes the README's picture.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::dashboard_support::cdp::Browser;
use crate::dashboard_support::chart::line;
use crate::dashboard_support::{addr_of, get, request, stats_served, up_with_dashboard};

/// `/stats`' in-flight count of the backend at `addr`.
fn in_flight(addr: SocketAddr) -> u64 {
    let a = get(addr, "/stats");
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    v["in_flight"].as_u64().unwrap()
}

/// `threads` clients, each sending `each` requests one after another through nginx; meanwhile the
/// most requests `/stats` showed in flight at `watched`.
fn load(lab: SocketAddr, threads: usize, each: usize, watched: SocketAddr) -> u64 {
    let clients: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..each {
                    assert_eq!(request(lab, "GET", "/", None, &[], "").status, 200);
                }
            })
        })
        .collect();
    let mut most = 0;
    while !clients.iter().all(|c| c.is_finished()) {
        most = most.max(in_flight(watched));
        std::thread::sleep(Duration::from_millis(10));
    }
    for c in clients {
        c.join().unwrap();
    }
    most
}

/// The newest time on the chart.
fn newest(b: &mut Browser) -> u64 {
    b.attrs("#chart-rps")
        .and_then(|a| a.get("data-t-to")?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn the_live_chart_draws_stats_over_time_and_marks_switches_and_bursts() {
    let (up, d) = up_with_dashboard(&["--delay", "1=100"]);
    let status = up.status();
    let lab = addr_of(status["url"].as_str().unwrap());
    let slow: SocketAddr = status["backends"][0]["addr"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut b = Browser::launch();
    b.navigate(&d.url);
    b.wait_for("a line per backend on both charts", |b| {
        (1..=3)
            .all(|i| line(b, "chart-rps", i).is_some() && line(b, "chart-in-flight", i).is_some())
    });
    // It moves at least once a second.
    let t0 = newest(&mut b);
    std::thread::sleep(Duration::from_millis(1100));
    assert!(newest(&mut b) > t0, "the chart did not move in 1.1 s");

    // Round-robin, backend 1 answering 100 ms late: six clients, 20 requests each.
    let most = load(lab, 6, 20, slow);
    assert!(most > 0, "/stats never showed backend 1 holding a request");
    let served = stats_served(&status);
    assert_eq!(served, [40, 40, 40]);
    // What the chart draws adds up to what the backends served, and shows nothing in flight now.
    b.wait_for("the chart's answers to add up to /stats' served", |b| {
        (1..=3).all(|i| {
            line(b, "chart-rps", i).is_some_and(|l| {
                (l.answers(0, u64::MAX) - served[i as usize - 1] as f64).abs() < 1e-6
            })
        })
    });
    let flight = line(&mut b, "chart-in-flight", 1).unwrap();
    let drawn_most = flight.v.iter().flatten().fold(0.0f64, |a, &v| a.max(v));
    assert!(
        drawn_most > 0.0 && drawn_most <= 6.0,
        "backend 1's in-flight line peaked at {drawn_most} (six clients; /stats showed {most})"
    );
    assert_eq!(in_flight(slow), 0);
    b.wait_for("nothing in flight at the end of the lines", |b| {
        (1..=3)
            .all(|i| line(b, "chart-in-flight", i).is_some_and(|l| l.v.last() == Some(&Some(0.0))))
    });
    // Each drawn point is its value on the chart's scale.
    let a = b.attrs("#chart-rps").unwrap();
    let num = |k: &str| a[k].parse::<f64>().unwrap();
    let (top, bottom, y_max) = (
        num("data-plot-top"),
        num("data-plot-bottom"),
        num("data-y-max"),
    );
    let p = b.attrs("#chart-rps polyline[data-backend=\"2\"]").unwrap();
    let ys: Vec<f64> = p["points"]
        .split(' ')
        .map(|xy| xy.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let vs: Vec<f64> = p["data-values"]
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(ys.len(), vs.len());
    for (y, v) in ys.iter().zip(&vs) {
        let want = bottom - v / y_max * (bottom - top);
        assert!(
            (y - want).abs() < 0.01,
            "drawn at {y}, {v} of {y_max} is {want}"
        );
    }

    // A click on least-conn: a mark where it happened, and backend 1 visibly gets less.
    let before_click = newest(&mut b);
    b.click("#method-least-conn");
    b.wait_for("the switch's mark", |b| {
        b.attrs("#chart-rps line.mark.switch")
            .is_some_and(|a| a["data-label"] == "→ least-conn")
    });
    let mark: u64 = b.attrs("#chart-rps line.mark.switch").unwrap()["data-t"]
        .parse()
        .unwrap();
    assert!(
        mark >= before_click,
        "the mark at {mark} is before the click ({before_click})"
    );
    load(lab, 6, 20, slow);
    let after = stats_served(&status);
    b.wait_for("the chart's answers after the switch to add up", |b| {
        (1..=3).all(|i| {
            line(b, "chart-rps", i).is_some_and(|l| {
                (l.answers(0, u64::MAX) - after[i as usize - 1] as f64).abs() < 1e-6
            })
        })
    });
    let since: Vec<f64> = (1..=3)
        .map(|i| {
            line(&mut b, "chart-rps", i)
                .unwrap()
                .answers(mark, u64::MAX)
        })
        .collect();
    let share = since[0] / since.iter().sum::<f64>();
    assert!(
        share < 0.25,
        "after the switch to least-conn the slow backend 1 drew {share:.2} of the answers"
    );

    // A burst from the page is marked too.
    b.click("#burst-send");
    b.wait_for("the burst's mark", |b| {
        b.attrs("#chart-rps line.mark.burst")
            .is_some_and(|a| a["data-label"] == "burst of 300")
    });
    b.wait_for("the burst's distribution", |b| b.text("#burst-1").is_some());
    std::thread::sleep(Duration::from_millis(800));
    let shot = b.screenshot();
    assert!(shot.starts_with(b"\x89PNG\r\n\x1a\n") && shot.len() > 10_000);
    let path = std::env::var_os("LBLAB_SCREENSHOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-chart.png")
        });
    std::fs::write(&path, &shot).unwrap();
    let _ = Instant::now();
}
