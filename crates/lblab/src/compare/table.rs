//! compare's text: what was run, a row per method, and lose-backend's key movement.

use std::fmt::Write as _;

use loadtest::BackendKey;

use super::measure::Measured;
use super::moved::{KeyMovement, Movement};
use crate::comparison::CompareSpec;
use crate::scenario::KeyKind;

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

pub fn text(
    spec: &CompareSpec,
    what: &str,
    measured: &[Measured],
    movement: Option<&KeyMovement>,
    served: &[Option<u64>],
    reconciled: bool,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "compare  --scenario {}: {}", spec.scenario, what);
    let _ = writeln!(s);
    let ids: Vec<BackendKey> = (1..=spec.backends()).map(BackendKey::Id).collect();
    // HAProxy's rows (`haproxy roundrobin`) are longer than nginx's method names.
    let w = measured
        .iter()
        .map(|m| m.method.to_string().chars().count())
        .max()
        .unwrap_or(0)
        .max(17);
    let _ = write!(s, "{:<w$}", "method");
    for k in &ids {
        let _ = write!(s, " {:>7}", format!("b{k}"));
    }
    let _ = writeln!(
        s,
        " {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>16}  theory",
        "max/min", "chi² p", "p50 ms", "p90 ms", "p99 ms", "errors", "sticky clients"
    );
    for m in measured {
        let _ = write!(s, "{:<w$}", m.method.to_string());
        for k in &ids {
            let _ = write!(s, " {:>7}", pct(m.shares.get(k).copied().unwrap_or(0.0)));
        }
        let sticky = match &m.stickiness {
            Some(st) => format!(
                "{}/{} ({:.0}%)",
                st.sticky,
                st.clients,
                st.main_share * 100.0
            ),
            None => "-".into(),
        };
        let max_min = m.spread.max_min.map_or("∞".into(), |r| format!("{r:.2}"));
        let p = m.spread.p.map_or("-".into(), |p| format!("{p:.3}"));
        let _ = writeln!(
            s,
            " {max_min:>8} {p:>8} {:>8.2} {:>8.2} {:>8.2} {:>7} {sticky:>16}  {}",
            m.latency_ms.p50,
            m.latency_ms.p90,
            m.latency_ms.p99,
            m.errors,
            m.theory.cell()
        );
    }
    if measured.iter().any(|m| m.stickiness.is_some()) {
        let _ = writeln!(
            s,
            "(sticky clients: clients answered by one backend only / all; in brackets, the answers from each client's main backend)"
        );
    }
    if let Some(mv) = movement {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "keys moved when backend {} left (a key moved when its backend changed):",
            mv.lost_backend
        );
        // As wide as the longest method's name (`haproxy hdr(X-Key) consistent`).
        let w = mv
            .methods
            .iter()
            .map(|m| m.method.to_string().len())
            .max()
            .unwrap_or(0)
            .max(17);
        let _ = writeln!(
            s,
            "{:<w$} {:<8} {:>34} {:>34}",
            "method", "key", "marked down", "removed from the upstream"
        );
        for m in &mv.methods {
            let _ = writeln!(
                s,
                "{:<w$} {:<8} {:>34} {:>34}",
                m.method.to_string(),
                match m.key {
                    KeyKind::Header => "header",
                    KeyKind::Source => "client",
                },
                moved(&m.marked_down),
                moved(&m.removed)
            );
        }
        let _ = writeln!(
            s,
            "(moved of all keys; in brackets, of the keys that were on the backend that left, and of the others)"
        );
        if mv
            .methods
            .iter()
            .any(|m| m.method.proxy == lblab_config::Proxy::Haproxy)
        {
            let _ = writeln!(
                s,
                "(haproxy: marked down is the server in maintenance through the runtime API, without a reload; removed is its server line left out of the backend, by a reload)"
            );
        }
    }
    let _ = writeln!(s);
    s.push_str(&super::theory_view::text(measured, movement));
    let served: Vec<String> = served
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{}: {}", i + 1, n.map_or("-".into(), |n| n.to_string())))
        .collect();
    let _ = writeln!(
        s,
        "served   {} by the backends' own count over every run ({})",
        served.join(", "),
        if reconciled {
            "= the client's"
        } else {
            "DIFFERS from the client's"
        }
    );
    for m in measured {
        for o in &m.expectations {
            let verdict = if o.ok { "PASS" } else { "FAIL" };
            let _ = writeln!(
                s,
                "expect {} under {}: {verdict}: {}",
                o.expect, m.method, o.message
            );
        }
    }
    s
}

fn moved(m: &Movement) -> String {
    format!(
        "{}/{} = {} ({}/{}, {} others)",
        m.moved,
        m.keys,
        pct(m.moved_share),
        m.moved - m.moved_others,
        m.lost_keys,
        m.moved_others
    )
}

/// The key movement as an HTML table for the report.
pub fn movement_html(mv: &KeyMovement) -> String {
    let mut s = String::from(
        "<table class=\"moved\">\n<tr><th>method</th><th>keyed on</th><th>moved, backend marked down</th><th>moved, backend removed</th></tr>\n",
    );
    for m in &mv.methods {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            m.method,
            match m.key {
                KeyKind::Header => "X-Key header",
                KeyKind::Source => "client address",
            },
            moved(&m.marked_down),
            moved(&m.removed)
        );
    }
    s.push_str("</table>\n<p>A key moved when another backend answered it after the change. In brackets: of the keys that were on the backend that left, how many moved; and how many of the other keys moved. With HAProxy, marked down is the server put in maintenance through the runtime API (no reload), and removed is its server line left out of the backend (a reload).</p>\n");
    s
}
