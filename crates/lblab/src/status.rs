//! `lblab status`: the running lab.

use std::fmt::Write as _;

use serde::Serialize;

use crate::backends::BackendInfo;
use crate::cli::StatusArgs;
use crate::front::Front;
use crate::outcome::{Outcome, written};
use crate::probe;
use crate::state::{self, State};

#[derive(Serialize)]
struct Status<'a> {
    /// As the balancer spells it.
    method: String,
    proxy: lblab_config::Proxy,
    /// `null`: nginx's default weight 1 for every backend.
    weights: Option<&'a lblab_config::Weights>,
    /// Only for the hash method.
    #[serde(skip_serializing_if = "Option::is_none")]
    hash_key: Option<&'a str>,
    consistent: bool,
    /// nginx's max_fails, fail_timeout, backups and keep-alive pool; absent for HAProxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream: Option<&'a lblab_config::Tuning>,
    url: &'a str,
    runner_pid: u32,
    nginx_pid: u32,
    config: String,
    backends: Vec<BackendInfo>,
}

pub async fn status(args: StatusArgs) -> Outcome {
    let dir = state::dir(args.state.state_dir.as_deref());
    let state = State::load(&dir)?;
    let mut backends = state.backends.clone();
    for b in &mut backends {
        b.served = probe::served(b.addr).await.ok();
    }
    let (weights, hash_key, consistent) = match &state.front {
        Front::Nginx { config, .. } => {
            let u = &config.upstream;
            let hash = u.method == lblab_config::Method::Hash;
            (
                u.weights.as_ref(),
                hash.then_some(u.hash_key.as_str()),
                hash && u.consistent,
            )
        }
        Front::Haproxy { config, .. } => (
            config.backend.weights.as_ref(),
            None,
            config.backend.consistent,
        ),
    };
    let s = Status {
        method: state.front.method(),
        proxy: state.front.proxy(),
        weights,
        hash_key,
        consistent,
        upstream: state.front.tuning(),
        url: &state.url,
        runner_pid: state.runner_pid,
        nginx_pid: state.nginx_pid,
        config: state.front.conf_path().display().to_string(),
        backends,
    };
    let mut text = String::new();
    if args.json {
        text = serde_json::to_string(&s).unwrap_or_default() + "\n";
    } else {
        let _ = writeln!(text, "method   {}", state.front.describe());
        if s.weights.is_none() {
            let _ = writeln!(text, "weights  none (1 each)");
        }
        if let Some(t) = s.upstream {
            let _ = writeln!(text, "upstream {}", t.summary());
        }
        let _ = writeln!(text, "url      {}", s.url);
        let _ = writeln!(
            text,
            "{:<8} pid {} ({})",
            s.proxy.name(),
            s.nginx_pid,
            s.config
        );
        for b in &s.backends {
            let served = match b.served {
                Some(n) => format!("served {n}"),
                None if !crate::procfs::alive(b.pid) => "not running".to_owned(),
                None => "not answering".to_owned(),
            };
            let _ = writeln!(
                text,
                "backend  {} pid {} at {} {served}",
                b.id, b.pid, b.addr
            );
        }
    }
    written(crate::output::out(&text), 0)
}
