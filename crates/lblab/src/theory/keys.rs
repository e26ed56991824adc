//! What theory says of the keys that move when a backend leaves a hash upstream (compare's
//! lose-backend): marked `down`, nginx keeps the server in the hash and only its keys move;
//! removed, consistent hashing (ketama) still moves only its keys, about 1/n of them, while plain
//! `hash` and `ip_hash` take the hash modulo the servers' total weight, so about (n−1)/n of all
//! keys find another backend.

use lblab_config::Method;

use super::band::{self, Band};
use super::{Kind, Theory};

/// How the backend left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    MarkedDown,
    Removed,
}

/// What was measured: keys seen before and after, those that moved, those that were on the
/// backend that left, and those that moved from another backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub keys: usize,
    pub moved: usize,
    pub lost_keys: usize,
    pub moved_others: usize,
}

/// The theory of one method's movement when backend `lost` of `backends` left as `phase`.
pub fn movement(
    method: Method,
    consistent: bool,
    backends: usize,
    weighted: bool,
    lost: u32,
    phase: Phase,
    m: Moved,
) -> Theory {
    let n = backends.max(1);
    let only_lost = |why: &str| {
        let fits = m.moved_others == 0 && m.moved == m.lost_keys;
        Theory {
            kind: Kind::Exact,
            expects: format!(
                "only the keys that were on backend {lost} move ({why}): about 1/{n} = {:.1}% of the keys; here {} were on it",
                100.0 / n as f64,
                m.lost_keys
            ),
            fits: Some(fits),
            ..Theory::default()
        }
    };
    match (phase, method, consistent) {
        (Phase::MarkedDown, _, _) => only_lost("nginx keeps a server marked down in the hash"),
        (Phase::Removed, Method::Hash, true) => {
            only_lost("ketama: the other backends keep their points on the ring")
        }
        (Phase::Removed, Method::Hash | Method::IpHash, false) if !weighted && n >= 2 => {
            // The hash modulo n, then modulo n−1: a key stays only where both agree, about 1/n
            // of the keys, so each key moves with probability (n−1)/n.
            let p = (n as f64 - 1.0) / n as f64;
            let b = band::binomial(&[m.moved as u64, (m.keys - m.moved) as u64], &[p, 1.0 - p])[0];
            let b = Band { backend: lost, ..b };
            Theory {
                kind: Kind::Band,
                expects: format!(
                    "the hash is taken modulo the servers left: about ({n}−1)/{n} = {:.1}% of the keys move, {:.1} of {} (mean ± 3σ: {:.1}–{:.1})",
                    p * 100.0,
                    b.expected,
                    m.keys,
                    b.low,
                    b.high
                ),
                fits: Some(b.inside),
                bands: vec![b],
                ..Theory::default()
            }
        }
        (Phase::Removed, Method::Hash | Method::IpHash, false) => Theory {
            kind: Kind::Direction,
            expects: "the hash is taken modulo the servers' total weight: keys of the other backends move too (no band for weighted servers)".to_owned(),
            fits: Some(m.moved_others > 0),
            ..Theory::default()
        },
        _ => Theory {
            kind: Kind::None,
            expects: format!("{method} keeps no key on a backend: nothing to predict"),
            ..Theory::default()
        },
    }
}

