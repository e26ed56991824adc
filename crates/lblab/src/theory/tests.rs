//! predict's claims on counts made by hand: each method's band, and the verdict at its edges.

use std::collections::BTreeMap;
use std::net::IpAddr;

use lblab_config::Method;
use loadtest::BackendKey;

use super::*;

fn counts(v: &[u64]) -> BTreeMap<BackendKey, u64> {
    v.iter()
        .enumerate()
        .map(|(i, &n)| (BackendKey::Id(i as u32 + 1), n))
        .collect()
}

fn case<'a>(
    method: Method,
    c: &'a BTreeMap<BackendKey, u64>,
    clients: Option<&'a Clients>,
    ips: &'a [IpAddr],
) -> Case<'a> {
    Case {
        method,
        consistent: false,
        weights: None,
        backends: c.keys().filter(|k| matches!(k, BackendKey::Id(_))).count(),
        hash_key: "$request_uri",
        concurrency: 100,
        delays_ms: vec![0.0; 3],
        source_ips: ips,
        requests: c.values().sum(),
        counts: c,
        clients,
    }
}

#[test]
fn round_robin_is_exact_and_one_off_by_two_is_outside() {
    let c = counts(&[333, 333, 333]);
    let t = predict(&case(Method::RoundRobin, &c, None, &[]));
    assert_eq!((t.kind, t.fits), (Kind::Exact, Some(true)));
    assert!(
        t.expects.contains("333.0 each of 999 answers (±1)"),
        "{}",
        t.expects
    );
    assert_eq!(t.max_over_mean, Some(1.0));
    let c = counts(&[335, 332, 332]);
    assert_eq!(
        predict(&case(Method::RoundRobin, &c, None, &[])).fits,
        Some(false)
    );
    // Weighted 1:2:3: the bands follow the weights.
    let c = counts(&[100, 200, 300]);
    let mut k = case(Method::RoundRobin, &c, None, &[]);
    let w = [1, 2, 3];
    k.weights = Some(&w);
    let t = predict(&k);
    assert_eq!(t.fits, Some(true));
    assert!(
        t.expects.contains("1: 100.0, 2: 200.0, 3: 300.0"),
        "{}",
        t.expects
    );
}

#[test]
fn random_has_a_three_sigma_band_and_failures_are_left_out_and_said() {
    let c = counts(&[300, 300, 300]);
    let t = predict(&case(Method::Random, &c, None, &[]));
    assert_eq!((t.kind, t.fits), (Kind::Band, Some(true)));
    assert!(t.expects.contains("300.0 ± 42.4 each"), "{}", t.expects);
    let c = counts(&[360, 270, 270]);
    assert_eq!(
        predict(&case(Method::Random, &c, None, &[])).fits,
        Some(false)
    );
    let c = counts(&[300, 300, 300]);
    let mut k = case(Method::Random, &c, None, &[]);
    k.requests = 910;
    let t = predict(&k);
    assert!(
        t.notes[0].starts_with("10 of 910 requests failed"),
        "{:?}",
        t.notes
    );
}

#[test]
fn least_conn_and_random_two_are_a_direction_with_a_slow_backend() {
    let c = counts(&[100, 450, 450]);
    for m in [Method::LeastConn, Method::RandomTwo] {
        let mut k = case(m, &c, None, &[]);
        k.delays_ms = vec![50.0, 0.0, 0.0];
        let t = predict(&k);
        assert_eq!((t.kind, t.fits), (Kind::Direction, Some(true)), "{m}");
        assert!(t.expects.contains("backend(s) 1 get less"), "{}", t.expects);
    }
    let c = counts(&[400, 300, 300]);
    let mut k = case(Method::LeastConn, &c, None, &[]);
    k.delays_ms = vec![50.0, 0.0, 0.0];
    assert_eq!(predict(&k).fits, Some(false));
    // Equal backends: least-conn claims nothing, random-two random's band.
    let t = predict(&case(Method::LeastConn, &c, None, &[]));
    assert_eq!((t.kind, t.fits), (Kind::None, None));
    let c = counts(&[334, 333, 333]);
    let t = predict(&case(Method::RandomTwo, &c, None, &[]));
    assert_eq!((t.kind, t.fits), (Kind::Direction, Some(true)));
    // One request at a time: least-conn is round-robin, random-two is random.
    let mut k = case(Method::LeastConn, &c, None, &[]);
    k.concurrency = 1;
    assert_eq!(predict(&k).kind, Kind::Exact);
    k.method = Method::RandomTwo;
    assert_eq!(predict(&k).kind, Kind::Band);
}

#[test]
fn random_two_is_set_beside_random() {
    let even = counts(&[334, 333, 333]);
    let uneven = counts(&[360, 320, 320]);
    let mut two = predict(&case(Method::RandomTwo, &even, None, &[]));
    let random = predict(&case(Method::Random, &uneven, None, &[]));
    two.set_versus_random(&random);
    let v = two.versus_random.unwrap();
    assert!(v.lower && (v.random_max_over_mean - 360.0 / 333.333_333_333).abs() < 1e-6);
    assert!(two.line().contains("lower, as expected"), "{}", two.line());
}

#[test]
fn ip_hash_keeps_each_network_on_one_backend_and_says_the_24_gotcha() {
    let ips: Vec<IpAddr> = ["127.0.0.1", "127.0.0.2"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let by = |v: &[(&str, u32, u64)]| -> Clients {
        let mut m = Clients::new();
        for &(c, b, n) in v {
            m.entry(c.to_string())
                .or_default()
                .insert(BackendKey::Id(b), n);
        }
        m
    };
    let clients = by(&[("127.0.0.1", 2, 10), ("127.0.0.2", 2, 10)]);
    let c = counts(&[0, 20, 0]);
    let t = predict(&case(Method::IpHash, &c, Some(&clients), &ips));
    assert_eq!((t.kind, t.fits), (Kind::Sticky, Some(true)));
    assert!(
        t.notes[0].contains("the /24 gotcha: the 2 client addresses share 1 /24"),
        "{:?}",
        t.notes
    );
    let split = by(&[("127.0.0.1", 1, 10), ("127.0.0.2", 2, 10)]);
    let c = counts(&[10, 10, 0]);
    let t = predict(&case(Method::IpHash, &c, Some(&split), &ips));
    assert_eq!(t.fits, Some(false));
    // One client and no clients map: one backend must have had every answer.
    let c = counts(&[0, 0, 50]);
    assert_eq!(
        predict(&case(Method::IpHash, &c, None, &[])).fits,
        Some(true)
    );
    let c = counts(&[1, 0, 49]);
    assert_eq!(
        predict(&case(Method::Hash, &c, None, &[])).fits,
        Some(false)
    );
}

#[test]
fn hash_claims_nothing_of_a_key_that_varies_per_request() {
    let c = counts(&[10, 10, 10]);
    let mut k = case(Method::Hash, &c, None, &[]);
    k.hash_key = "$request_id";
    let t = predict(&k);
    assert_eq!((t.kind, t.fits), (Kind::None, None));
    assert_eq!(t.cell(), "no claim");
}
