use std::net::{IpAddr, Ipv4Addr, UdpSocket};

/// The most addresses one `--source-ip` may expand to.
const MAX_ADDRS: usize = 65_536;

/// `127.0.0.1`, `::1`, or an IPv4 address with octet ranges: `127.0.1-30.1` is the 30 addresses
/// 127.0.1.1 … 127.0.30.1 (distinct /24s, as nginx's ip_hash needs to tell clients apart).
pub fn parse_source_ips(s: &str) -> Result<Vec<IpAddr>, String> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return usable(ip).map(|()| vec![ip]);
    }
    let bad = || {
        format!(
            "'{s}' is not an address or range (accepted: e.g. 127.0.0.2, ::1, or 127.0.1-30.1 for one address in each of 30 /24s)"
        )
    };
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return Err(bad());
    }
    let mut ranges = Vec::with_capacity(4);
    for p in parts {
        let (a, b) = match p.split_once('-') {
            Some((a, b)) => (a, b),
            None => (p, p),
        };
        let a: u8 = a.parse().map_err(|_| bad())?;
        let b: u8 = b.parse().map_err(|_| bad())?;
        if a > b {
            return Err(format!("range '{p}' in '{s}' runs backwards"));
        }
        ranges.push(a..=b);
    }
    let count: usize = ranges.iter().map(|r| r.clone().count()).product();
    if count > MAX_ADDRS {
        return Err(format!(
            "'{s}' expands to {count} addresses; at most {MAX_ADDRS} are accepted"
        ));
    }
    let mut out = Vec::with_capacity(count);
    for a in ranges[0].clone() {
        for b in ranges[1].clone() {
            for c in ranges[2].clone() {
                for d in ranges[3].clone() {
                    let ip = IpAddr::V4(Ipv4Addr::new(a, b, c, d));
                    usable(ip).map_err(|e| format!("'{s}' includes {e}"))?;
                    out.push(ip);
                }
            }
        }
    }
    Ok(out)
}

/// A source address names one host: not a group, not everyone, not "any".
fn usable(ip: IpAddr) -> Result<(), String> {
    let what = if ip.is_unspecified() {
        "the unspecified address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if matches!(ip, IpAddr::V4(v4) if v4.is_broadcast()) {
        "the broadcast address"
    } else {
        return Ok(());
    };
    Err(format!(
        "{ip}, {what}; a source address is one of this machine's own (e.g. 127.0.0.2)"
    ))
}

/// Refuses, before any request, source addresses the requests could not leave from: of another
/// family than the `target`'s, or not this machine's (binding a socket to one, port 0, fails; nothing
/// is sent).
pub fn check_source_ips(ips: &[IpAddr], target: Option<IpAddr>) -> Result<(), String> {
    for &ip in ips {
        if let Some(t) = target
            && t.is_ipv4() != ip.is_ipv4()
        {
            let family = |a: IpAddr| if a.is_ipv4() { "IPv4" } else { "IPv6" };
            return Err(format!(
                "--source-ip {ip} is {} but the target {t} is {}",
                family(ip),
                family(t)
            ));
        }
        UdpSocket::bind((ip, 0)).map_err(|e| {
            format!(
                "--source-ip {ip} is not an address of this machine ({e}); loopback addresses such as 127.0.0.2 are"
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_range() {
        assert_eq!(
            parse_source_ips("127.0.0.2").unwrap(),
            vec!["127.0.0.2".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(parse_source_ips("::1").unwrap().len(), 1);
        let r = parse_source_ips("127.0.1-30.1").unwrap();
        assert_eq!(r.len(), 30);
        assert_eq!(r[0], "127.0.1.1".parse::<IpAddr>().unwrap());
        assert_eq!(r[29], "127.0.30.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn rejects_what_names_no_single_host() {
        for (s, needle) in [
            ("255.255.255.255", "the broadcast address"),
            ("224.0.0.1", "a multicast address"),
            ("ff02::1", "a multicast address"),
            ("0.0.0.0", "the unspecified address"),
            ("::", "the unspecified address"),
            ("0-1.0.0.0", "includes 0.0.0.0, the unspecified address"),
        ] {
            let err = parse_source_ips(s).unwrap_err();
            assert!(err.contains(needle), "{s}: {err}");
        }
    }

    #[test]
    fn checks_family_and_that_the_address_is_local() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let v4 = Some(ip("127.0.0.1"));
        assert_eq!(
            check_source_ips(&[ip("127.0.0.2"), ip("127.0.9.1")], v4),
            Ok(())
        );
        assert!(
            check_source_ips(&[ip("::1")], v4)
                .unwrap_err()
                .contains("is IPv6 but the target 127.0.0.1 is IPv4")
        );
        assert!(
            check_source_ips(&[ip("127.0.0.2")], Some(ip("::1")))
                .unwrap_err()
                .contains("is IPv4 but the target ::1 is IPv6")
        );
        // TEST-NET-2: documentation only, never a local address.
        assert!(
            check_source_ips(&[ip("198.51.100.1")], v4)
                .unwrap_err()
                .contains("not an address of this machine")
        );
        assert_eq!(check_source_ips(&[ip("::1")], None), Ok(()));
    }

    #[test]
    fn rejects() {
        assert!(
            parse_source_ips("127.0.30-1.1")
                .unwrap_err()
                .contains("backwards")
        );
        assert!(parse_source_ips("127.0.0").is_err());
        assert!(parse_source_ips("127.0.0.256").is_err());
        assert!(
            parse_source_ips("0-255.0-255.0-255.1")
                .unwrap_err()
                .contains("at most")
        );
        assert!(
            parse_source_ips("localhost")
                .unwrap_err()
                .contains("accepted")
        );
    }
}
