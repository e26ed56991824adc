//! One task's finished requests, held until its buffer is full and then handed to the shared
//! buckets in one go: the request loop itself only appends to a vector.

use std::sync::Arc;
use std::time::Instant;

use super::buckets::{Buckets, Ended};
use crate::backend_key::BackendKey;
use crate::tally::SlotKey;

/// Set in a tag that names a failure kind rather than a slot.
const FAILED: u32 = 1 << 31;

pub(crate) struct TaskTimeline {
    buckets: Arc<Buckets>,
    held: Vec<(u32, u64, u64)>,
    cap: usize,
}

impl TaskTimeline {
    pub fn new(buckets: Arc<Buckets>, cap: usize) -> Self {
        TaskTimeline {
            buckets,
            held: Vec::with_capacity(cap.min(64)),
            cap,
        }
    }

    /// An answer counted in the task's slot `slot`, sent (or due) at `sent`, over at `now`.
    #[inline]
    pub fn answered(&mut self, slot: usize, sent: Instant, now: Instant) {
        self.hold(slot as u32, sent, now);
    }

    /// A failure of the task's error kind `kind`.
    #[inline]
    pub fn failed(&mut self, kind: usize, sent: Instant, now: Instant) {
        self.hold(FAILED | kind as u32, sent, now);
    }

    #[inline]
    fn hold(&mut self, tag: u32, sent: Instant, now: Instant) {
        let start = self.buckets.start;
        let us = |t: Instant| t.saturating_duration_since(start).as_micros() as u64;
        self.held.push((tag, us(sent), us(now)));
    }

    /// Whether the buffer is full and should be flushed.
    #[inline]
    pub fn full(&self) -> bool {
        self.held.len() >= self.cap
    }

    /// Hands what is held to the buckets; `slots` and `kinds` are the task's own lists, which
    /// give each tag its backend or failure kind.
    pub fn flush(&mut self, slots: &[(SlotKey, u64)], kinds: &[(String, u64)]) {
        let ended: Vec<Ended> = self
            .held
            .drain(..)
            .map(|(tag, sent_us, done_us)| {
                let what = if tag & FAILED == 0 {
                    // An answer's slot always names a backend (`unknown` included).
                    Ok(slots[tag as usize].0.unwrap_or(BackendKey::Unknown))
                } else {
                    Err(kinds[(tag & !FAILED) as usize].0.as_str())
                };
                Ended {
                    what,
                    sent_us,
                    done_us,
                }
            })
            .collect();
        self.buckets.add(&ended);
    }
}
