//! `--ok-status`: which HTTP statuses are answers and which are errors. By default 2xx and 3xx are
//! answers (a 304 or a redirect is the server doing its job, as k6 counts them) and 4xx and 5xx are
//! errors, named `status N` in the report.

use std::fmt;

/// The statuses counted as answers: a bit per status below 640 (only 100 to 599 are set).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OkStatus {
    bits: [u64; 10],
}

const ACCEPTED: &str =
    "a comma-separated list of classes 1xx to 5xx and statuses 100 to 599, e.g. 2xx,3xx or 200,304";

impl OkStatus {
    /// `2xx,3xx`, `2xx`, `200,304`, `2xx,404`.
    pub fn parse(s: &str) -> Result<OkStatus, String> {
        let mut set = OkStatus { bits: [0; 10] };
        for item in s.split(',') {
            let item = item.trim();
            let bad = || format!("'{item}' in '{s}' is not a status (accepted: {ACCEPTED})");
            let class = item.strip_suffix("xx").or_else(|| item.strip_suffix("XX"));
            match class {
                Some(c) if c.len() == 1 => {
                    let c: u16 = c.parse().map_err(|_| bad())?;
                    if !(1..=5).contains(&c) {
                        return Err(bad());
                    }
                    (c * 100..c * 100 + 100).for_each(|code| set.insert(code));
                }
                Some(_) => return Err(bad()),
                None => match item.parse::<u16>() {
                    Ok(code) if (100..600).contains(&code) => set.insert(code),
                    _ => return Err(bad()),
                },
            }
        }
        Ok(set)
    }

    fn insert(&mut self, code: u16) {
        self.bits[usize::from(code / 64)] |= 1 << (code % 64);
    }

    /// Whether an answer with `code` is an answer rather than an error.
    pub fn contains(&self, code: u16) -> bool {
        code < 600 && self.bits[usize::from(code / 64)] & (1 << (code % 64)) != 0
    }
}

impl Default for OkStatus {
    fn default() -> OkStatus {
        let mut set = OkStatus { bits: [0; 10] };
        (200..400).for_each(|code| set.insert(code));
        set
    }
}

impl fmt::Debug for OkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<u16> = (100..600).filter(|&c| self.contains(c)).collect();
        write!(f, "OkStatus({codes:?})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_codes() {
        let d = OkStatus::default();
        for (code, ok) in [
            (200, true),
            (204, true),
            (304, true),
            (399, true),
            (404, false),
            (503, false),
            (199, false),
        ] {
            assert_eq!(d.contains(code), ok, "{code}");
        }
        let s = OkStatus::parse("2xx, 404").unwrap();
        assert!(s.contains(404) && s.contains(250) && !s.contains(304) && !s.contains(405));
        assert!(OkStatus::parse("200,304").unwrap().contains(304));
        assert!(!OkStatus::default().contains(600) && !OkStatus::default().contains(u16::MAX));
        for bad in [
            "", "6xx", "0xx", "2x", "99", "600", "ok", "2xx,,3xx", "22xx",
        ] {
            assert!(
                OkStatus::parse(bad)
                    .unwrap_err()
                    .contains("accepted: a comma-separated list"),
                "{bad}"
            );
        }
    }
}
