use std::net::{IpAddr, Ipv4Addr};

/// The most addresses one `--source-ip` may expand to.
const MAX_ADDRS: usize = 65_536;

/// `127.0.0.1`, `::1`, or an IPv4 address with octet ranges: `127.0.1-30.1` is the 30 addresses
/// 127.0.1.1 … 127.0.30.1 (distinct /24s, as nginx's ip_hash needs to tell clients apart).
pub fn parse_source_ips(s: &str) -> Result<Vec<IpAddr>, String> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(vec![ip]);
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
                    out.push(IpAddr::V4(Ipv4Addr::new(a, b, c, d)));
                }
            }
        }
    }
    Ok(out)
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
