//! The run: `concurrency` tasks, spread over OS threads, take request numbers from one counter
//! until `requests` are issued or the duration is over. Each task sends on its own connection
//! (the lean engine, `http1`) or through a reqwest client whose pool it shares with a few tasks of
//! its thread and source address (`--engine reqwest`). Each task keeps its own counts and a small
//! buffer of latency samples; the shared histograms are locked once per buffer-full, never per
//! request. With `--rate` the tasks send on a fixed schedule instead (see `schedule`).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use reqwest::header::{AUTHORIZATION, CONNECTION, HeaderValue};
use reqwest::{Client, Request};

use crate::attribution::{id_in_body, id_in_header};
use crate::backend_key::BackendKey;
use crate::config::Config;
use crate::config::Engine;
use crate::failure::Failure;
use crate::header::HeaderTemplate;
use crate::header::{basic_auth, given, without_credentials};
use crate::http1::{self, RequestBytes};
use crate::progress::{Progress, Tally};
use crate::report::{BackendReport, Latency, Report};
use crate::schedule::{Schedule, ScheduleReport};
use crate::status::OkStatus;
use crate::stop::{Stop, Watch};
use crate::timeline::{TaskTimeline, Timeline};

/// A sample's outcome: answered by a backend, or failed.
type SlotKey = Option<BackendKey>;

/// How often one request is sent again after the keep-alive race.
const MAX_RESENDS: u32 = 3;

/// How long a run with a duration waits, after it, for the answers still in flight: long enough for
/// a healthy target's (so the backends' counts match the client's), short enough that a hung target
/// does not hold the run until --timeout.
const DRAIN: Duration = Duration::from_millis(500);

/// All latency samples held by all tasks between flushes, at most (bounds the client's memory).
const SAMPLE_BUDGET: usize = 1 << 18;

struct Shared {
    config: Config,
    start: Instant,
    issued: AtomicU64,
    deadline: Option<Instant>,
    /// When the requests still in flight are given up on: the deadline and a drain.
    cut_off: Option<Instant>,
    stop: Stop,
    /// With `--rate`: when each request is due.
    schedule: Option<Schedule>,
    histograms: Mutex<HashMap<SlotKey, Histogram<u64>>>,
    progress: Option<Arc<Tally>>,
    track_clients: bool,
    buffer_cap: usize,
    /// With the lean engine: where to connect, and the request's bytes.
    lean: Option<(SocketAddr, RequestBytes)>,
}

#[derive(Default)]
struct TaskResult {
    slots: Vec<(SlotKey, u64)>,
    errors: Vec<(String, u64)>,
    clients: HashMap<String, Vec<(BackendKey, u64)>>,
    statuses: Vec<(u16, u64)>,
    resent: u64,
    /// Sent after it was due (open model only).
    late: u64,
    /// In flight when the run ended.
    unanswered: u64,
    /// With `Config::timeline`: this task's answers per slot per second.
    timeline: Option<TaskTimeline>,
}

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
    let start = Instant::now();
    let shared = Arc::new(Shared {
        config: config.clone(),
        start,
        issued: AtomicU64::new(0),
        deadline: config.duration.map(|d| start + d),
        cut_off: config
            .duration
            .map(|d| start + d + DRAIN.min(config.timeout)),
        stop: stop.clone(),
        schedule: config.rate.map(|r| Schedule::new(start, r)),
        histograms: Mutex::new(HashMap::new()),
        progress: config.progress.then(|| Arc::new(Tally::default())),
        track_clients: config.tracks_clients(),
        buffer_cap: (SAMPLE_BUDGET / tasks.max(1) as usize).clamp(16, 4096),
        lean,
    });
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
    let mut results = Vec::with_capacity(tasks as usize);
    for rx in done {
        let part = rx
            .await
            .map_err(|_| "a load-test thread died".to_string())?;
        results.extend(part?);
    }
    let elapsed = start.elapsed();
    if let Some(bar) = bar {
        bar.finish().await;
    }
    Ok(build_report(config, &shared, results, elapsed))
}

