//! HAProxy's own witness of a run: how often it picked each server (`lbtot`), set against the
//! client's count for each backend. Without faults every pick is one answer: HAProxy retries only
//! a failed connection or an empty or 502/503 answer, and none comes from a backend that runs.

use loadtest::{BackendKey, Report};

/// HAProxy's picks against the client's counts, in one line for the run's report, and whether
/// they agree. `judged`: false when faults or a signal made a pick and an answer differ (a retried
/// request is picked twice), so that the counts are shown but not compared.
pub fn line(picks: &Result<Vec<u64>, String>, report: &Report, judged: bool) -> (bool, String) {
    let picks = match picks {
        Ok(p) => p,
        Err(e) => {
            return (
                !judged,
                format!("picked   HAProxy's lbtot could not be read: {e}"),
            );
        }
    };
    let each: Vec<String> = picks
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let client = report
                .counts
                .get(&BackendKey::Id(i as u32 + 1))
                .copied()
                .unwrap_or(0);
            format!("{}: {p} picked, {client} counted", i + 1)
        })
        .collect();
    let agree = picks.iter().enumerate().all(|(i, p)| {
        report
            .counts
            .get(&BackendKey::Id(i as u32 + 1))
            .copied()
            .unwrap_or(0)
            == *p
    });
    let text = match (judged, agree) {
        (false, _) => format!(
            "picked   by HAProxy (lbtot), not judged: {}",
            each.join("; ")
        ),
        (true, true) => format!(
            "picked   by HAProxy (lbtot) = the client's: {}",
            each.join("; ")
        ),
        (true, false) => format!(
            "FAIL: HAProxy's picks (lbtot) disagree with the client's counts: {}",
            each.join("; ")
        ),
    };
    (agree || !judged, text)
}

/// HAProxy's picks during one run (its `lbtot` after less before, read on the same worker) equal
/// the client's counts of that run; else the counts in one line.
pub fn run_agrees(
    before: Result<Vec<u64>, String>,
    after: Option<Result<Vec<u64>, String>>,
    report: &Report,
) -> Result<(), String> {
    let after = after.ok_or("HAProxy's lbtot could not be read after the run")??;
    let before = before?;
    let picked: Vec<u64> = after
        .iter()
        .zip(before.iter().chain(std::iter::repeat(&0)))
        .map(|(a, b)| a.saturating_sub(*b))
        .collect();
    let counted: Vec<u64> = (1..=picked.len() as u32)
        .map(|id| report.counts.get(&BackendKey::Id(id)).copied().unwrap_or(0))
        .collect();
    if picked == counted {
        Ok(())
    } else {
        Err(format!(
            "HAProxy's picks (lbtot) {picked:?} disagree with the client's counts {counted:?}"
        ))
    }
}
