//! `lblab switch`: a new method (or weights, or hash key) for the running lab, by reloading nginx
//! alone. What is not given keeps its current value.

use lblab_config::{Method, UpstreamConfig};

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
    let mut config = state.config.clone();
    config.upstream = upstream(&m, config.upstream.servers.clone());
    nginx::apply(&state.nginx_bin, &config, state.nginx_pid).await?;
    state.config = config;
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