/// One OS thread's share of the tasks (every `threads`-th from `first`) on its own single-threaded
/// runtime: a connection's task never migrates and no wake-up crosses threads, which a shared
/// work-stealing runtime pays for on every request.
fn run_thread(
    shared: Arc<Shared>,
    first: usize,
    threads: usize,
    tasks: usize,
) -> Result<Vec<TaskResult>, String> {
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
        None => build_clients(&shared.config, mine.len(), reuse)?,
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
                        let template = base_request(&client, &shared.config).ok();
                        Transport::Reqwest { client, template }
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

/// Tasks that share one client, so one connection pool, at most. A task that finds no idle
/// connection waits in its pool's queue, and leaving that queue scans it: with all 1000 tasks of a
/// burst in one pool that is a fifth of the client's instructions.
const TASKS_PER_POOL: usize = 32;

/// The clients for one thread's `tasks`, per source address: as many per source as it takes for
/// each to serve about `TASKS_PER_POOL` tasks. Only this thread uses them, so their locks are never
/// contended.
fn build_clients(config: &Config, tasks: usize, reuse: bool) -> Result<Vec<Vec<Client>>, String> {
    let sources: Vec<Option<IpAddr>> = if config.source_ips.is_empty() {
        vec![None]
    } else {
        config.source_ips.iter().copied().map(Some).collect()
    };
    let per_source = tasks
        .div_ceil(sources.len())
        .div_ceil(TASKS_PER_POOL)
        .max(1);
    let pool = if reuse {
        tasks.div_ceil(sources.len() * per_source)
    } else {
        0
    };
    sources
        .iter()
        .map(|&ip| {
            (0..per_source)
                .map(|_| build_client(config, pool, ip))
                .collect()
        })
        .collect()
}

/// The source address of run-wide task `i`, if the run has any.
fn source_of(config: &Config, i: usize) -> Option<IpAddr> {
    (!config.source_ips.is_empty()).then(|| config.source_ips[i % config.source_ips.len()])
}

fn build_client(
    config: &Config,
    // Idle connections kept for reuse.
    pool: usize,
    ip: Option<IpAddr>,
) -> Result<Client, String> {
    Client::builder()
        .http1_only()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        // Every request is sent exactly once: a retried request would be counted once by the
        // client and twice by the backends.
        .retry(reqwest::retry::never())
        .timeout(config.timeout)
        .tcp_nodelay(true)
        // Four setsockopt calls fewer per connection; a dead peer is bounded by --timeout.
        .tcp_keepalive(None)
        .tcp_keepalive_interval(None)
        .tcp_keepalive_retries(None)
        .tcp_user_timeout(None)
        .pool_max_idle_per_host(pool)
        .local_address(ip)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

async fn worker(
    shared: Arc<Shared>,
    mut transport: Transport,
    source: Option<IpAddr>,
) -> TaskResult {
    let cfg = &shared.config;
    let varying: Vec<_> = cfg.headers.iter().filter(|h| !h.is_constant()).collect();
    let mut result = TaskResult {
        timeline: cfg.timeline.then(|| {
            // The run's length and its drain, so that no row grows while the run sends.
            TaskTimeline::new(cfg.duration.map_or(0, |d| d.as_secs() as usize + 2))
        }),
        ..TaskResult::default()
    };
    let mut samples: Vec<u64> = Vec::with_capacity(shared.buffer_cap.min(64));
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
                result.late += 1;
                timed_from = Some(due);
            }
        }
        let sent = timed_from.unwrap_or_else(Instant::now);
        busy = true;
        let exchange = send_once(
            &mut transport,
            &shared,
            &varying,
            seq,
            answered_before,
            &mut result.resent,
        );
        let outcome = tokio::select! {
            outcome = exchange => outcome,
            () = &mut ended => {
                result.unanswered += 1;
                break;
            }
        };
        let now = Instant::now();
        let micros = now
            .saturating_duration_since(sent)
            .as_micros()
            .min(u128::from(u32::MAX)) as u64;
        if let Ok((code, _)) | Err(Failure::Status(code)) = &outcome {
            bump(&mut result.statuses, code);
        }
        // A 404 or a 304 leaves the connection as reusable as a 200 does: were only the statuses
        // counted as answers marked, a pool that had seen nothing else would never be resent on
        // after the keep-alive race, and requests the server never received would count as failed.
        if matches!(&outcome, Ok(_) | Err(Failure::Status(_))) {
            answered_before = true;
        }
        let slot_key = match outcome {
            Ok((_, key)) => Some(key),
            Err(failure) => {
                bump(&mut result.errors, &failure.to_string());
                None
            }
        };
        let slot = slot_index(&mut result.slots, slot_key);
        result.slots[slot].1 += 1;
        if let Some(t) = &mut result.timeline {
            t.count(
                slot,
                now.saturating_duration_since(shared.start).as_secs() as usize,
            );
        }
        samples.push(((slot as u64) << 32) | micros);
        if samples.len() >= shared.buffer_cap {
            flush(&shared, &result.slots, &mut samples);
        }
        if shared.track_clients
            && let Some(key) = slot_key
        {
            record_client(&mut result.clients, source, &varying, seq, key);
        }
        if let Some(p) = &shared.progress {
            p.done.fetch_add(1, Ordering::Relaxed);
            if slot_key.is_none() {
                p.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    flush(&shared, &result.slots, &mut samples);
    result
}

/// How a task sends: on its own lean HTTP/1.1 connection, or through a reqwest client whose
/// connection pool it shares with a few other tasks.
enum Transport {
    Lean {
        conn: http1::Conn,
        /// The request's bytes where a header varies per request.
        scratch: Vec<u8>,
    },
    Reqwest {
        client: Client,
        template: Option<Request>,
    },
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
            Transport::Reqwest { client, template } => {
                let request =
                    build_request(client, template.as_ref(), &shared.config, varying, seq)?;
                send(client, request, shared.config.ok_status).await
            }
        }
    }

    /// Whether the request just sent could have gone out on a connection kept alive from an
    /// earlier one. The lean engine knows; with reqwest's pool, a task that had an answer may
    /// have left a connection idle there.
    fn may_have_reused(&self, keep_alive: bool, answered_before: bool) -> bool {
        match self {
            Transport::Lean { conn, .. } => conn.was_reused(),
            Transport::Reqwest { .. } => keep_alive && answered_before,
        }
    }
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

/// Notes that the client (source address and varying header values) of request `seq` reached `key`.
fn record_client(
    clients: &mut HashMap<String, Vec<(BackendKey, u64)>>,
    source: Option<IpAddr>,
    varying: &[&HeaderTemplate],
    seq: u64,
    key: BackendKey,
) {
    let mut client = source.map(|ip| ip.to_string()).unwrap_or_default();
    for h in varying {
        if !client.is_empty() {
            client.push(' ');
        }
        client.push_str(&format!("{}: {}", h.name, h.render(seq)));
    }
    let backends = clients.entry(client).or_default();
    match backends.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => backends.push((key, 1)),
    }
}

