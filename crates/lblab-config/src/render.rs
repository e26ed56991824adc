use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::method::Method;
use crate::proxy::proxy;
use crate::tuning::{Keepalive, Tuning};
use crate::weights::Weights;

const TEMPLATE: &str = include_str!("../../../nginx/lblab.conf");

/// The `upstream lblab {}` block: the part of the config the NixOS module must produce too.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpstreamConfig {
    pub method: Method,
    pub hash_key: String,
    pub consistent: bool,
    pub servers: Vec<SocketAddr>,
    /// One per server, in the same order; `None` means nginx's default weight 1 everywhere.
    pub weights: Option<Weights>,
    /// Servers (indices into `servers`) marked `down`: nginx keeps them in the hash ring and the
    /// weight total, so a hash method moves only their keys, as taking a server out for a while
    /// should (nginx's upstream docs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub down: Vec<usize>,
    /// `max_fails`, `fail_timeout`, `backup` and `keepalive` (a record from before they were
    /// settings has nginx/proxy.json's).
    #[serde(default)]
    pub tuning: Tuning,
}

/// A whole nginx.conf for a private prefix. Timeouts, the listen backlog and the like are not part
/// of it: they come from `nginx/proxy.json` (`proxy()`), as for the NixOS module.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NginxConfig {
    pub prefix: PathBuf,
    pub listen: SocketAddr,
    pub worker_processes: u32,
    /// The most client connections the load test will open at once.
    pub concurrency: u32,
    /// The hard limit on open files nginx will run under (`None`: no limit is known, as for a
    /// config printed for another machine). nginx cannot raise its workers' limit past it.
    #[serde(default)]
    pub nofile_limit: Option<u64>,
    pub upstream: UpstreamConfig,
    /// Write the access log, in lblab's own format, to `PREFIX/access.log` (`lblab run` counts it);
    /// otherwise `access_log off`: a lab that runs for days (`up`) would grow it without end.
    #[serde(default)]
    pub access_log: bool,
}

/// The access log's file name in the prefix.
pub const ACCESS_LOG: &str = "access.log";

/// Files a worker holds besides its connections: logs, listening sockets, the channel to the master.
const SPARE_FILES: u64 = 32;

pub const DEFAULT_HASH_KEY: &str = "$request_uri";

impl UpstreamConfig {
    pub fn new(method: Method, servers: Vec<SocketAddr>) -> Self {
        UpstreamConfig {
            method,
            hash_key: DEFAULT_HASH_KEY.to_owned(),
            consistent: false,
            servers,
            weights: None,
            down: Vec::new(),
            tuning: Tuning::default(),
        }
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str("    upstream lblab {\n");
        // Without a shared zone each worker keeps its own round-robin position and counters, and
        // 1000 requests over two workers come out 334/334/332 instead of 333/333/334.
        let p = proxy();
        let t = &self.tuning;
        let _ = writeln!(s, "        zone lblab {}k;", p.zone_kib(self.servers.len()));
        if let Some(d) = self.method.directive(&self.hash_key, self.consistent) {
            let _ = writeln!(s, "        {d};");
        }
        for (i, addr) in self.servers.iter().enumerate() {
            let _ = write!(s, "        server {addr}");
            if let Some(w) = self.weights.as_ref().and_then(|w| w.0.get(i)) {
                let _ = write!(s, " weight={w}");
            }
            if self.down.contains(&i) {
                s.push_str(" down");
            }
            let id = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if t.backup.contains(&id) {
                s.push_str(" backup");
            }
            // A server that fails is left out for fail_timeout (passive health check): by default
            // 2 s instead of nginx's 10 s, so that a restarted backend is back in the rotation
            // within a short run.
            let _ = writeln!(
                s,
                " max_fails={} fail_timeout={}s;",
                t.max_fails, t.fail_timeout_s
            );
        }
        // nginx wants keepalive after the balancing directive; off, there is none and nginx opens
        // a connection to the backend per request.
        if let Keepalive::Idle(n) = t.keepalive {
            let _ = writeln!(s, "        keepalive {n};");
        }
        s.push_str("    }\n");
        s
    }
}

/// Checks that nginx can take `prefix` in the double-quoted paths of the template: anything but a
/// double quote, a backslash (nginx's escape) and control characters (a newline ends the line).
pub fn check_prefix(prefix: &Path) -> Result<(), String> {
    let shown = prefix.display();
    let s = prefix
        .to_str()
        .ok_or_else(|| format!("prefix {shown} is not UTF-8, which nginx.conf cannot hold"))?;
    match s
        .chars()
        .find(|c| matches!(c, '"' | '\\') || c.is_control())
    {
        Some(c) => Err(format!(
            "prefix '{shown}' has {c:?}, which nginx.conf cannot hold in a path (spaces, ';' and braces are fine: the paths are quoted)"
        )),
        None => Ok(()),
    }
}

