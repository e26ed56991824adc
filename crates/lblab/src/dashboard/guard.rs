//! DNS rebinding: a page on evil.example whose name is made to resolve to 127.0.0.1 reaches the
//! dashboard with `Host: evil.example:PORT` (and its own Origin). Only names that cannot be rebound
//! are accepted: an IP literal the dashboard listens on, or localhost, with its port.

use std::net::{IpAddr, SocketAddr};

use warp::http::uri::Authority;

/// The dashboard's own address, as requests must name it.
#[derive(Debug, Clone, Copy)]
pub struct Own(pub SocketAddr);

impl Own {
    /// Whether `authority` (a Host header, or an Origin without its scheme) names this dashboard.
    fn names_me(&self, authority: &str) -> bool {
        let Ok(a) = authority.parse::<Authority>() else {
            return false;
        };
        if a.port_u16().unwrap_or(80) != self.0.port() {
            return false;
        }
        let host = a.host();
        let bound = self.0.ip();
        if host.eq_ignore_ascii_case("localhost") {
            return bound.is_loopback() || bound.is_unspecified();
        }
        match host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(ip) => ip == bound || bound.is_unspecified(),
            Err(_) => false,
        }
    }

    /// `Err`: the one line a refused request gets.
    pub fn check(&self, host: Option<&str>, origin: Option<&str>) -> Result<(), String> {
        let me = self.0;
        match host {
            Some(h) if self.names_me(h) => {}
            Some(h) => {
                return Err(format!(
                    "refused: Host '{h}' is not this dashboard's address ({me})"
                ));
            }
            None => return Err(format!("refused: no Host header (this dashboard is {me})")),
        }
        if let Some(o) = origin
            && !o.strip_prefix("http://").is_some_and(|a| self.names_me(a))
        {
            return Err(format!(
                "refused: Origin '{o}' is not this dashboard (http://{me})"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(a: &str) -> Own {
        Own(a.parse().unwrap())
    }

    #[test]
    fn own_address_and_localhost_pass() {
        let o = own("127.0.0.1:4000");
        assert!(o.check(Some("127.0.0.1:4000"), None).is_ok());
        assert!(
            o.check(Some("localhost:4000"), Some("http://localhost:4000"))
                .is_ok()
        );
        assert!(
            o.check(Some("127.0.0.1:4000"), Some("http://127.0.0.1:4000"))
                .is_ok()
        );
        assert!(own("[::1]:4000").check(Some("[::1]:4000"), None).is_ok());
    }

    #[test]
    fn other_names_ports_and_origins_are_refused() {
        let o = own("127.0.0.1:4000");
        for host in [
            "evil.example:4000",
            "127.0.0.1:4001",
            "127.0.0.2:4000",
            "127.0.0.1",
            "",
        ] {
            let e = o.check(Some(host), None).unwrap_err();
            assert!(e.starts_with("refused: Host"), "{host}: {e}");
        }
        assert!(o.check(None, None).is_err());
        for origin in [
            "http://evil.example:4000",
            "null",
            "https://127.0.0.1:4000",
            "http://127.0.0.1:9",
        ] {
            let e = o.check(Some("127.0.0.1:4000"), Some(origin)).unwrap_err();
            assert!(e.starts_with("refused: Origin"), "{origin}: {e}");
        }
    }

    #[test]
    fn a_public_dashboard_takes_any_ip_literal_but_no_name() {
        let o = own("0.0.0.0:4000");
        assert!(o.check(Some("192.0.2.7:4000"), None).is_ok());
        assert!(o.check(Some("localhost:4000"), None).is_ok());
        assert!(o.check(Some("lab.example:4000"), None).is_err());
    }
}
