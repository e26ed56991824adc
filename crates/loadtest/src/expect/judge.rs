//! A run held against one expectation: a function per kind, each giving the verdict and the
//! sentence that explains it.

use std::collections::{BTreeMap, BTreeSet};

use super::{Expectation, UNIFORM_ALPHA};
use crate::backend_key::{BackendKey, counts_dict};
use crate::stats::chi_square;

/// Whether the expectation held, and why.
type Verdict = (bool, String);

type Clients = BTreeMap<String, BTreeMap<BackendKey, u64>>;

/// What every kind looks at: the counts, their total, the backends that answered at all, and the
/// counts as the report prints them.
struct Answers<'a> {
    counts: &'a BTreeMap<BackendKey, u64>,
    total: u64,
    seen: Vec<BackendKey>,
    shown: String,
}

/// Judges a run. `backends` is how many backends are behind the target, if known; otherwise the
/// ones that answered (or the weights' count) are taken as all of them.
pub(super) fn judge(
    expectation: &Expectation,
    counts: &BTreeMap<BackendKey, u64>,
    backends: Option<usize>,
    clients: Option<&Clients>,
) -> Verdict {
    let total: u64 = counts.values().sum();
    let seen: Vec<BackendKey> = counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, _)| *k)
        .collect();
    let shown = counts_dict(counts);
    if total == 0 && !matches!(expectation, Expectation::Sticky) {
        return (false, "no request was answered".into());
    }
    if total > 0 && seen == [BackendKey::Unknown] {
        return (
            false,
            format!(
                "the answers could not be attributed: none of the {total} named its backend (no X-Backend-Id header, no 'Server N' in the body): {shown}"
            ),
        );
    }
    let answers = Answers {
        counts,
        total,
        seen,
        shown,
    };
    match expectation {
        Expectation::RoundRobin(w) => match Shares::of(&answers, w.as_ref(), backends) {
            Ok(shares) => round_robin(&answers, &shares),
            Err(stray) => stray,
        },
        Expectation::Uniform(w) => match Shares::of(&answers, w.as_ref(), backends) {
            Ok(shares) => uniform(&answers, &shares),
            Err(stray) => stray,
        },
        Expectation::One => one(&answers),
        Expectation::Backends(k) => distinct_backends(&answers, *k),
        Expectation::MaxShare(id, f) => share(&answers, *id, *f, Bound::AtMost),
        Expectation::MinShare(id, f) => share(&answers, *id, *f, Bound::AtLeast),
        Expectation::Sticky => sticky(clients),
        // `judge_report` holds a threshold against the whole report; the counts alone cannot.
        Expectation::Threshold(t) => (
            false,
            format!("{t} needs the run's latencies and errors, not only its counts"),
        ),
    }
}

/// The backends that should answer, with their weights, what they got and what they should have.
struct Shares {
    ids: Vec<u32>,
    weights: Vec<f64>,
    observed: Vec<u64>,
    exact: Vec<f64>,
}

impl Shares {
    /// `Err`: a backend outside those that should answer did, which fails either kind.
    fn of(
        answers: &Answers<'_>,
        weights: Option<&Vec<u32>>,
        backends: Option<usize>,
    ) -> Result<Shares, Verdict> {
        let Answers {
            counts,
            total,
            seen,
            shown,
        } = answers;
        // The backends that should answer: 1..=K when the weights or the caller say how many
        // there are, else the ones that did.
        let ids: Vec<u32> = match weights.map(Vec::len).or(backends) {
            Some(k) => (1..=k as u32).collect(),
            None => seen
                .iter()
                .filter_map(|b| match b {
                    BackendKey::Id(id) => Some(*id),
                    BackendKey::Unknown => None,
                })
                .collect(),
        };
        let weights: Vec<f64> = match weights {
            Some(w) => w.iter().map(|&x| f64::from(x)).collect(),
            None => vec![1.0; ids.len()],
        };
        if let Some(stray) = seen.iter().find(|b| match b {
            BackendKey::Id(id) => !ids.contains(id),
            BackendKey::Unknown => true,
        }) {
            return Err((
                false,
                format!(
                    "expected answers from backends {ids:?} only, got some from {stray}: {shown}"
                ),
            ));
        }
        let observed: Vec<u64> = ids
            .iter()
            .map(|id| counts.get(&BackendKey::Id(*id)).copied().unwrap_or(0))
            .collect();
        let wsum: f64 = weights.iter().sum();
        let exact: Vec<f64> = weights.iter().map(|w| *total as f64 * w / wsum).collect();
        Ok(Shares {
            ids,
            weights,
            observed,
            exact,
        })
    }
}

