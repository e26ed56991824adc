//! What running nginx and running HAProxy have in common: finding the program (`locate.rs`), brief
//! bounded runs of it (`probe.rs`), and its master's life in the lab: a config installed once
//! accepted, the wait for it to listen, a reload that waits out the old workers (`master.rs`).
//! `nginx/` and `haproxy/` say what is each one's own.

mod locate;
pub mod master;
mod probe;

pub use locate::{Program, locate};
pub use probe::{Probed, probe};
