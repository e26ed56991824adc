//! `--expect`: the distribution as a pass/fail. This file says what an expectation is; `judge`
//! holds a run against one.

mod judge;
mod threshold;

use std::collections::BTreeMap;
use std::fmt;

use crate::backend_key::BackendKey;
use crate::report::{Outcome, Report};
use threshold::Bound;
pub use threshold::Threshold;

/// The significance level below which `uniform` is rejected.
pub const UNIFORM_ALPHA: f64 = 0.001;

#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// Every backend within ±1 of its exact share (by weight when given).
    RoundRobin(Option<Vec<u32>>),
    /// All answers from a single backend.
    One,
    /// Every backend seen and a chi-square goodness of fit to the (weighted) shares not rejected.
    Uniform(Option<Vec<u32>>),
    /// Exactly K distinct backends answered.
    Backends(usize),
    /// Every client (source address, varying header values) was always answered by one backend.
    Sticky,
    /// Backend ID's share of the answers is at most / at least the fraction.
    MaxShare(u32, f64),
    MinShare(u32, f64),
    /// A latency, error or rate threshold, judged against the whole report.
    Threshold(Threshold),
}

const ACCEPTED: &str = "round-robin, round-robin:W1,W2,…, one, uniform, uniform:W1,W2,…, backends=K, sticky, max-share:ID=P%, min-share:ID=P%, or a threshold such as p99<50ms, errors=0, rps>100";

impl Expectation {
    /// Whether this judges the failed requests (errors=0, errors<N, errors<P%).
    pub fn judges_errors(&self) -> bool {
        matches!(
            self,
            Expectation::Threshold(t) if matches!(
                t.bound,
                Bound::NoErrors | Bound::ErrorsBelow(_) | Bound::ErrorsBelowPercent(_)
            )
        )
    }

    pub fn parse(s: &str) -> Result<Expectation, String> {
        let s = s.trim();
        if Threshold::looks_like(s) {
            return Threshold::parse(s).map(Expectation::Threshold);
        }
        let bad = || format!("unknown expectation '{s}' (accepted: {ACCEPTED})");
        let weights = |w: &str| -> Result<Vec<u32>, String> {
            w.split(',')
                .map(|x| match x.trim().parse::<u32>() {
                    Ok(v) if v > 0 => Ok(v),
                    _ => Err(format!("'{x}' in '{s}' is not a weight (whole numbers from 1, e.g. round-robin:1,2,3)")),
                })
                .collect()
        };
        let (head, arg) = match s.split_once(':') {
            Some((h, a)) => (h, Some(a)),
            None => match s.split_once('=') {
                Some((h, a)) => (h, Some(a)),
                None => (s, None),
            },
        };
        match (head, arg) {
            ("round-robin", None) => Ok(Expectation::RoundRobin(None)),
            ("round-robin", Some(w)) => Ok(Expectation::RoundRobin(Some(weights(w)?))),
            ("uniform", None) => Ok(Expectation::Uniform(None)),
            ("uniform", Some(w)) => Ok(Expectation::Uniform(Some(weights(w)?))),
            ("one", None) => Ok(Expectation::One),
            ("sticky", None) => Ok(Expectation::Sticky),
            ("backends", Some(k)) => match k.trim().parse::<usize>() {
                Ok(k) if k > 0 => Ok(Expectation::Backends(k)),
                _ => Err(format!("'{s}': backends=K takes a whole number from 1")),
            },
            ("max-share" | "min-share", Some(a)) => {
                let (id, pct) = a.split_once('=').ok_or_else(bad)?;
                let id: u32 = match id.trim().parse() {
                    Ok(id) if id > 0 => id,
                    _ => {
                        return Err(format!(
                            "'{s}': '{id}' is not a backend id (backends are numbered from 1)"
                        ));
                    }
                };
                let frac = parse_share(pct).ok_or_else(|| {
                    format!("'{s}': '{pct}' is not a share (accepted: 0%–100% or 0.0–1.0)")
                })?;
                Ok(if head == "max-share" {
                    Expectation::MaxShare(id, frac)
                } else {
                    Expectation::MinShare(id, frac)
                })
            }
            _ => Err(bad()),
        }
    }

    /// Refuses, before the run, an expectation about backends that do not exist when `backends`
    /// stand behind the target: it could only pass or fail by accident.
    pub fn fits(&self, backends: usize) -> Result<(), String> {
        let there = match backends {
            1 => "there is 1 backend".to_string(),
            k => format!("there are {k} backends (1..={k})"),
        };
        match self {
            Expectation::Threshold(t) => t.fits(backends),
            Expectation::MaxShare(id, _) | Expectation::MinShare(id, _)
                if *id as usize > backends =>
            {
                Err(format!(
                    "--expect {self}: backend {id} does not exist; {there}"
                ))
            }
            Expectation::RoundRobin(Some(w)) | Expectation::Uniform(Some(w))
                if w.len() != backends =>
            {
                Err(format!(
                    "--expect {self}: {} weights for {backends} backends (one weight per backend)",
                    w.len()
                ))
            }
            Expectation::Backends(k) if *k > backends => Err(format!(
                "--expect {self}: {k} backends cannot answer when {there}"
            )),
            _ => Ok(()),
        }
    }

