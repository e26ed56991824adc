//! "Send N requests": one load test through nginx, the same client `lblab run` uses.

use std::collections::BTreeMap;

use serde::Serialize;

/// The most requests one button press sends: enough to see a distribution, short enough that the
/// form's answer comes within a second or two.
pub const MAX_REQUESTS: u64 = 10_000;
/// Connections at once, so that least-conn has something to compare.
const CONCURRENCY: u64 = 20;

#[derive(Debug, Clone, Serialize)]
pub struct BurstResult {
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    /// Backend id (or `unknown`) → answers.
    pub counts: BTreeMap<String, u64>,
    pub elapsed_s: f64,
}

/// The count field of the form, or the one line a 400 says.
pub fn parse_count(s: Option<&str>) -> Result<u64, String> {
    let s = s.map(str::trim).unwrap_or("");
    s.parse::<u64>()
        .ok()
        .filter(|n| (1..=MAX_REQUESTS).contains(n))
        .ok_or_else(|| {
            format!(
                "count '{s}' is not accepted: give a number of requests from 1 to {MAX_REQUESTS}"
            )
        })
}

pub async fn send(lab_url: &str, requests: u64, backends: usize) -> Result<BurstResult, String> {
    let url = loadtest::cli::parse_url(lab_url)?;
    let mut config = loadtest::Config::new(url);
    config.requests = requests;
    config.concurrency = requests.min(CONCURRENCY) as u32;
    // The lab, the browser and the other users of the machine share its cores.
    config.threads = 1;
    config.backends = Some(backends);
    config.max_errors = loadtest::MaxErrors::Count(requests);
    let report = loadtest::run(&config).await?;
    Ok(BurstResult {
        requests: report.requests,
        ok: report.ok,
        errors: report.errors,
        counts: report
            .counts
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        elapsed_s: report.elapsed_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outside_one_to_max_are_refused_in_one_line() {
        assert_eq!(parse_count(Some("300")), Ok(300));
        assert_eq!(parse_count(Some(" 1 ")), Ok(1));
        for bad in ["0", "-3", "ten", "", "10001", "99999999999999999999999"] {
            let e = parse_count(Some(bad)).unwrap_err();
            assert!(
                e.contains("from 1 to 10000") && !e.contains('\n'),
                "{bad}: {e}"
            );
        }
        assert!(parse_count(None).is_err());
    }
}
