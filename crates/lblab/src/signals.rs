//! The signals that stop a lab, caught once for the whole command and remembered: a Ctrl-C is
//! never lost because it came between two steps (two methods of `compare`, the start of the lab
//! and its load) when nothing happened to be waiting for it.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// A signal that stops the lab: Ctrl-C (SIGINT), SIGTERM, or SIGHUP (the terminal was closed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stop(pub libc::c_int);

impl Stop {
    /// The exit status of a program stopped by this signal, by shell convention (130 for SIGINT).
    pub fn exit_code(self) -> u8 {
        (128 + self.0) as u8
    }
}

/// The first stopping signal received since [`catch`], once there is one.
static FIRST: OnceLock<watch::Receiver<Option<Stop>>> = OnceLock::new();

/// Catches SIGINT, SIGTERM and SIGHUP from now until the program ends, and remembers the first.
/// Called once, inside the runtime, by the commands that start a lab; the others keep the default
/// action, so that Ctrl-C simply ends a `status` or a `switch`.
pub fn catch() {
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        // Without handlers the signals keep their default action: the runner dies, and the
        // PDEATHSIG guards take its children with it.
        return;
    };
    let (tx, rx) = watch::channel(None);
    if FIRST.set(rx).is_err() {
        return;
    }
    tokio::spawn(async move {
        // The streams stay open for the program's life: a second Ctrl-C while the lab is being
        // stopped is absorbed instead of killing the runner half-way through its teardown.
        loop {
            let stop = tokio::select! {
                _ = int.recv() => Stop(libc::SIGINT),
                _ = term.recv() => Stop(libc::SIGTERM),
                _ = hup.recv() => Stop(libc::SIGHUP),
            };
            tx.send_if_modified(|first| {
                if first.is_some() {
                    return false;
                }
                *first = Some(stop);
                true
            });
        }
    });
}

/// Resolves once a stopping signal has been received, at once if one already was.
pub async fn interrupted() -> Stop {
    let Some(rx) = FIRST.get() else {
        return std::future::pending().await;
    };
    let mut rx = rx.clone();
    match rx.wait_for(Option::is_some).await {
        Ok(first) => first.unwrap_or(Stop(libc::SIGINT)),
        // The sender lives as long as the runtime; without it no signal can come any more.
        Err(_) => std::future::pending().await,
    }
}

/// The stopping signal received so far, if any.
pub fn received() -> Option<Stop> {
    FIRST.get().and_then(|rx| *rx.borrow())
}

/// The signal received so far, or one received within `grace`. A step that failed because a
/// child got the same Ctrl-C (a program in the terminal's process group) fails as soon as the
/// child dies, which can be before the runner's own handler has run; waiting this short moment
/// tells an interruption from a real failure.
pub async fn received_within(grace: Duration) -> Option<Stop> {
    tokio::time::timeout(grace, interrupted()).await.ok()
}

/// Says something after the lab is stopped; the terminal may be gone (SIGHUP), so a failed write
/// is not an error.
pub fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}
