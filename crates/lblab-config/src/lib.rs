//! What the Rust side and the Nix module share: the balancing methods, the method → nginx directive
//! table (`nginx/methods.json`, also read by `nixos/module.nix`) and the nginx config renderer.

mod method;
mod render;
mod weights;

pub use method::{Method, MethodSpec};
pub use render::{DEFAULT_HASH_KEY, NginxConfig, UpstreamConfig};
pub use weights::{Weights, parse_weights};
