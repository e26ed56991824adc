use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;

use crate::arrivals::{Arrivals, check_arrivals};
use crate::expect::{Expectation, check_expectations};
use crate::header::HeaderTemplate;
use crate::limits::check_open_files;
use crate::source_ip::check_source_ips;
use crate::status::OkStatus;

/// One load test, as the CLI or `lblab run` describe it.
#[derive(Debug, Clone)]
pub struct Config {
    pub url: Url,
    /// Stop after this many requests…
    pub requests: u64,
    /// …or, when set, send until this much time has passed.
    pub duration: Option<Duration>,
    pub concurrency: u32,
    /// Open model: send this many requests per second on a fixed schedule, at most `concurrency`
    /// in flight; `None`: closed model, each task sends its next request when the last is answered.
    pub rate: Option<f64>,
    /// With `rate`: how the requests are spaced.
    pub arrivals: Arrivals,
    /// With Poisson arrivals: the seed of their due times; `None`: a fresh one, reported.
    pub seed: Option<u64>,
    /// OS threads that send, each with its own single-threaded runtime.
    pub threads: usize,
    pub keep_alive: bool,
    pub timeout: Duration,
    pub source_ips: Vec<IpAddr>,
    pub headers: Vec<HeaderTemplate>,
    pub expectations: Vec<Expectation>,
    /// How many backends are behind the URL, for the expectations; `None`: as many as answered.
    pub backends: Option<usize>,
    pub max_errors: MaxErrors,
    /// The statuses that are answers; any other is an error (`status N`).
    pub ok_status: OkStatus,
    /// Draw a progress bar on stderr (only ever on a terminal).
    pub progress: bool,
    pub engine: Engine,
    /// Keep what each backend did per time bucket (`Report::timeline`), for charts over time.
    pub timeline: bool,
}

/// What sends the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// lblab's own HTTP/1.1 client: one connection per task, the request encoded once.
    Lean,
    /// reqwest (hyper underneath), with a connection pool per few tasks.
    Reqwest,
}

/// How many failed requests a run may have and still pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxErrors {
    Count(u64),
    Percent(f64),
}

impl MaxErrors {
    /// The allowance when `--max-errors` is not given: none, unless an errors threshold is among
    /// the expectations, which then judges the failed requests alone (`--expect 'errors<1%'` would
    /// otherwise fail on the first error, through a limit the user did not write).
    pub fn default_for(expectations: &[Expectation]) -> MaxErrors {
        if expectations.iter().any(Expectation::judges_errors) {
            MaxErrors::Percent(100.0)
        } else {
            MaxErrors::Count(0)
        }
    }

    pub fn parse(s: &str) -> Result<MaxErrors, String> {
        let bad = || {
            format!(
                "'{s}' is not an error allowance (accepted: a count such as 5, or a share such as 1.5%)"
            )
        };
        match s.trim().strip_suffix('%') {
            Some(p) => {
                let p: f64 = p.trim().parse().map_err(|_| bad())?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(format!("'{s}': a share is from 0% to 100%"));
                }
                Ok(MaxErrors::Percent(p))
            }
            None => s
                .trim()
                .parse()
                .map(MaxErrors::Count)
                .map_err(|e: std::num::ParseIntError| {
                    // All digits, but more than 64 bits hold: say so, not that it is no number.
                    if *e.kind() == std::num::IntErrorKind::PosOverflow {
                        format!("'{s}' is too large (a count is from 0 to {})", u64::MAX)
                    } else {
                        bad()
                    }
                }),
        }
    }

    pub fn allows(self, errors: u64, requests: u64) -> bool {
        match self {
            MaxErrors::Count(n) => errors <= n,
            MaxErrors::Percent(p) => (errors as f64) <= requests as f64 * p / 100.0,
        }
    }
}

/// One sending thread per CPU.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Config {
    pub fn new(url: Url) -> Config {
        Config {
            url,
            requests: 1000,
            duration: None,
            concurrency: 1000,
            rate: None,
            arrivals: Arrivals::Uniform,
            seed: None,
            threads: default_threads(),
            keep_alive: true,
            timeout: Duration::from_secs(10),
            source_ips: Vec::new(),
            headers: Vec::new(),
            expectations: Vec::new(),
            backends: None,
            max_errors: MaxErrors::Count(0),
            ok_status: OkStatus::default(),
            progress: false,
            engine: Engine::Lean,
            timeline: false,
        }
    }

    /// Refuses, before any request, what the run could only get wrong.
    pub fn validate(&self) -> Result<(), String> {
        check_arrivals(self.rate, self.arrivals, self.seed)?;
        if let Some(k) = self.backends {
            check_expectations(&self.expectations, k)?;
        }
        check_source_ips(&self.source_ips, self.target_ip())?;
        check_open_files(self.concurrency, self.threads)
    }

    /// The target's address, when the URL names one rather than a host name.
    fn target_ip(&self) -> Option<IpAddr> {
        let host = self.url.host_str()?;
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()
    }

    /// Whether the run keeps, per client (source address and varying headers), which backends
    /// answered it: needed by `sticky`, and cheap to skip otherwise.
    pub fn tracks_clients(&self) -> bool {
        self.source_ips.len() > 1
            || self.headers.iter().any(|h| !h.is_constant())
            || self.expectations.contains(&Expectation::Sticky)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_errors() {
        assert_eq!(MaxErrors::parse("5"), Ok(MaxErrors::Count(5)));
        assert_eq!(MaxErrors::parse("1.5%"), Ok(MaxErrors::Percent(1.5)));
        assert!(MaxErrors::parse("x").is_err());
        assert!(MaxErrors::parse("101%").is_err());
        assert_eq!(
            MaxErrors::parse("18446744073709551616"),
            Err(
                "'18446744073709551616' is too large (a count is from 0 to 18446744073709551615)"
                    .into()
            )
        );
        assert!(MaxErrors::Count(0).allows(0, 10));
        assert!(!MaxErrors::Count(0).allows(1, 10));
        assert!(MaxErrors::Percent(10.0).allows(1, 10));
        assert!(!MaxErrors::Percent(10.0).allows(2, 10));
    }
}
