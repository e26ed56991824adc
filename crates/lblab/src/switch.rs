//! `lblab switch`: a new method for the running lab, by reloading nginx alone.

use crate::Exit;
use crate::cli::SwitchArgs;
use crate::lab::upstream;
use crate::nginx;
use crate::state::{self, State};

pub async fn switch(args: SwitchArgs) -> Exit {
    match try_switch(args).await {
        Ok(()) => Exit::Code(0),
        Err(e) => Exit::Usage(e),
    }
}

async fn try_switch(args: SwitchArgs) -> Result<(), String> {
    let dir = state::dir(args.state.state_dir.as_deref());
    let mut state = State::load(&dir)?;
    let mut m = args.method;
    // The lab's weights stay unless new ones are given.
    if m.weights.is_none() {
        m.weights = state.config.upstream.weights.clone();
    }
    m.validate(state.backends.len() as u32)?;
    let before = state.config.upstream.method;
    let mut config = state.config.clone();
    config.upstream = upstream(&m, config.upstream.servers.clone());
    nginx::apply(&state.nginx_bin, &config, state.nginx_pid).await?;
    state.config = config;
    state.save(&dir)?;
    let pids: Vec<String> = state.backends.iter().map(|b| b.pid.to_string()).collect();
    println!(
        "lblab: switched {before} → {} (nginx {} reloaded; backends untouched, pids {})",
        m.method,
        state.nginx_pid,
        pids.join(", ")
    );
    Ok(())
}
