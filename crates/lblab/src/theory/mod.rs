//! Theory beside measurement: what a balancing method should give a lab and a load, and whether
//! what was measured fits. Round-robin and weights are exact (±1 per backend); random is a
//! binomial band (mean ± 3σ); ip-hash and hash keep each network or key on one backend;
//! least-conn and random-two steer by active connections, where theory gives a direction at most.
//! `keys` says the same of the keys that move when a backend leaves. `run` and `compare` show it;
//! it judges nothing they fail on: a random count outside mean ± 3σ happens by chance too.

pub mod band;
pub mod haproxy;
pub mod keys;
pub mod lab;
pub mod sticky;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use lblab_config::Method;
use loadtest::BackendKey;
use serde::Serialize;

pub use band::Band;

/// What kind of claim theory makes.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Each backend within one answer of its weighted share.
    Exact,
    /// A binomial band per backend, mean ± 3σ.
    Band,
    /// Each client network or key on one backend.
    Sticky,
    /// No band, only which way it should lean (the slow backend gets less).
    Direction,
    /// Nothing theory can check, or a run it cannot judge (faults, switches).
    #[default]
    None,
}

/// What theory predicts for one run, and whether the run fits.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Theory {
    pub kind: Kind,
    /// What the method should give, in a sentence with its numbers.
    pub expects: String,
    /// Whether the measurement fits; `None` where theory claims nothing checkable.
    pub fits: Option<bool>,
    /// Per backend, where theory bounds the counts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<Band>,
    /// The largest count over the mean, each relative to its weighted share (1.0: even).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_over_mean: Option<f64>,
    /// random-two against random's row of the same compare: its max/mean should be lower.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versus_random: Option<VersusRandom>,
    /// What else a reader should know: the /24 gotcha, failed requests left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct VersusRandom {
    pub random_max_over_mean: f64,
    pub max_over_mean: f64,
    /// Lower than random's, as the power of two choices says it should be when requests overlap.
    pub lower: bool,
}

/// A run as theory needs it: the lab's balancing and backends, the load's shape, and the counts.
pub struct Case<'a> {
    pub method: Method,
    pub consistent: bool,
    pub weights: Option<&'a [u32]>,
    pub backends: usize,
    /// hash's key (nginx's default `$request_uri` when none was given).
    pub hash_key: &'a str,
    /// Requests in flight at once (-c).
    pub concurrency: u32,
    /// Each backend's mean delay in milliseconds, 1..=N.
    pub delays_ms: Vec<f64>,
    /// The client addresses of the load; empty or one: a single client.
    pub source_ips: &'a [IpAddr],
    /// Requests completed, answered or failed.
    pub requests: u64,
    /// Answers per backend, `unknown` included.
    pub counts: &'a BTreeMap<BackendKey, u64>,
    /// Answers per client and backend, when the load had several clients or keys.
    pub clients: Option<&'a Clients>,
}

/// Answers per client and backend.
pub type Clients = BTreeMap<String, BTreeMap<BackendKey, u64>>;

impl Theory {
    /// A run that theory does not judge, and why.
    pub fn not_judged(why: impl Into<String>) -> Theory {
        Theory {
            kind: Kind::None,
            expects: why.into(),
            ..Theory::default()
        }
    }

    /// fits, OUTSIDE, or `-` where nothing was checked.
    pub fn verdict(&self) -> &'static str {
        match self.fits {
            Some(true) => "fits",
            Some(false) => "OUTSIDE",
            None => "no claim",
        }
    }

    /// A table cell: the kind of claim and the verdict.
    pub fn cell(&self) -> String {
        let kind = match self.kind {
            Kind::Exact => return format!("exact {}: {}", self.exact_width(), self.verdict()),
            Kind::Band => "±3σ band",
            Kind::Sticky => "1 per key",
            Kind::Direction => "direction",
            Kind::None => return "no claim".into(),
        };
        format!("{kind}: {}", self.verdict())
    }

    /// How far an exact claim lets a count stray: `±1`, or `−2/+1` for static-rr's map.
    fn exact_width(&self) -> String {
        let (below, above) = self.bands.iter().fold((0.0f64, 0.0f64), |(b, a), x| {
            (b.max(x.expected - x.low), a.max(x.high - x.expected))
        });
        if (below - above).abs() < 1e-9 {
            format!("±{above:.0}")
        } else {
            format!("−{below:.0}/+{above:.0}")
        }
    }

    /// A claim judged by its bands: it fits when every count is inside its own.
    pub(super) fn of_bands(kind: Kind, expects: String, bands: Vec<Band>) -> Theory {
        Theory {
            kind,
            expects,
            fits: Some(bands.iter().all(|b| b.inside)),
            bands,
            ..Theory::default()
        }
    }

    /// The verdict, then the claim with its numbers and notes: one line of a report.
    pub fn line(&self) -> String {
        format!("{}: {}", self.verdict(), self.detail())
    }

    /// The claim with its numbers, random-two's max/mean beside random's, and the notes.
    pub fn detail(&self) -> String {
        let mut s = self.expects.clone();
        if let Some(v) = &self.versus_random {
            let _ = write!(
                s,
                "; max/mean {:.3} against random's {:.3}: {}",
                v.max_over_mean,
                v.random_max_over_mean,
                if v.lower {
                    "lower, as expected"
                } else {
                    "NOT lower (possible by chance at this size)"
                }
            );
        }
        for n in &self.notes {
            let _ = write!(s, "; {n}");
        }
        s
    }

    /// random-two's row beside random's of the same compare.
    pub fn set_versus_random(&mut self, random: &Theory) {
        // Only where random-two claims to be the more even: not beside a slow backend (it should
        // be uneven there), nor one request at a time (it picks as random does).
        if self.kind != Kind::Direction || self.bands.is_empty() {
            return;
        }
        if let (Some(r), Some(t)) = (random.max_over_mean, self.max_over_mean) {
            self.versus_random = Some(VersusRandom {
                random_max_over_mean: r,
                max_over_mean: t,
                lower: t < r,
            });
        }
    }
}

