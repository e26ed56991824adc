//! Command-line flags of the load test, shared by `loadtest` and `lblab run`.

use std::net::IpAddr;
use std::time::Duration;

use clap::Args;
use clap::error::ErrorKind;
use reqwest::Url;

use crate::arrivals::{Arrivals, check_arrivals};
use crate::config::{Config, MaxErrors};
use crate::config::{Engine, default_threads};
use crate::duration::parse_duration;
use crate::expect::{Expectation, check_expectations};
use crate::header::HeaderTemplate;
use crate::limits::check_open_files;
use crate::schedule::parse_rate;
use crate::source_ip::{check_source_ips, parse_source_ips};
use crate::status::OkStatus;

/// How to load the target; `lblab run` takes the same flags.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Number of requests to send.
    #[arg(short = 'n', long, default_value_t = 1000, allow_negative_numbers = true, value_parser = parse_requests)]
    pub requests: u64,

    /// Requests in flight at once (the default sends all 1000 at the same moment).
    #[arg(short = 'c', long, default_value_t = 1000, allow_negative_numbers = true, value_parser = parse_concurrency)]
    pub concurrency: u32,

    /// Sending threads (default: one per CPU).
    #[arg(short = 't', long, allow_negative_numbers = true, value_parser = parse_threads)]
    pub threads: Option<u32>,

    /// Open model: send R requests per second on a fixed schedule (at most -c in flight) and time
    /// each request from when it was due, so a stalled target shows in the latencies.
    // Negative numbers are taken as values so that `--rate -5` reaches parse_rate and is refused
    // as out of range, rather than clap's tip to write `-- -5`, which would make it the URL.
    #[arg(long, value_name = "R", allow_negative_numbers = true, value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// With --rate: how the requests are spaced, evenly (uniform) or as a Poisson process whose
    /// gaps are random with mean 1/R (poisson, the bursts of independent users).
    #[arg(long, value_enum, default_value = "uniform")]
    pub arrivals: Arrivals,

    /// With --arrivals poisson: the seed of the drawn arrivals, so a run can be repeated (default: a
    /// fresh one, printed in the report).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Send for this long instead of a number of requests (e.g. 10s, 500ms, 2m).
    #[arg(short = 'd', long, allow_hyphen_values = true, value_parser = parse_duration, conflicts_with = "requests")]
    pub duration: Option<Duration>,

    /// Open a new connection for every request.
    #[arg(long)]
    pub no_keep_alive: bool,

    /// Give up on a request after this long: whole milliseconds, at least 1ms.
    #[arg(long, default_value = "10s", allow_hyphen_values = true, value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Send from this local address; repeat it, or give a range such as 127.0.1-30.1, for several
    /// clients (nginx's ip_hash keys on the first three octets of IPv4).
    #[arg(long = "source-ip", value_name = "ADDR|RANGE", value_parser = parse_source_ips)]
    pub source_ips: Vec<Vec<IpAddr>>,

    // Not a doc comment: clap turns a bare `{n}` in help into a line break. An empty style between
    // the brace and the `n` keeps it whole; its escape code is stripped when help is not coloured.
    #[arg(
        short = 'H',
        long = "header",
        value_name = "HEADER",
        value_parser = HeaderTemplate::parse,
        help = "A request header, 'Name: value'; {\u{1b}[0mn} is the request number and {\u{1b}[0mn%K} cycles through K values"
    )]
    pub headers: Vec<HeaderTemplate>,

    /// Fail (exit 1) unless the run is as expected; repeatable. The distribution: round-robin,
    /// round-robin:W1,W2,…, one, uniform, uniform:W1,W2,…, backends=K, sticky, max-share:ID=P%,
    /// min-share:ID=P%. Thresholds (quote them for the shell): p50<T, p90<T, p95<T, p99<T, p999<T,
    /// max<T, mean<T with T in us, ms or s; errors=0, errors<N, errors<P%; rps>N; one backend's
    /// latency or rate as backend=ID:p99<50ms.
    #[arg(long = "expect", value_name = "SPEC", value_parser = Expectation::parse)]
    pub expectations: Vec<Expectation>,

    /// Failed requests allowed before the run fails: a count (5) or a share (1%). Default 0, or
    /// no limit of its own when an errors threshold (errors=0, errors<N, errors<P%) is expected.
    #[arg(long, allow_hyphen_values = true, value_parser = MaxErrors::parse)]
    pub max_errors: Option<MaxErrors>,

    /// The statuses that are answers, as a list of classes and codes (e.g. 2xx, or 2xx,3xx,404);
    /// any other status is an error, `status N` in the report, judged by --max-errors.
    #[arg(long, value_name = "LIST", default_value = "2xx,3xx", value_parser = OkStatus::parse)]
    pub ok_status: OkStatus,

    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,

    /// What sends the requests: lean (lblab's own HTTP/1.1 client, built to weigh little on what it
    /// measures) or reqwest (for comparison).
    #[arg(long, value_enum, default_value = "lean")]
    pub engine: Engine,
}

