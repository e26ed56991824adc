//! Theory for HAProxy's methods, in HAProxy's words (its configuration manual's, 2.6), beside
//! nginx's in `mod.rs`. Where the two balancers' methods share a name they do not always share a
//! claim: `roundrobin` and `static-rr` interleave weights differently (docs/methods.md shows it),
//! `leastconn` ignores the weights while every server is idle, `source` hashes the whole client
//! address where ip_hash hashes a /24, and `random` draws a point of a consistent-hash ring rather
//! than a server by weight, so its band is wider than nginx's `random`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use lblab_config::HaproxyMethod;
use loadtest::BackendKey;

use super::{
    Clients, Kind, Theory, band, band_list, exact, expected_list, finish, one_backend_each,
    slow_gets_less,
};
use crate::haproxy_balancing::HaproxyBalancing;

/// The points each unit of weight puts on HAProxy's consistent-hash ring (its `BE_WEIGHT_SCALE`):
/// a server of weight 1 has 16, placed where a hash of its id and the point's number falls.
pub const RING_POINTS_PER_WEIGHT: f64 = 16.0;

/// A run behind HAProxy as theory needs it: the balancing, the backends, the load and the counts.
pub struct HaproxyCase<'a> {
    pub balancing: &'a HaproxyBalancing,
    pub backends: usize,
    /// Requests in flight at once (-c).
    pub concurrency: u32,
    /// Each backend's mean delay in milliseconds, 1..=N.
    pub delays_ms: Vec<f64>,
    /// The client addresses of the load; empty or one: a single client.
    pub source_ips: &'a [IpAddr],
    /// Requests completed, answered or failed.
    pub requests: u64,
    /// Answers per backend, `unknown` included.
    pub counts: &'a BTreeMap<BackendKey, u64>,
    /// Answers per client and backend, when the load had several clients or keys.
    pub clients: Option<&'a Clients>,
}

/// What theory predicts for a run behind HAProxy, judged against its counts.
pub fn predict(case: &HaproxyCase) -> Theory {
    let counts: Vec<u64> = (1..=case.backends as u32)
        .map(|id| case.counts.get(&BackendKey::Id(id)).copied().unwrap_or(0))
        .collect();
    let weights = case.balancing.weights.as_ref().map(|w| w.0.as_slice());
    let shares = band::shares(case.backends, weights);
    let b = case.balancing;
    let t = match &b.method {
        HaproxyMethod::RoundRobin => roundrobin(&counts, &shares),
        HaproxyMethod::StaticRr => static_rr(&counts, &shares),
        HaproxyMethod::LeastConn => leastconn(case, &counts, &shares),
        HaproxyMethod::First => first(case, &counts),
        HaproxyMethod::Source | HaproxyMethod::Uri | HaproxyMethod::Hdr(_) => {
            match b.balance_factor {
                Some(f) => bounded(case, &counts, &shares, f),
                None => hashed(case, &counts),
            }
        }
        HaproxyMethod::Random(draws) => random(case, &counts, &shares, *draws),
    };
    finish(t, &counts, &shares, case.requests, case.backends)
}

/// roundrobin with equal weights takes the servers 1, 2, …, N in turn: exact ±1. With weights
/// HAProxy's dynamic weighted round-robin (its "fwrr") schedules each server every total/weight
/// picks and spreads the heavy servers' turns between the others', but a server whose turn is due
/// may wait behind another's: from a fresh start its count strayed up to 1.44 answers from its
/// weighted share over 62 sets of 2 to 8 weights (docs/methods.md), so ±2 is claimed: a bound
/// measured, not proven.
fn roundrobin(counts: &[u64], shares: &[f64]) -> Theory {
    if even(shares) {
        return exact(counts, shares, "roundrobin: each server in turn");
    }
    let bands = band::within(counts, shares, 2.0, 2.0);
    Theory::of_bands(
        Kind::Exact,
        format!(
            "roundrobin: each server in turn by its weight, a heavy server's turns spread between the others', a turn sometimes a pick late: {} of {} answers (±2)",
            expected_list(&bands),
            counts.iter().sum::<u64>()
        ),
        bands,
    )
}

fn even(shares: &[f64]) -> bool {
    shares.windows(2).all(|w| (w[0] - w[1]).abs() < 1e-12)
}

