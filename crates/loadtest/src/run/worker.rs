//! One task of the run: it takes request numbers from the shared counter and sends each on its
//! own connection (the lean engine) or through its reqwest client, until the run is over, resending
//! a request only after the keep-alive race.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::shared::Shared;
use crate::backend_key::BackendKey;
use crate::failure::Failure;
use crate::header::HeaderTemplate;
use crate::http1;
use crate::reqwest_engine;
use crate::stop::Watch;
use crate::tally::TaskTally;
use crate::timeline::TaskTimeline;

/// How often one request is sent again after the keep-alive race.
const MAX_RESENDS: u32 = 3;

/// How a task sends: on its own lean HTTP/1.1 connection, or through a reqwest client whose
/// connection pool it shares with a few other tasks.
pub(super) enum Transport {
    Lean {
        conn: http1::Conn,
        /// The request's bytes where a header varies per request.
        scratch: Vec<u8>,
    },
    Reqwest(reqwest_engine::Sender),
}

impl Transport {
    async fn send(
        &mut self,
        shared: &Shared,
        varying: &[&HeaderTemplate],
        seq: u64,
    ) -> Result<(u16, BackendKey), Failure> {
        match self {
            Transport::Lean { conn, scratch } => {
                let Some((_, request)) = &shared.lean else {
                    unreachable!("a lean transport is made only with the lean engine's request");
                };
                conn.exchange(request.for_request(seq, scratch)).await
            }
            Transport::Reqwest(sender) => sender.send(&shared.config, varying, seq).await,
        }
    }

    /// Whether the request just sent could have gone out on a connection kept alive from an
    /// earlier one. The lean engine knows; with reqwest's pool, a task that had an answer may
    /// have left a connection idle there.
    fn may_have_reused(&self, keep_alive: bool, answered_before: bool) -> bool {
        match self {
            Transport::Lean { conn, .. } => conn.was_reused(),
            Transport::Reqwest(_) => keep_alive && answered_before,
        }
    }
}

pub(super) async fn worker(
    shared: Arc<Shared>,
    mut transport: Transport,
    source: Option<IpAddr>,
) -> TaskTally {
    let cfg = &shared.config;
    let varying: Vec<_> = cfg.headers.iter().filter(|h| !h.is_constant()).collect();
    let mut tally = TaskTally::new(
        shared
            .timeline
            .as_ref()
            .map(|b| TaskTimeline::new(b.clone(), shared.buffer_cap)),
        shared.buffer_cap,
    );
    let mut busy = false;
    // Whether a connection of this task could have been kept alive: only a complete answer, of
    // any status, leaves one idle in the pool.
    let mut answered_before = false;
    let stop = shared.stop.watch();
    // One future for the whole task, so a request registers no timer or waiter of its own.
    let ended = cut_off(shared.cut_off, shared.stop.watch());
    tokio::pin!(ended);

    loop {
        if stop.is_triggered()
            || shared
                .deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
        {
            break;
        }
        let seq = shared.issued.fetch_add(1, Ordering::Relaxed);
        if shared.deadline.is_none() && seq >= cfg.requests {
            break;
        }
        // Closed model: timed from the send. Open model: a task that was free waits for the due
        // time and is timed from when it woke; one that was busy past it is timed from the due
        // time, so the wait for a free connection counts (and timer slack does not).
        let mut timed_from = None;
        if let Some(schedule) = &shared.schedule {
            let due = schedule.due(seq);
            if shared.deadline.is_some_and(|d| due >= d) {
                break;
            }
            if due > Instant::now() {
                tokio::select! {
                    () = tokio::time::sleep_until(due.into()) => {}
                    () = &mut ended => break,
                }
            } else if busy {
                // Only a task busy with an earlier request was held up by the target; a first
                // request is late only by the client's own start-up.
                tally.late += 1;
                timed_from = Some(due);
            }
        }
        let sent_at = Instant::now();
        let sent = timed_from.unwrap_or(sent_at);
        tally.note_send(sent_at);
        busy = true;
        let exchange = send_once(
            &mut transport,
            &shared,
            &varying,
            seq,
            answered_before,
            &mut tally.resent,
        );
        let outcome = tokio::select! {
            outcome = exchange => outcome,
            () = &mut ended => {
                tally.unanswered += 1;
                break;
            }
        };
        let now = Instant::now();
        // A 404 or a 304 leaves the connection as reusable as a 200 does: were only the statuses
        // counted as answers marked, a pool that had seen nothing else would never be resent on
        // after the keep-alive race, and requests the server never received would count as failed.
        if matches!(&outcome, Ok(_) | Err(Failure::Status(_))) {
            answered_before = true;
        }
        let slot_key = tally.push(&outcome, sent, now, &shared.latencies);
        if let Some(service) = &shared.service {
            tally.push_service(slot_key, sent_at, now, service);
        }
        if shared.track_clients
            && let Some(key) = slot_key
        {
            tally.push_client(source, &varying, seq, key);
        }
        if let Some(p) = &shared.progress {
            p.done.fetch_add(1, Ordering::Relaxed);
            if slot_key.is_none() {
                p.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    tally.flush(&shared.latencies);
    if let Some(service) = &shared.service {
        tally.flush_service(service);
    }
    tally
}

/// Sends request `seq` and, after the HTTP/1.1 keep-alive race, sends it again. The race: the
/// server closed an idle kept-alive connection (nginx's old workers do on every reload) just as the
/// request went out on it. Nothing was processed, so the GET is sent again (RFC 9112 §9.3.1), a few
/// times at most; it still counts once. An answer that does not parse is an answer: the server
/// took the request, so it is not resent.
async fn send_once(
    transport: &mut Transport,
    shared: &Shared,
    varying: &[&HeaderTemplate],
    seq: u64,
    answered_before: bool,
    resent: &mut u64,
) -> Result<(u16, BackendKey), Failure> {
    let keep_alive = shared.config.keep_alive;
    let mut outcome = transport.send(shared, varying, seq).await;
    let mut tries = 1;
    while tries <= MAX_RESENDS
        && matches!(&outcome, Err(f) if f.is_keep_alive_race())
        && transport.may_have_reused(keep_alive, answered_before)
    {
        *resent += 1;
        tries += 1;
        outcome = transport.send(shared, varying, seq).await;
    }
    outcome
}

/// Resolves when the requests in flight are to be given up on: at `at`, or when the run is stopped.
async fn cut_off(at: Option<Instant>, mut stop: Watch) {
    let drained = async {
        match at {
            Some(at) => tokio::time::sleep_until(at.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = drained => {}
        () = stop.triggered() => {}
    }
}
