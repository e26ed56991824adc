//! `lblab nginx-config`: the config a lab of these settings runs, printed without starting one.

use lblab_config::NginxConfig;

use crate::cli::NginxConfigArgs;
use crate::outcome::{Failure, Outcome, written};

pub fn nginx_config(a: NginxConfigArgs) -> Outcome {
    let balancing = a.method.balancing()?;
    balancing.validate(a.backends)?;
    lblab_config::check_prefix(&a.prefix).map_err(|e| Failure::Usage(format!("--{e}")))?;
    let servers = servers(&a)?;
    let config = NginxConfig {
        prefix: a.prefix,
        listen: a.listen,
        worker_processes: a.workers.unwrap_or_else(crate::limits::default_workers),
        concurrency: a.concurrency,
        nofile_limit: None,
        upstream: balancing.upstream(servers),
        // The blocks a server of one's own would take; the access log is the runner's own.
        access_log: false,
    };
    let text = if a.upstream_only {
        config.upstream.render()
    } else {
        config.render()
    };
    written(crate::output::out(&text), 0)
}

/// The backends' addresses as the NixOS module gives them: BASE-PORT + N - 1 on --address.
pub fn servers(a: &NginxConfigArgs) -> Result<Vec<std::net::SocketAddr>, String> {
    (0..a.backends)
        .map(|i| match a.base_port.checked_add(i as u16) {
            Some(p) => Ok(std::net::SocketAddr::new(a.address, p)),
            None => Err(format!(
                "--base-port {} + {} backends runs past port 65535",
                a.base_port, a.backends
            )),
        })
        .collect()
}
