//! The third witness: nginx's access log, in lblab's own format (`$upstream_addr|$upstream_status|
//! $status`, see `nginx/lblab.conf`), counted per backend after a run.
//!
//! A request nginx tried on several upstreams logs them all, in order: `a, b` and `502, 200`. The
//! last is the one whose answer the client got, and the request counts for it; the ones before
//! it failed (refused, reset, timed out, 502/503, as `proxy_next_upstream` allows) and are counted
//! apart, per backend, as tries passed on to the next. A request counts only when the client got
//! an answer it counts too: a status that `--ok-status` accepts. Lines without an upstream (nginx
//! answered itself, as for `/favicon.ico`) and addresses that are no backend's are counted apart.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;

use serde::Serialize;

/// What the log says.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Logged {
    /// Per backend (index = id − 1): requests it answered with a status the client counts.
    pub answered: Vec<u64>,
    /// Per backend: tries that failed on it and were passed on to the next upstream.
    pub passed_on: Vec<u64>,
    /// Requests logged that count for no backend: a status the client does not count, no
    /// upstream, or an address that is no backend's.
    pub other: u64,
}

/// Counts the log at `path`; `backends` are the backends' addresses (index = id − 1), `ok` says
/// which statuses the client counts as answers.
pub fn count(
    path: &Path,
    backends: &[SocketAddr],
    ok: impl Fn(u16) -> bool,
) -> Result<Logged, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read nginx's access log {}: {e}", path.display()))?;
    let mut out = Logged {
        answered: vec![0; backends.len()],
        passed_on: vec![0; backends.len()],
        other: 0,
    };
    for line in BufReader::new(file).lines() {
        let line =
            line.map_err(|e| format!("cannot read nginx's access log {}: {e}", path.display()))?;
        out.add(&line, backends, &ok);
    }
    Ok(out)
}

impl Logged {
    fn add(&mut self, line: &str, backends: &[SocketAddr], ok: &impl Fn(u16) -> bool) {
        let mut fields = line.split('|');
        let (Some(addrs), Some(_), Some(status)) = (fields.next(), fields.next(), fields.next())
        else {
            self.other += 1;
            return;
        };
        let index = |a: &str| {
            a.trim()
                .parse::<SocketAddr>()
                .ok()
                .and_then(|a| backends.iter().position(|b| *b == a))
        };
        // Upstreams are separated by ", " (tries) and " : " (an internal redirect, which lblab's
        // config has none of); the last is the one that answered.
        let tried: Vec<&str> = addrs
            .split([',', ' '])
            .filter(|a| !a.is_empty() && *a != ":")
            .collect();
        let Some((last, before)) = tried.split_last() else {
            self.other += 1;
            return;
        };
        for a in before {
            if let Some(i) = index(a) {
                self.passed_on[i] += 1;
            }
        }
        match (index(last), status.trim().parse::<u16>()) {
            (Some(i), Ok(code)) if ok(code) => self.answered[i] += 1,
            _ => self.other += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_upstream_answered_and_the_ones_before_passed_it_on() {
        let backends: Vec<SocketAddr> = ["127.0.0.1:9001", "127.0.0.1:9002"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let mut l = Logged {
            answered: vec![0; 2],
            passed_on: vec![0; 2],
            other: 0,
        };
        let ok = |c: u16| (200..400).contains(&c);
        for line in [
            "127.0.0.1:9001|200|200",
            "127.0.0.1:9002, 127.0.0.1:9001|502, 200|200",
            "127.0.0.1:9001, 127.0.0.1:9002|504, 502|502",
            "-|-|204",
            "127.0.0.1:9999|200|200",
            "garbage",
        ] {
            l.add(line, &backends, &ok);
        }
        assert_eq!(l.answered, [2, 0]);
        assert_eq!(l.passed_on, [1, 1]);
        assert_eq!(l.other, 4);
    }
}
