//! compare's report page, and the sentence that says what was compared (the report's and the
//! table's head).

use std::fmt::Write as _;

use super::measure::Measured;
use super::moved::KeyMovement;
use crate::comparison::CompareSpec;
use crate::report::{Page, Shown};

/// The lab and the load in one sentence, for the table's head and the report's title.
pub fn what(spec: &CompareSpec, methods: usize) -> String {
    let b = spec.backends();
    let mut s = format!("{methods} methods, {b} backends");
    let delays: Vec<String> = spec
        .lab
        .delays()
        .iter()
        .map(|(id, d)| match id {
            Some(id) => format!("backend {id} delayed {d} ms"),
            None => format!("every backend delayed {d} ms"),
        })
        .collect();
    if !delays.is_empty() {
        let _ = write!(s, " ({})", delays.join(", "));
    }
    if let Some(w) = &spec.lab.balancer().weights() {
        let _ = write!(s, ", weights {w}");
    }
    let _ = write!(s, "; each method {}", spec.load.sentence());
    if let Some(k) = &spec.hash_key {
        let _ = write!(s, ", hash key {k}");
    }
    s
}

pub fn page<'a>(
    spec: &CompareSpec,
    measured: &'a [Measured],
    movement: Option<&KeyMovement>,
) -> Page<'a> {
    Page {
        title: format!("lblab compare --scenario {}", spec.scenario),
        what: what(spec, measured.len()),
        runs: measured
            .iter()
            .map(|m| Shown {
                label: m.method.to_string(),
                report: &m.report,
            })
            .collect(),
        backends: spec.backends() as usize,
        markers: Vec::new(),
        backends_in_flight: None,
        sections: movement
            .map(|mv| {
                (
                    format!("Keys moved when backend {} left", mv.lost_backend),
                    super::table::movement_html(mv),
                )
            })
            .into_iter()
            .chain([(
                "Theory beside measurement".to_owned(),
                super::theory_view::html(measured, movement),
            )])
            .collect(),
    }
}
