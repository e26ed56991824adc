//! Thresholds, as CI gates use them (k6's): a latency percentile, the errors or the rate of
//! answers against a bound, for the whole run or for one backend. Unlike the distribution's
//! expectations they need the whole report (latencies, elapsed time), so they are judged against it.

use std::fmt;

use crate::backend_key::BackendKey;
use crate::report::{Latency, Report};

/// What a threshold accepts, for its refusals.
pub(super) const ACCEPTED: &str = "p50<T, p90<T, p95<T, p99<T, p999<T, max<T, mean<T (T with a unit: 200us, 50ms, 1.5s), errors=0, errors<N, errors<P%, rps>N; a latency or rps for one backend as backend=ID:p99<50ms";

/// One threshold: a measure, optionally of one backend, against a bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// `Some(id)`: of the answers of backend `id` only.
    pub backend: Option<u32>,
    pub bound: Bound,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// The latency statistic is below this many microseconds.
    LatencyBelow(Stat, u64),
    /// No failed request at all.
    NoErrors,
    /// Fewer failed requests than this.
    ErrorsBelow(u64),
    /// Failed requests are below this share of those sent, in percent.
    ErrorsBelowPercent(f64),
    /// More answers per second than this.
    RpsAbove(f64),
}

/// Which statistic of the latency distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    P50,
    P90,
    P95,
    P99,
    P999,
    Max,
    Mean,
}

impl Stat {
    const ALL: [(Stat, &'static str); 7] = [
        (Stat::P50, "p50"),
        (Stat::P90, "p90"),
        (Stat::P95, "p95"),
        (Stat::P99, "p99"),
        (Stat::P999, "p999"),
        (Stat::Max, "max"),
        (Stat::Mean, "mean"),
    ];

    fn name(self) -> &'static str {
        Stat::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("?", |(_, n)| n)
    }

    /// This statistic of `l`, in milliseconds.
    fn of(self, l: &Latency) -> f64 {
        match self {
            Stat::P50 => l.p50,
            Stat::P90 => l.p90,
            Stat::P95 => l.p95,
            Stat::P99 => l.p99,
            Stat::P999 => l.p999,
            Stat::Max => l.max,
            Stat::Mean => l.mean,
        }
    }
}

impl Threshold {
    /// Whether `s` is meant as a threshold (it compares), so that its refusal names what a
    /// threshold accepts.
    pub(super) fn looks_like(s: &str) -> bool {
        s.contains(['<', '>']) || s.starts_with("errors") || s.starts_with("backend=")
    }

    pub(super) fn parse(s: &str) -> Result<Threshold, String> {
        let bad = |why: &str| format!("'{s}': {why} (accepted: {ACCEPTED})");
        let (backend, rest) = match s.strip_prefix("backend=") {
            Some(r) => {
                let (id, rest) = r
                    .split_once(':')
                    .ok_or_else(|| bad("a backend's threshold is backend=ID:MEASURE"))?;
                match id.trim().parse::<u32>() {
                    Ok(id) if id > 0 => (Some(id), rest.trim()),
                    _ => return Err(bad(&format!("'{id}' is not a backend id (from 1)"))),
                }
            }
            None => (None, s),
        };
        let bound = if let Some(v) = rest.strip_prefix("errors") {
            if backend.is_some() {
                return Err(bad(
                    "a failed request has no backend, so errors are judged for the whole run only",
                ));
            }
            errors_bound(v.trim()).ok_or_else(|| bad("errors takes =0, <N or <P%"))?
        } else if let Some(v) = rest.strip_prefix("rps>") {
            match v.trim().parse::<f64>() {
                Ok(r) if r.is_finite() && r >= 0.0 => Bound::RpsAbove(r),
                _ => return Err(bad(&format!("'{v}' is not a rate (answers per second)"))),
            }
        } else {
            let (name, value) = rest.split_once('<').ok_or_else(|| bad("not a threshold"))?;
            let stat = Stat::ALL
                .iter()
                .find(|(_, n)| *n == name.trim())
                .map(|(s, _)| *s)
                .ok_or_else(|| bad(&format!("'{}' is not a latency statistic", name.trim())))?;
            let us = parse_micros(value.trim()).ok_or_else(|| {
                bad(&format!(
                    "'{}' is not a latency with a unit above zero",
                    value.trim()
                ))
            })?;
            Bound::LatencyBelow(stat, us)
        };
        Ok(Threshold { backend, bound })
    }

    /// Refuses a threshold about a backend that does not exist when `backends` stand behind the
    /// target.
    pub(super) fn fits(&self, backends: usize) -> Result<(), String> {
        match self.backend {
            Some(id) if id as usize > backends => Err(format!(
                "--expect {self}: backend {id} does not exist; there {} (1..={backends})",
                if backends == 1 {
                    "is 1 backend".to_string()
                } else {
                    format!("are {backends} backends")
                }
            )),
            _ => Ok(()),
        }
    }

