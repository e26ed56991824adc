//! With `--rate`, a second latency per request: from when it went out (the service time), beside
//! the one from when it was due (what the users of the service experience). The gap between the
//! two is the finding of a fixed-rate run: a stall shows in the first and hardly in the second.
//! Also the span of the sends, for the rate the run delivered beside the one it asked for.

use std::time::Instant;

use super::{Latencies, SlotKey, TaskTally, slot_index};

impl TaskTally {
    /// Notes that a request went out at `at`.
    #[inline]
    pub fn note_send(&mut self, at: Instant) {
        self.sends = Some(match self.sends {
            Some((first, _)) => (first, at),
            None => (at, at),
        });
    }

    /// Records the latency from the send (`sent`, not the due time) to `now` of the request just
    /// pushed, under the slot `push` gave it.
    #[inline]
    pub fn push_service(
        &mut self,
        slot_key: SlotKey,
        sent: Instant,
        now: Instant,
        service: &Latencies,
    ) {
        let micros = now
            .saturating_duration_since(sent)
            .as_micros()
            .min(u128::from(u32::MAX)) as u64;
        let slot = slot_index(&mut self.slots, slot_key);
        self.service_samples.push(((slot as u64) << 32) | micros);
        if self.service_samples.len() >= self.buffer_cap {
            service.record(&self.slots, &mut self.service_samples);
        }
    }

    /// Records the service samples still held; the task calls it when it ends.
    pub fn flush_service(&mut self, service: &Latencies) {
        service.record(&self.slots, &mut self.service_samples);
    }
}

/// The first and last send of two spans together.
pub(super) fn span(
    a: Option<(Instant, Instant)>,
    b: Option<(Instant, Instant)>,
) -> Option<(Instant, Instant)> {
    match (a, b) {
        (Some((f1, l1)), Some((f2, l2))) => Some((f1.min(f2), l1.max(l2))),
        (x, None) | (None, x) => x,
    }
}

/// Requests per second the run sent at: the `sent` requests after the first over the time from
/// the first send to the last (a schedule kept exactly gives the requested rate; 0 for fewer
/// than two sends).
pub(super) fn delivered_rate(sends: Option<(Instant, Instant)>, sent: u64) -> f64 {
    match sends {
        Some((first, last)) if sent > 1 && last > first => {
            (sent - 1) as f64 / last.duration_since(first).as_secs_f64()
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_delivered_rate_is_the_sends_after_the_first_over_their_span() {
        let t = Instant::now();
        let one_s = Some((t, t + Duration::from_secs(1)));
        assert!((delivered_rate(one_s, 101) - 100.0).abs() < 1e-9);
        assert_eq!(delivered_rate(Some((t, t)), 1), 0.0);
        assert_eq!(delivered_rate(None, 0), 0.0);
        let joined = span(
            Some((t + Duration::from_secs(1), t + Duration::from_secs(2))),
            one_s,
        );
        assert_eq!(joined, Some((t, t + Duration::from_secs(2))));
    }
}
