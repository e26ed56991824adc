//! The `loadtest` crate's integration tests, one binary so that tokio, reqwest and serde are linked
//! once. Each module holds the tests of one concern; a new test goes into the module whose concern
//! it checks, and a helper that two modules need goes into `support`.

/// Servers and helpers the modules share: the binary, raw TCP servers, a real nginx.
mod support;

/// Latency and req/s of answered requests only; failures have their own count and rate.
mod answered_only;
/// The binary's command line: bad input, and an unreachable target as a run with errors.
mod cli;
/// A reader of stdout that goes away early.
mod closed_stdout;
/// Runs with a duration: when they end, whatever the target does.
mod duration;
/// `--expect` as the binary judges it: refused up front, and answers that name no backend.
mod expect;
/// `--generate`: the shell completions and the man page.
mod generated_files;
/// What goes on the wire: -H, Host, Connection, credentials, the same for both engines.
mod headers;
/// Ctrl-C during a run.
mod interrupt;
/// Answers that are not HTTP.
mod invalid_response;
/// Kept-alive connections, `--no-keep-alive`, and the resend after the keep-alive race.
mod keep_alive;
/// The lean engine's framing against real servers, and its counts against reqwest's.
mod lean_engine;
/// `loadtest merge`: several real runs' reports as one, exactly.
mod merge;
/// The open-files limit and `-c`.
mod open_files;
/// `--rate`: both latencies, a stall, the delivered rate, Poisson arrivals.
mod rate;
/// The text report.
mod report;
/// `--source-ip` addresses the run cannot send from.
mod source_ip;
/// Which statuses count as answers, and `--ok-status`.
mod statuses;
/// Thresholds in `--expect` (latency, errors, rate, per backend) against real backends.
mod thresholds;
