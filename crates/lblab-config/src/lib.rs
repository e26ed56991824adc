//! What the Rust side and the Nix module share: the balancing methods, the method → nginx directive
//! table (`nginx/methods.json`, also read by `nixos/module.nix`) and the nginx config renderer.

mod method;
mod render;
mod weights;

pub use method::{Method, MethodSpec};
pub use render::{
    CONNECT_TIMEOUT_MS, DEFAULT_HASH_KEY, NginxConfig, READ_TIMEOUT_MS, UpstreamConfig,
};
pub use weights::{Weights, parse_weights};
