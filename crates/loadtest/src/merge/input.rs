//! One file given to `loadtest merge`: a `--json` report read back and checked, its histograms
//! decoded. Anything wrong with it is one sentence, which the caller prefixes with the file.

use std::collections::BTreeMap;
use std::path::Path;

use hdrhistogram::Histogram;

use crate::backend_key::BackendKey;
use crate::histogram_codec::decode;
use crate::report::Report;

/// A histogram per backend.
pub(super) type PerBackend = BTreeMap<BackendKey, Histogram<u64>>;

/// A part's histograms, decoded.
pub(super) struct Decoded {
    pub latency: Histogram<u64>,
    pub backends: PerBackend,
    /// With `--rate`: from the send.
    pub service: Option<(Histogram<u64>, PerBackend)>,
}

/// Reads and checks `path`.
pub(super) fn read(path: &Path) -> Result<(Report, Decoded), String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    let part: Report = serde_json::from_slice(&text)
        .map_err(|e| format!("is not a loadtest --json report ({e})"))?;
    let h = part
        .histograms
        .as_ref()
        .ok_or("has no histograms (it is not the --json report of a loadtest that writes them)")?;
    let latency = decode(&h.latency).map_err(|e| format!("histograms.latency is {e}"))?;
    let backends = per_backend(&h.backends, &part.counts, "backends")?;
    let service = match (&h.service_latency, &h.service_backends) {
        (Some(all), Some(per)) => Some((
            decode(all).map_err(|e| format!("histograms.service_latency is {e}"))?,
            per_backend(per, &part.counts, "service_backends")?,
        )),
        _ => None,
    };
    if latency.len() != part.ok {
        return Err(format!(
            "histograms.latency holds {} samples, but ok says {}",
            latency.len(),
            part.ok
        ));
    }
    Ok((
        part,
        Decoded {
            latency,
            backends,
            service,
        },
    ))
}

/// Each backend's histogram, which must hold as many samples as its count.
fn per_backend(
    encoded: &BTreeMap<BackendKey, String>,
    counts: &BTreeMap<BackendKey, u64>,
    field: &str,
) -> Result<PerBackend, String> {
    let mut out = BTreeMap::new();
    for (k, n) in counts.iter().filter(|(_, n)| **n > 0) {
        let text = encoded.get(k).ok_or_else(|| {
            format!("histograms.{field} has none for backend {k}, which answered {n}")
        })?;
        let h = decode(text).map_err(|e| format!("histograms.{field}.{k} is {e}"))?;
        if h.len() != *n {
            return Err(format!(
                "histograms.{field}.{k} holds {} samples, but counts says {n}",
                h.len()
            ));
        }
        out.insert(*k, h);
    }
    Ok(out)
}
