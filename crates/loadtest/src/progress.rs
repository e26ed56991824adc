use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::Config;

/// Runs shorter than this never show a bar: it would only flicker.
const SHOW_AFTER: Duration = Duration::from_millis(500);

/// A progress bar on stderr, drawn by its own task from a counter the workers bump.
pub struct Progress {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Progress {
    /// `None` unless asked for and stderr is a terminal.
    pub fn start(config: &Config, done: Option<Arc<AtomicU64>>) -> Option<Progress> {
        let done = done?;
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
            let template = format!("{{bar:40}} {{pos}}/{{len}} {unit} {{msg}}");
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
                let n = done.load(Ordering::Relaxed);
                if unit == "ms" {
                    bar.set_position((started.elapsed().as_millis() as u64).min(len));
                    bar.set_message(format!("{n} requests"));
                } else {
                    bar.set_position(n);
                }
            }
            bar.finish_and_clear();
        });
        Some(Progress { stop, task })
    }

    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