/// static-rr walks a map HAProxy builds once from the weights. Its builder gives each slot to the
/// server with the highest score in steps of the total weight, the first declared winning a tie,
/// and keeps every score between −total and 2×total (its source says so, "between 0 and 3"): from
/// the start of the map a server's count is at most 2 answers under its weighted share and at
/// most 1 over. Equal weights make the map 1, 2, …, N: exact ±1.
fn static_rr(counts: &[u64], shares: &[f64]) -> Theory {
    if even(shares) {
        return exact(counts, shares, "static-rr: each server in turn");
    }
    let bands = band::within(counts, shares, 2.0, 1.0);
    Theory::of_bands(
        Kind::Exact,
        format!(
            "static-rr: each server in turn by its weight, from a map built once in which the first-declared server wins a tie, so a count may lag its share by up to 2 or lead it by 1: {} of {} answers (−2/+1)",
            expected_list(&bands),
            counts.iter().sum::<u64>()
        ),
        bands,
    )
}

/// leastconn compares each server's connections over its weight. One request at a time, every
/// server has none when a request comes, so all tie at 0 whatever their weights, and HAProxy takes
/// tied servers in turn: each gets an even share (nginx's least_conn breaks the tie by weighted
/// round-robin instead). With more at once a slow server holds its connections longer.
fn leastconn(case: &HaproxyCase, counts: &[u64], shares: &[f64]) -> Theory {
    if case.concurrency <= 1 {
        let even = band::shares(case.backends, None);
        return exact(
            counts,
            &even,
            "leastconn, one request at a time: every server idle, so all tie at no connections whatever their weights, and HAProxy takes them in turn",
        );
    }
    if let Some(t) = slow_gets_less(&case.delays_ms, counts, shares) {
        return t;
    }
    Theory::not_judged(
        "no exact prediction: each request to the server with the fewest connections for its weight; with equal servers about even",
    )
}

/// first: the lowest-numbered server below its maxconn takes the request. C requests at once fill
/// at most ⌈C/M⌉ servers of M slots each, so the servers after those get none. Without a maxconn
/// server 1 is never full and takes everything.
fn first(case: &HaproxyCase, counts: &[u64]) -> Theory {
    let c = case.concurrency.max(1) as usize;
    let (filled, why) = match case.balancing.maxconn {
        Some(m) => (
            c.div_ceil(m.max(1) as usize),
            format!(
                "first: the lowest-numbered server below its maxconn {m} takes each request, so {c} at once fill at most ⌈{c}/{m}⌉ = {} server(s)",
                c.div_ceil(m.max(1) as usize)
            ),
        ),
        None => (
            1,
            "first without maxconn: server 1 is never full, so it takes every request".to_owned(),
        ),
    };
    if filled >= case.backends {
        return Theory::not_judged(format!(
            "{why}: every server may take requests, the rest wait in HAProxy's queue; no prediction"
        ));
    }
    let bands: Vec<band::Band> = counts
        .iter()
        .enumerate()
        .skip(filled)
        .map(|(i, &n)| band::Band {
            backend: i as u32 + 1,
            expected: 0.0,
            low: 0.0,
            high: 0.0,
            measured: n,
            inside: n == 0,
        })
        .collect();
    Theory::of_bands(
        Kind::Exact,
        format!("{why}; servers {}..={} get none", filled + 1, case.backends),
        bands,
    )
}

