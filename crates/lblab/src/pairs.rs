//! Which of HAProxy's methods stands beside each of nginx's in `compare --proxies nginx,haproxy`:
//! the same algorithm where both have it, the nearest where they differ (docs/methods.md says
//! how). A pair is compared under the same scenario, load and backends.

use lblab_config::{HaproxyMethod, Method};

/// The header HAProxy's counterpart of nginx's `hash $http_x_key` hashes.
pub const KEY_HEADER_NAME: &str = "X-Key";

/// HAProxy's counterpart of nginx's `method`; `keyed`: nginx's hash keys on the X-Key header
/// (`$http_x_key`), else on the URI (`$request_uri`).
pub fn haproxy_method(method: Method, keyed: bool) -> HaproxyMethod {
    match method {
        Method::RoundRobin => HaproxyMethod::RoundRobin,
        Method::LeastConn => HaproxyMethod::LeastConn,
        // One draw on HAProxy's ring against nginx's one weighted uniform draw.
        Method::Random => HaproxyMethod::Random(1),
        // Both draw two and keep the less loaded (nginx: fewer connections; HAProxy: fewer
        // connections and queued requests).
        Method::RandomTwo => HaproxyMethod::Random(2),
        // nginx hashes the first three octets of IPv4, HAProxy all four.
        Method::IpHash => HaproxyMethod::Source,
        Method::Hash if keyed => HaproxyMethod::Hdr(KEY_HEADER_NAME.to_owned()),
        Method::Hash => HaproxyMethod::Uri,
    }
}

/// Whether nginx's hash `key` has a HAProxy counterpart, and which: `Some(true)` the X-Key header,
/// `Some(false)` the URI, `None` none.
pub fn keyed(key: &str) -> Option<bool> {
    match key {
        "$http_x_key" => Some(true),
        "$request_uri" => Some(false),
        _ => None,
    }
}
