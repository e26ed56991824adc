//! `lblab switch`: a new method (or weights, or hash key) for the running lab, by reloading its
//! balancer alone. What is not given keeps its current value. This holds the lock, loads the
//! record and switches nginx; `haproxy.rs` is what a lab that runs HAProxy does instead.

pub mod haproxy;

use std::path::Path;
use std::time::Duration;

use lblab_config::{Method, UpstreamConfig};

use crate::front::Front;
use crate::nginx;
use crate::outcome::{Failure, Outcome, written};
use crate::private::Lock;
use crate::spec::{Balancing, Change, WeightsChange};
use crate::state::State;

/// What a switch did.
pub struct Switched {
    /// What the balancer did: `nginx 123 reloaded`, `haproxy 123 reloaded`, or `haproxy 123 took
    /// the weights at run time`.
    pub how: String,
    pub before: String,
    pub after: String,
    pub state: State,
    /// The lab already ran what was asked: nothing was written and nginx was not reloaded.
    pub unchanged: bool,
}

/// How long a switch waits for another one of the same lab to finish. A switch takes at most about
/// 10 s (nginx's reload), so this outlasts a few of them queued.
const SWITCH_LOCK_WAIT: Duration = Duration::from_secs(60);

/// `lblab switch`: `change` applied to the lab recorded in `dir`, and what was done said.
pub async fn switch(dir: &Path, change: Change) -> Outcome {
    match apply_or_why(dir, &change).await {
        Ok(s) if s.unchanged => {
            let said = crate::output::out(&format!(
                "lblab: nothing to change: the lab already balances with {} ({})\n",
                s.after, s.how
            ));
            written(said, 0)
        }
        Ok(s) => {
            let pids: Vec<String> = s.state.backends.iter().map(|b| b.pid.to_string()).collect();
            let said = crate::output::out(&format!(
                "lblab: switched {} → {} ({}; backends untouched, pids {})\n",
                s.before,
                s.after,
                s.how,
                pids.join(", ")
            ));
            // The switch is done whether or not anyone reads that it was.
            written(said, 0)
        }
        Err(Failed::Refused(e)) => Err(Failure::Usage(e)),
        Err(Failed::Unconfirmed(e)) => Err(Failure::Runtime(e)),
    }
}

/// Why a switch did not happen as asked.
#[derive(Debug)]
pub enum Failed {
    /// Nothing was changed: no lab, a record not believed, a change that is not valid, or a config
    /// nginx rejected.
    Refused(String),
    /// The new config is in nginx.conf and in the record, and nginx was told to reload, but did not
    /// confirm it in time: nginx runs it once it does.
    Unconfirmed(String),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Refused(e) | Failed::Unconfirmed(e) => f.write_str(e),
        }
    }
}

/// The current upstream with the changes asked for. The hash key and `consistent` carry over only
/// while the method stays hash; they mean nothing to the others.
fn merged(current: &UpstreamConfig, change: &Change) -> Balancing {
    let method = change.method.unwrap_or(current.method);
    let was_hash = current.method == Method::Hash && method == Method::Hash;
    Balancing {
        method,
        weights: match &change.weights {
            None => current.weights.clone(),
            Some(WeightsChange::Clear) => None,
            Some(WeightsChange::Set(w)) => Some(w.clone()),
        },
        hash_key: change
            .hash_key
            .clone()
            .or_else(|| was_hash.then(|| current.hash_key.clone())),
        consistent: change.consistent.unwrap_or(was_hash && current.consistent),
        tuning: change.tuning(&current.tuning),
    }
}

/// [`apply_or_why`] with its failure in words, for the dashboard, which answers every failure the
/// same way.
pub async fn apply(dir: &Path, change: &Change) -> Result<Switched, String> {
    apply_or_why(dir, change).await.map_err(|e| e.to_string())
}

/// Switches the lab recorded in `dir`: the merged method is validated, nginx checks and reloads the
/// new config (a rejected one changes nothing), and the record is updated.
///
/// Switches of one lab are serialised by a lock in the state directory, across processes (`lblab
/// switch` and the dashboard in `up`): each reads the record under the lock, so it merges its change
/// into what the previous switch left, and the record always names what nginx.conf holds.
pub async fn apply_or_why(dir: &Path, change: &Change) -> Result<Switched, Failed> {
    // The record is checked before the lock file is made, so that no lock is created in a state
    // directory that is not believed (or where no lab is up).
    State::load(dir).map_err(Failed::Refused)?;
    let lock = dir.join("switch.lock");
    let _held = Lock::take(&lock, SWITCH_LOCK_WAIT)
        .await
        .map_err(Failed::Refused)?
        .ok_or_else(|| {
            Failed::Refused(format!(
                "another switch of this lab has held {} for {} s; try again once it is done",
                lock.display(),
                SWITCH_LOCK_WAIT.as_secs()
            ))
        })?;
    let mut state = State::load(dir).map_err(Failed::Refused)?;
    let Front::Nginx { bin, config } = &mut state.front else {
        return haproxy::apply(dir, state, change).await;
    };
    if let Some(other) = &change.other_method {
        // Not one of nginx's: its refusal names nginx's methods.
        other.parse::<Method>().map_err(Failed::Refused)?;
    }
    let m = merged(&config.upstream, change);
    m.validate(state.backends.len() as u32)
        .map_err(Failed::Refused)?;
    let before = config.upstream.describe();
    let wanted = m.upstream(config.upstream.servers.clone());
    if wanted.render() == config.upstream.render() {
        return Ok(Switched {
            how: format!("nginx {} not reloaded", state.nginx_pid),
            after: before.clone(),
            before,
            state,
            unchanged: true,
        });
    }
    config.upstream = wanted;
    nginx::install(bin, config).await.map_err(Failed::Refused)?;
    let after = config.upstream.describe();
    // From here nginx.conf holds the new config, so the record must say so whatever the reload
    // does: a reload that is not confirmed (nginx stopped, or old workers still busy) is still
    // pending, and nginx reads this file when it happens.
    let reloaded = nginx::reload(state.nginx_pid).await;
    let saved = state.save(dir);
    match (reloaded, saved) {
        (Ok(()), Ok(())) => Ok(Switched {
            how: format!("nginx {} reloaded", state.nginx_pid),
            before,
            after,
            state,
            unchanged: false,
        }),
        (Err(e), Ok(())) => Err(Failed::Unconfirmed(format!(
            "the switch {before} → {after} is not confirmed: {e}; nginx.conf and the lab's record now hold {after}, which nginx runs once its reload is done (see `lblab status`)"
        ))),
        (_, Err(e)) => Err(Failed::Unconfirmed(format!(
            "nginx.conf now holds {after} and nginx was told to reload, but the lab's record could not be updated: {e}"
        ))),
    }
}
