//! The arithmetic of the bands: how many answers a backend may get under an exact method (its
//! weighted share, ±1) and under a random one (a binomial band, mean ± 3σ).

use serde::Serialize;

/// How many standard deviations a random band spans each side of its mean. Under a binomial
/// count a backend falls outside mean ± 3σ about 0.27% of the time, so with N backends a run is
/// flagged by chance alone about N × 0.27% of the time.
pub const SIGMAS: f64 = 3.0;

/// The counts theory allows one backend, and what it got.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Band {
    pub backend: u32,
    /// The count theory expects: the answers times the backend's weighted share.
    pub expected: f64,
    pub low: f64,
    pub high: f64,
    pub measured: u64,
    pub inside: bool,
}

/// Each backend's weighted share, 1..=N: `weights` or even.
pub fn shares(backends: usize, weights: Option<&[u32]>) -> Vec<f64> {
    match weights {
        Some(w) if w.len() == backends && w.iter().any(|&x| x > 0) => {
            let total: f64 = w.iter().map(|&x| f64::from(x)).sum();
            w.iter().map(|&x| f64::from(x) / total).collect()
        }
        _ => vec![1.0 / backends.max(1) as f64; backends],
    }
}

/// Round-robin's band: each backend within one answer of its weighted share of `counts`' total.
pub fn exact(counts: &[u64], shares: &[f64]) -> Vec<Band> {
    within(counts, shares, 1.0, 1.0)
}

/// A deterministic method's band when it strays further than one answer: each backend from
/// `below` under to `above` over its weighted share (HAProxy's static-rr map: −2 to +1).
pub fn within(counts: &[u64], shares: &[f64], below: f64, above: f64) -> Vec<Band> {
    let n: u64 = counts.iter().sum();
    bands(counts, shares, |p| {
        let mean = n as f64 * p;
        (mean, mean - below, mean + above)
    })
}

/// HAProxy's `random`: each draw lands on a consistent-hash ring where each server has
/// `points_per_weight` points per unit of weight, at hashed places, and takes the server whose
/// point is nearest. A server's chance is then its share of the ring, which is its weight share
/// only on average: with its m of the ring's T points placed as if at random, that share has a
/// standard deviation of about √(p·(1−p)/(2T)). A run of n draws adds the binomial spread, so a
/// count's variance is n·p·(1−p)·(1 + n/(2T)); the band is mean ± 3σ of that, clamped to 0..=n.
pub fn ring(counts: &[u64], shares: &[f64], points: f64) -> Vec<Band> {
    let n: u64 = counts.iter().sum();
    bands(counts, shares, |p| {
        let (mean, sigma) = mean_sigma(n, p);
        let sigma = sigma * (1.0 + n as f64 / (2.0 * points.max(1.0))).sqrt();
        (
            mean,
            (mean - SIGMAS * sigma).max(0.0),
            (mean + SIGMAS * sigma).min(n as f64),
        )
    })
}

/// random's band: each backend's count is binomial, n trials with its weighted share p, so
/// mean n·p and σ = √(n·p·(1−p)); the band is mean ± 3σ, clamped to 0..=n.
pub fn binomial(counts: &[u64], shares: &[f64]) -> Vec<Band> {
    let n: u64 = counts.iter().sum();
    bands(counts, shares, |p| {
        let (mean, sigma) = mean_sigma(n, p);
        (
            mean,
            (mean - SIGMAS * sigma).max(0.0),
            (mean + SIGMAS * sigma).min(n as f64),
        )
    })
}

/// Each backend's chance under nginx's `random two` when the two draws tie (no active
/// connections, one request at a time): nginx draws a backend by weight, then draws again until
/// it has a different one, and keeps the second on a tie. So j is picked with probability
/// Σ over i ≠ j of pᵢ · pⱼ/(1 − pᵢ): with equal weights 1/N each, as random; with unequal weights
/// nearer even than the weights (1:2:3 gives 25%, 40%, 35% where random gives 16.7%, 33.3%, 50%).
pub fn second_of_two_distinct(shares: &[f64]) -> Vec<f64> {
    shares
        .iter()
        .enumerate()
        .map(|(j, &pj)| {
            shares
                .iter()
                .enumerate()
                .filter(|&(i, &pi)| i != j && pi < 1.0)
                .map(|(_, &pi)| pi * pj / (1.0 - pi))
                .sum()
        })
        .collect()
}

/// A binomial count's mean and standard deviation: n trials, probability p.
pub fn mean_sigma(n: u64, p: f64) -> (f64, f64) {
    let n = n as f64;
    (n * p, (n * p * (1.0 - p)).sqrt())
}

fn bands(counts: &[u64], shares: &[f64], f: impl Fn(f64) -> (f64, f64, f64)) -> Vec<Band> {
    counts
        .iter()
        .zip(shares)
        .enumerate()
        .map(|(i, (&measured, &p))| {
            let (expected, low, high) = f(p);
            // A hair of slack so that a count exactly on the edge (333 of 999 ± 1) is inside
            // whatever the float rounding did.
            let inside = measured as f64 >= low - 1e-9 && measured as f64 <= high + 1e-9;
            Band {
                backend: i as u32 + 1,
                expected,
                low,
                high,
                measured,
                inside,
            }
        })
        .collect()
}

