//! Ending a run early, from outside it: Ctrl-C in `loadtest` and `lblab run`.

use std::sync::Arc;

use tokio::sync::watch;

/// A switch a run watches: once [`Stop::trigger`] is called the run sends nothing more, gives up on
/// the requests in flight (the report counts them as `unanswered` and sets `interrupted`) and
/// returns its report of what was done so far. Clones share the switch; it works across runtimes.
#[derive(Debug, Clone)]
pub struct Stop {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Stop {
    fn default() -> Stop {
        Stop::new()
    }
}

impl Stop {
    pub fn new() -> Stop {
        Stop {
            tx: Arc::new(watch::Sender::new(false)),
        }
    }

    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// A watcher for one task, to await without touching the shared switch on every request.
    pub(crate) fn watch(&self) -> Watch {
        Watch {
            rx: self.tx.subscribe(),
        }
    }
}

pub(crate) struct Watch {
    rx: watch::Receiver<bool>,
}

impl Watch {
    /// Resolves once the switch is triggered (never, if it cannot be any more).
    pub async fn triggered(&mut self) {
        if self.rx.wait_for(|on| *on).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_watch_sees_a_trigger_from_a_clone() {
        let stop = Stop::new();
        let mut w = stop.watch();
        assert!(!w.is_triggered());
        let other = stop.clone();
        tokio::spawn(async move { other.trigger() });
        tokio::time::timeout(std::time::Duration::from_secs(5), w.triggered())
            .await
            .expect("the watch saw the trigger");
        assert!(stop.is_triggered());
    }
}