/// source, uri and hdr(NAME): each key on one server, map-based (the hash modulo the total
/// weight) or on the consistent-hash ring alike. The key is what the method hashes: the whole
/// client address, the URI (lblab's load sends one), or the header's value.
fn hashed(case: &HaproxyCase, counts: &[u64]) -> Theory {
    let how = if case.balancing.consistent {
        "on the consistent-hash ring"
    } else {
        "the hash modulo the total weight"
    };
    match &case.balancing.method {
        HaproxyMethod::Source => {
            let addresses = case.source_ips.len().max(1);
            let mut t = one_backend_each(
                case.clients.map(by_address).as_ref(),
                counts,
                &format!(
                    "source: each client address on one server, the whole address hashed ({how}); {addresses} address(es)"
                ),
                Clone::clone,
            );
            let networks = if case.source_ips.is_empty() {
                1
            } else {
                super::sticky::networks(case.source_ips)
            };
            if addresses == 1 {
                t.notes.push(
                    "one client address (127.0.0.1 unless --source-ip): every request on one server, as under nginx's ip_hash".to_owned(),
                );
            } else if networks < addresses {
                t.notes.push(format!(
                    "unlike nginx's ip_hash, which keys on the /24 and sees {networks} client(s) here, source tells all {addresses} addresses apart"
                ));
            }
            t
        }
        HaproxyMethod::Hdr(name) => one_backend_each(
            case.clients.map(|c| by_header(c, name)).as_ref(),
            counts,
            &format!(
                "hdr({name}): each value of the header on one server ({how}; a request without it goes round-robin)"
            ),
            Clone::clone,
        ),
        _ => one_backend_each(
            None,
            counts,
            &format!("uri: each URI on one server ({how}); lblab's load sends one URI"),
            Clone::clone,
        ),
    }
}

/// hash-balance-factor F (consistent hashing only). HAProxy's manual: "no server will be allowed
/// to have a load more than F/100 times the average", the load being requests at once. Its
/// source: a server is skipped for the next one on the ring when it already serves
/// ⌈F/100 × (requests served + 1)⌉ × its weight share. With C at once each server holds at most
/// that cap, so at least ⌈C / cap⌉ servers answer. Counts show answers, not requests at once,
/// so that spread is what is judged; the cap itself is only said.
fn bounded(case: &HaproxyCase, counts: &[u64], shares: &[f64], factor: u32) -> Theory {
    let c = u64::from(case.concurrency.max(1));
    let slots = (c * u64::from(factor)).div_ceil(100);
    let caps: Vec<u64> = shares
        .iter()
        .map(|p| ((slots as f64 * p).ceil() as u64).max(1))
        .collect();
    let mut largest = caps.clone();
    largest.sort_unstable_by(|a, b| b.cmp(a));
    let mut held = 0;
    let least = largest
        .iter()
        .take_while(|&&cap| {
            let short = held < c;
            held += cap;
            short
        })
        .count();
    let used = counts.iter().filter(|&&n| n > 0).count();
    let cap_list = if caps.windows(2).all(|w| w[0] == w[1]) {
        format!("{} each", caps[0])
    } else {
        let v: Vec<String> = caps
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{}: {n}", i + 1))
            .collect();
        v.join(", ")
    };
    let expects = format!(
        "hash-balance-factor {factor}: no server takes a request while it holds ⌈{factor}% × (requests at once + 1)⌉ × its weight share; {c} at once: at most {cap_list}, so at least {least} server(s) answer; here {used} did"
    );
    Theory {
        kind: Kind::Direction,
        expects,
        fits: (least > 1).then_some(used >= least),
        ..Theory::default()
    }
}

/// random(N): N points of the consistent-hash ring drawn at random, and of their servers the one
/// serving the fewest requests for its weight (a tie keeps the last draw). random(1) is one draw:
/// a binomial count around each server's share of the ring, widened by how unevenly 16 points
/// per unit of weight share it (`band::ring`). More draws steer by load as nginx's random two
/// does: one request at a time every server is idle and the last draw wins, as random(1).
fn random(case: &HaproxyCase, counts: &[u64], shares: &[f64], draws: u32) -> Theory {
    let weights: f64 = match &case.balancing.weights {
        Some(w) => w.0.iter().map(|&x| f64::from(x)).sum(),
        None => case.backends as f64,
    };
    let points = weights * RING_POINTS_PER_WEIGHT;
    let ring = |why: &str| -> Theory {
        let bands = band::ring(counts, shares, points);
        Theory::of_bands(
            Kind::Band,
            format!(
                "{why}: a binomial count around each server's share of the ring ({points:.0} points), which is its weight share only on average: {} of {} answers (mean ± 3σ, the ring's unevenness included)",
                band_list(&bands),
                counts.iter().sum::<u64>()
            ),
            bands,
        )
    };
    if draws <= 1 {
        return ring(
            "random(1): each request to the server nearest a random point of HAProxy's consistent-hash ring",
        );
    }
    if case.concurrency <= 1 {
        return ring(&format!(
            "random({draws}), one request at a time: every server idle, so the last of the {draws} draws wins, as random(1)"
        ));
    }
    if let Some(t) = slow_gets_less(&case.delays_ms, counts, shares) {
        return t;
    }
    let mut t = ring(&format!(
        "random({draws}): with equally fast servers at least as even as random(1), each inside its band"
    ));
    t.kind = Kind::Direction;
    t.expects
        .push_str(", and its max/mean below random(1)'s (the power of two choices)");
    t
}