impl LoadArgs {
    /// `backends`: how many backends stand behind the URL, if known.
    pub fn to_config(&self, url: Url, backends: Option<usize>) -> Config {
        Config {
            requests: self.requests,
            duration: self.duration,
            concurrency: self.concurrency,
            rate: self.rate,
            arrivals: self.arrivals,
            seed: self.seed,
            threads: self.threads.map_or_else(default_threads, |t| t as usize),
            keep_alive: !self.no_keep_alive,
            timeout: self.timeout,
            source_ips: self.source_ips.iter().flatten().copied().collect(),
            headers: self.headers.clone(),
            expectations: self.expectations.clone(),
            backends,
            max_errors: self
                .max_errors
                .unwrap_or_else(|| MaxErrors::default_for(&self.expectations)),
            ok_status: self.ok_status,
            progress: !self.json,
            engine: self.engine,
            ..Config::new(url)
        }
    }
}

impl LoadArgs {
    /// What [`Config::validate`] refuses, checked before a target exists: `lblab run` calls it
    /// before it starts the lab. `backends`: how many there will be; `target`: the address the
    /// load will go to, if known.
    pub fn check_up_front(
        &self,
        backends: Option<usize>,
        target: Option<IpAddr>,
    ) -> Result<(), String> {
        if let Some(k) = backends {
            check_expectations(&self.expectations, k)?;
        }
        check_arrivals(self.rate, self.arrivals, self.seed)?;
        let ips: Vec<IpAddr> = self.source_ips.iter().flatten().copied().collect();
        check_source_ips(&ips, target)?;
        let threads = self.threads.map_or_else(default_threads, |t| t as usize);
        check_open_files(self.concurrency, threads)
    }
}

/// A whole number from `min` to `max`, said in words rather than as a Rust range.
fn whole_number(s: &str, min: u64, max: u64) -> Result<u64, String> {
    let range = if max == u64::MAX {
        format!("at least {min}")
    } else {
        format!("from {min} to {max}")
    };
    let digits = s.trim();
    match digits.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        Ok(_) => Err(format!("must be {range}")),
        // Digits that do not fit in a u64 are a whole number all the same, just too large.
        Err(_) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => Err(format!(
            "'{digits}' is too large (must be from {min} to {max})"
        )),
        Err(_) => Err(format!("'{s}' is not a whole number (must be {range})")),
    }
}

/// `--backends K` of the `loadtest` binary.
pub fn parse_backends(s: &str) -> Result<u64, String> {
    whole_number(s, 1, 10_000)
}

/// `--timeout`: a duration in whole milliseconds. Both engines' timers count milliseconds and
/// round a deadline up to the next one, so 0.5ms would silently mean 1ms and 1.5ms 2ms.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.subsec_nanos() % 1_000_000 != 0 {
        return Err(format!(
            "timeout '{s}' is not a whole number of milliseconds (accepted: 1ms or more, e.g. 250ms, 1.5s; the timers count milliseconds)"
        ));
    }
    Ok(d)
}

fn parse_requests(s: &str) -> Result<u64, String> {
    whole_number(s, 1, u64::MAX)
}

fn parse_concurrency(s: &str) -> Result<u32, String> {
    whole_number(s, 1, 100_000).map(|n| n as u32)
}

fn parse_threads(s: &str) -> Result<u32, String> {
    whole_number(s, 1, 1024).map(|n| n as u32)
}

/// An `http://` URL; the client speaks plain HTTP/1.1 only.
pub fn parse_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s)
        .map_err(|e| format!("'{s}' is not a URL ({e}; accepted: e.g. http://127.0.0.1:8080/)"))?;
    match url.scheme() {
        "http" if url.host().is_some() => Ok(url),
        "http" => Err(format!("'{s}' has no host")),
        other => Err(format!(
            "'{s}': scheme '{other}' is not supported (accepted: http://; the lab speaks plain HTTP/1.1)"
        )),
    }
}

/// clap's refusal of a command line as the one line every refusal is (`error: …`), or `None` for
/// help and the version, which clap prints as they are. clap's message is its first paragraph (a
/// list of missing arguments is indented below its first line); the usage and the hint to try
/// --help after it are left out. Shared by loadtest and lblab, whose refusals read alike.
pub fn clap_refusal(e: &clap::Error) -> Option<String> {
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return None;
    }
    let rendered = e.render().to_string();
    let line: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    Some(line.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_refused_in_words() {
        assert_eq!(parse_requests("0"), Err("must be at least 1".into()));
        assert_eq!(
            parse_requests("-5"),
            Err("'-5' is not a whole number (must be at least 1)".into())
        );
        assert_eq!(
            parse_concurrency("100001"),
            Err("must be from 1 to 100000".into())
        );
        assert_eq!(parse_threads("8"), Ok(8));
        assert_eq!(
            parse_requests("18446744073709551616"),
            Err(
                "'18446744073709551616' is too large (must be from 1 to 18446744073709551615)"
                    .into()
            )
        );
        assert_eq!(
            parse_backends("99999999999999999999"),
            Err("'99999999999999999999' is too large (must be from 1 to 10000)".into())
        );
    }

    #[test]
    fn timeouts_are_whole_milliseconds() {
        assert_eq!(parse_timeout("1ms"), Ok(Duration::from_millis(1)));
        assert_eq!(parse_timeout("1.5s"), Ok(Duration::from_millis(1500)));
        for s in ["0.5ms", "1.5ms", "0.0001s"] {
            assert!(
                parse_timeout(s)
                    .unwrap_err()
                    .contains("whole number of milliseconds"),
                "{s}"
            );
        }
    }

    #[test]
    fn urls() {
        assert!(parse_url("http://127.0.0.1:8080/").is_ok());
        assert!(
            parse_url("https://x/")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(parse_url("127.0.0.1:80").is_err());
        assert!(parse_url("http//x").unwrap_err().contains("not a URL"));
    }
}
