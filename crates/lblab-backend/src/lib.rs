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

/// Logs to stderr through tracing, filtered by `RUST_LOG`. By default warnings and errors, less
/// warp's per-connection errors: a client or nginx closing a connection mid-request is the lab
/// working (a stopped run, a fault test), not a backend failure.
pub fn init_tracing() {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,warp::server=off")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