/// The report's clients grouped by their whole address (what `source` hashes).
fn by_address(clients: &Clients) -> Clients {
    group(clients, |name| {
        let first = name.split(' ').next().unwrap_or("");
        first
            .parse::<IpAddr>()
            .map_or_else(|_| "the one source address".to_owned(), |ip| ip.to_string())
    })
}

/// The report's clients grouped by the value of header `name` (what `hdr(NAME)` hashes); a client
/// without it is a group of its own name.
fn by_header(clients: &Clients, name: &str) -> Clients {
    let wanted = format!("{}: ", name.to_ascii_lowercase());
    group(clients, |client| match client.find(&wanted) {
        Some(i) => client[i..].to_owned(),
        None => client.to_owned(),
    })
}

fn group(clients: &Clients, key: impl Fn(&str) -> String) -> Clients {
    let mut groups = Clients::new();
    for (client, backends) in clients {
        let g = groups.entry(key(client)).or_default();
        for (b, n) in backends {
            *g.entry(*b).or_default() += n;
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use lblab_config::Weights;

    fn counts(v: &[u64]) -> BTreeMap<BackendKey, u64> {
        v.iter()
            .enumerate()
            .map(|(i, &n)| (BackendKey::Id(i as u32 + 1), n))
            .collect()
    }

    fn balancing(method: HaproxyMethod) -> HaproxyBalancing {
        HaproxyBalancing {
            method,
            weights: None,
            consistent: false,
            balance_factor: None,
            maxconn: None,
        }
    }

    fn judge(
        b: &HaproxyBalancing,
        c: &[u64],
        concurrency: u32,
        clients: Option<&Clients>,
    ) -> Theory {
        let c = counts(c);
        predict(&HaproxyCase {
            balancing: b,
            backends: c.len(),
            concurrency,
            delays_ms: vec![0.0; c.len()],
            source_ips: &[],
            requests: c.values().sum(),
            counts: &c,
            clients,
        })
    }

    #[test]
    fn roundrobin_is_exact_and_static_rr_with_weights_is_minus_two_plus_one() {
        let mut rr = balancing(HaproxyMethod::RoundRobin);
        let t = judge(&rr, &[333, 333, 333], 999, None);
        assert_eq!(
            (t.kind, t.fits, t.cell().as_str()),
            (Kind::Exact, Some(true), "exact ±1: fits")
        );
        assert_eq!(judge(&rr, &[335, 332, 332], 999, None).fits, Some(false));
        rr.weights = Some(Weights(vec![3, 8, 19, 1, 50, 4, 3, 3]));
        let t = judge(&rr, &[3, 8, 19, 1, 50, 4, 3, 3], 91, None);
        assert_eq!(t.cell(), "exact ±2: fits", "{t:?}");
        let mut s = balancing(HaproxyMethod::StaticRr);
        assert_eq!(
            judge(&s, &[100, 100, 100], 30, None).cell(),
            "exact ±1: fits"
        );
        s.weights = Some(Weights(vec![1, 2, 4, 8]));
        // 15 answers of 1:2:4:8, counts from the map's start: server 3 two under is inside.
        let t = judge(&s, &[1, 2, 4, 8], 1, None);
        assert_eq!(t.cell(), "exact −2/+1: fits", "{t:?}");
        let b = &judge(&s, &[2, 3, 2, 8], 1, None).bands;
        assert!(b[0].inside && b[1].inside && b[2].inside, "{b:?}");
        assert!(!judge(&s, &[3, 2, 2, 8], 1, None).bands[0].inside);
    }

    #[test]
    fn leastconn_one_at_a_time_ignores_the_weights() {
        let mut b = balancing(HaproxyMethod::LeastConn);
        b.weights = Some(Weights(vec![1, 2, 3]));
        let t = judge(&b, &[200, 200, 200], 1, None);
        assert_eq!((t.kind, t.fits), (Kind::Exact, Some(true)), "{t:?}");
        assert_eq!(judge(&b, &[100, 200, 300], 1, None).fits, Some(false));
        assert_eq!(judge(&b, &[200, 200, 200], 10, None).kind, Kind::None);
    }

    #[test]
    fn first_leaves_the_servers_past_the_filled_ones_empty() {
        let mut b = balancing(HaproxyMethod::First);
        b.maxconn = Some(4);
        let t = judge(&b, &[399, 201, 0], 6, None);
        assert_eq!((t.kind, t.fits), (Kind::Exact, Some(true)), "{t:?}");
        assert!(
            t.expects
                .contains("fill at most ⌈6/4⌉ = 2 server(s); servers 3..=3 get none"),
            "{}",
            t.expects
        );
        assert_eq!(judge(&b, &[590, 10, 0], 4, None).fits, Some(false));
        assert_eq!(judge(&b, &[300, 200, 100], 12, None).kind, Kind::None);
        b.maxconn = None;
        assert_eq!(judge(&b, &[600, 0, 0], 50, None).fits, Some(true));
    }

    #[test]
    fn source_groups_by_the_whole_address_and_hdr_by_the_header() {
        let c = |v: &[(u32, u64)]| -> BTreeMap<BackendKey, u64> {
            v.iter().map(|&(k, n)| (BackendKey::Id(k), n)).collect()
        };
        let clients: Clients = [
            ("127.0.0.1 x-key: k1".to_string(), c(&[(1, 5)])),
            ("127.0.0.2 x-key: k1".to_string(), c(&[(1, 5)])),
            ("127.0.0.1 x-key: k2".to_string(), c(&[(2, 5)])),
        ]
        .into();
        let t = judge(
            &balancing(HaproxyMethod::Source),
            &[10, 5, 0],
            3,
            Some(&clients),
        );
        // 127.0.0.1 was answered by 1 and 2: split.
        assert_eq!(t.fits, Some(false), "{t:?}");
        let t = judge(
            &balancing(HaproxyMethod::Hdr("X-Key".into())),
            &[10, 5, 0],
            3,
            Some(&clients),
        );
        assert_eq!(t.fits, Some(true), "{t:?}");
        assert!(
            t.expects.contains("0 of 2 answered by more than one"),
            "{}",
            t.expects
        );
    }

    #[test]
    fn the_balance_factor_spreads_one_key_over_enough_servers() {
        let mut b = balancing(HaproxyMethod::Uri);
        b.consistent = true;
        b.balance_factor = Some(150);
        // 30 at once, 45 slots, 15 each: two servers at least.
        let t = judge(&b, &[1544, 1454, 2], 30, None);
        assert_eq!((t.kind, t.fits), (Kind::Direction, Some(true)), "{t:?}");
        assert!(
            t.expects
                .contains("at most 15 each, so at least 2 server(s)"),
            "{}",
            t.expects
        );
        assert_eq!(judge(&b, &[3000, 0, 0], 30, None).fits, Some(false));
        // One at a time fits one server's cap: no claim. Two do not: the second finds the
        // first's server holding its one slot of ⌈150% × 2⌉ = 3 shared by three.
        assert_eq!(judge(&b, &[3000, 0, 0], 1, None).fits, None);
        assert_eq!(judge(&b, &[3000, 0, 0], 2, None).fits, Some(false));
    }

    #[test]
    fn random_is_the_ring_band_and_more_draws_a_direction() {
        let t = judge(
            &balancing(HaproxyMethod::Random(1)),
            &[10498, 8757, 10745],
            50,
            None,
        );
        assert_eq!((t.kind, t.fits), (Kind::Band, Some(true)), "{t:?}");
        assert!(t.expects.contains("(48 points)"), "{}", t.expects);
        let t = judge(
            &balancing(HaproxyMethod::Random(2)),
            &[1000, 1000, 1000],
            30,
            None,
        );
        assert_eq!(t.kind, Kind::Direction);
        let t = judge(
            &balancing(HaproxyMethod::Random(2)),
            &[1000, 1000, 1000],
            1,
            None,
        );
        assert_eq!(t.kind, Kind::Band);
    }
}
