//! One method's row of the comparison, from its run's report: the shares, how uneven they are, the
//! latency, and how sticky each client stayed.

use std::collections::BTreeMap;

use loadtest::{BackendKey, Latency, Outcome, Report};
use serde::Serialize;

use crate::scenario::Contender;
use crate::theory::Theory;

#[derive(Debug, Serialize)]
pub struct Measured {
    pub method: Contender,
    /// The hash key, for hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_key: Option<String>,
    pub counts: BTreeMap<BackendKey, u64>,
    /// Of the answered requests, 0.0–1.0, every backend listed.
    pub shares: BTreeMap<BackendKey, f64>,
    pub spread: Spread,
    pub latency_ms: Latency,
    /// Present when the run had several clients or keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<Stickiness>,
    pub errors: u64,
    pub expectations: Vec<Outcome>,
    pub passed: bool,
    /// What the method should have given, and whether this run fits.
    pub theory: Theory,
    pub report: Report,
}

/// How unevenly the answers were spread over backends 1..=N.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Spread {
    /// The largest share over the smallest; `None` when a backend got nothing.
    pub max_min: Option<f64>,
    /// Pearson's chi-square against the even (or weighted) shares, the same test as
    /// `--expect uniform`; `None` when nothing was answered.
    pub chi_square: Option<f64>,
    pub p: Option<f64>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Stickiness {
    pub clients: usize,
    /// Clients whose every answer came from one backend.
    pub sticky: usize,
    /// Of all answers, the share that came from their client's most frequent backend.
    pub main_share: f64,
}

pub fn measure(
    method: Contender,
    hash_key: Option<String>,
    backends: usize,
    weights: Option<&[u32]>,
    theory: Theory,
    report: Report,
) -> Measured {
    let ids: Vec<BackendKey> = (1..=backends as u32).map(BackendKey::Id).collect();
    let counts = report.counts.clone();
    let shares = report.backends.iter().map(|(k, b)| (*k, b.share)).collect();
    Measured {
        method,
        hash_key,
        spread: spread(&counts, &ids, weights),
        latency_ms: report.latency_ms,
        stickiness: report.clients.as_ref().map(stickiness),
        errors: report.errors,
        expectations: report.expectations.clone(),
        passed: report.passed,
        theory,
        counts,
        shares,
        report,
    }
}

fn spread(
    counts: &BTreeMap<BackendKey, u64>,
    ids: &[BackendKey],
    weights: Option<&[u32]>,
) -> Spread {
    let observed: Vec<u64> = ids
        .iter()
        .map(|k| counts.get(k).copied().unwrap_or(0))
        .collect();
    let w: Vec<f64> = match weights {
        Some(w) => w.iter().map(|&x| f64::from(x)).collect(),
        None => vec![1.0; ids.len()],
    };
    // Shares relative to each backend's weight, so that a weighted round-robin is 1.00 too.
    let rel: Vec<f64> = observed
        .iter()
        .zip(&w)
        .map(|(&o, &w)| o as f64 / w)
        .collect();
    let max = rel.iter().copied().fold(0.0, f64::max);
    let min = rel.iter().copied().fold(f64::INFINITY, f64::min);
    let total: u64 = observed.iter().sum();
    let (chi, p) = if total == 0 || ids.len() < 2 {
        (None, None)
    } else {
        let (c, p) = loadtest::chi_square(&observed, &w);
        (Some(c), Some(p))
    };
    Spread {
        max_min: (min > 0.0).then(|| max / min),
        chi_square: chi,
        p,
    }
}

fn stickiness(clients: &BTreeMap<String, BTreeMap<BackendKey, u64>>) -> Stickiness {
    let mut sticky = 0;
    let (mut main, mut all) = (0u64, 0u64);
    for backends in clients.values() {
        let answered: Vec<u64> = backends.values().copied().filter(|&n| n > 0).collect();
        if answered.len() == 1 {
            sticky += 1;
        }
        main += answered.iter().copied().max().unwrap_or(0);
        all += answered.iter().sum::<u64>();
    }
    Stickiness {
        clients: clients.len(),
        sticky,
        main_share: if all == 0 {
            0.0
        } else {
            main as f64 / all as f64
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: &[(u32, u64)]) -> BTreeMap<BackendKey, u64> {
        v.iter().map(|&(k, n)| (BackendKey::Id(k), n)).collect()
    }

    #[test]
    fn spread_of_even_weighted_and_starved_runs() {
        let ids: Vec<BackendKey> = (1..=3).map(BackendKey::Id).collect();
        let s = spread(&c(&[(1, 333), (2, 333), (3, 334)]), &ids, None);
        assert!((s.max_min.unwrap() - 334.0 / 333.0).abs() < 1e-9);
        assert!(s.p.unwrap() > 0.99);
        let s = spread(&c(&[(1, 100), (2, 200), (3, 300)]), &ids, Some(&[1, 2, 3]));
        assert!((s.max_min.unwrap() - 1.0).abs() < 1e-9 && s.p.unwrap() > 0.99);
        let s = spread(&c(&[(1, 1000), (2, 0), (3, 0)]), &ids, None);
        assert_eq!(s.max_min, None);
        assert!(s.p.unwrap() < 1e-100);
    }

    #[test]
    fn stickiness_counts_clients_that_stayed() {
        let clients: BTreeMap<String, BTreeMap<BackendKey, u64>> = [
            ("a".to_string(), c(&[(1, 10)])),
            ("b".to_string(), c(&[(1, 6), (2, 4)])),
        ]
        .into();
        let s = stickiness(&clients);
        assert_eq!((s.clients, s.sticky), (2, 1));
        assert!((s.main_share - 16.0 / 20.0).abs() < 1e-9);
    }
}
