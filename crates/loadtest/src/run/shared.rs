//! What every task of a run reads: the load, the clock, the counter that hands out request
//! numbers, when to stop, and where latencies and progress are counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use crate::arrivals::fresh_seed;
use crate::config::Config;
use crate::http1::RequestBytes;
use crate::progress::ProgressCounts;
use crate::schedule::Schedule;
use crate::stop::Stop;
use crate::tally::Latencies;
use crate::timeline::{self, Buckets};

/// How long a run with a duration waits, after it, for the answers still in flight: long enough for
/// a healthy target's (so the backends' counts match the client's), short enough that a hung target
/// does not hold the run until --timeout.
const DRAIN: Duration = Duration::from_millis(500);

/// All latency samples held by all tasks between flushes, at most (bounds the client's memory).
const SAMPLE_BUDGET: usize = 1 << 18;

pub(crate) struct Shared {
    pub config: Config,
    pub start: Instant,
    pub issued: AtomicU64,
    pub deadline: Option<Instant>,
    /// When the requests still in flight are given up on: the deadline and a drain.
    pub cut_off: Option<Instant>,
    pub stop: Stop,
    /// With `--rate`: when each request is due.
    pub schedule: Option<Schedule>,
    pub latencies: Latencies,
    /// With `Config::timeline`: the time buckets every task hands its finished requests to.
    pub timeline: Option<Arc<Buckets>>,
    /// With `--rate`: the latencies from the send (service time); `latencies` are from when each
    /// request was due.
    pub service: Option<Latencies>,
    pub progress: Option<Arc<ProgressCounts>>,
    pub track_clients: bool,
    /// How many latency samples a task holds before it records them.
    pub buffer_cap: usize,
    /// With the lean engine: where to connect, and the request's bytes.
    pub lean: Option<(SocketAddr, RequestBytes)>,
}

impl Shared {
    /// A run of `tasks` tasks starting now.
    pub fn new(
        config: &Config,
        stop: &Stop,
        tasks: u64,
        lean: Option<(SocketAddr, RequestBytes)>,
    ) -> Shared {
        let start = Instant::now();
        Shared {
            config: config.clone(),
            start,
            issued: AtomicU64::new(0),
            deadline: config.duration.map(|d| start + d),
            cut_off: config
                .duration
                .map(|d| start + d + DRAIN.min(config.timeout)),
            stop: stop.clone(),
            schedule: config.rate.map(|r| {
                let seed = config.seed.unwrap_or_else(fresh_seed);
                Schedule::with_arrivals(start, r, config.arrivals, seed)
            }),
            latencies: Latencies::default(),
            timeline: config
                .timeline
                .then(|| Arc::new(Buckets::new(start, timeline::bucket_width(config.duration)))),
            service: config.rate.map(|_| Latencies::default()),
            progress: config.progress.then(|| Arc::new(ProgressCounts::default())),
            track_clients: config.tracks_clients(),
            buffer_cap: (SAMPLE_BUDGET / tasks.max(1) as usize).clamp(16, 4096),
            lean,
        }
    }
}
