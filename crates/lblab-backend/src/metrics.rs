//! What the backend counts, and `/metrics`: the same counts in Prometheus' text exposition format
//! (0.0.4), labelled with the backend's id.
//!
//! A request costs a few relaxed atomic additions and two clock reads, with no lock and no
//! allocation: the greeting is the hot path of every benchmark of the lab, and a scrape, which
//! allocates its text, comes a few times a minute.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The histogram's upper bounds, in microseconds, and as the `le` label writes them (seconds). From
/// half a millisecond (an undelayed answer) to ten seconds (a long `--delay`); beyond is `+Inf`.
const BOUNDS: [(u64, &str); 14] = [
    (500, "0.0005"),
    (1_000, "0.001"),
    (2_500, "0.0025"),
    (5_000, "0.005"),
    (10_000, "0.01"),
    (25_000, "0.025"),
    (50_000, "0.05"),
    (100_000, "0.1"),
    (250_000, "0.25"),
    (500_000, "0.5"),
    (1_000_000, "1"),
    (2_500_000, "2.5"),
    (5_000_000, "5"),
    (10_000_000, "10"),
];

/// The content type of the text format, as Prometheus asks for it.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The counts, shared by every connection of the backend. Every field is written by every answer,
/// so they share cache lines instead of each bouncing one of its own between the cores.
#[repr(align(64))]
#[derive(Default)]
pub struct Metrics {
    in_flight: AtomicU64,
    /// TCP connections accepted: one per request without keep-alive, far fewer with it.
    connections: AtomicU64,
    /// Those of them that asked for `/` at least once: the load's, without the runner's checks.
    request_connections: AtomicU64,
    /// Each bucket on its own (not cumulative): an answer adds to one bucket only, and the scrape
    /// sums them, for the cumulative buckets and for the count of answers, which is no counter of
    /// its own so that an answer costs one addition less.
    buckets: [AtomicU64; BOUNDS.len() + 1],
    sum_nanos: AtomicU64,
}

/// One request on `/` from its start: in flight until it is answered or dropped (the client went
/// away during a delay), and timed when answered.
pub struct InFlight<'a> {
    metrics: &'a Metrics,
    started: Instant,
}

impl Metrics {
    /// A request on `/` begins.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight {
            metrics: self,
            started: Instant::now(),
        }
    }

    /// A TCP connection was accepted.
    pub fn connected(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// TCP connections accepted since the start.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// A connection asked for `/` for the first time.
    pub fn request_connection(&self) {
        self.request_connections.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections that asked for `/` at least once.
    pub fn request_connections(&self) -> u64 {
        self.request_connections.load(Ordering::Relaxed)
    }

    /// Requests answered on `/`.
    pub fn served(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Requests on `/` begun and not yet answered.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    fn observe(&self, took: Duration) {
        let micros = took.as_micros();
        let bucket = BOUNDS
            .iter()
            .position(|&(bound, _)| micros <= u128::from(bound))
            .unwrap_or(BOUNDS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The exposition, every series labelled `backend="ID"`.
    pub fn render(&self, id: u32) -> String {
        let mut out = String::with_capacity(2048);
        let label = format!("backend=\"{id}\"");
        // One reading of the buckets, so that the total, the buckets and the count agree.
        let buckets: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let served: u64 = buckets.iter().sum();
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "# HELP lblab_backend_requests_total Requests answered on /.\n\
             # TYPE lblab_backend_requests_total counter\n\
             lblab_backend_requests_total{{{label}}} {served}"
        );
        let _ = writeln!(
            out,
            "# HELP lblab_backend_requests_in_flight Requests on / begun and not yet answered.\n\
             # TYPE lblab_backend_requests_in_flight gauge\n\
             lblab_backend_requests_in_flight{{{label}}} {}",
            self.in_flight()
        );
        let _ = writeln!(
            out,
            "# HELP lblab_backend_connections_total TCP connections accepted.\n\
             # TYPE lblab_backend_connections_total counter\n\
             lblab_backend_connections_total{{{label}}} {}",
            self.connections()
        );
        let _ = writeln!(
            out,
            "# HELP lblab_backend_request_connections_total TCP connections that asked for / at least once.\n\
             # TYPE lblab_backend_request_connections_total counter\n\
             lblab_backend_request_connections_total{{{label}}} {}",
            self.request_connections()
        );
        let name = "lblab_backend_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from a request on / reaching the handler to its answer, --delay included.\n\
             # TYPE {name} histogram"
        );
        let mut cumulative = 0u64;
        let les = BOUNDS.iter().map(|&(_, le)| le).chain(["+Inf"]);
        for (bucket, le) in buckets.iter().zip(les) {
            cumulative += bucket;
            let _ = writeln!(out, "{name}_bucket{{{label},le=\"{le}\"}} {cumulative}");
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{label}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{label}}} {cumulative}");
        out
    }
}

impl InFlight<'_> {
    /// The answer is ready: counted, and its time observed.
    pub fn answered(self) {
        self.metrics.observe(self.started.elapsed());
        // Drop leaves the in-flight gauge.
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    /// The system allocator, counting the allocations of each thread, so that a test can see that
    /// a request's bookkeeping allocates nothing.
    struct Counting;

    thread_local! {
        static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    }

    // SAFETY: every call is passed on to the system allocator unchanged.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
            // SAFETY: the caller's contract is System's.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the caller's contract is System's.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static COUNTING: Counting = Counting;

    #[test]
    fn a_request_allocates_nothing_for_the_metrics() {
        let m = Metrics::default();
        let before = ALLOCATIONS.with(Cell::get);
        for _ in 0..1000 {
            m.connected();
            m.request_connection();
            m.start().answered();
            drop(m.start());
        }
        assert_eq!((m.connections(), m.request_connections()), (1000, 1000));
        assert_eq!(ALLOCATIONS.with(Cell::get), before);
        assert_eq!(m.served(), 1000);
        // The scrape does allocate: the counter sees allocations at all.
        let _ = m.render(1);
        assert!(ALLOCATIONS.with(Cell::get) > before);
    }

    #[test]
    fn bounds_rise_and_their_labels_say_the_same_seconds() {
        for pair in BOUNDS.windows(2) {
            assert!(pair[0].0 < pair[1].0);
        }
        for (micros, le) in BOUNDS {
            assert_eq!(le.parse::<f64>().unwrap(), micros as f64 / 1e6, "{le}");
        }
    }

    #[test]
    fn an_answer_lands_in_the_first_bucket_that_holds_it() {
        let m = Metrics::default();
        m.observe(Duration::from_micros(500));
        m.observe(Duration::from_micros(501));
        m.observe(Duration::from_secs(60));
        let text = m.render(3);
        assert!(
            text.contains("_bucket{backend=\"3\",le=\"0.0005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("_bucket{backend=\"3\",le=\"0.001\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("_bucket{backend=\"3\",le=\"10\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("_bucket{backend=\"3\",le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("_sum{backend=\"3\"} 60.001001\n"), "{text}");
        assert!(
            text.contains("lblab_backend_requests_total{backend=\"3\"} 3\n"),
            "{text}"
        );
    }

    #[test]
    fn a_dropped_request_leaves_the_gauge_uncounted() {
        let m = Metrics::default();
        let a = m.start();
        let b = m.start();
        assert_eq!(m.in_flight(), 2);
        drop(a);
        b.answered();
        assert_eq!((m.in_flight(), m.served()), (0, 1));
    }
}