/// The request every request of the run starts from: the URL without its credentials, and the
/// headers but for those that vary. The run's headers are the request's own, not the client's
/// defaults, so that reqwest sends what the lean engine sends (`http1::RequestBytes`): a given
/// header replaces reqwest's own (its `Accept`, hyper's `Host`), a header given twice is sent
/// twice, and the URL's user and password are `Authorization: Basic` unless -H gives one.
fn base_request(client: &Client, cfg: &Config) -> Result<Request, Failure> {
    let mut request = client
        .get(without_credentials(&cfg.url))
        .build()
        .map_err(|e| Failure::Request(e.to_string()))?;
    let headers = request.headers_mut();
    if !cfg.keep_alive && !given(&cfg.headers, "connection") {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(auth) = basic_auth(&cfg.url).filter(|_| !given(&cfg.headers, "authorization")) {
        let value = HeaderValue::from_str(&auth).map_err(|e| Failure::Request(e.to_string()))?;
        headers.insert(AUTHORIZATION, value);
    }
    for h in cfg.headers.iter().filter(|h| h.is_constant()) {
        headers.append(h.name.clone(), h.value(0));
    }
    Ok(request)
}

/// The request for sequence number `seq`: the prepared one with the varying headers filled in.
fn build_request(
    client: &Client,
    template: Option<&Request>,
    cfg: &Config,
    varying: &[&HeaderTemplate],
    seq: u64,
) -> Result<Request, Failure> {
    let mut request = match template.and_then(Request::try_clone) {
        Some(r) => r,
        None => base_request(client, cfg)?,
    };
    for h in varying {
        request.headers_mut().append(h.name.clone(), h.value(seq));
    }
    Ok(request)
}

/// Sends one request and reads the whole answer: its status and who sent it. `Err` names the kind of
/// failure, a status not in `ok_status` included.
async fn send(
    client: &Client,
    request: Request,
    ok_status: OkStatus,
) -> Result<(u16, BackendKey), Failure> {
    let response = client
        .execute(request)
        .await
        .map_err(|e| Failure::classify(&e))?;
    let status = response.status();
    let by_header = id_in_header(response.headers());
    let body = response.bytes().await.map_err(|e| Failure::classify(&e))?;
    if !ok_status.contains(status.as_u16()) {
        return Err(Failure::Status(status.as_u16()));
    }
    let id = by_header.unwrap_or_else(|| id_in_body(&body));
    Ok((
        status.as_u16(),
        id.map_or(BackendKey::Unknown, BackendKey::Id),
    ))
}

/// Adds one to `key`'s count in a small list of counts.
fn bump<K: ToOwned + PartialEq + ?Sized>(list: &mut Vec<(K::Owned, u64)>, key: &K) {
    use std::borrow::Borrow;
    match list.iter_mut().find(|(k, _)| k.borrow() == key) {
        Some((_, n)) => *n += 1,
        None => list.push((key.to_owned(), 1)),
    }
}

fn slot_index(slots: &mut Vec<(SlotKey, u64)>, key: SlotKey) -> usize {
    match slots.iter().position(|(k, _)| *k == key) {
        Some(i) => i,
        None => {
            slots.push((key, 0));
            slots.len() - 1
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 1 h at 3 significant figures; a handful exist per run, shared by all tasks.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

fn flush(shared: &Shared, slots: &[(SlotKey, u64)], samples: &mut Vec<u64>) {
    if samples.is_empty() {
        return;
    }
    let mut hists = shared
        .histograms
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // One histogram lookup per slot and flush, not per sample: a task has a handful of slots.
    let mut by_slot: Vec<Option<&mut Histogram<u64>>> = Vec::new();
    by_slot.resize_with(slots.len(), || None);
    let mut missing: Vec<SlotKey> = slots.iter().map(|(k, _)| *k).collect();
    missing.retain(|k| !hists.contains_key(k));
    for k in missing {
        hists.insert(k, new_histogram());
    }
    for (key, h) in hists.iter_mut() {
        if let Some(i) = slots.iter().position(|(k, _)| k == key) {
            by_slot[i] = Some(h);
        }
    }
    for &s in samples.iter() {
        if let Some(h) = by_slot[(s >> 32) as usize].as_deref_mut() {
            h.saturating_record((s & 0xffff_ffff).max(1));
        }
    }
    samples.clear();
}

fn latency(h: Option<&Histogram<u64>>) -> Latency {
    let Some(h) = h.filter(|h| !h.is_empty()) else {
        return Latency::default();
    };
    let ms = |us: u64| us as f64 / 1000.0;
    Latency {
        p50: ms(h.value_at_quantile(0.50)),
        p90: ms(h.value_at_quantile(0.90)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
        mean: h.mean() / 1000.0,
        min: ms(h.min()),
        p95: ms(h.value_at_quantile(0.95)),
        p999: ms(h.value_at_quantile(0.999)),
    }
}

fn build_report(
    config: &Config,
    shared: &Shared,
    results: Vec<TaskResult>,
    elapsed: Duration,
) -> Report {
    let mut counts: BTreeMap<BackendKey, u64> = BTreeMap::new();
    if let Some(k) = config.backends {
        for id in 1..=k as u32 {
            counts.insert(BackendKey::Id(id), 0);
        }
    }
    let mut errors_by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let mut status_codes: BTreeMap<u16, u64> = BTreeMap::new();
    let mut clients: BTreeMap<String, BTreeMap<BackendKey, u64>> = BTreeMap::new();
    let mut errors = 0;
    let mut resent = 0;
    let mut late = 0;
    let mut unanswered = 0;
    let interrupted = shared.stop.is_triggered();
    let mut timeline = config.timeline.then(Timeline::default);
    for r in results {
        if let (Some(t), Some(part)) = (&mut timeline, r.timeline) {
            t.add(r.slots.iter().map(|(k, _)| *k), part);
        }
        resent += r.resent;
        unanswered += r.unanswered;
        late += r.late;
        for (key, n) in r.slots {
            if let Some(key) = key {
                *counts.entry(key).or_default() += n;
            }
        }
        for (code, n) in r.statuses {
            *status_codes.entry(code).or_default() += n;
        }
        for (kind, n) in r.errors {
            errors += n;
            *errors_by_kind.entry(kind).or_default() += n;
        }
        for (client, backends) in r.clients {
            let entry = clients.entry(client).or_default();
            for (k, n) in backends {
                *entry.entry(k).or_default() += n;
            }
        }
    }
    let ok: u64 = counts.values().sum();
    let requests = ok + errors;
    let timeline = timeline.map(|t| t.finish(&counts));
    let hists = shared
        .histograms
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Of answered requests only: a refused connection fails in microseconds and would pull the
    // percentiles of the requests that were answered toward zero.
    let mut answered = new_histogram();
    for (_, h) in hists.iter().filter(|(k, _)| k.is_some()) {
        // Same bounds and precision everywhere, so adding cannot fail.
        let _ = answered.add(h);
    }
    let backends = counts
        .iter()
        .map(|(&k, &n)| {
            let share = if ok == 0 { 0.0 } else { n as f64 / ok as f64 };
            let latency_ms = latency(hists.get(&Some(k)));
            (
                k,
                BackendReport {
                    count: n,
                    share,
                    latency_ms,
                },
            )
        })
        .collect();
    let clients = shared.track_clients.then_some(clients);
    let expectations: Vec<_> = config
        .expectations
        .iter()
        .map(|e| e.check(&counts, config.backends, clients.as_ref()))
        .collect();
    let passed = expectations.iter().all(|o| o.ok);
    let secs = elapsed.as_secs_f64();
    let schedule = shared
        .schedule
        .zip(config.rate)
        .map(|(s, rate)| ScheduleReport {
            rate,
            late,
            missed: shared
                .deadline
                .map_or(0, |d| s.due_before(d).saturating_sub(requests)),
        });
    let mut report = Report {
        url: config.url.to_string(),
        requests,
        ok,
        errors,
        errors_by_kind,
        status_codes,
        resent,
        unanswered,
        interrupted,
        schedule,
        counts,
        elapsed_s: secs,
        rps: per_second(ok, secs),
        errors_per_s: per_second(errors, secs),
        latency_ms: latency(Some(&answered)),
        backends,
        clients,
        expectations,
        timeline,
        passed,
    };
    // The same counts the report prints, so its totals and its verdict cannot disagree.
    report.passed &= config.max_errors.allows(report.failed(), report.sent());
    report
}

fn per_second(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}
