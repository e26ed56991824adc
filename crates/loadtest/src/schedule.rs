//! The open model (`--rate R`): request `k` is due at `start + k / R`, whatever the answers before it
//! did. A closed-model client sends the next request only when a connection is free, so while the
//! target stalls it simply stops asking, and the requests it never sent never show the stall
//! (coordinated omission). Here a request that had to wait for a free connection is timed from the
//! moment it was due, as wrk2 does.

use std::time::{Duration, Instant};

use serde::Serialize;

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

/// When each request of a fixed-rate run is due.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    start: Instant,
    interval: Duration,
}

impl Schedule {
    pub fn new(start: Instant, rate: f64) -> Schedule {
        Schedule {
            start,
            interval: Duration::from_secs_f64(1.0 / rate),
        }
    }

    /// When request `seq` (from 0) is due: in whole nanoseconds, so the k-th is exactly k intervals
    /// after the start.
    pub fn due(&self, seq: u64) -> Instant {
        let nanos = self.interval.as_nanos().saturating_mul(u128::from(seq));
        let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
        let offset = Duration::new(secs, (nanos % 1_000_000_000) as u32);
        // Past what an Instant holds is never reached by a run: a century stands in for it.
        self.start
            .checked_add(offset)
            .unwrap_or(self.start + Duration::from_secs(100 * 365 * 86_400))
    }

    /// Requests due before `end` (after `start`).
    pub fn due_before(&self, end: Instant) -> u64 {
        let span = end.saturating_duration_since(self.start).as_nanos();
        span.div_ceil(self.interval.as_nanos().max(1)) as u64
    }
}

/// How the run kept its schedule (present in the report only with `--rate`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct ScheduleReport {
    /// The requested rate, per second.
    pub rate: f64,
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
        // A third of a second is 333 333 333 ns, and the millionth request is that many intervals on.
        let thirds = Schedule::new(start, 3.0);
        assert_eq!(
            thirds.due(1_000_000),
            start + Duration::from_nanos(333_333_333 * 1_000_000)
        );
        // Far beyond any run, still no panic.
        assert!(Schedule::new(start, MIN_RATE).due(u64::MAX) > start);
    }
}
