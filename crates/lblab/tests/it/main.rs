//! The runner's end-to-end tests: the real `lblab` binary, real backends and a real nginx on free
//! loopback ports. They are one test binary, with a module per concern: each binary links tokio,
//! reqwest and serde anew, and cargo runs test binaries one after another, so a file's few slow
//! tests used to leave the cores idle.
//!
//! All of them run in parallel in this one process, so a test keeps what it changes to itself: a
//! test that looks at what the runner leaves behind gives it its own scratch directory as `TMPDIR`
//! (`common::scratch`), a lab started with `up` has its own `--state-dir`, and the lab takes free
//! ports. Whatever belongs to a whole process (the environment, the current directory, `TMPDIR`,
//! signal dispositions, process groups) is set on the child `Command`, never on this process.
//!
//! Where a new test goes:
//!
//! - `distribution`: which backend answers, method by method, judged by `--expect`.
//! - `faults`, `open_model`: the load under faults, and the open model's latency.
//! - `lessons`: the recipes of docs/methods.md's "Scenarios that teach", with their outcomes.
//! - `lifecycle`: `up`, `switch`, `status` and teardown, the lab's processes.
//! - `scale`: the largest lab, and the most connections, nginx sized within the open-files limit.
//! - `state`, `security`: the record of a running lab, when commands race or are killed, and when
//!   another user plants something in it.
//! - `state_dir`: which state directories `up` takes, the default one, and the nginx prefix.
//! - `interrupts`, `closed_stdout`: Ctrl-C at any moment, and a reader that goes away.
//! - `upstream_settings`: `--max-fails`, `--fail-timeout`, `--backup`, `--keepalive`, refused where
//!   nginx would refuse them, and `switch` changing them.
//! - `errors`, `load_flags`, `config_text`, `nginx_probe`: bad input and a bad `--nginx`, refused
//!   before anything starts; what reaches nginx.conf from the user's words.
//! - `help_examples`: the examples of `--help`, run as written.
//! - `generated_files`: `--generate`, the shell completions and man pages.
//! - `compare`, `run_report`, `report_files`: `lblab compare`, the chart of `run --html`, and the
//!   files a report is written to.
//! - `timeline`: what each backend did bucket by bucket through a kill, in the JSON and the HTML.
//! - `theory`: each method's measurement against what theory predicts for it, in `compare` and
//!   `run`.
//! - `dashboard`, `dashboard_connections`, `dashboard_browser`, `dashboard_chart`, `favicon`:
//!   `up --dashboard` over HTTP, the connections it holds, the page and its rolling chart in
//!   Chromium; `dashboard_haproxy`, the same page in front of HAProxy.
//!
//! `common` starts the runner and reads its answers; `dashboard_support` speaks HTTP to the
//! dashboard and drives the browser; `svg` reads back the charts lblab draws.

mod common;
mod dashboard_support;
mod svg;

mod closed_stdout;
mod compare;
mod config_text;
mod dashboard;
mod dashboard_browser;
mod dashboard_chart;
mod dashboard_connections;
mod dashboard_haproxy;
mod distribution;
mod errors;
mod faults;
mod favicon;
mod generated_files;
mod haproxy;
mod help_examples;
mod interrupts;
mod lessons;
mod lifecycle;
mod load_flags;
mod nginx_probe;
mod open_model;
mod report_files;
mod run_report;
mod scale;
mod security;
mod state;
mod state_dir;
mod theory;
mod timeline;
mod upstream_settings;