/// The theory of a HAProxy hashing method's movement (source, uri, hdr(NAME)) when server `lost`
/// of `backends` left as `phase`. On the consistent-hash ring the other servers keep their points,
/// so only the lost server's keys move, however it left. Map-based (HAProxy's default), the map is
/// rebuilt over the servers left whether the server was marked down or removed (nginx instead
/// keeps a server marked down in the hash): the hash is taken modulo the new total weight, and
/// about (n−1)/n of all keys move.
pub fn movement_haproxy(
    consistent: bool,
    backends: usize,
    weighted: bool,
    lost: u32,
    phase: Phase,
    m: Moved,
) -> Theory {
    let why = match phase {
        Phase::MarkedDown => "HAProxy takes a server marked down out of the map",
        Phase::Removed => "the server line taken out",
    };
    if consistent {
        let mut t = movement(
            Method::Hash,
            true,
            backends,
            weighted,
            lost,
            Phase::Removed,
            m,
        );
        t.expects = t.expects.replace(
            "ketama: the other backends keep their points on the ring",
            "HAProxy's consistent-hash ring: the other servers keep their points",
        );
        return t;
    }
    let mut t = movement(
        Method::Hash,
        false,
        backends,
        weighted,
        lost,
        Phase::Removed,
        m,
    );
    t.expects = format!(
        "{why}: {}",
        t.expects
            .replace("servers left", "servers left (map-based)")
    );
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(keys: usize, moved: usize, lost_keys: usize, moved_others: usize) -> Moved {
        Moved {
            keys,
            moved,
            lost_keys,
            moved_others,
        }
    }

    #[test]
    fn marked_down_and_consistent_move_only_the_lost_keys() {
        for (m, c, phase) in [
            (Method::Hash, false, Phase::MarkedDown),
            (Method::IpHash, false, Phase::MarkedDown),
            (Method::Hash, true, Phase::Removed),
        ] {
            let t = movement(m, c, 3, false, 3, phase, moved(100, 31, 31, 0));
            assert_eq!((t.kind, t.fits), (Kind::Exact, Some(true)), "{t:?}");
            assert!(t.expects.contains("about 1/3 = 33.3%"), "{}", t.expects);
            let t = movement(m, c, 3, false, 3, phase, moved(100, 33, 31, 2));
            assert_eq!(t.fits, Some(false));
        }
    }

    #[test]
    fn haproxy_moves_the_map_even_for_a_server_marked_down() {
        let t = movement_haproxy(
            false,
            3,
            false,
            3,
            Phase::MarkedDown,
            moved(100, 66, 33, 33),
        );
        assert_eq!((t.kind, t.fits), (Kind::Band, Some(true)), "{t:?}");
        assert!(
            t.expects
                .starts_with("HAProxy takes a server marked down out of the map"),
            "{}",
            t.expects
        );
        // Only the lost keys moving is what the ring does, not the map.
        let t = movement_haproxy(false, 3, false, 3, Phase::MarkedDown, moved(100, 33, 33, 0));
        assert_eq!(t.fits, Some(false));
        for phase in [Phase::MarkedDown, Phase::Removed] {
            let t = movement_haproxy(true, 3, false, 3, phase, moved(100, 31, 31, 0));
            assert_eq!((t.kind, t.fits), (Kind::Exact, Some(true)), "{t:?}");
            assert!(
                t.expects.contains("HAProxy's consistent-hash ring"),
                "{}",
                t.expects
            );
        }
    }

    #[test]
    fn removed_from_a_plain_hash_moves_about_n_minus_one_over_n() {
        // 100 keys, p = 2/3: mean 66.67, σ = √(100 · 2/3 · 1/3) ≈ 4.714, band ≈ 52.5–80.8.
        let t = movement(
            Method::Hash,
            false,
            3,
            false,
            3,
            Phase::Removed,
            moved(100, 66, 33, 33),
        );
        assert_eq!((t.kind, t.fits), (Kind::Band, Some(true)));
        let b = t.bands[0];
        assert!((b.expected - 200.0 / 3.0).abs() < 1e-9);
        assert!((b.low - (200.0 / 3.0 - 3.0 * (200.0f64 / 9.0).sqrt())).abs() < 1e-9);
        let t = movement(
            Method::IpHash,
            false,
            3,
            false,
            3,
            Phase::Removed,
            moved(100, 40, 33, 7),
        );
        assert_eq!(t.fits, Some(false), "{t:?}");
        let t = movement(
            Method::Hash,
            false,
            3,
            true,
            3,
            Phase::Removed,
            moved(100, 40, 33, 7),
        );
        assert_eq!((t.kind, t.fits), (Kind::Direction, Some(true)));
    }
}
