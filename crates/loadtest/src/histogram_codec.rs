//! A latency histogram as text, in HdrHistogram's own interchange form: the V2 encoding, compressed
//! (DEFLATE), in base64, as the HdrHistogram libraries of Java, C, Go and Python read and write it.
//! The JSON report carries its histograms so; `loadtest merge` reads them back and adds them, which
//! gives the percentiles of all the samples exactly, where averaging percentiles would not.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

/// `h` as base64 of its compressed V2 encoding.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Writing to a Vec cannot fail, and a histogram of ours always encodes; an empty string is
    // what a reader refuses, should it ever.
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

/// The histogram `text` encodes; `Err` says what is wrong with it, in words.
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64 ({e})"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram V2 compressed histogram ({e:?})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::{latency, new_histogram};

    #[test]
    fn a_histogram_reads_back_as_it_was() {
        let mut h = new_histogram();
        for v in [1, 7, 250, 1_000, 1_001, 99_999, 3_000_000] {
            h.record_n(v, v % 5 + 1).unwrap();
        }
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back, h);
        assert_eq!(latency(Some(&back)), latency(Some(&h)));
    }

    #[test]
    fn merged_histograms_give_exactly_the_percentiles_of_one_over_all_the_samples() {
        // A skewed spread of samples, split between two "clients" unevenly.
        let mut state = 12_345u64;
        let mut samples = Vec::new();
        for _ in 0..50_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let u = (state >> 33) as f64 / (1u64 << 31) as f64;
            samples.push((200.0 * (-u.max(1e-12).ln()).powi(3)) as u64 + 1);
        }
        let (mut one, mut a, mut b) = (new_histogram(), new_histogram(), new_histogram());
        for (i, &s) in samples.iter().enumerate() {
            one.record(s).unwrap();
            if i % 3 == 0 { a.record(s) } else { b.record(s) }.unwrap();
        }
        let mut merged = decode(&encode(&a)).unwrap();
        merged.add(decode(&encode(&b)).unwrap()).unwrap();
        assert_eq!(merged, one);
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(merged.value_at_quantile(q), one.value_at_quantile(q), "{q}");
        }
        assert_eq!(latency(Some(&merged)), latency(Some(&one)));
    }

    #[test]
    fn what_is_not_a_histogram_is_named() {
        assert!(decode("***").unwrap_err().starts_with("not base64"));
        assert!(
            decode("aGVsbG8gd29ybGQ=")
                .unwrap_err()
                .starts_with("not an HdrHistogram")
        );
    }
}
