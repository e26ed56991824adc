use tokio::signal::unix::{SignalKind, signal};

/// Resolves on Ctrl-C (SIGINT) or SIGTERM: either stops the lab the same way.
pub async fn interrupted() {
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // Without signal handlers the lab can still be stopped by its PDEATHSIG guards.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}

/// The exit status of a program stopped by SIGINT, by shell convention.
pub const INTERRUPTED_EXIT: u8 = 130;
