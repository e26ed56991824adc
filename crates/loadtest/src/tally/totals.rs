//! The tasks' tallies merged: counts by backend, error kind, status and client, for the whole run.

use std::collections::BTreeMap;
use std::time::Instant;

use super::TaskTally;
use crate::backend_key::BackendKey;
use crate::config::Config;

pub(crate) struct Totals {
    /// Backend → answered requests; every expected backend is listed, 0 included.
    pub(super) counts: BTreeMap<BackendKey, u64>,
    pub(super) errors_by_kind: BTreeMap<String, u64>,
    pub(super) status_codes: BTreeMap<u16, u64>,
    pub(super) clients: BTreeMap<String, BTreeMap<BackendKey, u64>>,
    pub(super) errors: u64,
    pub(super) resent: u64,
    pub(super) late: u64,
    pub(super) unanswered: u64,
    /// The first and the last send of the run.
    pub(super) sends: Option<(Instant, Instant)>,
}

impl Totals {
    /// Nothing counted yet, but every backend `config` expects listed.
    pub fn new(config: &Config) -> Totals {
        let mut counts = BTreeMap::new();
        if let Some(k) = config.backends {
            for id in 1..=k as u32 {
                counts.insert(BackendKey::Id(id), 0);
            }
        }
        Totals {
            counts,
            errors_by_kind: BTreeMap::new(),
            status_codes: BTreeMap::new(),
            clients: BTreeMap::new(),
            errors: 0,
            resent: 0,
            late: 0,
            unanswered: 0,
            sends: None,
        }
    }

    /// Adds one task's tally. Its slots are keyed by backend here, whatever their order there.
    pub fn merge(&mut self, task: TaskTally) {
        self.resent += task.resent;
        self.unanswered += task.unanswered;
        self.late += task.late;
        self.sends = super::service::span(self.sends, task.sends);
        for (key, n) in task.slots {
            if let Some(key) = key {
                *self.counts.entry(key).or_default() += n;
            }
        }
        for (code, n) in task.statuses {
            *self.status_codes.entry(code).or_default() += n;
        }
        for (kind, n) in task.errors {
            self.errors += n;
            *self.errors_by_kind.entry(kind).or_default() += n;
        }
        for (client, backends) in task.clients {
            let entry = self.clients.entry(client).or_default();
            for (k, n) in backends {
                *entry.entry(k).or_default() += n;
            }
        }
    }
}
