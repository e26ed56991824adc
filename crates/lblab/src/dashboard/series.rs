//! The dashboard's time: each sample of the backends' `/stats` kept for the last minute (answers
//! per second since the sample before, requests in flight), and the moments a person changed
//! something (a method switch, a burst), for the page's rolling chart.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::Serialize;

/// How far back the chart looks.
pub const WINDOW: Duration = Duration::from_secs(60);

/// One sample: when it was taken, in milliseconds since the dashboard started, and per backend
/// (1..=N) its answers per second since the previous sample and its requests in flight, `None`
/// while it did not answer `/stats`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Point {
    pub t_ms: u64,
    pub answers_per_s: Vec<Option<f64>>,
    pub in_flight: Vec<Option<u64>>,
}

/// A switch or a burst, where it happened on the chart.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Mark {
    pub t_ms: u64,
    /// `switch` or `burst`.
    pub kind: &'static str,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct SeriesView {
    pub window_ms: u64,
    pub points: Vec<Point>,
    pub marks: Vec<Mark>,
}

pub struct Series {
    start: Instant,
    /// The previous sample's time (ms since `start`) and counts, which the next one's rates are
    /// taken against.
    last: Option<(u64, Vec<Option<u64>>)>,
    points: VecDeque<Point>,
    marks: VecDeque<Mark>,
}

impl Series {
    pub fn new(start: Instant) -> Series {
        Series {
            start,
            last: None,
            points: VecDeque::new(),
            marks: VecDeque::new(),
        }
    }

    fn ms(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.start).as_millis() as u64
    }

    /// Adds the sample taken `at`: each backend's `served` and in-flight count. The first sample
    /// is the baseline, with no rate; a counter that went down (a restarted backend) counts from
    /// zero. The rates are over the points' own whole milliseconds, so that a rate times the time
    /// since the point before is exactly the answers in between, as the chart's reader can check.
    pub fn push(&mut self, at: Instant, served: &[Option<u64>], in_flight: &[Option<u64>]) {
        let t_ms = self.ms(at);
        let answers_per_s = match &self.last {
            None => vec![None; served.len()],
            Some((then_ms, _)) if *then_ms >= t_ms => return,
            Some((then_ms, before)) => {
                let dt = (t_ms - then_ms) as f64 / 1000.0;
                served
                    .iter()
                    .zip(before)
                    .map(|(now, then)| match (now, then) {
                        (Some(now), Some(then)) if now >= then => Some((now - then) as f64 / dt),
                        (Some(now), _) => Some(*now as f64 / dt),
                        (None, _) => None,
                    })
                    .collect()
            }
        };
        self.points.push_back(Point {
            t_ms,
            answers_per_s,
            in_flight: in_flight.to_vec(),
        });
        self.last = Some((t_ms, served.to_vec()));
        let oldest = t_ms.saturating_sub(WINDOW.as_millis() as u64);
        while self.points.front().is_some_and(|p| p.t_ms < oldest) {
            self.points.pop_front();
        }
        while self.marks.front().is_some_and(|m| m.t_ms < oldest) {
            self.marks.pop_front();
        }
    }

    /// Marks `at` on the chart.
    pub fn mark(&mut self, at: Instant, kind: &'static str, label: String) {
        self.marks.push_back(Mark {
            t_ms: self.ms(at),
            kind,
            label,
        });
    }

    pub fn view(&self) -> SeriesView {
        SeriesView {
            window_ms: WINDOW.as_millis() as u64,
            points: self.points.iter().cloned().collect(),
            marks: self.marks.iter().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_the_counters_and_the_window_rolls() {
        let t = Instant::now();
        let mut s = Series::new(t);
        let ms = |n| Duration::from_millis(n);
        s.push(t, &[Some(0), Some(0)], &[Some(0), Some(0)]);
        let v = s.view();
        assert_eq!(
            v.points[0].answers_per_s,
            [None, None],
            "the baseline has no rate"
        );
        s.push(t + ms(250), &[Some(10), Some(5)], &[Some(2), None]);
        s.push(t + ms(750), &[Some(20), None], &[Some(0), None]);
        // A sample in the same millisecond adds nothing.
        s.push(t + ms(750), &[Some(99), None], &[Some(0), None]);
        s.push(t + ms(1000), &[Some(3), Some(6)], &[Some(1), Some(0)]);
        let v = s.view();
        let rates: Vec<Vec<Option<f64>>> =
            v.points.iter().map(|p| p.answers_per_s.clone()).collect();
        assert_eq!(
            rates,
            [
                vec![None, None],
                vec![Some(40.0), Some(20.0)],
                vec![Some(20.0), None],
                // A counter that went down counts from zero; one that was unknown too.
                vec![Some(12.0), Some(24.0)],
            ]
        );
        assert_eq!(v.points[1].in_flight, [Some(2), None]);
        assert_eq!(
            v.points.iter().map(|p| p.t_ms).collect::<Vec<_>>(),
            [0, 250, 750, 1000]
        );
        s.mark(t + ms(900), "switch", "→ least-conn".into());
        s.push(
            t + WINDOW + ms(800),
            &[Some(3), Some(6)],
            &[Some(0), Some(0)],
        );
        let v = s.view();
        assert_eq!(
            v.points.iter().map(|p| p.t_ms).collect::<Vec<_>>(),
            [1000, 60_800],
            "samples older than the window are dropped"
        );
        assert_eq!(
            (v.marks[0].t_ms, v.marks[0].label.as_str()),
            (900, "→ least-conn")
        );
        s.push(
            t + WINDOW + ms(1000),
            &[Some(3), Some(6)],
            &[Some(0), Some(0)],
        );
        assert!(s.view().marks.is_empty(), "and so are marks");
    }

    #[test]
    fn a_rate_times_its_interval_is_the_answers_in_it() {
        let t = Instant::now();
        let mut s = Series::new(t);
        let served = [0u64, 7, 7, 19, 120, 121];
        let at = [3u64, 254, 507, 761, 1013, 1266];
        for (n, ms) in served.iter().zip(at) {
            s.push(t + Duration::from_millis(ms), &[Some(*n)], &[Some(0)]);
        }
        let v = s.view();
        let area: f64 = v
            .points
            .windows(2)
            .map(|w| w[1].answers_per_s[0].unwrap() * (w[1].t_ms - w[0].t_ms) as f64 / 1000.0)
            .sum();
        assert!((area - 121.0).abs() < 1e-9, "{area}");
    }
}