/// `round-robin`: every backend within ±1 of its exact share.
fn round_robin(answers: &Answers<'_>, shares: &Shares) -> Verdict {
    let shown = &answers.shown;
    let off = shares
        .observed
        .iter()
        .zip(&shares.exact)
        .enumerate()
        .find(|(_, (o, e))| (**o as f64 - **e).abs() > 1.0 + 1e-9);
    let want: Vec<String> = shares.exact.iter().map(|e| format!("{e:.1}")).collect();
    match off {
        Some((i, (o, e))) => (
            false,
            format!(
                "expected each backend within ±1 of [{}], backend {} got {o} (exact share {e:.1}): {shown}",
                want.join(", "),
                shares.ids[i]
            ),
        ),
        None => (
            true,
            format!("every backend within ±1 of [{}]: {shown}", want.join(", ")),
        ),
    }
}

/// `uniform`: every backend answered, and the chi-square test does not reject the shares.
fn uniform(answers: &Answers<'_>, shares: &Shares) -> Verdict {
    let shown = &answers.shown;
    let k = shares.ids.len();
    if let Some(i) = shares.observed.iter().position(|&o| o == 0) {
        return (
            false,
            format!(
                "expected all {k} backends to answer, backend {} got none: {shown}",
                shares.ids[i]
            ),
        );
    }
    let (stat, p) = chi_square(&shares.observed, &shares.weights);
    let verdict = format!(
        "chi-square {stat:.2}, df {}, p = {p:.4} (rejected below {UNIFORM_ALPHA})",
        k - 1
    );
    (p >= UNIFORM_ALPHA, format!("{verdict}: {shown}"))
}

/// `one`: every answer from a single backend.
fn one(answers: &Answers<'_>) -> Verdict {
    let Answers {
        total, seen, shown, ..
    } = answers;
    match seen.as_slice() {
        [only] => (true, format!("all {total} from backend {only}")),
        _ => (
            false,
            format!(
                "expected every answer from one backend, got {}: {shown}",
                seen.len()
            ),
        ),
    }
}

/// `backends=K`: exactly K distinct backends answered.
fn distinct_backends(answers: &Answers<'_>, k: usize) -> Verdict {
    let Answers { seen, shown, .. } = answers;
    (
        seen.len() == k,
        format!(
            "{} distinct backends answered (expected {k}): {shown}",
            seen.len()
        ),
    )
}

/// Which side of the fraction a share must stay on.
enum Bound {
    AtMost,
    AtLeast,
}

/// `max-share` and `min-share`: backend `id`'s share of the answers against `fraction`.
fn share(answers: &Answers<'_>, id: u32, fraction: f64, bound: Bound) -> Verdict {
    let Answers {
        counts,
        total,
        shown,
        ..
    } = answers;
    let got = counts.get(&BackendKey::Id(id)).copied().unwrap_or(0);
    let share = got as f64 / *total as f64;
    let (ok, rel) = match bound {
        Bound::AtMost => (share <= fraction, "at most"),
        Bound::AtLeast => (share >= fraction, "at least"),
    };
    (
        ok,
        format!(
            "backend {id} got {:.1}% (expected {rel} {:.1}%): {shown}",
            share * 100.0,
            fraction * 100.0
        ),
    )
}

/// `sticky`: every client was always answered by one backend.
fn sticky(clients: Option<&Clients>) -> Verdict {
    let Some(clients) = clients else {
        return (
            false,
            "sticky needs several clients: give several --source-ip addresses or a varying -H header"
                .into(),
        );
    };
    let split: Vec<String> = clients
        .iter()
        .filter(|(_, m)| m.values().filter(|n| **n > 0).count() > 1)
        .map(|(c, m)| format!("{c} → {}", counts_dict(m)))
        .collect();
    let used: BTreeSet<BackendKey> = clients.values().flat_map(|m| m.keys().copied()).collect();
    if split.is_empty() {
        (
            true,
            format!(
                "each of {} clients always reached the same backend ({} backends used in all)",
                clients.len(),
                used.len()
            ),
        )
    } else {
        let n = split.len();
        let first: Vec<String> = split.into_iter().take(3).collect();
        (
            false,
            format!(
                "{n} of {} clients reached more than one backend, e.g. {}",
                clients.len(),
                first.join("; ")
            ),
        )
    }
}
