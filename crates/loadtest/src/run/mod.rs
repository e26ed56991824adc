//! The run: `concurrency` tasks, spread over OS threads, take request numbers from one counter
//! until `requests` are issued or the duration is over. Each task sends on its own connection
//! (the lean engine, `http1`) or through a reqwest client whose pool it shares with a few tasks of
//! its thread and source address (`--engine reqwest`), and counts what it sees in its own tally
//! (`tally`); the tallies are merged once, at the end. With `--rate` the tasks send on a fixed
//! schedule instead (see `schedule`).

mod shared;
mod worker;

use std::net::IpAddr;
use std::sync::Arc;

use shared::Shared;
use worker::{Transport, worker};

use crate::config::{Config, Engine};
use crate::http1::{self, RequestBytes};
use crate::progress::Progress;
use crate::report::Report;
use crate::reqwest_engine;
use crate::stop::Stop;
use crate::tally::{Ending, TaskTally, Totals};

/// Runs the load test described by `config` and judges its expectations.
pub async fn run(config: &Config) -> Result<Report, String> {
    run_until(config, &Stop::new()).await
}

/// [`run`], ended early when `stop` is triggered: the report is of what was done until then.
pub async fn run_until(config: &Config, stop: &Stop) -> Result<Report, String> {
    config.validate()?;
    let tasks = if config.duration.is_some() {
        u64::from(config.concurrency)
    } else {
        u64::from(config.concurrency).min(config.requests)
    };
    let lean = match config.engine {
        Engine::Lean => Some((
            http1::resolve(&config.url, &config.source_ips).await?,
            RequestBytes::new(&config.url, &config.headers, config.keep_alive),
        )),
        Engine::Reqwest => None,
    };
    let shared = Arc::new(Shared::new(config, stop, tasks, lean));
    let bar = Progress::start(config, shared.progress.clone());
    let threads = config.threads.clamp(1, tasks.max(1) as usize);
    let mut done = Vec::with_capacity(threads);
    for t in 0..threads {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let shared = shared.clone();
        std::thread::Builder::new()
            .name(format!("loadtest-{t}"))
            .spawn(move || {
                let _ = tx.send(run_thread(shared, t, threads, tasks as usize));
            })
            .map_err(|e| format!("cannot start a load-test thread: {e}"))?;
        done.push(rx);
    }
    let mut totals = Totals::new(config);
    for rx in done {
        let part = rx
            .await
            .map_err(|_| "a load-test thread died".to_string())?;
        for task in part? {
            totals.merge(task);
        }
    }
    let elapsed = shared.start.elapsed();
    if let Some(bar) = bar {
        bar.finish().await;
    }
    let ending = Ending {
        elapsed,
        interrupted: shared.stop.is_triggered(),
        schedule: shared.schedule.as_ref(),
        deadline: shared.deadline,
        timeline: shared.timeline.as_deref(),
        service: shared.service.as_ref(),
    };
    Ok(totals.into_report(config, &shared.latencies, ending))
}

/// One OS thread's share of the tasks (every `threads`-th from `first`) on its own single-threaded
/// runtime: a connection's task never migrates and no wake-up crosses threads, which a shared
/// work-stealing runtime pays for on every request.
fn run_thread(
    shared: Arc<Shared>,
    first: usize,
    threads: usize,
    tasks: usize,
) -> Result<Vec<TaskTally>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a load-test runtime: {e}"))?;
    let mine: Vec<usize> = (first..tasks).step_by(threads).collect();
    // When no task sends a second request (-n at most -c), a connection is never reused: closing it
    // after its answer saves the pool's bookkeeping, about a tenth of a burst's instructions.
    let reuse = shared.config.keep_alive
        && (shared.config.duration.is_some() || shared.config.requests > tasks as u64);
    let clients = match shared.lean {
        Some(_) => Vec::new(),
        None => reqwest_engine::build_clients(&shared.config, mine.len(), reuse)?,
    };
    rt.block_on(async {
        let handles: Vec<_> = mine
            .into_iter()
            .enumerate()
            .map(|(j, i)| {
                let source = source_of(&shared.config, i);
                let transport = match &shared.lean {
                    Some((target, request)) => Transport::Lean {
                        conn: http1::Conn::new(
                            *target,
                            source,
                            shared.config.timeout,
                            request.keeps_alive(),
                            shared.config.ok_status,
                        ),
                        scratch: Vec::new(),
                    },
                    None => {
                        // Sources by the run-wide task number, so they alternate across threads too.
                        let for_source = &clients[i % clients.len()];
                        let client = for_source[j % for_source.len()].clone();
                        Transport::Reqwest(reqwest_engine::Sender::new(client, &shared.config))
                    }
                };
                tokio::spawn(worker(shared.clone(), transport, source))
            })
            .collect();
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(
                h.await
                    .map_err(|e| format!("a load-test task failed: {e}"))?,
            );
        }
        Ok(out)
    })
}

/// The source address of run-wide task `i`, if the run has any.
fn source_of(config: &Config, i: usize) -> Option<IpAddr> {
    (!config.source_ips.is_empty()).then(|| config.source_ips[i % config.source_ips.len()])
}
