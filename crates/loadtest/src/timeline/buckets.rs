//! The run's time buckets, shared by all tasks: answers, busy time and a small latency histogram
//! per backend per bucket, failures per kind per bucket. Tasks hand in their finished requests a
//! buffer at a time; a run that outgrows [`MAX_BUCKETS`] has its buckets merged in pairs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::{MAX_BUCKETS, TARGET, Timeline};
use crate::backend_key::BackendKey;

/// One finished request: who answered it (or why it failed), and when it was sent and ended, in
/// microseconds since the start.
pub(crate) struct Ended<'a> {
    pub what: Result<BackendKey, &'a str>,
    pub sent_us: u64,
    pub done_us: u64,
}

pub(crate) struct Buckets {
    /// When bucket 0 begins.
    pub start: Instant,
    inner: Mutex<Inner>,
}

struct Inner {
    width_us: u64,
    /// Buckets in use.
    len: usize,
    rows: HashMap<BackendKey, Row>,
    failures: HashMap<String, Vec<u64>>,
}

/// One backend's buckets; each vector grows to the last bucket it was counted in.
#[derive(Default)]
struct Row {
    count: Vec<u64>,
    /// Microseconds of this client's requests in flight at the backend, summed.
    busy_us: Vec<u64>,
    latency: Vec<Option<Histogram<u32>>>,
}

impl Buckets {
    pub fn new(start: Instant, width: Duration) -> Self {
        Buckets {
            start,
            inner: Mutex::new(Inner {
                width_us: (width.as_micros() as u64).max(1),
                len: 0,
                rows: HashMap::new(),
                failures: HashMap::new(),
            }),
        }
    }

    pub fn add(&self, ended: &[Ended]) {
        if ended.is_empty() {
            return;
        }
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let last = ended.iter().map(|e| e.done_us).max().unwrap_or(0);
        while (last / inner.width_us) as usize >= MAX_BUCKETS {
            inner.merge(2);
        }
        inner.len = inner.len.max((last / inner.width_us) as usize + 1);
        let w = inner.width_us;
        for e in ended {
            let i = (e.done_us / w) as usize;
            match e.what {
                Ok(key) => {
                    let row = inner.rows.entry(key).or_default();
                    grow(&mut row.count, i + 1)[i] += 1;
                    let latency = grow_with(&mut row.latency, i + 1, || None);
                    latency[i]
                        .get_or_insert_with(histogram)
                        .saturating_record((e.done_us.saturating_sub(e.sent_us)).max(1));
                    let busy = grow(&mut row.busy_us, i + 1);
                    let sent = e.sent_us.min(e.done_us);
                    for (b, slot) in busy
                        .iter_mut()
                        .enumerate()
                        .take(i + 1)
                        .skip((sent / w) as usize)
                    {
                        let from = sent.max(b as u64 * w);
                        let to = e.done_us.min((b as u64 + 1) * w);
                        *slot += to.saturating_sub(from);
                    }
                }
                Err(kind) => {
                    let row = match inner.failures.get_mut(kind) {
                        Some(row) => row,
                        None => inner.failures.entry(kind.to_string()).or_default(),
                    };
                    grow(row, i + 1)[i] += 1;
                }
            }
        }
    }

    /// The report's timeline: `keys` are the report's backends (each gets a row), `elapsed` where
    /// the run ended.
    pub fn finish(&self, keys: impl Iterator<Item = BackendKey>, elapsed: Duration) -> Timeline {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let elapsed_us = (elapsed.as_micros() as u64).max(1);
        let mut n = inner.len.max(elapsed_us.div_ceil(inner.width_us) as usize);
        // Merged once more to about TARGET buckets: only a run of unknown length has more than
        // half as many again.
        if n as u64 > TARGET * 3 / 2 {
            let by = (n as u64 as f64 / TARGET as f64).round() as usize;
            inner.merge(by);
            n = n.div_ceil(by);
        }
        let w = inner.width_us;
        // The last bucket ends where the run ended, so its mean in flight is over that much time.
        let span = |i: usize| {
            let begin = i as u64 * w;
            elapsed_us.saturating_sub(begin).clamp(1, w) as f64
        };
        let mut t = Timeline {
            bucket_ms: w as f64 / 1000.0,
            errors: vec![0; n],
            all_p50_ms: vec![None; n],
            all_p99_ms: vec![None; n],
            start: Some(self.start),
            ..Timeline::default()
        };
        for (kind, row) in &inner.failures {
            let row = padded(row, n);
            for (sum, v) in t.errors.iter_mut().zip(&row) {
                *sum += v;
            }
            t.failures.insert(kind.clone(), row);
        }
        let empty = Row::default();
        let mut keys: Vec<BackendKey> = keys.collect();
        keys.extend(inner.rows.keys().copied());
        keys.sort();
        keys.dedup();
        let mut all: Vec<Option<Histogram<u32>>> = vec![None; n];
        for k in keys {
            let row = inner.rows.get(&k).unwrap_or(&empty);
            t.answered.insert(k, padded(&row.count, n));
            let busy = padded(&row.busy_us, n);
            t.in_flight.insert(
                k,
                busy.iter()
                    .enumerate()
                    .map(|(i, &b)| round3(b as f64 / span(i)))
                    .collect(),
            );
            let (mut p50, mut p99) = (vec![None; n], vec![None; n]);
            for (i, h) in row.latency.iter().enumerate().take(n) {
                let Some(h) = h.as_ref().filter(|h| !h.is_empty()) else {
                    continue;
                };
                p50[i] = Some(ms(h.value_at_quantile(0.5)));
                p99[i] = Some(ms(h.value_at_quantile(0.99)));
                // Same bounds and precision everywhere, so adding cannot fail.
                let _ = all[i].get_or_insert_with(histogram).add(h);
            }
            t.p50_ms.insert(k, p50);
            t.p99_ms.insert(k, p99);
        }
        for (i, h) in all.iter().enumerate() {
            if let Some(h) = h {
                t.all_p50_ms[i] = Some(ms(h.value_at_quantile(0.5)));
                t.all_p99_ms[i] = Some(ms(h.value_at_quantile(0.99)));
            }
        }
        t
    }
}

