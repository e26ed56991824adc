//! What the Rust side and the Nix module share: the balancing methods, the method → nginx directive
//! table (`nginx/methods.json`) and the proxy settings (`nginx/proxy.json`), both also read by
//! `nixos/module.nix`, and the nginx config renderer.

mod method;
mod proxy;
mod render;
mod weights;

pub use method::{Method, MethodSpec, check_hash_key, hash_key_accepted};
pub use proxy::{ProxySettings, proxy};
pub use render::{ACCESS_LOG, DEFAULT_HASH_KEY, NginxConfig, UpstreamConfig, check_prefix};
pub use weights::{Weights, parse_weights};
