//! Pearson's chi-square goodness-of-fit test, for the `uniform` expectation.

/// The statistic and its p-value for observed counts against expected proportions (`weights`).
pub fn chi_square(observed: &[u64], weights: &[f64]) -> (f64, f64) {
    let total: u64 = observed.iter().sum();
    let wsum: f64 = weights.iter().sum();
    let stat: f64 = observed
        .iter()
        .zip(weights)
        .map(|(&o, &w)| {
            let e = total as f64 * w / wsum;
            (o as f64 - e).powi(2) / e
        })
        .sum();
    let df = observed.len().saturating_sub(1) as f64;
    (stat, chi_square_sf(stat, df))
}

/// P(X ≥ x) for X ~ χ²(df): the upper regularized incomplete gamma Q(df/2, x/2).
pub fn chi_square_sf(x: f64, df: f64) -> f64 {
    if df <= 0.0 {
        return 1.0;
    }
    gamma_q(df / 2.0, x / 2.0)
}

fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < a + 1.0 {
        1.0 - gamma_p_series(a, x)
    } else {
        gamma_q_fraction(a, x)
    }
}

fn gamma_p_series(a: f64, x: f64) -> f64 {
    let mut sum = 1.0 / a;
    let mut term = sum;
    let mut ap = a;
    for _ in 0..1000 {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * 1e-15 {
            break;
        }
    }
    sum * (-x + a * x.ln() - ln_gamma(a)).exp()
}

fn gamma_q_fraction(a: f64, x: f64) -> f64 {
    // Lentz's method for the continued fraction.
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..1000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    (-x + a * x.ln() - ln_gamma(a)).exp() * h
}

/// Lanczos approximation (g = 7, n = 9).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn known_critical_values() {
        // χ² critical values from standard tables.
        assert!(close(chi_square_sf(3.841, 1.0), 0.05, 1e-4));
        assert!(close(chi_square_sf(13.816, 2.0), 0.001, 1e-5));
        assert!(close(chi_square_sf(5.991, 2.0), 0.05, 1e-4));
        assert!(close(chi_square_sf(29.588, 9.0), 0.0005, 2e-5));
        assert!(close(chi_square_sf(0.0, 2.0), 1.0, 1e-12));
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-12));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
    }

    #[test]
    fn statistic() {
        let (s, p) = chi_square(&[333, 333, 334], &[1.0, 1.0, 1.0]);
        assert!(s < 0.01 && p > 0.99);
        let (s, p) = chi_square(&[1000, 0, 0], &[1.0, 1.0, 1.0]);
        assert!(close(s, 2000.0, 1e-9) && p < 1e-100);
        let (_, p) = chi_square(&[100, 200, 300], &[1.0, 2.0, 3.0]);
        assert!(close(p, 1.0, 1e-12));
    }
}
