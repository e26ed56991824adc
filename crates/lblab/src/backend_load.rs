//! The backends' own requests in flight over a run: each backend's `/stats` asked on a fixed
//! interval beside the load, so the report can draw the queue each backend holds as the backend
//! sees it (beside the client's view, which attributes its requests after their answers).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;

use crate::procfs;

/// A backend to ask: its id, its address, and the process that must still be running there.
pub struct Target {
    pub id: u32,
    pub addr: SocketAddr,
    pid: u32,
    /// The process's start time: with the PID, it names that process for good.
    started: Option<u64>,
}

impl Target {
    pub fn new(id: u32, addr: SocketAddr, pid: u32) -> Target {
        Target {
            id,
            addr,
            pid,
            started: procfs::start_time(pid),
        }
    }

    /// Whether the process the lab started is still the one on the address. Once it is gone it is
    /// never asked again, not even after a restart: whatever holds its address now may be another
    /// program, and a backend started again is a process this sampler was not told of.
    fn alive(&self) -> bool {
        self.started
            .is_some_and(|s| procfs::alive_since(self.pid, s))
    }
}

/// The fastest a backend is asked: more often would cost the backends more than it shows.
const FLOOR: Duration = Duration::from_millis(20);
/// Added to the interval per backend, so that a large lab is asked at most about 250 times a second
/// in all.
const PER_BACKEND: Duration = Duration::from_millis(4);

/// What the report carries.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sampled {
    /// How often each backend was asked, in milliseconds.
    pub interval_ms: u64,
    /// When each round of asking began, in ms since the load started (the timeline's clock).
    pub at_ms: Vec<f64>,
    /// Backend id → its `in_flight` in each round; `null` where it did not answer within the
    /// interval (paused, or too busy) or was not asked (its process had ended: killed, or killed
    /// and started again).
    pub in_flight: BTreeMap<u32, Vec<Option<u64>>>,
}

/// How often a lab of `backends` is asked, given the timeline's bucket: once a bucket, but no more
/// often than [`FLOOR`] and [`PER_BACKEND`] allow.
pub fn interval(bucket: Duration, backends: usize) -> Duration {
    bucket.max(FLOOR).max(PER_BACKEND * backends as u32)
}

/// Asks every backend of `targets` whose process still runs for its `/stats` every `every` from
/// `start`, until `done` says the load has ended.
pub async fn sample(
    targets: Vec<Target>,
    every: Duration,
    start: Instant,
    mut done: tokio::sync::watch::Receiver<bool>,
) -> Sampled {
    let mut out = Sampled {
        interval_ms: every.as_millis() as u64,
        ..Sampled::default()
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            _ = done.wait_for(|d| *d) => break,
            _ = tick.tick() => {}
        }
        let at = start.elapsed();
        let mut asked = JoinSet::new();
        for (i, t) in targets.iter().enumerate().filter(|(_, t)| t.alive()) {
            let addr = t.addr;
            // A paused backend accepts the connection and never answers: it is given up on
            // within the interval, so one stopped backend does not hold up the next round.
            asked.spawn(async move {
                (
                    i,
                    tokio::time::timeout(every, in_flight(addr))
                        .await
                        .ok()
                        .flatten(),
                )
            });
        }
        let mut round = vec![None; targets.len()];
        while let Some(Ok((i, n))) = asked.join_next().await {
            round[i] = n;
        }
        out.at_ms.push(at.as_secs_f64() * 1000.0);
        for (t, n) in targets.iter().zip(round) {
            out.in_flight.entry(t.id).or_default().push(n);
        }
    }
    out
}

impl Sampled {
    /// The same samples on a clock that starts `by` later (the load's own start).
    pub fn shifted(mut self, by: Duration) -> Sampled {
        let ms = by.as_secs_f64() * 1000.0;
        for t in &mut self.at_ms {
            *t = ((*t - ms) * 1000.0).round() / 1000.0;
        }
        self
    }
}

/// The backend's `in_flight`, read by [`crate::probe::stats`] (closed from this side, so that the
/// samples leave no TIME_WAIT on the backend's port).
async fn in_flight(addr: SocketAddr) -> Option<u64> {
    crate::probe::stats(addr).await?["in_flight"].as_u64()
}
