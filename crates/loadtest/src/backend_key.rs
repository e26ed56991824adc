//! Who answered a request, the key of every count the client keeps, and how those counts are shown
//! in one line. It stands below the report and the expectations so that both can name it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Who answered a request: a backend's id, or `unknown` when the answer named none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BackendKey {
    Id(u32),
    Unknown,
}

impl fmt::Display for BackendKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendKey::Id(id) => write!(f, "{id}"),
            BackendKey::Unknown => f.write_str("unknown"),
        }
    }
}

impl Serialize for BackendKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BackendKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<BackendKey, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for BackendKey {
    type Err = String;

    /// A key as the JSON report writes it: a backend id from 1, or `unknown`.
    fn from_str(s: &str) -> Result<BackendKey, String> {
        match s {
            "unknown" => Ok(BackendKey::Unknown),
            _ => match s.parse::<u32>() {
                Ok(id) if id > 0 => Ok(BackendKey::Id(id)),
                _ => Err(format!("'{s}' is not a backend (an id from 1, or unknown)")),
            },
        }
    }
}

/// Counts per backend as a Python dict literal, as the original lab printed them: ids are ints,
/// `'unknown'` a string, so `{1: 333, 'unknown': 2}` parses with `ast.literal_eval`.
pub fn counts_dict(counts: &BTreeMap<BackendKey, u64>) -> String {
    let parts: Vec<String> = counts
        .iter()
        .map(|(k, v)| match k {
            BackendKey::Id(id) => format!("{id}: {v}"),
            BackendKey::Unknown => format!("'{k}': {v}"),
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_a_python_dict() {
        let c: BTreeMap<BackendKey, u64> = [
            (BackendKey::Id(2), 5),
            (BackendKey::Unknown, 100),
            (BackendKey::Id(1), 0),
        ]
        .into();
        assert_eq!(counts_dict(&c), "{1: 0, 2: 5, 'unknown': 100}");
        assert_eq!(counts_dict(&BTreeMap::new()), "{}");
    }
}
