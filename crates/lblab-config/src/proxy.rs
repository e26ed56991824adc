//! How nginx treats the backends, from `nginx/proxy.json`: the values `lblab` renders into
//! `nginx/lblab.conf` and `nixos/module.nix` writes into the NixOS nginx config. Why each is what
//! it is stands beside its use, in `nginx/lblab.conf` and `render.rs`.

use std::sync::OnceLock;

use serde::Deserialize;

const PROXY_JSON: &str = include_str!("../../../nginx/proxy.json");

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySettings {
    /// The least size of the upstream's shared memory zone (nginx's size syntax, `k` or `m`).
    pub zone_size: String,
    /// The zone grows by this much per server beyond what `zone_size` holds: each server takes
    /// about 1 KiB of slab in nginx 1.2x, and 64k runs out at about 60 servers.
    pub zone_per_server_kib: u32,
    /// Idle keepalive connections each worker keeps to the backends, by default (`--keepalive`,
    /// `services.lblab.keepalive`).
    pub keepalive: u32,
    /// The largest pool `--keepalive` and the module take.
    pub keepalive_max: u32,
    /// Failed tries that take a server out, by default (`--max-fails`, `services.lblab.maxFails`).
    pub max_fails: u32,
    /// A server that failed `max_fails` times is left out this long by default (nginx's own
    /// default is 10 s; `--fail-timeout`, `services.lblab.failTimeout`).
    pub fail_timeout_s: u32,
    /// The longest `fail_timeout` taken, in seconds.
    pub fail_timeout_max_s: u32,
    pub connect_timeout_ms: u32,
    /// Also the send timeout.
    pub read_timeout_ms: u32,
    /// The conditions on which a request is passed to the next backend (`proxy_next_upstream`).
    pub next_upstream: String,
    /// The accept queue of nginx's listening socket.
    pub listen_backlog: u32,
}

impl ProxySettings {
    /// The zone for `servers` servers, in KiB: `max(zone_size, servers × zone_per_server_kib)`.
    /// The NixOS module must render the same: `zone lblab ${max base (serverCount * per)}k`.
    pub fn zone_kib(&self, servers: usize) -> u64 {
        let s = self.zone_size.trim();
        let base = match s.strip_suffix(['m', 'M']) {
            Some(m) => m.parse::<u64>().map(|m| m * 1024),
            None => s.trim_end_matches(['k', 'K']).parse::<u64>(),
        };
        // The file is compiled in; its value is checked by the unit test below.
        let base = base.expect("nginx/proxy.json: zone_size is a size such as 64k");
        base.max(servers as u64 * u64::from(self.zone_per_server_kib))
    }
}

/// The settings, parsed once.
pub fn proxy() -> &'static ProxySettings {
    static SETTINGS: OnceLock<ProxySettings> = OnceLock::new();
    SETTINGS.get_or_init(|| serde_json::from_str(PROXY_JSON).expect("nginx/proxy.json is valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_parses_and_is_sane() {
        let p = proxy();
        // A connect whose SYN a full accept queue dropped is retransmitted by the kernel after 1 s
        // and 3 s; a shorter timeout fails it and, with max_fails, takes the backend out.
        assert!(p.connect_timeout_ms > 3000 && p.read_timeout_ms > 0);
        assert!(p.max_fails >= 1 && p.fail_timeout_s >= 1 && p.keepalive >= 1);
        assert!(p.fail_timeout_s <= p.fail_timeout_max_s && p.keepalive <= p.keepalive_max);
        assert!(p.next_upstream.split(' ').all(|c| !c.is_empty()));
        assert_eq!(p.zone_kib(3), 64, "a small lab keeps the base zone");
        assert!(p.zone_kib(64) >= 96, "64 servers need more than 64k");
    }
}
