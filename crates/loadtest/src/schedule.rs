//! The open model (`--rate R`): request `k` is due at `start + k / R`, whatever the answers before it
//! did. A closed-model client sends the next request only when a connection is free, so while the
//! target stalls it simply stops asking, and the requests it never sent never show the stall
//! (coordinated omission). Here a request that had to wait for a free connection is timed from the
//! moment it was due, as wrk2 does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::arrivals::{Arrivals, Poisson};

/// At most this many requests per second: far beyond any one client, and `1 / R` stays well above
/// a nanosecond.
const MAX_RATE: f64 = 10_000_000.0;
/// At least one request in 1000 s.
const MIN_RATE: f64 = 0.001;

/// `1000`, `2500.5` or `1000/s`: requests per second.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let num = t.strip_suffix("/s").unwrap_or(t).trim();
    let bad = || format!("'{s}' is not a rate (accepted: requests per second, e.g. 1000 or 250.5)");
    let r: f64 = num.parse().map_err(|_| bad())?;
    if !r.is_finite() {
        return Err(bad());
    }
    if !(MIN_RATE..=MAX_RATE).contains(&r) {
        return Err(format!(
            "rate '{s}' is out of range (accepted: {MIN_RATE} to {MAX_RATE} per second)"
        ));
    }
    Ok(r)
}

/// When each request of a fixed-rate run is due. The rate is held as an exact fraction
/// `per / secs` requests per second (the decimal the user typed, e.g. 2.5 = 5/2), so request `k`
/// is due at exactly `k * secs / per` seconds, rounded down to the nanosecond once, never per
/// interval: rounding the interval instead (a third of a second to 333 333 333 ns) makes every due
/// time early, and a run whose duration is a whole number of intervals gets one request too many.
///
/// With `--arrivals poisson` the due times are drawn instead (see `arrivals`); the rate is then
/// their mean.
#[derive(Clone)]
pub struct Schedule {
    start: Instant,
    /// Requests per `secs` seconds.
    per: u128,
    secs: u128,
    poisson: Option<Arc<Poisson>>,
}

/// Far beyond any run: what a due time that overflows stands for.
const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);

impl Schedule {
    pub fn new(start: Instant, rate: f64) -> Schedule {
        let (per, secs) = as_fraction(rate);
        Schedule {
            start,
            per,
            secs,
            poisson: None,
        }
    }

    /// A schedule with `arrivals`, seeded by `seed` when they are drawn.
    pub fn with_arrivals(start: Instant, rate: f64, arrivals: Arrivals, seed: u64) -> Schedule {
        let mut s = Schedule::new(start, rate);
        if arrivals == Arrivals::Poisson {
            s.poisson = Some(Arc::new(Poisson::new(rate, seed)));
        }
        s
    }

    /// Nanoseconds from the start to when request `seq` (from 0) is due; `None` past what a u128
    /// holds, which only happens centuries into a run (see `as_fraction`).
    fn offset_nanos(&self, seq: u64) -> Option<u128> {
        if let Some(p) = &self.poisson {
            return Some(u128::from(p.offset_nanos(seq)));
        }
        u128::from(seq)
            .checked_mul(1_000_000_000)?
            .checked_mul(self.secs)
            .map(|n| n / self.per)
    }

    /// When request `seq` (from 0) is due.
    pub fn due(&self, seq: u64) -> Instant {
        let offset = self.offset_nanos(seq).map_or(CENTURY, |nanos| {
            let whole = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
            Duration::new(whole, (nanos % 1_000_000_000) as u32)
        });
        // Past what an Instant holds is never reached by a run: a century stands in for it.
        self.start
            .checked_add(offset.min(CENTURY))
            .unwrap_or(self.start + CENTURY)
    }

    /// With drawn arrivals: their seed.
    pub fn seed(&self) -> Option<u64> {
        self.poisson.as_ref().map(|p| p.seed())
    }

    /// Requests due before `end` (after `start`): the `k` with `due(k) < end`. As `due(k)` is
    /// `k * 1e9 * secs / per` rounded down, that is `k * 1e9 * secs < span * per`.
    pub fn due_before(&self, end: Instant) -> u64 {
        let span = end.saturating_duration_since(self.start).as_nanos();
        if let Some(p) = &self.poisson {
            return p.due_before(span);
        }
        let step = 1_000_000_000 * self.secs;
        span.checked_mul(self.per).map_or(u64::MAX, |n| {
            u64::try_from(n.div_ceil(step)).unwrap_or(u64::MAX)
        })
    }
}

