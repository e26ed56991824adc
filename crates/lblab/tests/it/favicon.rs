//! A browser's /favicon.ico is answered by nginx itself, so it takes no backend's turn.

use crate::common::Up;
use crate::dashboard_support::{addr_of, request, stats_served};

#[test]
fn the_favicon_request_takes_no_round_robin_turn() {
    let up = Up::start(&[]);
    let status = up.status();
    let lab = addr_of(status["url"].as_str().unwrap());
    let mut seen = Vec::new();
    for _ in 0..4 {
        let page = request(lab, "GET", "/", None, &[], "");
        assert_eq!(page.status, 200);
        seen.push(page.body);
        let icon = request(lab, "GET", "/favicon.ico", None, &[], "");
        assert_eq!(icon.status, 204, "nginx answers the favicon: {}", icon.body);
    }
    let want: Vec<String> = [1, 2, 3, 1]
        .iter()
        .map(|i| format!("Hello from Server {i}!"))
        .collect();
    assert_eq!(seen, want, "page, favicon, page, …: the pages take turns");
    assert_eq!(stats_served(&status).iter().sum::<u64>(), 4);
}