/// The largest count over the mean count, each relative to its backend's weighted share: 1.0 is
/// perfectly even. `None` when nothing was counted.
pub fn max_over_mean(counts: &[u64], shares: &[f64]) -> Option<f64> {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return None;
    }
    counts
        .iter()
        .zip(shares)
        .filter(|(_, p)| **p > 0.0)
        .map(|(&c, &p)| c as f64 / (n as f64 * p))
        .reduce(f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_even_or_weighted() {
        assert_eq!(shares(4, None), vec![0.25; 4]);
        let w = shares(3, Some(&[1, 2, 3]));
        assert!((w[0] - 1.0 / 6.0).abs() < 1e-12 && (w[2] - 0.5).abs() < 1e-12);
        // Weights that do not fit the backends are ignored rather than divided by zero.
        assert_eq!(shares(2, Some(&[0, 0])), vec![0.5; 2]);
    }

    #[test]
    fn the_exact_band_is_one_answer_each_side() {
        let even = shares(3, None);
        let b = exact(&[333, 333, 333], &even);
        assert!(
            b.iter()
                .all(|b| b.inside && (b.expected - 333.0).abs() < 1e-9)
        );
        // 1000 over three: 333.33 each, so 333 and 334 are inside, 332 and 335 are not.
        let b = exact(&[334, 333, 333], &even);
        assert!(b.iter().all(|b| b.inside), "{b:?}");
        let b = exact(&[335, 333, 332], &even);
        assert!(!b[0].inside && b[1].inside && !b[2].inside, "{b:?}");
        // Weighted 1:2:3 over 600: 100, 200, 300.
        let b = exact(&[100, 201, 299], &shares(3, Some(&[1, 2, 3])));
        assert!(b.iter().all(|b| b.inside), "{b:?}");
        assert_eq!((b[1].low, b[1].high), (199.0, 201.0));
    }

    #[test]
    fn the_binomial_band_is_three_sigma() {
        // n = 900, p = 1/3: mean 300, σ = √(900 · 1/3 · 2/3) = √200 ≈ 14.142, 3σ ≈ 42.43.
        let (m, s) = mean_sigma(900, 1.0 / 3.0);
        assert!((m - 300.0).abs() < 1e-9 && (s - 200f64.sqrt()).abs() < 1e-9);
        let b = binomial(&[300, 257, 343], &shares(3, None));
        assert!((b[0].low - (300.0 - 3.0 * 200f64.sqrt())).abs() < 1e-9);
        assert!(b[0].inside && !b[1].inside && !b[2].inside, "{b:?}");
        let b = binomial(&[300, 258, 342], &shares(3, None));
        assert!(b.iter().all(|b| b.inside), "{b:?}");
        // Clamped: a band never goes below 0 or above n.
        let b = binomial(&[1, 9], &shares(2, Some(&[1, 99])));
        assert!(b[0].low == 0.0 && b[1].high == 10.0, "{b:?}");
    }

    #[test]
    fn random_two_one_at_a_time_keeps_the_second_of_two_different_draws() {
        let p = second_of_two_distinct(&shares(3, Some(&[1, 2, 3])));
        for (got, want) in p.iter().zip([0.25, 0.4, 0.35]) {
            assert!((got - want).abs() < 1e-12, "{p:?}");
        }
        let even = second_of_two_distinct(&shares(4, None));
        assert!(even.iter().all(|x| (x - 0.25).abs() < 1e-12), "{even:?}");
    }

    #[test]
    fn static_rr_and_the_ring_widen_the_bands() {
        let even = shares(3, None);
        let b = within(&[98, 101, 101], &even, 2.0, 1.0);
        assert_eq!((b[0].low, b[0].high), (98.0, 101.0), "{b:?}");
        assert!(b.iter().all(|b| b.inside));
        assert!(!within(&[102, 101, 97], &even, 2.0, 1.0)[0].inside);
        // 48 points (three servers of weight 1), 30000 draws: σ = √(10000·2/3·(1 + 30000/96)).
        let b = ring(&[10498, 8757, 10745], &even, 48.0);
        let sigma = (30000.0 / 3.0 * 2.0 / 3.0 * (1.0 + 30000.0 / 96.0f64)).sqrt();
        assert!((b[1].high - (10000.0 + 3.0 * sigma)).abs() < 1e-6, "{b:?}");
        assert!(b.iter().all(|b| b.inside), "{b:?}");
        // Few draws on a big ring: nearly the binomial band.
        let b = ring(&[300, 258, 342], &even, 1e9);
        assert!(b.iter().all(|b| b.inside), "{b:?}");
        assert!(!ring(&[300, 257, 343], &even, 1e9)[1].inside);
    }

    #[test]
    fn max_over_mean_is_relative_to_the_weights() {
        let even = shares(3, None);
        assert!((max_over_mean(&[300, 300, 300], &even).unwrap() - 1.0).abs() < 1e-12);
        assert!((max_over_mean(&[400, 300, 200], &even).unwrap() - 4.0 / 3.0).abs() < 1e-12);
        let w = shares(3, Some(&[1, 2, 3]));
        assert!((max_over_mean(&[100, 200, 300], &w).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(max_over_mean(&[0, 0, 0], &even), None);
    }
}
