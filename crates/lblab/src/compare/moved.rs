//! lose-backend's question: after a backend leaves, which keys find another backend? A key is what
//! the method hashes: the X-Key header for hash, the client's address for ip-hash.

use std::collections::BTreeMap;
use std::net::IpAddr;

use loadtest::{BackendKey, Report};
use serde::Serialize;

use crate::scenario::{Contender, KeyKind};
use crate::theory::Theory;
use crate::theory::keys::Moved;

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Movement {
    /// Keys seen both before and after.
    pub keys: usize,
    pub moved: usize,
    /// `moved / keys`.
    pub moved_share: f64,
    /// Keys that were on the backend that left (they must all move).
    pub lost_keys: usize,
    /// Keys that were on another backend and moved all the same.
    pub moved_others: usize,
}

/// lose-backend's result.
#[derive(Debug, Serialize)]
pub struct KeyMovement {
    pub lost_backend: u32,
    pub methods: Vec<MethodMovement>,
}

#[derive(Debug, Serialize)]
pub struct MethodMovement {
    pub method: Contender,
    pub key: KeyKind,
    /// The backend marked `down` in the upstream (nginx keeps it in the hash).
    pub marked_down: Movement,
    /// The backend's server line taken out of the upstream.
    pub removed: Movement,
    /// What theory says of each.
    pub theory: MovementTheory,
}

#[derive(Debug, Serialize)]
pub struct MovementTheory {
    pub marked_down: Theory,
    pub removed: Theory,
}

impl Movement {
    /// The counts theory judges.
    pub fn moved(&self) -> Moved {
        Moved {
            keys: self.keys,
            moved: self.moved,
            lost_keys: self.lost_keys,
            moved_others: self.moved_others,
        }
    }
}

/// The part of a client's name (`127.0.3.1 x-key: k7`) that `kind` hashes.
fn key_of(client: &str, kind: KeyKind) -> Option<&str> {
    let (first, rest) = client.split_once(' ').unwrap_or((client, ""));
    let has_ip = first.parse::<IpAddr>().is_ok();
    let key = match (kind, has_ip) {
        (KeyKind::Source, true) => first,
        (KeyKind::Source, false) => return None,
        (KeyKind::Header, true) => rest,
        (KeyKind::Header, false) => client,
    };
    (!key.is_empty()).then_some(key)
}

/// Each key's backend: the one that answered it most (a hash method answers it from one only).
pub fn backend_per_key(report: &Report, kind: KeyKind) -> BTreeMap<String, BackendKey> {
    let mut per_key: BTreeMap<&str, BTreeMap<BackendKey, u64>> = BTreeMap::new();
    for (client, backends) in report.clients.iter().flatten() {
        if let Some(k) = key_of(client, kind) {
            let e = per_key.entry(k).or_default();
            for (b, n) in backends {
                *e.entry(*b).or_default() += n;
            }
        }
    }
    per_key
        .into_iter()
        .filter_map(|(k, b)| {
            let (top, _) = b.into_iter().max_by_key(|(_, n)| *n)?;
            Some((k.to_owned(), top))
        })
        .collect()
}

pub fn movement(
    before: &BTreeMap<String, BackendKey>,
    after: &BTreeMap<String, BackendKey>,
    lost: BackendKey,
) -> Movement {
    let (mut keys, mut moved, mut lost_keys, mut moved_others) = (0, 0, 0, 0);
    for (k, b) in before {
        let Some(a) = after.get(k) else { continue };
        keys += 1;
        let on_lost = *b == lost;
        lost_keys += usize::from(on_lost);
        if a != b {
            moved += 1;
            moved_others += usize::from(!on_lost);
        }
    }
    Movement {
        keys,
        moved,
        moved_share: if keys == 0 {
            0.0
        } else {
            moved as f64 / keys as f64
        },
        lost_keys,
        moved_others,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_part_the_method_hashes() {
        assert_eq!(
            key_of("127.0.3.1 x-key: k7", KeyKind::Source),
            Some("127.0.3.1")
        );
        assert_eq!(
            key_of("127.0.3.1 x-key: k7", KeyKind::Header),
            Some("x-key: k7")
        );
        assert_eq!(key_of("x-key: k7", KeyKind::Header), Some("x-key: k7"));
        assert_eq!(key_of("x-key: k7", KeyKind::Source), None);
        assert_eq!(key_of("127.0.3.1", KeyKind::Header), None);
    }

    #[test]
    fn a_key_moved_when_its_backend_changed() {
        let m = |v: &[(&str, u32)]| -> BTreeMap<String, BackendKey> {
            v.iter()
                .map(|&(k, b)| (k.to_string(), BackendKey::Id(b)))
                .collect()
        };
        let before = m(&[("a", 1), ("b", 2), ("c", 3), ("d", 3)]);
        let after = m(&[("a", 1), ("b", 1), ("c", 2), ("d", 1), ("e", 2)]);
        let mv = movement(&before, &after, BackendKey::Id(3));
        assert_eq!(
            (mv.keys, mv.moved, mv.lost_keys, mv.moved_others),
            (4, 3, 2, 1)
        );
        assert!((mv.moved_share - 0.75).abs() < 1e-9);
    }
}
