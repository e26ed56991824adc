//! `lblab up --dashboard` over real HTTP: what it refuses (and that the lab stays as it was), to
//! anyone without the URL `up` printed too, the forms as a browser without scripts posts them, and
//! the addresses it will not take. How many connections it holds is `dashboard_connections`'.

use std::net::TcpListener;

use crate::common::Up;
use crate::dashboard_support::{get, pids, request, stats_served, token_in, up_with_dashboard};

/// Every refusal is a 4xx with one line saying why.
fn assert_refused(a: &crate::dashboard_support::Answer, status: u16, says: &str) {
    assert_eq!(a.status, status, "answer: {}", a.body);
    assert!(a.body.contains(says), "'{}' does not say '{says}'", a.body);
    assert_eq!(
        a.body.trim_end().lines().count(),
        1,
        "not one line: {:?}",
        a.body
    );
}

#[test]
fn forged_and_malformed_requests_are_refused_and_the_lab_stays_as_it_was() {
    let (up, d) = up_with_dashboard(&[]);
    let addr = d.addr;
    let before = up.status();
    let served_before = stats_served(&before);
    let t = d.token();
    let own = format!("http://{addr}");
    let post = |host: Option<&str>, origin: Option<&str>, path: &str, body: &str| {
        let mut h = vec![];
        if let Some(o) = origin {
            h.push(("Origin", o));
        }
        d.request("POST", path, host, &h, body)
    };
    let port = addr.port().to_string();
    let evil_host = format!("evil.example:{port}");

    // No token, or a wrong one.
    assert_refused(
        &post(None, None, "/switch", "method=least-conn"),
        403,
        "token",
    );
    assert_refused(
        &post(
            None,
            Some(&own),
            "/switch",
            "token=0123456789abcdef0123456789abcdef&method=least-conn",
        ),
        403,
        "token",
    );
    assert_refused(&post(None, None, "/burst", "count=10"), 403, "token");
    // DNS rebinding: the right token (a rebound page could have read the page) from a foreign name.
    let body = format!("token={t}&method=least-conn");
    assert_refused(
        &post(Some(&evil_host), None, "/switch", &body),
        403,
        "Host 'evil.example",
    );
    assert_refused(
        &d.request("GET", "/", Some(&evil_host), &[], ""),
        403,
        "Host",
    );
    assert_refused(
        &d.request("GET", "/state.json", Some(&evil_host), &[], ""),
        403,
        "Host",
    );
    assert_refused(
        &post(None, Some("http://evil.example"), "/switch", &body),
        403,
        "Origin",
    );
    assert_refused(&post(None, Some("null"), "/switch", &body), 403, "Origin");
    // Right token and origin, wrong input.
    assert_refused(
        &post(
            None,
            Some(&own),
            "/switch",
            &format!("token={t}&method=fastest"),
        ),
        400,
        "unknown method 'fastest'",
    );
    assert_refused(
        &post(None, Some(&own), "/switch", &format!("token={t}")),
        400,
        "no method",
    );
    for count in ["0", "-1", "lots", "10001", ""] {
        assert_refused(
            &post(
                None,
                Some(&own),
                "/burst",
                &format!("token={t}&count={count}"),
            ),
            400,
            "from 1 to 10000",
        );
    }
    // Only POST changes anything; nothing is served outside the dashboard's routes.
    let a = d.request(
        "GET",
        &format!("/switch?token={t}&method=least-conn"),
        None,
        &[],
        "",
    );
    assert_refused(&a, 405, "allowed: POST");
    assert_refused(
        &d.request("POST", "/", None, &[], &body),
        405,
        "allowed: GET",
    );
    for path in ["/favicon.ico", "/stats", "/../etc/passwd", "/switch/x"] {
        assert_refused(&d.get(path), 404, "not found");
    }

    let after = up.status();
    assert_eq!(
        after["method"], "round-robin",
        "a refused switch changed the method"
    );
    assert_eq!(pids(&after), pids(&before), "the lab's processes changed");
    assert_eq!(
        stats_served(&after),
        served_before,
        "a refused burst sent requests"
    );
    assert_eq!(d.state()["method"], "round-robin");
}