    /// Judges a run. `backends` is how many backends are behind the target, if known; otherwise the
    /// ones that answered (or the weights' count) are taken as all of them.
    pub fn check(
        &self,
        counts: &BTreeMap<BackendKey, u64>,
        backends: Option<usize>,
        clients: Option<&BTreeMap<String, BTreeMap<BackendKey, u64>>>,
    ) -> Outcome {
        let (ok, message) = judge::judge(self, counts, backends, clients);
        Outcome {
            expect: self.to_string(),
            ok,
            message,
        }
    }
}

/// Every expectation held against a finished run's `report`: the distribution's by its counts and
/// clients, the thresholds by its latencies, errors and rates. A run and `loadtest merge` both judge
/// through this, so a merged report is judged as one run would be.
pub fn judge_report(
    expectations: &[Expectation],
    report: &Report,
    backends: Option<usize>,
) -> Vec<Outcome> {
    expectations
        .iter()
        .map(|e| match e {
            Expectation::Threshold(t) => {
                let (ok, message) = t.judge(report);
                Outcome {
                    expect: e.to_string(),
                    ok,
                    message,
                }
            }
            _ => e.check(&report.counts, backends, report.clients.as_ref()),
        })
        .collect()
}

/// [`Expectation::fits`] for each of `expectations`: the first that does not, as one line.
pub fn check_expectations(expectations: &[Expectation], backends: usize) -> Result<(), String> {
    expectations.iter().try_for_each(|e| e.fits(backends))
}

