//! The one tracing setup of lblab's three binaries (`lblab`, `lblab-backend`, `loadtest`), so that
//! `RUST_LOG` means the same to each.

use std::io::IsTerminal;

/// Logs to stderr, filtered by `RUST_LOG`; without it, warnings and errors only, and none of
/// warp's per-connection server messages (a client that resets a connection is not news in a
/// load test). Colours only on a terminal.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,warp::server=off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
