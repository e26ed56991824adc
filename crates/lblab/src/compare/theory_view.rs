//! compare's theory, shown: a line per method under the table, and the same as an HTML table for
//! the report; lose-backend's key movement has its own lines.

use std::fmt::Write as _;

use super::measure::Measured;
use super::moved::KeyMovement;
use crate::report::esc;

/// `theory   round-robin: each backend in turn …: fits`, a line per method and per movement.
pub fn text(measured: &[Measured], movement: Option<&KeyMovement>) -> String {
    let mut s = String::new();
    for m in measured {
        let _ = writeln!(s, "theory   {}: {}", m.method, m.theory.line());
    }
    if let Some(mv) = movement {
        for m in &mv.methods {
            for (phase, t) in [
                ("marked down", &m.theory.marked_down),
                ("removed", &m.theory.removed),
            ] {
                let _ = writeln!(s, "theory   {} keys, {phase}: {}", m.method, t.line());
            }
        }
    }
    s
}

/// The same as the report's section: a row per method (and movement), the claim and the verdict.
pub fn html(measured: &[Measured], movement: Option<&KeyMovement>) -> String {
    let mut s = String::from(
        "<table class=\"theory\">\n<tr><th>method</th><th>theory expects</th><th>measured</th></tr>\n",
    );
    for m in measured {
        row(&mut s, &m.method.to_string(), &m.theory);
    }
    if let Some(mv) = movement {
        for m in &mv.methods {
            row(
                &mut s,
                &format!("{} keys, marked down", m.method),
                &m.theory.marked_down,
            );
            row(
                &mut s,
                &format!("{} keys, removed", m.method),
                &m.theory.removed,
            );
        }
    }
    s.push_str("</table>\n<p>Exact: each backend within one answer of its weighted share (HAProxy's weighted roundrobin two, its weighted static-rr two under and one over). Band: each backend's count inside mean ± 3σ of a binomial count (outside it by chance about 0.27% of the time per backend; HAProxy's random widened by its ring's unevenness). Sticky: each client network or key answered by one backend. Direction: no band, only which way it should lean. Theory judges nothing the run fails on.</p>\n");
    s
}

fn row(s: &mut String, label: &str, t: &crate::theory::Theory) {
    let _ = writeln!(
        s,
        "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>",
        match t.fits {
            Some(true) => "fits",
            Some(false) => "outside",
            None => "none",
        },
        esc(label),
        esc(&t.detail()),
        t.verdict()
    );
}
