//! The dashboard in a real browser: headless Chromium over the DevTools protocol opens the URL `up`
//! printed (its key is exchanged for the session cookie), sees the backends' own counts, switches
//! the method with a mouse click (with the page's scripts on, then off) and takes a screenshot.
//! Needs `chromium` (Debian) on PATH, or LBLAB_CHROMIUM.

use crate::dashboard_support::cdp::Browser;
use crate::dashboard_support::{addr_of, pids, request, stats_served, up_with_dashboard};

/// Whether the page shows each backend's `/stats` count.
fn counts_shown(b: &mut Browser, served: &[u64]) -> bool {
    served
        .iter()
        .enumerate()
        .all(|(i, n)| b.text(&format!("#backend-{}-served", i + 1)) == Some(n.to_string()))
}

#[test]
fn the_page_shows_the_counts_and_a_click_switches_nginx() {
    let (up, d) = up_with_dashboard(&[]);
    let before = up.status();
    let lab = addr_of(before["url"].as_str().unwrap());
    // Seven answers: 3/2/2, so a page that showed anything but the backends' own counts would differ.
    for _ in 0..7 {
        assert_eq!(request(lab, "GET", "/", None, &[], "").status, 200);
    }
    let served = stats_served(&before);
    assert_eq!(served, [3, 2, 2]);

    let mut b = Browser::launch();
    // The URL as printed, with its key: the browser is sent on to the plain URL with its cookie.
    b.navigate(&d.url);
    b.wait_for("the counts of /stats on the page", |b| {
        counts_shown(b, &served)
    });
    assert_eq!(b.text("#current-method").as_deref(), Some("round-robin"));
    b.wait_for("the latest answers on the page", |b| {
        b.text("#recent li")
            .is_some_and(|t| t.starts_with("Hello from Server "))
    });

    // Scripts on: the click posts in the background and the poll shows the new method.
    b.click("#method-least-conn");
    b.wait_for("least-conn on the page", |b| {
        b.text("#current-method").as_deref() == Some("least-conn")
    });
    let after = up.status();
    assert_eq!(
        after["method"], "least-conn",
        "lblab status after the click"
    );
    assert_eq!(
        pids(&after),
        pids(&before),
        "the backends (or nginx's master) were restarted"
    );

    // A burst from the page: its distribution and the counts follow.
    b.click("#burst-send");
    b.wait_for("the burst's distribution", |b| b.text("#burst-1").is_some());
    let burst: u64 = (1..=3)
        .map(|i| {
            b.text(&format!("#burst-{i}"))
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(burst, 300);
    let served = stats_served(&after);
    assert_eq!(served.iter().sum::<u64>(), 307);
    b.wait_for("the counts after the burst", |b| counts_shown(b, &served));
    let shot = b.screenshot();
    assert!(
        shot.starts_with(b"\x89PNG\r\n\x1a\n") && shot.len() > 10_000,
        "not a PNG of the page"
    );
    // LBLAB_SCREENSHOT=docs/dashboard.png refreshes the README's picture.
    let path = std::env::var_os("LBLAB_SCREENSHOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png"));
    std::fs::write(&path, &shot).unwrap();

    // Scripts off: the same button is a plain form post, answered 303 back to the page.
    // The plain URL now: the session cookie is what lets the browser in.
    b.scripts(false);
    b.navigate(&format!("http://{}/", d.addr));
    b.click("#method-random");
    b.wait_for("random on the reloaded page", |b| {
        b.text("#current-method").as_deref() == Some("random")
    });
    let last = up.status();
    assert_eq!(last["method"], "random");
    assert_eq!(pids(&last), pids(&before));

    // Another browser, without the printed URL (another user's, say): the plain URL shows no
    // button and no count, only where the way in is.
    let mut other = Browser::launch();
    other.navigate(&format!("http://{}/", d.addr));
    let text = other.text("body").unwrap_or_default();
    assert!(text.contains("printed in its terminal"), "{text}");
    assert_eq!(
        other.text("#method-least-conn"),
        None,
        "a method button was shown"
    );
    assert_eq!(other.text("#backend-1-served"), None, "a count was shown");
}

/// The seed's experiment: open the lab's URL and reload; the answers take turns 1, 2, 3, 1, …
/// Before nginx answered /favicon.ico itself, the browser's favicon request took a turn too.
#[test]
fn a_browser_reloading_the_lab_sees_the_backends_take_turns() {
    let up = crate::common::Up::start(&[]);
    let url = up.status()["url"].as_str().unwrap().to_owned();
    let mut b = Browser::launch();
    let mut seen = Vec::new();
    for _ in 0..7 {
        b.navigate(&url);
        let text = b.text("body").unwrap();
        let id: u32 = text
            .trim_start_matches("Hello from Server ")
            .trim_end_matches('!')
            .parse()
            .unwrap_or_else(|_| panic!("not a backend's answer: {text}"));
        seen.push(id);
    }
    let turns: Vec<bool> = seen.windows(2).map(|w| w[1] == w[0] % 3 + 1).collect();
    assert!(
        turns.iter().all(|&t| t),
        "the answers on reload were {seen:?}, not 1, 2, 3 in turn"
    );
}
