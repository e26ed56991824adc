//! The result of a run, as `--json` prints it and `printer` words it: the counts, the rates, the
//! latencies of the answered requests and the expectations' verdicts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::backend_key::{BackendKey, counts_dict};
use crate::schedule::ScheduleReport;
use crate::timeline::Timeline;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
    pub min: f64,
    pub p95: f64,
    pub p999: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackendReport {
    pub count: u64,
    /// Of the answered requests, 0.0–1.0.
    pub share: f64,
    pub latency_ms: Latency,
    /// With `--rate`: from the send (service time); `latency_ms` is from when it was due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_latency_ms: Option<Latency>,
}

/// The result of a run; `--json` prints it as is (the README documents the schema), and `loadtest
/// merge` reads it back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub url: String,
    /// Requests completed: `ok + errors`.
    pub requests: u64,
    /// Requests answered with a status of `--ok-status` (2xx and 3xx by default).
    pub ok: u64,
    pub errors: u64,
    /// `connect refused`, `timeout`, `status 502`, … → count.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// HTTP status → answers with it, ok and not (a failure before an answer has none).
    pub status_codes: BTreeMap<u16, u64>,
    /// Requests sent again because the server closed their kept-alive connection before answering
    /// (each still counts once in `requests`).
    pub resent: u64,
    /// Requests still in flight when the run ended (its duration and a short drain were over, or
    /// it was interrupted); not in `requests`. Unless the run was interrupted they count as errors
    /// against `--max-errors`.
    pub unanswered: u64,
    /// The run was stopped early (Ctrl-C); the report is of what was done until then.
    pub interrupted: bool,
    /// With `--rate`: the rate asked for and how far the run fell behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleReport>,
    /// Backend id (or `unknown`) → answered requests; every expected backend is listed, 0 included.
    pub counts: BTreeMap<BackendKey, u64>,
    pub elapsed_s: f64,
    /// Answered (ok) requests per second.
    pub rps: f64,
    /// Failed requests per second.
    pub errors_per_s: f64,
    /// Of the answered requests; failed ones are only counted, in `errors`.
    pub latency_ms: Latency,
    /// With `--rate`: the latencies of the answered requests from their send (service time);
    /// `latency_ms` is then from when each was due (what the users of the service experience).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_latency_ms: Option<Latency>,
    pub backends: BTreeMap<BackendKey, BackendReport>,
    /// The latency histograms, exact, for `loadtest merge`; absent only in reports made without
    /// their samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histograms: Option<Histograms>,
    /// Per client (source address and the values of varying headers) → backend → count; present
    /// when the run used several source addresses or varying headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clients: Option<BTreeMap<String, BTreeMap<BackendKey, u64>>>,
    pub expectations: Vec<Outcome>,
    /// Per backend per time bucket: answers, failures by kind, p50/p99, in flight; present when
    /// the run was asked to keep them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
    /// No expectation failed and the errors are within `--max-errors`.
    pub passed: bool,
    /// `loadtest merge` only: each file merged, with its own counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<Source>>,
}

/// One expectation's verdict, with the sentence that explains it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    pub expect: String,
    pub ok: bool,
    pub message: String,
}

/// One merged file, as the merged report lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Source {
    pub file: String,
    pub url: String,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub elapsed_s: f64,
    pub rps: f64,
    pub counts: BTreeMap<BackendKey, u64>,
}

/// The run's latency histograms in HdrHistogram's interchange form (V2, compressed, base64): of all
/// the answered requests and of each backend's; with `--rate` also those from the send.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Histograms {
    pub latency: String,
    pub backends: BTreeMap<BackendKey, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_latency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_backends: Option<BTreeMap<BackendKey, String>>,
}

impl Report {
    /// Requests that count against `--max-errors`: the errors, and the requests still unanswered
    /// when the run ended unless Ctrl-C cut them off (those did not fail).
    pub fn failed(&self) -> u64 {
        self.errors + if self.interrupted { 0 } else { self.unanswered }
    }

    /// What `--max-errors` is a share of, and the verdict counts: every request sent, answered or
    /// failed (`requests`) or still unanswered at the end.
    pub fn sent(&self) -> u64 {
        self.requests + self.unanswered
    }

    /// The original lab's one-line summary: `{1: 333, 2: 333, 3: 334}`.
    pub fn counts_line(&self) -> String {
        counts_dict(&self.counts)
    }
}
