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

/// `1000`, `2500.5` or `1000/s`: requests per second.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let num = t.strip_suffix("/s").unwrap_or(t).trim();
    let bad = || format!("'{s}' is not a rate (accepted: requests per second, e.g. 1000 or 250.5)");
    let r: f64 = num.parse().map_err(|_| bad())?;
    if !r.is_finite() {
        return Err(bad());
    }
    if r <= 0.0 || r > MAX_RATE {
        return Err(format!(
            "rate '{s}' is out of range (accepted: above 0 and up to {MAX_RATE} per second)"
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

    /// When request `seq` (from 0) is due.
    pub fn due(&self, seq: u64) -> Instant {
        // u32 steps keep `Duration * u32` exact; beyond 4 billion requests, f64 is exact enough.
        match u32::try_from(seq) {
            Ok(k) => self.start + self.interval * k,
            Err(_) => self.start + self.interval.mul_f64(seq as f64),
        }
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
        for s in ["", "x", "0", "-5", "nan", "inf", "1e300", "10/m"] {
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
    }
}