impl NginxConfig {
    /// Room for every client connection and its upstream one, plus the keepalive pool (at least
    /// 1024), within the open-files limit.
    pub fn worker_connections(&self) -> u32 {
        let wanted = (2 * self.concurrency + 2 * self.keepalive() + 64).max(1024);
        let room = self.worker_rlimit_nofile().saturating_sub(SPARE_FILES);
        wanted.min(room.try_into().unwrap_or(u32::MAX))
    }

    /// Twice what the connections want, but never past the hard limit: past it nginx's
    /// setrlimit fails and every worker logs it.
    pub fn worker_rlimit_nofile(&self) -> u64 {
        let wanted = 2 * u64::from((2 * self.concurrency + 2 * self.keepalive() + 64).max(1024));
        self.nofile_limit.map_or(wanted, |limit| wanted.min(limit))
    }

    /// The keep-alive pool's size, 0 when off.
    fn keepalive(&self) -> u32 {
        self.upstream.tuning.keepalive.idle()
    }

    pub fn render(&self) -> String {
        let p = proxy();
        let wc = self.worker_connections();
        let (http_version, connection) = self.upstream.tuning.keepalive.upstream_headers();
        let tries = self.upstream.servers.len().max(1).to_string();
        let access_log = if self.access_log {
            format!(
                "access_log \"{}\" lblab;",
                self.prefix.join(ACCESS_LOG).display()
            )
        } else {
            "access_log off;".into()
        };
        let vars: [(&str, String); 14] = [
            ("worker_processes", self.worker_processes.to_string()),
            (
                "worker_rlimit_nofile",
                self.worker_rlimit_nofile().to_string(),
            ),
            ("worker_connections", wc.to_string()),
            ("prefix", self.prefix.display().to_string()),
            ("upstream", self.upstream.render()),
            ("listen", self.listen.to_string()),
            ("listen_backlog", p.listen_backlog.to_string()),
            ("next_upstream", p.next_upstream.clone()),
            ("next_upstream_tries", tries),
            ("connect_timeout", format!("{}ms", p.connect_timeout_ms)),
            ("read_timeout", format!("{}ms", p.read_timeout_ms)),
            ("access_log", access_log),
            ("upstream_http_version", http_version.to_owned()),
            ("upstream_connection", connection.to_owned()),
        ];
        fill(TEMPLATE, &vars)
    }
}

