//! What the Rust side and the Nix module share: the balancing methods, the method → nginx directive
//! table (`nginx/methods.json`) and the proxy settings (`nginx/proxy.json`), both also read by
//! `nixos/module.nix`, and the nginx config renderer; HAProxy's methods (`haproxy/methods.json`)
//! and its config (`haproxy/haproxy.cfg`) likewise.

mod describe;
mod haproxy_method;
mod haproxy_render;
mod method;
mod proxy;
mod proxy_kind;
mod render;
mod tuning;
mod weights;

pub use haproxy_method::{DEFAULT_DRAWS, HaproxyMethod, HaproxyMethodSpec, check_header_name};
pub use haproxy_render::{
    HaproxyBackend, HaproxyConfig, MAX_HAPROXY_WEIGHT, check_haproxy_prefix, server_name,
};
pub use method::{Method, MethodSpec, check_hash_key, hash_key_accepted};
pub use proxy::{ProxySettings, proxy};
pub use proxy_kind::Proxy;
pub use render::{ACCESS_LOG, DEFAULT_HASH_KEY, NginxConfig, UpstreamConfig, check_prefix};
pub use tuning::{Keepalive, Tuning, parse_fail_timeout};
pub use weights::{Weights, parse_weights};
