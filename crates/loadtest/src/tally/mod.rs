//! What a run counts, away from the code that sends: each task pushes every finished request into
//! its own [`TaskTally`] (small lists, no lock, no allocation once its slots are known), hands its
//! latency samples to the shared [`Latencies`] a buffer at a time, and at the end the tasks'
//! tallies are merged into [`Totals`], which become the report.

mod histograms;
mod latencies;
mod service;
mod summary;
mod totals;

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

pub(crate) use histograms::encoded;
pub(crate) use latencies::{Latencies, latency, new_histogram};
pub(crate) use summary::Ending;
pub(crate) use totals::Totals;

use crate::backend_key::BackendKey;
use crate::failure::Failure;
use crate::header::HeaderTemplate;
use crate::timeline::TaskTimeline;

/// A sample's outcome: answered by a backend, or failed.
pub(crate) type SlotKey = Option<BackendKey>;

/// One task's counts.
pub(crate) struct TaskTally {
    slots: Vec<(SlotKey, u64)>,
    errors: Vec<(String, u64)>,
    clients: HashMap<String, Vec<(BackendKey, u64)>>,
    statuses: Vec<(u16, u64)>,
    /// Requests sent again after the keep-alive race.
    pub resent: u64,
    /// Sent after it was due (open model only).
    pub late: u64,
    /// In flight when the run ended.
    pub unanswered: u64,
    /// With `Config::timeline`: this task's finished requests, on their way to the time buckets.
    timeline: Option<TaskTimeline>,
    /// Latency samples not yet recorded in the shared histograms.
    samples: Vec<u64>,
    /// How many samples are held before they are recorded.
    buffer_cap: usize,
    /// With `--rate`: the latencies from the send, not yet recorded (see `service`).
    service_samples: Vec<u64>,
    /// When this task sent its first and its last request, for the delivered rate.
    sends: Option<(Instant, Instant)>,
}

impl TaskTally {
    pub fn new(timeline: Option<TaskTimeline>, buffer_cap: usize) -> TaskTally {
        TaskTally {
            slots: Vec::new(),
            errors: Vec::new(),
            clients: HashMap::new(),
            statuses: Vec::new(),
            resent: 0,
            late: 0,
            unanswered: 0,
            timeline,
            samples: Vec::with_capacity(buffer_cap.min(64)),
            buffer_cap,
            service_samples: Vec::new(),
            sends: None,
        }
    }

    /// Counts one finished request, sent (or due) at `sent` and over at `now`, and says who
    /// answered it (`None`: it failed). It runs once per request, inside the worker's loop.
    #[inline]
    pub fn push(
        &mut self,
        outcome: &Result<(u16, BackendKey), Failure>,
        sent: Instant,
        now: Instant,
        latencies: &Latencies,
    ) -> SlotKey {
        let micros = now
            .saturating_duration_since(sent)
            .as_micros()
            .min(u128::from(u32::MAX)) as u64;
        if let Ok((code, _)) | Err(Failure::Status(code)) = outcome {
            bump(&mut self.statuses, code);
        }
        let (slot_key, kind) = match outcome {
            Ok((_, key)) => (Some(*key), 0),
            Err(failure) => (None, bump(&mut self.errors, &failure.to_string())),
        };
        let slot = slot_index(&mut self.slots, slot_key);
        self.slots[slot].1 += 1;
        if let Some(t) = &mut self.timeline {
            match slot_key {
                Some(_) => t.answered(slot, sent, now),
                None => t.failed(kind, sent, now),
            }
            if t.full() {
                t.flush(&self.slots, &self.errors);
            }
        }
        self.samples.push(((slot as u64) << 32) | micros);
        if self.samples.len() >= self.buffer_cap {
            latencies.record(&self.slots, &mut self.samples);
        }
        slot_key
    }

    /// Notes that the client (source address and varying header values) of request `seq` reached
    /// `key`.
    pub fn push_client(
        &mut self,
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
        let backends = self.clients.entry(client).or_default();
        match backends.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => backends.push((key, 1)),
        }
    }

    /// Records the samples still held; the task calls it when it ends.
    pub fn flush(&mut self, latencies: &Latencies) {
        latencies.record(&self.slots, &mut self.samples);
        if let Some(t) = &mut self.timeline {
            t.flush(&self.slots, &self.errors);
        }
    }
}

/// Adds one to `key`'s count in a small list of counts, and says where in the list it is.
fn bump<K: ToOwned + PartialEq + ?Sized>(list: &mut Vec<(K::Owned, u64)>, key: &K) -> usize {
    use std::borrow::Borrow;
    match list
        .iter_mut()
        .position(|(k, _)| <K::Owned as Borrow<K>>::borrow(k) == key)
    {
        Some(i) => {
            list[i].1 += 1;
            i
        }
        None => {
            list.push((key.to_owned(), 1));
            list.len() - 1
        }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Config;

    #[test]
    fn tasks_push_and_the_totals_merge_by_backend_whatever_the_slot_order() {
        let start = Instant::now();
        let later = start + Duration::from_millis(3);
        let latencies = Latencies::default();
        let mut a = TaskTally::new(None, 2);
        let mut b = TaskTally::new(None, 2);
        assert_eq!(
            a.push(&Ok((200, BackendKey::Id(1))), start, later, &latencies),
            Some(BackendKey::Id(1))
        );
        assert_eq!(
            a.push(&Err(Failure::Status(502)), start, later, &latencies),
            None
        );
        b.push(&Err(Failure::Timeout), start, later, &latencies);
        b.push(&Ok((304, BackendKey::Id(2))), start, later, &latencies);
        b.push(&Ok((200, BackendKey::Id(1))), start, later, &latencies);
        b.resent = 1;
        a.flush(&latencies);
        b.flush(&latencies);
        let mut config = Config::new("http://127.0.0.1/".parse().unwrap());
        config.backends = Some(3);
        let mut totals = Totals::new(&config);
        totals.merge(a);
        totals.merge(b);
        assert_eq!(
            totals.counts,
            [
                (BackendKey::Id(1), 2),
                (BackendKey::Id(2), 1),
                (BackendKey::Id(3), 0)
            ]
            .into()
        );
        assert_eq!(totals.errors, 2);
        assert_eq!(totals.resent, 1);
        assert_eq!(totals.status_codes, [(200, 2), (304, 1), (502, 1)].into());
        let answered = latencies.answered();
        assert!((answered.max - 3.0).abs() < 0.01, "{answered:?}");
    }
}
