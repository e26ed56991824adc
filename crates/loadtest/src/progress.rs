use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;

/// Runs shorter than this never show a bar: it would only flicker.
const SHOW_AFTER: Duration = Duration::from_millis(500);

/// What the workers count for the bar.
#[derive(Debug, Default)]
pub struct ProgressCounts {
    /// Requests finished, answered or failed.
    pub done: AtomicU64,
    pub errors: AtomicU64,
}

/// A progress bar on stderr, drawn by its own task from the counters the workers bump.
pub struct Progress {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Progress {
    /// `None` unless asked for and stderr is a terminal.
    pub fn start(config: &Config, counts: Option<Arc<ProgressCounts>>) -> Option<Progress> {
        let counts = counts?;
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let (stop, mut stopped) = oneshot::channel();
        let (len, unit) = match config.duration {
            Some(d) => (d.as_millis() as u64, "ms"),
            None => (config.requests, "requests"),
        };
        let task = tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(SHOW_AFTER) => {}
                _ = &mut stopped => return,
            }
            let bar = ProgressBar::new(len);
            let template = format!("{{bar:24}} {{pos}}/{{len}} {unit} {{msg}}");
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style);
            }
            let started = std::time::Instant::now() - SHOW_AFTER;
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stopped => break,
                }
                let n = counts.done.load(Ordering::Relaxed);
                let errors = counts.errors.load(Ordering::Relaxed);
                let elapsed = started.elapsed();
                if unit == "ms" {
                    bar.set_position((elapsed.as_millis() as u64).min(len));
                } else {
                    bar.set_position(n);
                }
                let left = if unit == "ms" {
                    Duration::from_millis(len).saturating_sub(elapsed)
                } else {
                    time_left(len.saturating_sub(n), n, elapsed)
                };
                let words = status(n, errors, elapsed, left);
                // The position already counts the requests of a run of -n.
                bar.set_message(if unit == "ms" {
                    format!("{n} done, {words}")
                } else {
                    words
                });
            }
            bar.finish_and_clear();
        });
        Some(Progress { stop, task })
    }

    /// Clears the bar; a run cut short by Ctrl-C leaves none behind either.
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// How long `remaining` requests take at the rate so far (`done` in `elapsed`).
fn time_left(remaining: u64, done: u64, elapsed: Duration) -> Duration {
    if done == 0 {
        return Duration::ZERO;
    }
    elapsed.mul_f64(remaining as f64 / done as f64)
}

/// The bar's words, short enough for an 80-column terminal: `980/s, 5 errors, 3s left`.
fn status(done: u64, errors: u64, elapsed: Duration, left: Duration) -> String {
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-3);
    format!(
        "{rate:.0}/s, {errors} errors, {}s left",
        left.as_secs_f64().ceil()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_rate_errors_and_time_left() {
        let left = time_left(3000, 1000, Duration::from_secs(2));
        assert_eq!(left, Duration::from_secs(6));
        assert_eq!(
            status(1000, 5, Duration::from_secs(2), left),
            "500/s, 5 errors, 6s left"
        );
        assert_eq!(time_left(10, 0, Duration::from_secs(1)), Duration::ZERO);
    }
}