/// The template with each `{{name}}` of `vars` replaced by its value, in one pass over the
/// template: a value is never read again, so a prefix that contains `{{listen}}` stays as it was
/// given instead of being expanded a second time. A name that `vars` does not have is left as it
/// is, so a test can see it was not filled.
pub(crate) fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 1024);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let value = after.find("}}").and_then(|close| {
            let name = &after[..close];
            let (_, v) = vars.iter().find(|(n, _)| *n == name)?;
            Some((v, close))
        });
        match value {
            Some((v, close)) => {
                out.push_str(v);
                rest = &after[close + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> Vec<SocketAddr> {
        (1..=3)
            .map(|i| format!("127.0.0.1:{}", 9000 + i).parse().unwrap())
            .collect()
    }

    fn config(method: Method) -> NginxConfig {
        NginxConfig {
            prefix: "/tmp/p".into(),
            listen: "127.0.0.1:8080".parse().unwrap(),
            worker_processes: 2,
            concurrency: 1000,
            nofile_limit: None,
            access_log: false,
            upstream: UpstreamConfig::new(method, addrs()),
        }
    }

    #[test]
    fn round_robin_upstream_has_zone_and_no_directive() {
        let u = UpstreamConfig::new(Method::RoundRobin, addrs()).render();
        assert_eq!(
            u,
            "    upstream lblab {\n        zone lblab 64k;\n\
             \x20       server 127.0.0.1:9001 max_fails=1 fail_timeout=2s;\n\
             \x20       server 127.0.0.1:9002 max_fails=1 fail_timeout=2s;\n\
             \x20       server 127.0.0.1:9003 max_fails=1 fail_timeout=2s;\n\
             \x20       keepalive 64;\n    }\n"
        );
    }

    #[test]
    fn weights_and_hash() {
        let mut u = UpstreamConfig::new(Method::Hash, addrs());
        u.weights = Some(Weights(vec![1, 2, 3]));
        u.hash_key = "$http_x_key".into();
        u.consistent = true;
        let r = u.render();
        assert!(r.contains("        hash $http_x_key consistent;\n"), "{r}");
        assert!(r.contains("server 127.0.0.1:9002 weight=2 "), "{r}");
        assert!(r.find("hash").unwrap() < r.find("keepalive").unwrap());
    }

    #[test]
    fn a_server_marked_down_says_so_and_keeps_its_place() {
        let mut u = UpstreamConfig::new(Method::Hash, addrs());
        u.down = vec![1];
        let r = u.render();
        assert!(
            r.contains("server 127.0.0.1:9002 down max_fails=1 fail_timeout=2s;\n"),
            "{r}"
        );
        assert_eq!(r.matches(" down ").count(), 1, "{r}");
        assert!(r.find("9001").unwrap() < r.find("9002").unwrap());
    }

    #[test]
    fn tuning_reaches_every_server_and_the_pool() {
        let mut u = UpstreamConfig::new(Method::LeastConn, addrs());
        u.tuning.max_fails = 0;
        u.tuning.fail_timeout_s = 5;
        u.tuning.backup = vec![3];
        u.tuning.keepalive = Keepalive::Off;
        let r = u.render();
        assert!(
            r.contains("server 127.0.0.1:9001 max_fails=0 fail_timeout=5s;\n"),
            "{r}"
        );
        assert!(
            r.contains("server 127.0.0.1:9003 backup max_fails=0 fail_timeout=5s;\n"),
            "{r}"
        );
        assert_eq!(r.matches(" backup").count(), 1, "{r}");
        assert!(!r.contains("keepalive"), "{r}");
        let mut c = config(Method::LeastConn);
        c.upstream = u;
        let text = c.render();
        assert!(text.contains("proxy_http_version 1.0;"), "{text}");
        assert!(
            text.contains("proxy_set_header Connection close;"),
            "{text}"
        );
        assert_eq!(c.worker_connections(), 2000 + 64);
        let on = config(Method::LeastConn).render();
        assert!(on.contains("proxy_http_version 1.1;"), "{on}");
        assert!(on.contains("proxy_set_header Connection \"\";"), "{on}");
    }

    #[test]
    fn the_access_log_is_written_in_the_prefix_only_when_asked() {
        let mut c = config(Method::RoundRobin);
        assert!(c.render().contains("    access_log off;\n"));
        c.access_log = true;
        let text = c.render();
        assert!(
            text.contains("    access_log \"/tmp/p/access.log\" lblab;\n"),
            "{text}"
        );
        assert!(text.contains("log_format lblab '$upstream_addr|$upstream_status|$status';"));
    }

    #[test]
    fn every_placeholder_is_filled() {
        for m in Method::ALL {
            let c = config(m).render();
            assert!(!c.contains("{{"), "unfilled placeholder for {m}:\n{c}");
            assert!(c.contains("listen 127.0.0.1:8080 backlog=4096;"));
            assert!(c.contains("pid \"/tmp/p/nginx.pid\";"));
            assert!(c.contains("proxy_next_upstream_tries 3;"));
        }
    }

    #[test]
    fn placeholders_in_a_value_are_not_expanded_again() {
        let mut c = config(Method::RoundRobin);
        c.prefix = "/srv/{{listen}}/{{prefix}}".into();
        let r = c.render();
        assert!(
            r.contains("pid \"/srv/{{listen}}/{{prefix}}/nginx.pid\";"),
            "{r}"
        );
        assert_eq!(r.matches("127.0.0.1:8080").count(), 1, "{r}");
        // Unknown names and lone braces pass through unchanged.
        let vars = [("a", "{{b}}".to_owned()), ("b", "x".to_owned())];
        assert_eq!(
            fill("{{a}} {{b}} {{c}} {{ }}", &vars),
            "{{b}} x {{c}} {{ }}"
        );
        assert_eq!(fill("a {{b", &vars), "a {{b");
    }

    #[test]
    fn worker_connections_cover_concurrency() {
        let mut c = config(Method::RoundRobin);
        assert_eq!(c.worker_connections(), 2000 + 128 + 64);
        c.concurrency = 10;
        assert_eq!(c.worker_connections(), 1024);
        assert!(c.render().contains("worker_rlimit_nofile 2048;"));
    }

    #[test]
    fn prefixes_nginx_cannot_hold_are_refused() {
        assert!(check_prefix(Path::new("/tmp/a b;c{}")).is_ok());
        for bad in ["/tmp/a\"b", "/tmp/a\\b", "/tmp/a\nb"] {
            assert!(check_prefix(Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_files_limit_caps_both() {
        let mut c = config(Method::RoundRobin);
        c.concurrency = 10_000;
        c.nofile_limit = Some(20_000);
        assert_eq!(c.worker_rlimit_nofile(), 20_000);
        assert_eq!(c.worker_connections(), 20_000 - 32);
        let r = c.render();
        assert!(r.contains("worker_rlimit_nofile 20000;"), "{r}");
        c.nofile_limit = Some(1_000_000);
        assert_eq!(c.worker_rlimit_nofile(), 2 * (20_000 + 128 + 64));
    }
}
