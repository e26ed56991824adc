//! What each backend did moment by moment, for the report's charts over time: per time bucket, the
//! answers of each backend, the failures by kind, each backend's p50 and p99, and the client's own
//! requests in flight at each backend.
//!
//! The bucket is adaptive: about [`TARGET`] buckets over the run, never narrower than [`MIN_WIDTH`].
//! A run with a duration knows its length, so its width is chosen before it starts
//! ([`bucket_width`]). A run of `-n` requests does not: it starts at [`MIN_WIDTH`], and whenever a
//! request ends past [`MAX_BUCKETS`] buckets the width doubles and adjacent buckets are merged; at
//! the end, adjacent buckets are merged once more until about [`TARGET`] are left. Merging keeps
//! every count exact (counts add, latency histograms add, time in flight adds), and bounds the
//! memory whatever the run's length, which choosing a width from a guessed rate would not.
//!
//! The hot path takes no lock: each task appends its finished requests to a buffer of its own
//! (`task.rs`) and hands the buffer to the shared buckets (`buckets.rs`) when it is full, so the
//! lock is taken once per buffer-full, as the latency histograms are.

mod buckets;
mod task;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

pub(crate) use buckets::Buckets;
pub(crate) use task::TaskTimeline;

use crate::backend_key::BackendKey;

/// About how many buckets a run is cut into.
pub const TARGET: u64 = 100;
/// The narrowest bucket: finer would show the scheduler's noise rather than the balancer.
pub const MIN_WIDTH: Duration = Duration::from_millis(10);
/// The most buckets kept while a run of unknown length goes on; past it the width doubles.
pub(crate) const MAX_BUCKETS: usize = 400;

/// The bucket a run starts with: its duration over [`TARGET`] (rounded up to a whole millisecond),
/// or [`MIN_WIDTH`] when its length is not known (`-n`), never less than [`MIN_WIDTH`].
pub fn bucket_width(duration: Option<Duration>) -> Duration {
    match duration {
        Some(d) => {
            let ms = (d.as_millis() as u64).div_ceil(TARGET);
            Duration::from_millis(ms).max(MIN_WIDTH)
        }
        None => MIN_WIDTH,
    }
}

/// What the report carries. Bucket `i` covers `[i × bucket_ms, (i + 1) × bucket_ms)` since the
/// start; a request belongs to the bucket in which it ended. Every row has one entry per bucket,
/// and the last bucket ends where the run ended (it may be shorter than `bucket_ms`).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct Timeline {
    /// The width of a bucket, in milliseconds.
    pub bucket_ms: f64,
    /// Backend → answers in each bucket; every backend of the report is listed, 0 included.
    pub answered: BTreeMap<BackendKey, Vec<u64>>,
    /// Failed requests in each bucket, all kinds together (a failure names no backend).
    pub errors: Vec<u64>,
    /// Failure kind (as in `errors_by_kind`) → failed requests of that kind in each bucket.
    pub failures: BTreeMap<String, Vec<u64>>,
    /// Backend → the median latency (ms) of its answers in each bucket; `null` where it had none.
    pub p50_ms: BTreeMap<BackendKey, Vec<Option<f64>>>,
    /// Backend → the 99th percentile, as `p50_ms`.
    pub p99_ms: BTreeMap<BackendKey, Vec<Option<f64>>>,
    /// The median of all answers in each bucket, whoever answered.
    pub all_p50_ms: Vec<Option<f64>>,
    /// The 99th percentile of all answers in each bucket.
    pub all_p99_ms: Vec<Option<f64>>,
    /// Backend → how many of this client's requests were in flight at it, on average over each
    /// bucket. Attribution after the fact: a request counts from when it was sent (with `--rate`,
    /// from when it was due) until its answer, at the backend its answer names. Requests that
    /// failed or were still unanswered at the end are in no backend's row, and nginx's own queue
    /// is not told apart from the backend's: it is the client's view of each backend's queue.
    pub in_flight: BTreeMap<BackendKey, Vec<f64>>,
    /// When bucket 0 began, so that a caller can place its own events on the same clock.
    #[serde(skip)]
    pub start: Option<Instant>,
}

impl Timeline {
    /// How many buckets the run covers.
    pub fn buckets(&self) -> usize {
        self.errors.len()
    }

    /// The one line the text report gives it.
    pub fn describe(&self) -> String {
        format!(
            "timeline {} buckets of {} ms (per backend: answers, p50/p99, in flight; failures by kind)",
            self.buckets(),
            self.bucket_ms
        )
    }

    /// Seconds since the start at which bucket `i` begins.
    pub fn at_s(&self, i: usize) -> f64 {
        i as f64 * self.bucket_ms / 1000.0
    }
}