    /// Holds `report` against the threshold: the verdict and the measured value.
    pub(super) fn judge(&self, report: &Report) -> (bool, String) {
        let (latency, answered, whose) = match self.backend {
            None => (&report.latency_ms, report.ok, String::new()),
            Some(id) => match report.backends.get(&BackendKey::Id(id)) {
                Some(b) => (&b.latency_ms, b.count, format!("backend {id}'s ")),
                None => return (false, format!("backend {id} answered nothing")),
            },
        };
        match self.bound {
            Bound::LatencyBelow(stat, limit) => {
                if answered == 0 {
                    return (
                        false,
                        format!("{whose}{} - (no request was answered)", stat.name()),
                    );
                }
                let ms = stat.of(latency);
                let limit_ms = limit as f64 / 1000.0;
                (
                    ms < limit_ms,
                    format!(
                        "{whose}{} was {ms:.2} ms (limit {})",
                        stat.name(),
                        Micros(limit)
                    ),
                )
            }
            Bound::RpsAbove(min) => {
                let rps = if report.elapsed_s > 0.0 {
                    answered as f64 / report.elapsed_s
                } else {
                    0.0
                };
                (
                    rps > min,
                    format!("{whose}rps was {rps:.1} answers/s (limit {min})"),
                )
            }
            Bound::NoErrors | Bound::ErrorsBelow(_) | Bound::ErrorsBelowPercent(_) => {
                let failed = report.failed();
                let sent = report.sent();
                let pct = if sent == 0 {
                    0.0
                } else {
                    failed as f64 * 100.0 / sent as f64
                };
                let ok = match self.bound {
                    Bound::NoErrors => failed == 0,
                    Bound::ErrorsBelow(n) => failed < n,
                    Bound::ErrorsBelowPercent(p) => pct < p,
                    _ => unreachable!("matched above"),
                };
                (
                    ok,
                    format!("errors were {failed} of {sent} sent ({pct:.2}%)"),
                )
            }
        }
    }
}

fn errors_bound(v: &str) -> Option<Bound> {
    if let Some(n) = v.strip_prefix('=') {
        return (n.trim() == "0").then_some(Bound::NoErrors);
    }
    let v = v.strip_prefix('<')?.trim();
    match v.strip_suffix('%') {
        Some(p) => match p.trim().parse::<f64>() {
            Ok(p) if p > 0.0 && p <= 100.0 => Some(Bound::ErrorsBelowPercent(p)),
            _ => None,
        },
        None => match v.parse::<u64>() {
            Ok(n) if n > 0 => Some(Bound::ErrorsBelow(n)),
            _ => None,
        },
    }
}

/// `200us`, `50ms`, `1.5s` as whole microseconds; a unit is required, since a bare `50` could be
/// either.
fn parse_micros(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let scale = match unit {
        "us" | "µs" => 1.0,
        "ms" => 1_000.0,
        "s" => 1_000_000.0,
        _ => return None,
    };
    let us = (n * scale).round();
    // At most an hour, the histograms' own bound.
    (us.is_finite() && (1.0..=3_600_000_000.0).contains(&us)).then_some(us as u64)
}

/// Microseconds in the largest unit that shows them whole.
struct Micros(u64);

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            us if us % 1_000_000 == 0 => write!(f, "{}s", us / 1_000_000),
            us if us % 1_000 == 0 => write!(f, "{}ms", us / 1_000),
            us => write!(f, "{us}us"),
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(id) = self.backend {
            write!(f, "backend={id}:")?;
        }
        match self.bound {
            Bound::LatencyBelow(stat, us) => write!(f, "{}<{}", stat.name(), Micros(us)),
            Bound::NoErrors => f.write_str("errors=0"),
            Bound::ErrorsBelow(n) => write!(f, "errors<{n}"),
            Bound::ErrorsBelowPercent(p) => write!(f, "errors<{p}%"),
            Bound::RpsAbove(r) => write!(f, "rps>{r}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trip() {
        for s in [
            "p50<50ms",
            "p90<200us",
            "p99<1500ms",
            "p999<2s",
            "max<1s",
            "mean<3ms",
            "errors=0",
            "errors<5",
            "errors<1.5%",
            "rps>1000",
            "backend=2:p99<50ms",
            "backend=3:rps>10.5",
        ] {
            assert_eq!(Threshold::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            Threshold::parse("p99<1.5s").unwrap().bound,
            Bound::LatencyBelow(Stat::P99, 1_500_000)
        );
    }

    #[test]
    fn parse_rejects_in_one_line_naming_what_is_accepted() {
        for s in [
            "p99<50",
            "p99<0ms",
            "p99<-1ms",
            "p99<50xs",
            "p98<50ms",
            "p99>50ms",
            "errors=1",
            "errors<0",
            "errors<101%",
            "errors",
            "rps>x",
            "rps<5",
            "backend=0:p99<5ms",
            "backend=2:errors=0",
            "backend=2",
            "p99<2h",
        ] {
            let err = Threshold::parse(s).unwrap_err();
            assert!(
                err.contains("accepted: p50<T") && !err.contains('\n'),
                "{s}: {err}"
            );
        }
    }

    #[test]
    fn backends_that_do_not_exist_do_not_fit() {
        let t = Threshold::parse("backend=4:p99<5ms").unwrap();
        assert!(t.fits(3).unwrap_err().contains("backend 4 does not exist"));
        assert_eq!(t.fits(4), Ok(()));
    }
}
