//! The HTML page: complete without scripts (a table refreshed by `<meta http-equiv=refresh>`, forms
//! that post and come back); `dashboard.js` keeps it current from `/state.json` instead.

use std::fmt::Write as _;

use super::token::Token;
use super::view::{View, percent};

pub const SCRIPT: &str = include_str!("dashboard.js");
pub const STYLE: &str = include_str!("dashboard.css");

/// The page for anyone without the session: no form, no token, no counts.
pub const NOT_SIGNED_IN: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lblab dashboard</title>
<link rel="stylesheet" href="/dashboard.css"></head><body><main>
<h1>lblab</h1>
<p>This dashboard belongs to the user who started the lab. To open it, use the URL that
<code>lblab up --dashboard</code> printed in its terminal: it ends in <code>?key=…</code>.</p>
</main></body></html>
"#;

/// Text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("–".to_owned(), |v| v.to_string())
}

pub fn render(v: &View, token: &Token) -> String {
    let t = esc(token.as_str());
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>lblab dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="1"></noscript>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head><body>
<header><h1>lblab</h1><span class="sub"><span id="proxy">{proxy}</span> at <a href="{url}">{url}</a></span></header>
<main>
<section class="card"><h2>Balancing method</h2>
<p class="method"><strong id="current-method">{method}</strong></p>
<form method="post" action="/switch" class="methods" data-action="switch">
<input type="hidden" name="token" value="{t}">
"#,
        url = esc(&v.lab_url),
        proxy = esc(&v.proxy),
        method = esc(&v.method),
    );
    for m in &v.methods {
        let current = if v.method_name.as_ref() == Some(&m.value) {
            r#" class="current" aria-pressed="true""#
        } else {
            ""
        };
        let _ = writeln!(
            h,
            r#"<button type="submit" name="method" value="{value}" id="{id}"{current}>{value}</button>"#,
            value = esc(&m.value),
            id = esc(&m.id),
        );
    }
    h.push_str(
        r#"</form></section>
<section class="card"><h2>Backends</h2>
<table id="backends"><thead><tr><th>backend</th><th>pid</th><th class="num">req/s</th><th class="num">served</th><th class="share">share of turns</th></tr></thead><tbody>
"#,
    );
    for b in &v.backends {
        let share = v.share(b);
        let _ = writeln!(
            h,
            r#"<tr id="backend-{id}"><td>Server {id} <small>{addr}</small></td><td id="backend-{id}-pid">{pid}</td><td class="num" id="backend-{id}-rps">{rps:.1}</td><td class="num" id="backend-{id}-served">{served}</td><td class="share"><span class="track"><span class="fill" id="backend-{id}-bar" style="width:{share:.1}%"></span></span><span class="pct" id="backend-{id}-share">{share:.1}%</span></td></tr>"#,
            id = b.id,
            addr = b.addr,
            pid = opt(b.pid),
            rps = b.rps,
            served = opt(b.served),
        );
    }
    let _ = write!(
        h,
        r#"</tbody><tfoot><tr><td colspan="3">total</td><td class="num" id="total-served">{}</td><td></td></tr></tfoot></table>
</section>
<section class="card"><h2>Over time <small>the last minute, from each backend's own /stats; a switch or a burst is a vertical line</small></h2>
<div id="chart-legend" class="legend"></div>
<svg id="chart-rps" class="chart" role="img" aria-label="answers per second of each backend"></svg>
<svg id="chart-in-flight" class="chart" role="img" aria-label="requests in flight at each backend"></svg>
<noscript><p>The charts are drawn by the page's script.</p></noscript>
</section>
<div class="cols">
<section class="card"><h2>Latest answers <small>newest first</small></h2><ol id="recent">
"#,
        v.total_served
    );
    for a in &v.recent {
        let times = if a.times > 1 {
            format!(r#" <span class="times">×{}</span>"#, a.times)
        } else {
            String::new()
        };
        let _ = writeln!(
            h,
            r#"<li class="b{}">{}{times}</li>"#,
            a.backend,
            esc(&a.text)
        );
    }
    let _ = write!(
        h,
        r#"</ol></section>
<section class="card"><h2>Send requests</h2>
<form method="post" action="/burst" class="burst" data-action="burst">
<input type="hidden" name="token" value="{t}">
<label>send <input type="number" name="count" id="burst-count" value="300" min="1" max="{max}"> requests</label>
<button type="submit" id="burst-send">send</button>
</form>
<div id="burst">"#,
        max = super::burst::MAX_REQUESTS,
    );
    if let Some(b) = &v.burst {
        let _ = write!(
            h,
            r#"<p>last burst: {} requests, {} ok, {} errors, {:.2} s</p><table class="dist">"#,
            b.requests, b.ok, b.errors, b.elapsed_s
        );
        for (k, n) in &b.counts {
            let p = percent(*n, b.ok);
            let _ = write!(
                h,
                r#"<tr><td>Server {k}</td><td class="num" id="burst-{k}">{n}</td><td class="share"><span class="track"><span class="fill" style="width:{p:.1}%"></span></span><span class="pct">{p:.1}%</span></td></tr>"#,
                k = esc(k),
            );
        }
        h.push_str("</table>");
    }
    let _ = write!(
        h,
        r#"</div></section></div>
<p id="message" role="status">{}</p>
</main>
<footer>Counts are the backends' own, from their <code>/stats</code>, every second. The method buttons are {proxy}'s and do what <code>lblab switch --method M</code> does: {proxy} reloads, the backends keep their PIDs.</footer>
</body></html>
"#,
        esc(v.message.as_deref().unwrap_or("")),
        proxy = esc(&v.proxy),
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
