//! The dashboard of a lab that runs HAProxy: the page names HAProxy, its buttons are HAProxy's
//! methods (from haproxy/methods.json), a click switches through the same door as `lblab switch`
//! (a seamless reload: the backends and HAProxy's master keep their PIDs), and the counts and the
//! chart are the backends' own `/stats`, as with nginx. The browser test needs `chromium` (Debian)
//! on PATH, or LBLAB_CHROMIUM; the other speaks HTTP only.

use crate::common::haproxy;
use crate::dashboard_support::cdp::Browser;
use crate::dashboard_support::chart::line;
use crate::dashboard_support::{
    Dash, addr_of, get, pids, request, stats_served, up_with_dashboard,
};

/// `lblab up --proxy haproxy --dashboard`, with the haproxy on PATH.
fn up_haproxy_with_dashboard() -> (crate::common::Up, Dash) {
    let bin = haproxy();
    up_with_dashboard(&["--proxy", "haproxy", "--haproxy", bin.to_str().unwrap()])
}

/// Whether each backend's line on the answers chart adds up to what its `/stats` says it served.
fn chart_adds_up_to(b: &mut Browser, served: &[u64]) -> bool {
    served.iter().enumerate().all(|(i, &n)| {
        line(b, "chart-rps", i as u32 + 1)
            .is_some_and(|l| (l.answers(0, u64::MAX) - n as f64).abs() < 1e-6)
    })
}

#[test]
fn the_haproxy_page_switches_haproxy_with_a_click_and_draws_stats() {
    let (up, d) = up_haproxy_with_dashboard();
    let before = up.status();
    assert_eq!(before["proxy"], "haproxy");
    let lab = addr_of(before["url"].as_str().unwrap());
    for _ in 0..30 {
        assert_eq!(request(lab, "GET", "/", None, &[], "").status, 200);
    }
    let served = stats_served(&before);
    assert_eq!(served, [10, 10, 10], "roundrobin over three backends");

    let mut b = Browser::launch();
    b.navigate(&d.url);
    b.wait_for("the counts of /stats on the page", |b| {
        served
            .iter()
            .enumerate()
            .all(|(i, n)| b.text(&format!("#backend-{}-served", i + 1)) == Some(n.to_string()))
    });
    assert_eq!(b.text("#proxy").as_deref(), Some("haproxy"));
    assert_eq!(b.text("#current-method").as_deref(), Some("roundrobin"));
    // HAProxy's buttons, and none of nginx's that HAProxy lacks.
    for (id, label) in [
        ("#method-static-rr", "static-rr"),
        ("#method-first", "first"),
        ("#method-hdr", "hdr(X-Key)"),
        ("#method-random", "random(2)"),
    ] {
        assert_eq!(b.text(id).as_deref(), Some(label), "{id}");
    }
    assert_eq!(
        b.text("#method-ip-hash"),
        None,
        "nginx's ip-hash is offered"
    );
    b.wait_for("the chart to add up to /stats", |b| {
        chart_adds_up_to(b, &served)
    });

    b.click("#method-leastconn");
    b.wait_for("leastconn on the page", |b| {
        b.text("#current-method").as_deref() == Some("leastconn")
    });
    let after = up.status();
    assert_eq!(after["method"], "leastconn", "lblab status after the click");
    assert_eq!(
        pids(&after),
        pids(&before),
        "the backends (or HAProxy's master) were restarted"
    );
    b.wait_for("the switch's mark", |b| {
        b.attrs("#chart-rps line.mark.switch")
            .is_some_and(|a| a["data-label"] == "→ leastconn")
    });

    // A burst from the page goes through HAProxy; what the page and the chart show is /stats.
    b.click("#burst-send");
    b.wait_for("the burst's distribution", |b| b.text("#burst-1").is_some());
    let served = stats_served(&after);
    assert_eq!(served.iter().sum::<u64>(), 330);
    b.wait_for("the counts after the burst", |b| {
        served
            .iter()
            .enumerate()
            .all(|(i, n)| b.text(&format!("#backend-{}-served", i + 1)) == Some(n.to_string()))
    });
    b.wait_for("the chart to add up to /stats after the burst", |b| {
        chart_adds_up_to(b, &served)
    });

    // Scripts off: the hash button is a plain form post.
    b.scripts(false);
    b.navigate(&format!("http://{}/", d.addr));
    b.click("#method-hdr");
    b.wait_for("hdr(X-Key) on the reloaded page", |b| {
        b.text("#current-method").as_deref() == Some("hdr(X-Key)")
    });
    let last = up.status();
    assert_eq!(last["method"], "hdr(X-Key)");
    assert_eq!(pids(&last), pids(&before));
}

#[test]
fn a_haproxy_dashboard_refuses_nginx_methods_and_strangers_as_nginx_s_does() {
    let (up, d) = up_haproxy_with_dashboard();
    let before = up.status();
    let token = d.token();
    let page = d.get("/").body;
    assert!(page.contains(r#"id="method-leastconn""#), "{page}");
    assert!(!page.contains(r#"id="method-least-conn""#), "{page}");
    // nginx's ip-hash is not HAProxy's: refused in one line naming HAProxy's methods, nothing
    // changed.
    let a = d.request(
        "POST",
        "/switch",
        None,
        &[],
        &format!("token={token}&method=ip-hash"),
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.body.trim().lines().count(), 1, "{}", a.body);
    assert!(
        a.body.contains("--proxy haproxy") && a.body.contains("static-rr"),
        "{}",
        a.body
    );
    assert_eq!(up.status()["method"], "roundrobin");
    // A HAProxy method with an argument, as the button posts it (URL-encoded).
    let a = d.request(
        "POST",
        "/switch",
        None,
        &[("Accept", "application/json")],
        &format!("token={token}&method=random%283%29"),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let state: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(state["method"], "random(3)");
    assert_eq!(
        state["method_name"], "random(2)",
        "the random button is lit"
    );
    assert_eq!(state["proxy"], "haproxy");
    assert_eq!(pids(&up.status()), pids(&before));
    // The same guard as nginx's: no session, no state and no switch; a wrong token, no switch.
    assert_eq!(get(d.addr, "/state.json").status, 403);
    let a = request(
        d.addr,
        "POST",
        "/switch",
        None,
        &[],
        &format!("token={token}&method=leastconn"),
    );
    assert_eq!(a.status, 403);
    let a = d.request("POST", "/switch", None, &[], "token=wrong&method=leastconn");
    assert_eq!(a.status, 403);
    assert_eq!(up.status()["method"], "random(3)");
}
