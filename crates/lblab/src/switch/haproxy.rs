//! `lblab switch` for a lab that runs HAProxy: the method, weights or `consistent` changed, checked
//! by `haproxy -c`, and applied by a seamless reload, or, when only the weights change, through the
//! runtime API without one. The backends are not touched. `mod.rs` holds the lock and loads the
//! record; this is the HAProxy half of what it then does.

use std::path::Path;

use lblab_config::{HaproxyBackend, HaproxyMethod};

use super::{Failed, Switched};
use crate::front::Front;
use crate::haproxy_balancing::HaproxyBalancing;
use crate::spec::{Change, WeightsChange};
use crate::state::State;

/// The current backend with the changes asked for; `consistent` and the balance factor carry over
/// only while the method keeps hashing.
pub fn merged(now: &HaproxyBackend, change: &Change) -> Result<HaproxyBalancing, String> {
    let method = match (&change.other_method, change.method) {
        (Some(m), _) => m.parse::<HaproxyMethod>()?,
        (None, Some(m)) => m.name().parse::<HaproxyMethod>()?,
        (None, None) => now.method.clone(),
    };
    let hashing = method.hashes();
    Ok(HaproxyBalancing {
        weights: match &change.weights {
            None => now.weights.clone(),
            Some(WeightsChange::Clear) => None,
            Some(WeightsChange::Set(w)) => Some(w.clone()),
        },
        consistent: change.consistent.unwrap_or(hashing && now.consistent),
        balance_factor: now.balance_factor.filter(|_| hashing),
        maxconn: now.maxconn,
        method,
    })
}

pub async fn apply(dir: &Path, mut state: State, change: &Change) -> Result<Switched, Failed> {
    if change.hash_key.is_some() {
        return Err(Failed::Refused(
            "--hash-key is nginx's: this lab runs haproxy, whose key is the method's (uri, hdr(NAME), source)".into(),
        ));
    }
    if change.has_tuning() {
        return Err(Failed::Refused(
            "--max-fails, --fail-timeout, --backup and --keepalive are nginx's: this lab runs haproxy".into(),
        ));
    }
    let Front::Haproxy { bin, config } = &mut state.front else {
        return Err(Failed::Refused("this lab does not run haproxy".into()));
    };
    let m = merged(&config.backend, change).map_err(Failed::Refused)?;
    m.validate(state.backends.len() as u32)
        .map_err(Failed::Refused)?;
    let before = config.backend.describe();
    let wanted = m.backend(config.backend.servers.clone());
    let pid = state.nginx_pid;
    if wanted == config.backend {
        return Ok(Switched {
            how: format!("haproxy {pid} not reloaded"),
            after: before.clone(),
            before,
            state,
            unchanged: true,
        });
    }
    let mut next = config.clone();
    next.backend = wanted;
    let weights_only = {
        let mut w = config.backend.clone();
        w.weights = next.backend.weights.clone();
        w == next.backend && next.backend.method != HaproxyMethod::StaticRr
    };
    let applied = crate::haproxy::apply_backend(bin, config, &next, pid).await;
    let after = next.backend.describe();
    // A refused candidate changed nothing; anything after the install leaves haproxy.cfg holding
    // the new config, so the record must say so.
    if let Err(e) = &applied
        && e.starts_with("haproxy rejected")
    {
        return Err(Failed::Refused(e.clone()));
    }
    *config = next;
    let saved = state.save(dir);
    let how = if weights_only {
        format!("haproxy {pid} took the weights at run time, no reload")
    } else {
        format!("haproxy {pid} reloaded")
    };
    match (applied, saved) {
        (Ok(()), Ok(())) => Ok(Switched {
            how,
            before,
            after,
            state,
            unchanged: false,
        }),
        (Err(e), Ok(())) => Err(Failed::Unconfirmed(format!(
            "the switch {before} → {after} is not confirmed: {e}; haproxy.cfg and the lab's record now hold {after} (see `lblab status`)"
        ))),
        (_, Err(e)) => Err(Failed::Unconfirmed(format!(
            "haproxy.cfg now holds {after}, but the lab's record could not be updated: {e}"
        ))),
    }
}
