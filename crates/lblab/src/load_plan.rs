//! The load that `run` and `compare` send: validated once, before the lab starts, and aimed at the
//! lab's address once it listens.

use std::net::SocketAddr;

use loadtest::Config;

/// A load checked against the lab it will go to. Everything loadtest refuses of a load is refused
/// when the plan is made, so a bad flag costs no lab.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Aimed at a stand-in with the lab's target address: its port is not known before nginx
    /// listens, and the checks need only the address.
    config: Config,
    /// The report is JSON rather than text.
    json: bool,
}

impl LoadPlan {
    /// `config` checked as loadtest checks a load; `json`: the report is JSON.
    pub fn new(config: Config, json: bool) -> Result<LoadPlan, String> {
        config.validate()?;
        Ok(LoadPlan { config, json })
    }

    /// The load aimed at nginx listening on `listen`.
    pub fn aimed_at(&self, listen: SocketAddr) -> Config {
        let mut config = self.config.clone();
        // Both succeed on an http URL with a host, which the stand-in is.
        let _ = config.url.set_ip_host(listen.ip());
        let _ = config.url.set_port(Some(listen.port()));
        config
    }

    pub fn json(&self) -> bool {
        self.json
    }

    pub fn concurrency(&self) -> u32 {
        self.config.concurrency
    }

    /// The client addresses the load sends from; empty: the system's choice, one client.
    pub fn source_ips(&self) -> &[std::net::IpAddr] {
        &self.config.source_ips
    }

    /// The load in a phrase: `1000 requests at -c 1000, from 100 client addresses`.
    pub fn sentence(&self) -> String {
        use std::fmt::Write as _;
        let l = &self.config;
        let mut s = match l.duration {
            Some(d) => format!("{d:?} at -c {}", l.concurrency),
            None => format!("{} requests at -c {}", l.requests, l.concurrency),
        };
        if let Some(r) = l.rate {
            let _ = write!(s, ", {r} req/s");
        }
        if l.source_ips.len() > 1 {
            let _ = write!(s, ", from {} client addresses", l.source_ips.len());
        }
        for h in l.headers.iter().filter(|h| !h.is_constant()) {
            let _ = write!(s, ", a varying {} header", h.name);
        }
        s
    }
}
