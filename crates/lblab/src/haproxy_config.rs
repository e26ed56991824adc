//! `lblab haproxy-config`: the HAProxy config a lab of these settings runs (`run --proxy haproxy`),
//! printed without starting one; nginx-config's sibling, with the same flags.

use lblab_config::HaproxyConfig;

use crate::cli::NginxConfigArgs;
use crate::outcome::{Failure, Outcome, written};

pub fn haproxy_config(a: NginxConfigArgs) -> Outcome {
    let balancing = a.method.haproxy_balancing()?;
    balancing.validate(a.backends)?;
    lblab_config::check_haproxy_prefix(&a.prefix).map_err(|e| Failure::Usage(format!("--{e}")))?;
    let servers = crate::nginx_config::servers(&a)?;
    let config = HaproxyConfig {
        prefix: a.prefix,
        listen: a.listen,
        threads: a.workers.unwrap_or_else(crate::limits::default_workers),
        concurrency: a.concurrency,
        nofile_limit: None,
        // What a lab of this user would run: nobody's workers when root.
        run_as: crate::unprivileged::haproxy_run_as(),
        backend: balancing.backend(servers),
    };
    let text = if a.upstream_only {
        config.backend.render()
    } else {
        config.render()
    };
    written(crate::output::out(&text), 0)
}