impl Inner {
    /// Merges every `by` adjacent buckets into one: counts, busy time and histograms add.
    fn merge(&mut self, by: usize) {
        if by < 2 {
            return;
        }
        self.width_us *= by as u64;
        self.len = self.len.div_ceil(by);
        for row in self.rows.values_mut() {
            row.count = merged(&row.count, by);
            row.busy_us = merged(&row.busy_us, by);
            let mut latency: Vec<Option<Histogram<u32>>> = Vec::new();
            for (i, h) in row.latency.drain(..).enumerate() {
                let into = grow_with(&mut latency, i / by + 1, || None);
                match (&mut into[i / by], h) {
                    (Some(sum), Some(h)) => {
                        let _ = sum.add(&h);
                    }
                    (slot @ None, h) => *slot = h,
                    (_, None) => {}
                }
            }
            row.latency = latency;
        }
        for row in self.failures.values_mut() {
            *row = merged(row, by);
        }
    }
}

/// A bucket's latency histogram: 1 µs to 1 h at one significant figure (within about 6 %), about
/// 2 KB, made only for the buckets a backend answered in.
fn histogram() -> Histogram<u32> {
    Histogram::new_with_bounds(1, 3_600_000_000, 1).expect("static histogram bounds are valid")
}

fn merged(v: &[u64], by: usize) -> Vec<u64> {
    v.chunks(by).map(|c| c.iter().sum()).collect()
}

fn grow(v: &mut Vec<u64>, len: usize) -> &mut Vec<u64> {
    grow_with(v, len, || 0)
}

fn grow_with<T>(v: &mut Vec<T>, len: usize, f: impl FnMut() -> T) -> &mut Vec<T> {
    if v.len() < len {
        v.resize_with(len, f);
    }
    v
}

fn padded(v: &[u64], n: usize) -> Vec<u64> {
    let mut v = v[..v.len().min(n)].to_vec();
    v.resize(n, 0);
    v
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The buckets as a plain map, for the tests.
#[cfg(test)]
pub(crate) fn counts(t: &Timeline) -> std::collections::BTreeMap<BackendKey, u64> {
    t.answered
        .iter()
        .map(|(k, v)| (*k, v.iter().sum()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(b: &Buckets, what: Result<BackendKey, &str>, sent_ms: u64, done_ms: u64) {
        b.add(&[Ended {
            what,
            sent_us: sent_ms * 1000,
            done_us: done_ms * 1000,
        }]);
    }

    #[test]
    fn answers_failures_latency_and_time_in_flight_land_in_their_buckets() {
        let b = Buckets::new(Instant::now(), Duration::from_millis(10));
        let one = BackendKey::Id(1);
        at(&b, Ok(one), 0, 5);
        at(&b, Ok(one), 5, 25);
        at(&b, Err("timeout"), 0, 15);
        let t = b.finish(
            [one, BackendKey::Id(2)].into_iter(),
            Duration::from_millis(30),
        );
        assert_eq!(t.bucket_ms, 10.0);
        assert_eq!(t.answered[&one], [1, 0, 1]);
        assert_eq!(t.answered[&BackendKey::Id(2)], [0, 0, 0]);
        assert_eq!(t.failures["timeout"], [0, 1, 0]);
        assert_eq!(t.errors, [0, 1, 0]);
        // 5 ms of the first request and 5 of the second in bucket 0, 10 in bucket 1, 5 in bucket 2.
        assert_eq!(t.in_flight[&one], [1.0, 1.0, 0.5]);
        let p50 = t.p50_ms[&one][2].unwrap();
        assert!((18.0..=21.0).contains(&p50), "{p50}");
        assert_eq!(t.p50_ms[&one][1], None);
        assert_eq!(t.all_p50_ms[2], t.p50_ms[&one][2]);
    }

    #[test]
    fn a_long_run_of_unknown_length_is_merged_to_about_the_target() {
        let b = Buckets::new(Instant::now(), Duration::from_millis(10));
        let one = BackendKey::Id(1);
        // 10 s of one answer every 10 ms: 1000 buckets at 10 ms, merged while it runs.
        for i in 0..1000 {
            at(&b, Ok(one), i * 10, i * 10 + 1);
        }
        let t = b.finish([one].into_iter(), Duration::from_secs(10));
        assert!((67..=150).contains(&t.buckets()), "{} buckets", t.buckets());
        assert_eq!(counts(&t)[&one], 1000);
        // The last bucket holds the run's end.
        let n = t.buckets() as f64;
        assert!(t.bucket_ms * (n - 1.0) < 10_000.0 && 10_000.0 <= t.bucket_ms * n);
        let row = &t.answered[&one];
        let every = row[0];
        assert!(row[..row.len() - 1].iter().all(|&n| n == every), "{row:?}");
    }
}