/// Every local user can connect to a loopback port: what the page shows them must not let them
/// switch or burst. They have only what a plain GET gives; even the owner's form token, had it
/// leaked, is refused without the session cookie the printed URL gives.
#[test]
fn a_client_without_the_printed_url_cannot_switch_or_burst() {
    let (up, d) = up_with_dashboard(&[]);
    let addr = d.addr;
    let before = up.status();
    let served_before = stats_served(&before);
    let own = format!("http://{addr}");
    let key = d.url.split_once("?key=").expect("the URL has a key").1;
    assert!(key.len() >= 32, "a short key: {key}");
    assert!(
        !before.to_string().contains(key),
        "`lblab status` shows the key"
    );

    let page = get(addr, "/");
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("printed in its terminal"),
        "{}",
        page.body
    );
    assert_eq!(
        token_in(&page.body),
        None,
        "the page gave its form token away"
    );
    for shown in ["/switch", "/burst", "method-", "backend-"] {
        assert!(!page.body.contains(shown), "the page shows {shown}");
    }
    assert!(page.header("set-cookie").is_none());
    assert_refused(&get(addr, "/state.json"), 403, "printed in its terminal");
    for wrong in [
        "0123456789abcdef0123456789abcdef",
        "",
        &key[..key.len() - 1],
    ] {
        let a = get(addr, &format!("/?key={wrong}"));
        assert_eq!(a.status, 403, "key '{wrong}': {}", a.body);
        assert!(
            a.header("set-cookie").is_none(),
            "key '{wrong}' got a cookie"
        );
    }

    // What the page showed (no token), then the owner's token itself, with no cookie or a
    // made-up one.
    let t = d.token();
    let forged = format!("lblab-{}=0123456789abcdef0123456789abcdef", addr.port());
    for (path, body) in [
        ("/switch", "method=least-conn".to_owned()),
        ("/switch", format!("token={t}&method=least-conn")),
        ("/burst", format!("token={t}&count=10000")),
    ] {
        let plain = request(addr, "POST", path, None, &[("Origin", &own)], &body);
        assert_refused(&plain, 403, "printed in its terminal");
        let made_up = request(
            addr,
            "POST",
            path,
            None,
            &[("Origin", &own), ("Cookie", &forged)],
            &body,
        );
        assert_refused(&made_up, 403, "printed in its terminal");
    }

    let after = up.status();
    assert_eq!(after["method"], "round-robin", "a switch got through");
    assert_eq!(pids(&after), pids(&before));
    assert_eq!(stats_served(&after), served_before, "a burst got through");
    // The owner, meanwhile, still can.
    let a = d.request(
        "POST",
        "/switch",
        None,
        &[("Origin", &own)],
        &format!("token={t}&method=least-conn"),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(up.status()["method"], "least-conn");
}

#[test]
fn forms_post_without_scripts_and_come_back_to_the_page() {
    let (up, d) = up_with_dashboard(&["-b", "2"]);
    let addr = d.addr;
    let before = up.status();
    let t = d.token();
    let own = format!("http://{addr}");
    let origin = [("Origin", own.as_str())];

    let a = d.request(
        "POST",
        "/switch",
        None,
        &origin,
        &format!("token={t}&method=least-conn"),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.header("location"), Some("/"));
    let after = up.status();
    assert_eq!(after["method"], "least-conn");
    assert_eq!(pids(&after), pids(&before), "switching restarted a process");
    let page = d.get("/").body;
    assert!(page.contains(r#"<strong id="current-method">least-conn</strong>"#));
    assert!(page.contains(r#"<noscript><meta http-equiv="refresh" content="1"></noscript>"#));

    let a = d.request(
        "POST",
        "/burst",
        None,
        &origin,
        &format!("token={t}&count=30"),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let served = stats_served(&after);
    assert_eq!(
        served.iter().sum::<u64>(),
        30,
        "the burst sent 30 requests: {served:?}"
    );
    let s = d.state();
    let shown: Vec<u64> = (0..2)
        .map(|i| s["backends"][i]["served"].as_u64().unwrap())
        .collect();
    assert_eq!(shown, served, "the page's counts are the backends' own");
    let burst: u64 = s["burst"]["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(burst, 30);
    let page = d.get("/").body;
    for (i, n) in served.iter().enumerate() {
        let id = i + 1;
        assert!(
            page.contains(&format!(r#"id="backend-{id}-served">{n}</td>"#)),
            "backend {id}"
        );
    }
}

/// `up` must stop before it starts anything, so nothing of a lab is left in its TMPDIR.
fn assert_refused_up(args: &[&str], says: &str) {
    let mut up = Up::spawn(args, std::process::Stdio::null());
    let status = up.child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(up.child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "lblab up {args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(says), "'{err}' does not say '{says}'");
    let left: Vec<_> = std::fs::read_dir(up.scratch.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("lblab-"))
        .collect();
    assert!(left.is_empty(), "a lab was started: {left:?}");
    assert!(!up.state.join("lab.json").exists());
}

#[test]
fn a_public_or_taken_dashboard_address_stops_up_before_the_lab_starts() {
    assert_refused_up(&["--dashboard", "0.0.0.0:0"], "--dashboard-public");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    assert_refused_up(&["--dashboard", &addr], &format!("--dashboard {addr}"));
}
