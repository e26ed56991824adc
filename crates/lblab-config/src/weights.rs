use std::fmt;

use serde::{Deserialize, Serialize};

/// Server weights in backend order (backend 1 first). nginx accepts `weight=1..` on every method
/// lblab offers (ip_hash since nginx 1.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Weights(pub Vec<u32>);

/// Parses `1,2,3`. The error names what was wrong; the caller adds the flag's name.
pub fn parse_weights(s: &str) -> Result<Weights, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let w: u32 = part.parse().map_err(|_| {
            // Digits alone that do not fit are a number, only too large for a weight.
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                format!(
                    "'{part}' in '{s}' is too large for a weight (accepted: 1 to {})",
                    u32::MAX
                )
            } else {
                format!("'{part}' in '{s}' is not a whole number (accepted: e.g. 1,2,3)")
            }
        })?;
        if w == 0 {
            return Err(format!(
                "weight 0 in '{s}': weights are whole numbers from 1 (nginx has no weight 0; stop a backend instead)"
            ));
        }
        out.push(w);
    }
    Ok(Weights(out))
}

impl Weights {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|&w| u64::from(w)).sum()
    }
}

impl fmt::Display for Weights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_weights("1,2,3"), Ok(Weights(vec![1, 2, 3])));
        assert_eq!(parse_weights(" 5 "), Ok(Weights(vec![5])));
    }

    #[test]
    fn rejects() {
        assert!(parse_weights("1,,2").unwrap_err().contains("''"));
        assert!(parse_weights("1,x").unwrap_err().contains("'x'"));
        assert!(parse_weights("0,1").unwrap_err().contains("weight 0"));
        assert!(parse_weights("-1").is_err());
        let big = parse_weights("1,18446744073709551616").unwrap_err();
        assert!(
            big.contains("too large for a weight (accepted: 1 to 4294967295)"),
            "{big}"
        );
    }
}