/// What theory predicts for `case`, judged against its counts.
pub fn predict(case: &Case) -> Theory {
    let ids: Vec<BackendKey> = (1..=case.backends as u32).map(BackendKey::Id).collect();
    let counts: Vec<u64> = ids
        .iter()
        .map(|k| case.counts.get(k).copied().unwrap_or(0))
        .collect();
    let shares = band::shares(case.backends, case.weights);
    let t = match case.method {
        Method::RoundRobin => exact(&counts, &shares, "each backend in turn by its weight"),
        Method::Random => binomial(&counts, &shares, "each request to a backend at random"),
        Method::LeastConn | Method::RandomTwo => by_connections(case, &counts, &shares),
        Method::IpHash => ip_hash(case, &counts),
        Method::Hash => hash(case, &counts),
    };
    finish(t, &counts, &shares, case.requests, case.backends)
}

/// What every prediction ends with: its max/mean where it bounds the counts, and a note of the
/// requests that no backend answered.
pub(super) fn finish(
    mut t: Theory,
    counts: &[u64],
    shares: &[f64],
    requests: u64,
    backends: usize,
) -> Theory {
    let answered: u64 = counts.iter().sum();
    if t.max_over_mean.is_none() && matches!(t.kind, Kind::Exact | Kind::Band | Kind::Direction) {
        t.max_over_mean = band::max_over_mean(counts, shares);
    }
    let others = requests.saturating_sub(answered);
    if others > 0 {
        t.notes.push(format!(
            "{others} of {} requests failed or named no backend: judged on the {answered} answered by backends 1..={}",
            requests, backends
        ));
    }
    t
}

pub(super) fn exact(counts: &[u64], shares: &[f64], why: &str) -> Theory {
    let bands = band::exact(counts, shares);
    Theory::of_bands(
        Kind::Exact,
        format!(
            "{why}: {} of {} answers (±1)",
            expected_list(&bands),
            counts.iter().sum::<u64>()
        ),
        bands,
    )
}

pub(super) fn binomial(counts: &[u64], shares: &[f64], why: &str) -> Theory {
    let bands = band::binomial(counts, shares);
    Theory::of_bands(
        Kind::Band,
        format!(
            "{why}: a binomial count each, {} of {} answers (mean ± 3σ)",
            band_list(&bands),
            counts.iter().sum::<u64>()
        ),
        bands,
    )
}

/// least-conn and random-two count active connections, not answers: with one request at a time
/// every backend has none, and the tie decides (least_conn breaks it by weighted round-robin,
/// random-two's second pick wins, as random). With more, no band exists; a slow backend holds
/// its requests longer and so gets fewer of them.
fn by_connections(case: &Case, counts: &[u64], shares: &[f64]) -> Theory {
    let least = case.method == Method::LeastConn;
    if case.concurrency <= 1 {
        return if least {
            exact(
                counts,
                shares,
                "one request at a time: no backend has an active connection and least_conn breaks the tie by weighted round-robin",
            )
        } else {
            binomial(
                counts,
                &band::second_of_two_distinct(shares),
                "one request at a time: both picks have no active connection and the second wins, but nginx draws two different backends, so with unequal weights the light ones get more than random gives them",
            )
        };
    }
    if let Some(t) = slow_gets_less(&case.delays_ms, counts, shares) {
        return t;
    }
    if least {
        return Theory::not_judged(
            "no exact prediction: each request to the backend with the fewest active connections; with equal backends about even",
        );
    }
    // random-two is never less even than random: its band is random's, and its max/mean should be
    // lower than random's.
    let mut t = binomial(
        counts,
        shares,
        "no exact band: with equally fast backends at least as even as random, each inside random's band",
    );
    t.kind = Kind::Direction;
    t.expects
        .push_str(", and its max/mean below random's (the power of two choices)");
    t
}

