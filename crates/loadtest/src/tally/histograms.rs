//! The run's histograms for the JSON report, encoded (see `histogram_codec`): all the answered
//! requests, and each backend's; with `--rate` also those from the send.

use std::collections::BTreeMap;

use super::{Latencies, new_histogram};
use crate::histogram_codec::encode;
use crate::report::Histograms;

pub(crate) fn encoded(latencies: &Latencies, service: Option<&Latencies>) -> Histograms {
    let (latency, backends) = answered_and_per_backend(latencies);
    let service = service.map(answered_and_per_backend);
    Histograms {
        latency,
        backends,
        service_latency: service.as_ref().map(|(all, _)| all.clone()),
        service_backends: service.map(|(_, per)| per),
    }
}

fn answered_and_per_backend(
    latencies: &Latencies,
) -> (String, BTreeMap<crate::BackendKey, String>) {
    let mut all = new_histogram();
    let mut per = BTreeMap::new();
    for (key, h) in latencies.snapshot() {
        // Failed requests have no histogram in the report, as they have no latency in it.
        if let Some(key) = key {
            // Same bounds and precision everywhere, so adding cannot fail.
            let _ = all.add(&h);
            per.insert(key, encode(&h));
        }
    }
    (encode(&all), per)
}
