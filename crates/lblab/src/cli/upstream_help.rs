//! The help of `--max-fails`, `--fail-timeout`, `--backup` and `--keepalive`, with the defaults
//! read from nginx/proxy.json rather than written twice.

use lblab_config::proxy;

pub fn max_fails() -> String {
    format!(
        "nginx's max_fails: the failed tries that take a backend out for the time \
         --fail-timeout gives, or 0: never out (default: {})",
        proxy().max_fails
    )
}

pub fn fail_timeout() -> String {
    let p = proxy();
    format!(
        "nginx's fail_timeout, in whole seconds as nginx counts it, 1 to {}: e.g. 3, 3s or 1m \
         (default: {}s)",
        p.fail_timeout_max_s, p.fail_timeout_s
    )
}

pub fn backup() -> String {
    format!(
        "Backends (ids, comma-separated) nginx sends requests to only while every other is out; \
         with {} only (nginx/methods.json); none: no backup",
        lblab_config::Method::backup_names()
    )
}

pub fn keepalive() -> String {
    let p = proxy();
    format!(
        "The idle keep-alive connections each nginx worker keeps to the backends, 1 to {}, or off: \
         a new connection per request (default: {})",
        p.keepalive_max, p.keepalive
    )
}
