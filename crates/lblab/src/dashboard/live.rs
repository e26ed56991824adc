//! What the page shows of the backends, sampled from their own `/stats` four times a second: totals,
//! requests per second over the last second, the answers they gave, newest first, and the last
//! minute of samples for the chart (`series.rs`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::series::Series;
use crate::probe;

pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// How many answers the page lists.
const RECENT: usize = 8;

#[derive(Debug, Clone, Serialize)]
pub struct BackendLive {
    pub id: u32,
    pub addr: SocketAddr,
    /// From `/stats`: `None` while the backend does not answer.
    pub pid: Option<u32>,
    pub served: Option<u64>,
    pub rps: f64,
    /// From `/stats`: requests it holds now.
    pub in_flight: Option<u64>,
}

/// What a backend's `/stats` said.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub served: u64,
    pub pid: u32,
    pub in_flight: u64,
}

/// `times` answers "Hello from Server `backend`!" in a row (within one sample, their order among
/// backends is not known; a person refreshing a page sees them one by one).
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub backend: u32,
    pub text: String,
    pub times: u64,
}

pub struct Live {
    pub backends: Vec<BackendLive>,
    pub recent: VecDeque<Answer>,
    history: VecDeque<(Instant, Vec<Option<u64>>)>,
    pub series: Series,
}

impl Live {
    pub fn new(backends: &[(u32, SocketAddr)]) -> Live {
        Live {
            backends: backends
                .iter()
                .map(|&(id, addr)| BackendLive {
                    id,
                    addr,
                    pid: None,
                    served: None,
                    rps: 0.0,
                    in_flight: None,
                })
                .collect(),
            recent: VecDeque::new(),
            history: VecDeque::new(),
            series: Series::new(Instant::now()),
        }
    }

    /// Reads every backend's `/stats` (without holding the state) and returns what it said.
    pub async fn read(addrs: &[SocketAddr]) -> Vec<Option<Stat>> {
        let mut out = Vec::with_capacity(addrs.len());
        for &a in addrs {
            out.push(stats(a).await.ok());
        }
        out
    }

    /// Takes one sample: the new totals, the rates over the last second, and the new answers.
    pub fn record(&mut self, at: Instant, sample: Vec<Option<Stat>>) {
        let served: Vec<Option<u64>> = sample.iter().map(|s| s.map(|s| s.served)).collect();
        let in_flight: Vec<Option<u64>> = sample.iter().map(|s| s.map(|s| s.in_flight)).collect();
        self.series.push(at, &served, &in_flight);
        for (b, s) in self.backends.iter_mut().zip(&sample) {
            let before = b.served;
            b.pid = s.map(|s| s.pid);
            b.served = s.map(|s| s.served);
            b.in_flight = s.map(|s| s.in_flight);
            // A counter that went down is a restarted backend; its answers since are all new.
            let new = match (before, b.served) {
                (Some(old), Some(now)) if now >= old => now - old,
                (Some(_), Some(now)) => now,
                _ => 0,
            };
            if new > 0 {
                match self.recent.front_mut() {
                    Some(a) if a.backend == b.id => a.times += new,
                    _ => self.recent.push_front(Answer {
                        backend: b.id,
                        text: format!("Hello from Server {}!", b.id),
                        times: new,
                    }),
                }
                self.recent.truncate(RECENT);
            }
        }
        self.history.push_back((at, served));
        while self
            .history
            .front()
            .is_some_and(|(t, _)| at.duration_since(*t) > Duration::from_millis(1100))
        {
            self.history.pop_front();
        }
        if let Some((t0, first)) = self.history.front() {
            let dt = at.duration_since(*t0).as_secs_f64();
            for (b, then) in self.backends.iter_mut().zip(first) {
                b.rps = match (then, b.served) {
                    (Some(then), Some(now)) if dt > 0.0 && now >= *then => (now - then) as f64 / dt,
                    _ => 0.0,
                };
            }
        }
    }
}

/// `served`, `pid` and `in_flight` from a backend's `/stats`.
async fn stats(addr: SocketAddr) -> Result<Stat, String> {
    let (status, body) = probe::get(addr, "/stats").await?;
    let v: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("{addr}/stats answered {status}: {e}"))?;
    let served = v["served"].as_u64();
    let pid = v["pid"].as_u64().and_then(|p| u32::try_from(p).ok());
    let in_flight = v["in_flight"].as_u64();
    match (served, pid, in_flight) {
        (Some(served), Some(pid), Some(in_flight)) => Ok(Stat {
            served,
            pid,
            in_flight,
        }),
        _ => Err(format!("{addr}/stats has no served, pid or in_flight")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_answers_follow_the_counters() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut live = Live::new(&[(1, a), (2, a)]);
        let t = Instant::now();
        let st = |served, pid| {
            Some(Stat {
                served,
                pid,
                in_flight: 0,
            })
        };
        live.record(t, vec![st(10, 100), st(5, 200)]);
        assert!(live.recent.is_empty(), "the first sample is the baseline");
        live.record(
            t + Duration::from_millis(500),
            vec![st(11, 100), st(5, 200)],
        );
        live.record(
            t + Duration::from_millis(1000),
            vec![st(11, 100), st(8, 200)],
        );
        let r: Vec<(u32, u64)> = live.recent.iter().map(|a| (a.backend, a.times)).collect();
        assert_eq!(r, [(2, 3), (1, 1)]);
        assert_eq!(live.recent[0].text, "Hello from Server 2!");
        assert!((live.backends[0].rps - 1.0).abs() < 1e-9);
        assert!((live.backends[1].rps - 3.0).abs() < 1e-9);
        assert_eq!(live.backends[1].pid, Some(200));
        live.record(t + Duration::from_millis(1500), vec![None, st(9, 200)]);
        assert_eq!(live.backends[0].served, None);
        assert_eq!(
            live.recent[0].times, 4,
            "the same backend again adds to its line"
        );
    }
}
