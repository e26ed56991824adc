//! The run's latency histograms, one per slot (a backend, or failed requests), shared by all
//! tasks. Tasks hand in their samples a buffer at a time, so the lock is taken once per
//! buffer-full, never per request.

use std::collections::HashMap;
use std::sync::Mutex;

use hdrhistogram::Histogram;

use super::SlotKey;
use crate::backend_key::BackendKey;
use crate::report::Latency;

#[derive(Default)]
pub(crate) struct Latencies {
    histograms: Mutex<HashMap<SlotKey, Histogram<u64>>>,
}

impl Latencies {
    /// Records `samples` (each a slot index in its high 32 bits and microseconds in its low ones)
    /// into the histograms of the task's `slots`, and empties the buffer.
    pub fn record(&self, slots: &[(SlotKey, u64)], samples: &mut Vec<u64>) {
        if samples.is_empty() {
            return;
        }
        let mut hists = self
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

    /// The percentiles of the requests `key` answered.
    pub fn of(&self, key: BackendKey) -> Latency {
        let hists = self
            .histograms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        latency(hists.get(&Some(key)))
    }

    /// The percentiles of all answered requests. Failed ones are left out: a refused connection
    /// fails in microseconds and would pull the percentiles of the answered requests toward zero.
    pub fn answered(&self) -> Latency {
        let hists = self
            .histograms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut answered = new_histogram();
        for (_, h) in hists.iter().filter(|(k, _)| k.is_some()) {
            // Same bounds and precision everywhere, so adding cannot fail.
            let _ = answered.add(h);
        }
        latency(Some(&answered))
    }
}

impl Latencies {
    /// A copy of every histogram: per backend, and `None` for the failed requests.
    pub fn snapshot(&self) -> HashMap<SlotKey, Histogram<u64>> {
        self.histograms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    // 1 µs to 1 h at 3 significant figures; a handful exist per run, shared by all tasks.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

pub(crate) fn latency(h: Option<&Histogram<u64>>) -> Latency {
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
