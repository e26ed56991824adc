//! `lblab switch`: a new method (or weights, or hash key) for the running lab, by reloading nginx
//! alone. What is not given keeps its current value.

use std::path::Path;

use lblab_config::{Method, NginxConfig, UpstreamConfig};

use crate::Exit;
use crate::cli::{MethodArgs, SwitchArgs, WeightsChange};
use crate::lab::upstream;
use crate::nginx;
use crate::state::{self, State};

pub async fn switch(args: SwitchArgs) -> Exit {
    match try_switch(args).await {
        Ok(()) => Exit::Code(0),
        Err(e) => Exit::Usage(e),
    }
}

/// The current upstream with the changes `args` asks for. The hash key and `consistent` carry over
/// only while the method stays hash; they mean nothing to the others.
fn merged(current: &UpstreamConfig, args: &SwitchArgs) -> MethodArgs {
    let method = args.method.unwrap_or(current.method);
    let was_hash = current.method == Method::Hash && method == Method::Hash;
    MethodArgs {
        method,
        weights: match &args.weights {
            None => current.weights.clone(),
            Some(WeightsChange::Clear) => None,
            Some(WeightsChange::Set(w)) => Some(w.clone()),
        },
        hash_key: args
            .hash_key
            .clone()
            .or_else(|| was_hash.then(|| current.hash_key.clone())),
        consistent: args.consistent.unwrap_or(was_hash && current.consistent),
    }
}

async fn try_switch(args: SwitchArgs) -> Result<(), String> {
    let dir = state::dir(args.state.state_dir.as_deref());
    let mut state = State::load(&dir)?;
    let m = merged(&state.config.upstream, &args);
    m.validate(state.backends.len() as u32)?;
    let before = describe(&state.config.upstream);
    let wanted = upstream(&m, state.config.upstream.servers.clone());
    state.config = switch_to(&state.nginx_bin, &state.config, state.nginx_pid, wanted).await?;
    state.save(&dir)?;
    let pids: Vec<String> = state.backends.iter().map(|b| b.pid.to_string()).collect();
    println!(
        "lblab: switched {before} → {} (nginx {} reloaded; backends untouched, pids {})",
        describe(&state.config.upstream),
        state.nginx_pid,
        pids.join(", ")
    );
    Ok(())
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
