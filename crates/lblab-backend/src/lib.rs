//! One lblab backend: `GET /` answers `Hello from Server N!` with `X-Backend-Id: N`, `/healthz` and
//! `/stats` let the lab check readiness and reconcile counts, and `/metrics` gives the same counts and a
//! latency histogram to Prometheus. Used by the `lblab-backend` binary and,
//! in the same process image, by `lblab`'s hidden `backend` subcommand.

mod cli;
mod conn_count;
mod delay;
mod metrics;
mod notify;
mod server;

pub use cli::Args;
pub use delay::Delay;
pub use server::{LISTENING_PREFIX, run};
