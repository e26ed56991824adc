//! `lblab switch`: a new method (or weights, or hash key) for the running lab, by reloading nginx
//! alone. What is not given keeps its current value.

use std::path::Path;

use lblab_config::{Method, NginxConfig, UpstreamConfig};

use crate::Exit;
use crate::nginx;
use crate::spec::{Balancing, WeightsChange};
use crate::state::State;

/// What a switch changes; `None` keeps the current value. `lblab switch` and the dashboard's method
/// buttons both go through [`apply`] with one of these.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub method: Option<Method>,
    pub weights: Option<WeightsChange>,
    pub hash_key: Option<String>,
    pub consistent: Option<bool>,
}

/// What a switch did.
pub struct Switched {
    pub before: String,
    pub after: String,
    pub state: State,
}

/// `lblab switch`: `change` applied to the lab recorded in `dir`, and what was done said.
pub async fn switch(dir: &Path, change: Change) -> Exit {
    match apply(dir, &change).await {
        Ok(s) => {
            let pids: Vec<String> = s.state.backends.iter().map(|b| b.pid.to_string()).collect();
            let said = crate::out(&format!(
                "lblab: switched {} → {} (nginx {} reloaded; backends untouched, pids {})\n",
                s.before,
                s.after,
                s.state.nginx_pid,
                pids.join(", ")
            ));
            // The switch is done whether or not anyone reads that it was.
            match said {
                Ok(()) => Exit::Code(0),
                Err(e) => crate::output_failed(e, 0),
            }
        }
        Err(e) => Exit::Usage(e),
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
    }
}

/// Switches the lab recorded in `dir`: the merged method is validated, nginx checks and reloads the
/// new config (a rejected one changes nothing), and the record is updated.
pub async fn apply(dir: &Path, change: &Change) -> Result<Switched, String> {
    let mut state = State::load(dir)?;
    let m = merged(&state.config.upstream, change);
    m.validate(state.backends.len() as u32)?;
    let before = describe(&state.config.upstream);
    let wanted = m.upstream(state.config.upstream.servers.clone());
    state.config = switch_to(&state.nginx_bin, &state.config, state.nginx_pid, wanted).await?;
    state.save(dir)?;
    Ok(Switched {
        before,
        after: describe(&state.config.upstream),
        state,
    })
}

/// The core of a switch, shared by `switch` and `compare`: `current` with `upstream` in place of
/// its upstream, checked by nginx and reloaded into the running master. On error nginx runs on as
/// it was.
pub async fn switch_to(
    nginx_bin: &Path,
    current: &NginxConfig,
    nginx_pid: u32,
    upstream: UpstreamConfig,
) -> Result<NginxConfig, String> {
    let mut config = current.clone();
    config.upstream = upstream;
    nginx::apply(nginx_bin, &config, nginx_pid).await?;
    Ok(config)
}

/// `hash $http_x_key consistent, weights 1,2,3`: the method and what goes with it.
pub fn describe(u: &UpstreamConfig) -> String {
    let mut s = u.method.to_string();
    if u.method == Method::Hash {
        s.push(' ');
        s.push_str(&u.hash_key);
        if u.consistent {
            s.push_str(" consistent");
        }
    }
    if let Some(w) = &u.weights {
        s.push_str(&format!(", weights {w}"));
    }
    s
}
