//! One lblab backend: `GET /` answers `Hello from Server N!` with `X-Backend-Id: N`, `/healthz` and
//! `/stats` let the lab check readiness and reconcile counts. Used by the `lblab-backend` binary and,
//! in the same process image, by `lblab`'s hidden `backend` subcommand.

mod cli;
mod delay;
mod notify;
mod server;

pub use cli::Args;
pub use delay::Delay;
pub use server::run;

/// The first line the backend prints on stdout once it accepts connections; the lab runner reads it
/// to learn the port when started with port 0.
pub const LISTENING_PREFIX: &str = "listening on http://";