fn parse_share(s: &str) -> Option<f64> {
    let s = s.trim();
    let v = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().ok()? / 100.0,
        None => s.parse::<f64>().ok()?,
    };
    (0.0..=1.0).contains(&v).then_some(v)
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |w: &Vec<u32>| w.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        match self {
            Expectation::RoundRobin(None) => f.write_str("round-robin"),
            Expectation::RoundRobin(Some(w)) => write!(f, "round-robin:{}", join(w)),
            Expectation::Uniform(None) => f.write_str("uniform"),
            Expectation::Uniform(Some(w)) => write!(f, "uniform:{}", join(w)),
            Expectation::One => f.write_str("one"),
            Expectation::Sticky => f.write_str("sticky"),
            Expectation::Backends(k) => write!(f, "backends={k}"),
            Expectation::MaxShare(id, s) => write!(f, "max-share:{id}={}%", s * 100.0),
            Expectation::MinShare(id, s) => write!(f, "min-share:{id}={}%", s * 100.0),
            Expectation::Threshold(t) => t.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(v: &[(u32, u64)]) -> BTreeMap<BackendKey, u64> {
        v.iter().map(|&(k, n)| (BackendKey::Id(k), n)).collect()
    }

    fn ok(e: &str, c: &[(u32, u64)], k: Option<usize>) -> bool {
        Expectation::parse(e).unwrap().check(&counts(c), k, None).ok
    }

    #[test]
    fn parse_round_trip() {
        for s in [
            "round-robin",
            "round-robin:1,2,3",
            "one",
            "uniform",
            "uniform:2,1",
            "backends=3",
            "sticky",
            "max-share:1=15%",
            "min-share:2=50%",
        ] {
            assert_eq!(Expectation::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            Expectation::parse("max-share:1=0.15"),
            Ok(Expectation::MaxShare(1, 0.15))
        );
    }

    #[test]
    fn parse_rejects() {
        for s in [
            "roundrobin",
            "round-robin:",
            "round-robin:1,0",
            "backends=0",
            "backends",
            "one:2",
            "max-share:x=1%",
            "max-share:1=150%",
            "max-share:1",
            "max-share:0=10%",
        ] {
            assert!(Expectation::parse(s).is_err(), "{s}");
        }
        assert!(
            Expectation::parse("nope")
                .unwrap_err()
                .contains("accepted: round-robin")
        );
    }

    #[test]
    fn round_robin_exact_within_one() {
        assert!(ok("round-robin", &[(1, 333), (2, 333), (3, 334)], Some(3)));
        assert!(ok("round-robin", &[(1, 333), (2, 333), (3, 333)], None));
        assert!(!ok("round-robin", &[(1, 332), (2, 334), (3, 334)], Some(3)));
        // A backend that got nothing still counts when the backend count is known.
        assert!(!ok("round-robin", &[(1, 500), (2, 500)], Some(3)));
        assert!(ok(
            "round-robin:1,2,3",
            &[(1, 100), (2, 200), (3, 300)],
            None
        ));
        assert!(!ok(
            "round-robin:1,2,3",
            &[(1, 200), (2, 200), (3, 200)],
            None
        ));
        assert!(!ok(
            "round-robin",
            &[(1, 1), (2, 1), (3, 1), (4, 1)],
            Some(3)
        ));
        // Without a count, the backends that answered are all of them, whatever their ids.
        assert!(ok("round-robin", &[(2, 5), (7, 5)], None));
    }

    #[test]
    fn unknown_answers_fail_round_robin() {
        let mut c = counts(&[(1, 1), (2, 1)]);
        c.insert(BackendKey::Unknown, 1);
        assert!(!Expectation::RoundRobin(None).check(&c, Some(2), None).ok);
    }

    #[test]
    fn one_and_backends() {
        assert!(ok("one", &[(2, 1000)], Some(3)));
        assert!(ok("one", &[(1, 0), (2, 1000), (3, 0)], Some(3)));
        assert!(!ok("one", &[(1, 1), (2, 999)], Some(3)));
        assert!(ok("backends=2", &[(1, 1), (2, 999), (3, 0)], Some(3)));
        assert!(!ok("backends=3", &[(1, 1), (2, 999)], Some(3)));
    }

    #[test]
    fn uniform() {
        assert!(ok("uniform", &[(1, 3400), (2, 3300), (3, 3300)], Some(3)));
        assert!(!ok("uniform", &[(1, 4000), (2, 3000), (3, 3000)], Some(3)));
        assert!(!ok("uniform", &[(1, 5000), (2, 5000)], Some(3)));
        assert!(ok("uniform:1,2", &[(1, 330), (2, 670)], None));
    }

    #[test]
    fn shares() {
        assert!(ok("max-share:1=15%", &[(1, 10), (2, 45), (3, 45)], None));
        assert!(!ok("max-share:1=15%", &[(1, 20), (2, 40), (3, 40)], None));
        assert!(ok("min-share:2=40%", &[(1, 20), (2, 40), (3, 40)], None));
    }

    #[test]
    fn sticky() {
        let mut clients = BTreeMap::new();
        clients.insert("a".to_string(), counts(&[(1, 5)]));
        clients.insert("b".to_string(), counts(&[(2, 5)]));
        let c = counts(&[(1, 5), (2, 5)]);
        assert!(Expectation::Sticky.check(&c, None, Some(&clients)).ok);
        clients.insert("c".to_string(), counts(&[(1, 1), (3, 4)]));
        let out = Expectation::Sticky.check(&c, None, Some(&clients));
        assert!(
            !out.ok && out.message.contains("c → {1: 1, 3: 4}"),
            "{}",
            out.message
        );
        assert!(!Expectation::Sticky.check(&c, None, None).ok);
    }

    #[test]
    fn expectations_about_missing_backends_do_not_fit() {
        for (e, needle) in [
            (
                "max-share:9=10%",
                "backend 9 does not exist; there are 3 backends (1..=3)",
            ),
            ("min-share:4=1%", "backend 4 does not exist"),
            ("uniform:1,2", "2 weights for 3 backends"),
            ("round-robin:1,2", "2 weights for 3 backends"),
            ("backends=9", "9 backends cannot answer"),
        ] {
            let err = Expectation::parse(e).unwrap().fits(3).unwrap_err();
            assert!(err.contains(needle) && err.contains(e), "{err}");
        }
        for e in [
            "max-share:3=10%",
            "uniform:1,2,3",
            "backends=3",
            "one",
            "round-robin",
        ] {
            assert_eq!(Expectation::parse(e).unwrap().fits(3), Ok(()), "{e}");
        }
    }

    #[test]
    fn answers_that_name_no_backend_fail_every_expectation() {
        let c: BTreeMap<BackendKey, u64> = [(BackendKey::Unknown, 100)].into();
        let clients: BTreeMap<String, BTreeMap<BackendKey, u64>> =
            [("127.0.0.2".to_string(), c.clone())].into();
        for e in ["one", "backends=1", "sticky", "uniform"] {
            let out = Expectation::parse(e)
                .unwrap()
                .check(&c, None, Some(&clients));
            assert!(
                !out.ok && out.message.contains("could not be attributed"),
                "{e}: {}",
                out.message
            );
        }
    }

    #[test]
    fn nothing_answered_fails() {
        assert!(!ok("uniform", &[], Some(3)));
        assert!(!ok("one", &[], Some(3)));
    }
}
