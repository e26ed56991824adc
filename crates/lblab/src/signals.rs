use tokio::signal::unix::{SignalKind, signal};

/// A signal that stops the lab: Ctrl-C (SIGINT), SIGTERM, or SIGHUP (the terminal was closed).
#[derive(Debug, Clone, Copy)]
pub struct Stop(pub libc::c_int);

impl Stop {
    /// The exit status of a program stopped by this signal, by shell convention (130 for SIGINT).
    pub fn exit_code(self) -> u8 {
        (128 + self.0) as u8
    }
}

/// Resolves on SIGINT, SIGTERM or SIGHUP: each stops the lab the same way.
pub async fn interrupted() -> Stop {
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        // Without signal handlers the lab can still be stopped by its PDEATHSIG guards.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => Stop(libc::SIGINT),
        _ = term.recv() => Stop(libc::SIGTERM),
        _ = hup.recv() => Stop(libc::SIGHUP),
    }
}

/// Says something after the lab is stopped; the terminal may be gone (SIGHUP), so a failed write
/// is not an error.
pub fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}