/// The direction theory gives a method that counts active connections (least_conn, leastconn,
/// random-two, random(N)) when some backends are slower than the fastest: each slow one gets less
/// than its weighted share. `None` when all are equally fast or nothing was answered.
pub(super) fn slow_gets_less(delays_ms: &[f64], counts: &[u64], shares: &[f64]) -> Option<Theory> {
    let fastest = delays_ms.iter().copied().fold(f64::INFINITY, f64::min);
    let slow: Vec<usize> = (0..counts.len())
        .filter(|&i| delays_ms.get(i).is_some_and(|&d| d > fastest))
        .collect();
    let n: u64 = counts.iter().sum();
    if slow.is_empty() || n == 0 {
        return None;
    }
    let names: Vec<String> = slow.iter().map(|i| (i + 1).to_string()).collect();
    let wants: Vec<String> = slow
        .iter()
        .map(|&i| format!("{:.1}%", shares[i] * 100.0))
        .collect();
    let fits = slow
        .iter()
        .all(|&i| (counts[i] as f64 / n as f64) < shares[i]);
    Some(Theory {
        kind: Kind::Direction,
        expects: format!(
            "no exact band: a slow backend holds its connections longer, so backend(s) {} get less than their weighted share ({})",
            names.join(", "),
            wants.join(", ")
        ),
        fits: Some(fits),
        ..Theory::default()
    })
}

fn ip_hash(case: &Case, counts: &[u64]) -> Theory {
    let mut notes = Vec::new();
    let addresses = case.source_ips.len().max(1);
    let networks = if case.source_ips.is_empty() {
        1
    } else {
        sticky::networks(case.source_ips)
    };
    if addresses > 1 && networks < addresses {
        notes.push(format!(
            "the /24 gotcha: the {addresses} client addresses share {networks} /24 network(s), and ip_hash keys on the first three octets, so it sees {networks} client(s)"
        ));
    }
    let mut t = one_backend_each(
        case.clients,
        counts,
        &format!("each /24 network on one backend ({networks} network(s))"),
        sticky::by_network,
    );
    t.notes.extend(notes);
    t
}

fn hash(case: &Case, counts: &[u64]) -> Theory {
    if !sticky::fixed_per_client(case.hash_key) {
        return Theory::not_judged(format!(
            "the hash key {} may change between one client's requests: no prediction",
            case.hash_key
        ));
    }
    let how = if case.consistent {
        "ketama"
    } else {
        "modulo the total weight"
    };
    one_backend_each(
        case.clients,
        counts,
        &format!(
            "each client on one backend, as its address and headers fix the key {} ({how})",
            case.hash_key
        ),
        |clients| clients.clone(),
    )
}

/// The sticky claim: each group of the report's clients (as `group` makes them) answered by one
/// backend; a report without clients is one group.
pub(super) fn one_backend_each(
    clients: Option<&Clients>,
    counts: &[u64],
    expects: &str,
    group: impl Fn(&Clients) -> Clients,
) -> Theory {
    let (split, groups) = match clients {
        Some(clients) => sticky::split_groups(&group(clients)),
        None => (
            usize::from(counts.iter().filter(|&&n| n > 0).count() > 1),
            1,
        ),
    };
    Theory {
        kind: Kind::Sticky,
        expects: format!("{expects}: {split} of {groups} answered by more than one backend"),
        fits: Some(split == 0),
        ..Theory::default()
    }
}

/// `333.3 each`, or `1: 166.7, 2: 333.3, 3: 500.0` when they differ.
pub(super) fn expected_list(bands: &[Band]) -> String {
    let first = bands.first().map_or(0.0, |b| b.expected);
    if bands.iter().all(|b| (b.expected - first).abs() < 1e-9) {
        format!("{first:.1} each")
    } else {
        let v: Vec<String> = bands
            .iter()
            .map(|b| format!("{}: {:.1}", b.backend, b.expected))
            .collect();
        v.join(", ")
    }
}

/// `333.3 ± 44.7 each`, or each backend's range when they differ.
pub(super) fn band_list(bands: &[Band]) -> String {
    let first = bands.first().map(|b| (b.expected, b.high - b.expected));
    match first {
        Some((m, h))
            if bands.iter().all(|b| {
                (b.expected - m).abs() < 1e-9 && (b.expected - b.low - h).abs() < 1e-9
            }) =>
        {
            format!("{m:.1} ± {h:.1} each")
        }
        _ => {
            let v: Vec<String> = bands
                .iter()
                .map(|b| format!("{}: {:.1}–{:.1}", b.backend, b.low, b.high))
                .collect();
            v.join(", ")
        }
    }
}

/// Each backend's mean delay in milliseconds, 1..=N, as theory compares them.
pub fn mean_delays(lab: &crate::spec::LabSpec) -> Vec<f64> {
    (1..=lab.backends())
        .map(|id| match lab.delay_for(id) {
            Some(lblab_backend::Delay::Fixed(d)) => d.as_secs_f64() * 1000.0,
            Some(lblab_backend::Delay::Range(a, b)) => (a + b) as f64 / 2.0,
            None => 0.0,
        })
        .collect()
}

#[cfg(test)]
mod tests;
