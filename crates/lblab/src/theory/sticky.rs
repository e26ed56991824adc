//! The sticky methods' theory: ip_hash keeps every /24 network (every IPv6 address) on one
//! backend, hash keeps every key on one backend. Which clients share a key is what this file
//! knows: the client's name in the report is its source address and the values of its varying
//! headers (`127.0.3.1 x-key: k7`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use loadtest::BackendKey;

/// What ip_hash hashes of an address: the first three octets of IPv4, all of IPv6.
pub fn network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => v6.to_string(),
    }
}

/// The distinct networks ip_hash sees among `ips`.
pub fn networks(ips: &[IpAddr]) -> usize {
    let mut n: Vec<String> = ips.iter().map(|ip| network(*ip)).collect();
    n.sort();
    n.dedup();
    n.len()
}

/// The report's clients grouped by what ip_hash hashes: answers per backend for each network.
/// A client without an address in its name (one source, varying headers) is the one network of
/// the single source address, so all of them fall in one group.
pub fn by_network(
    clients: &BTreeMap<String, BTreeMap<BackendKey, u64>>,
) -> BTreeMap<String, BTreeMap<BackendKey, u64>> {
    let mut groups: BTreeMap<String, BTreeMap<BackendKey, u64>> = BTreeMap::new();
    for (client, backends) in clients {
        let first = client.split(' ').next().unwrap_or("");
        let key = first
            .parse::<IpAddr>()
            .map_or_else(|_| "the one source address".to_owned(), network);
        let g = groups.entry(key).or_default();
        for (b, n) in backends {
            *g.entry(*b).or_default() += n;
        }
    }
    groups
}

/// How many groups were answered by more than one backend, of how many answered at all.
pub fn split_groups(groups: &BTreeMap<String, BTreeMap<BackendKey, u64>>) -> (usize, usize) {
    let answered: Vec<usize> = groups
        .values()
        .map(|b| b.values().filter(|&&n| n > 0).count())
        .filter(|&n| n > 0)
        .collect();
    (answered.iter().filter(|&&n| n > 1).count(), answered.len())
}

/// The nginx variables whose value depends only on what a client sends as lblab's load sends it
/// (one URL, the same headers but for the varying ones, from its source address). A hash key made
/// of these alone keeps every client of the report on one backend; any other variable (such as
/// `$request_id` or `$msec`) may change from one request of a client to the next.
const FIXED_PER_CLIENT: [&str; 11] = [
    "request_uri",
    "uri",
    "document_uri",
    "args",
    "query_string",
    "remote_addr",
    "binary_remote_addr",
    "host",
    "scheme",
    "request_method",
    "server_name",
];

/// Whether every variable of the hash key `key` is fixed per client (`$http_*` and `$arg_*` are).
pub fn fixed_per_client(key: &str) -> bool {
    variables(key).iter().all(|v| {
        FIXED_PER_CLIENT.contains(&v.as_str()) || v.starts_with("http_") || v.starts_with("arg_")
    })
}

/// The names of the variables in an nginx value: `$a` and `${a}`.
fn variables(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = key;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        let (name, after) = if let Some(braced) = rest.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], &braced[end + 1..]),
                None => (braced, ""),
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        out.push(name.to_ascii_lowercase());
        rest = after;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ip_hash_sees_the_24_network_of_ipv4_and_all_of_ipv6() {
        assert_eq!(network(ip("127.0.3.1")), "127.0.3.0/24");
        assert_eq!(network(ip("::1")), "::1");
        // The /24 gotcha: four addresses, one network.
        let same = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"].map(ip);
        assert_eq!(networks(&same), 1);
        assert_eq!(networks(&[ip("127.0.1.1"), ip("127.0.2.1")]), 2);
    }

    #[test]
    fn clients_group_by_network_and_a_split_network_is_counted() {
        let c = |v: &[(u32, u64)]| -> BTreeMap<BackendKey, u64> {
            v.iter().map(|&(k, n)| (BackendKey::Id(k), n)).collect()
        };
        let clients: BTreeMap<String, BTreeMap<BackendKey, u64>> = [
            ("127.0.1.1".to_string(), c(&[(1, 5)])),
            ("127.0.1.2".to_string(), c(&[(2, 5)])),
            ("127.0.2.1".to_string(), c(&[(3, 5), (1, 0)])),
        ]
        .into();
        let g = by_network(&clients);
        assert_eq!(g.len(), 2);
        assert_eq!(split_groups(&g), (1, 2));
        let headers: BTreeMap<String, BTreeMap<BackendKey, u64>> = [
            ("x-key: k1".to_string(), c(&[(1, 5)])),
            ("x-key: k2".to_string(), c(&[(1, 5)])),
        ]
        .into();
        assert_eq!(split_groups(&by_network(&headers)), (0, 1));
    }

    #[test]
    fn a_hash_key_is_fixed_per_client_when_its_variables_are() {
        assert!(fixed_per_client("$request_uri"));
        assert!(fixed_per_client("$http_x_key"));
        assert!(fixed_per_client("${remote_addr}-$arg_id"));
        assert!(fixed_per_client("constant"));
        assert!(!fixed_per_client("$request_id"));
        assert!(!fixed_per_client("$uri$msec"));
        assert_eq!(variables("a${b}c$d_e-f"), ["b", "d_e"]);
    }
}