/// `rate` as a fraction `(per, secs)` in lowest terms: the shortest decimal that reads back as
/// `rate` (what the user typed, as `parse_rate` took it from a decimal), over a power of ten.
/// A rate from 0.001 to 10 000 000 has at most 17 significant digits, so `secs` is at most 10^19
/// and `seq * 1e9 * secs` overflows a u128 only for due times of over 10^12 seconds.
fn as_fraction(rate: f64) -> (u128, u128) {
    let text = format!("{rate}");
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let digits = format!("{whole}{frac}");
    let mut per: u128 = digits.parse().unwrap_or(1);
    let mut secs: u128 = 10u128.pow(frac.len() as u32);
    let g = gcd(per, secs);
    if g > 1 {
        per /= g;
        secs /= g;
    }
    (per.max(1), secs)
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// How the run kept its schedule (present in the report only with `--rate`).
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq)]
pub struct ScheduleReport {
    /// The requested rate, per second.
    pub rate: f64,
    /// The rate the requests went out at: those sent after the first, over the time from the first
    /// send to the last.
    #[serde(default)]
    pub delivered_rate: f64,
    /// How the requests were spaced.
    #[serde(default)]
    pub arrivals: Arrivals,
    /// With `poisson`: the seed the due times were drawn from (`--seed` repeats the run's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Requests sent after they were due because every connection was busy; their latency counts
    /// from when they were due.
    pub late: u64,
    /// Requests due before the end of a `--duration` run that were never sent.
    pub missed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_rate("1000"), Ok(1000.0));
        assert_eq!(parse_rate("250.5"), Ok(250.5));
        assert_eq!(parse_rate(" 40/s "), Ok(40.0));
        assert_eq!(parse_rate("0.001"), Ok(0.001));
        for s in [
            "", "x", "0", "-5", "nan", "inf", "1e300", "1e-300", "0.0009", "10/m",
        ] {
            assert!(parse_rate(s).is_err(), "{s}");
        }
    }

    #[test]
    fn due_times_are_evenly_spaced() {
        let start = Instant::now();
        let s = Schedule::new(start, 200.0);
        assert_eq!(s.due(0), start);
        assert_eq!(s.due(1), start + Duration::from_millis(5));
        assert_eq!(s.due(200), start + Duration::from_secs(1));
        assert_eq!(s.due_before(start + Duration::from_secs(1)), 200);
        assert_eq!(s.due_before(start + Duration::from_micros(5001)), 2);
        assert_eq!(s.due_before(start), 0);
        // A third of a second: the millionth request is due exactly 333 333 1/3 s on, rounded down.
        let thirds = Schedule::new(start, 3.0);
        assert_eq!(
            thirds.due(1_000_000),
            start + Duration::from_nanos(333_333_333_333_333)
        );
        assert_eq!(thirds.due(3), start + Duration::from_secs(1));
        // Far beyond any run, still no panic.
        assert!(Schedule::new(start, MIN_RATE).due(u64::MAX) > start);
        assert!(Schedule::new(start, 1_234.567_890_123_456_7).due(u64::MAX) > start);
    }

    /// How many requests a `-d` run sends: those due before its end, counted one by one as the
    /// tasks do (`due(k) < deadline`), and as the report counts them (`due_before`).
    fn sent(rate: f64, duration: Duration) -> (u64, u64) {
        let start = Instant::now();
        let s = Schedule::new(start, rate);
        let end = start + duration;
        let by_one = (0..).take_while(|&k| s.due(k) < end).count() as u64;
        (by_one, s.due_before(end))
    }

    #[test]
    fn a_run_sends_rate_times_duration_when_that_is_whole() {
        // 3/s for 20 s sent 61 when a third of a second was rounded to 333 333 333 ns.
        for (rate, secs, want) in [
            (3.0, 20.0, 60),
            (3.0, 1.0, 3),
            (30.0, 1.0, 30),
            (7.0, 3.0, 21),
            (1000.0, 2.0, 2000),
            (2.5, 4.0, 10),
            (0.3, 10.0, 3),
            (0.001, 2000.0, 2),
            (600.0, 0.5, 300),
            (333.3, 10.0, 3333),
            (9_999_999.0, 0.1, 1_000_000),
        ] {
            assert_eq!(
                sent(rate, Duration::from_secs_f64(secs)),
                (want, want),
                "--rate {rate} -d {secs}s"
            );
        }
        // Where rate × duration is not whole, the fraction of a request is due before the end.
        assert_eq!(sent(3.0, Duration::from_millis(1001)), (4, 4));
        assert_eq!(sent(0.7, Duration::from_secs(2)), (2, 2));
    }
}
