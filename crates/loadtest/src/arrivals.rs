//! How the requests of a fixed-rate run (`--rate`) arrive: evenly spaced (`uniform`, the
//! default), or as a Poisson process (`poisson`), whose gaps are exponential with mean `1 / rate`,
//! as independent users arrive and real traffic bursts. A Poisson schedule is drawn from a seeded
//! generator, so the same `--seed` and rate give the same due times, run after run.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

/// The spacing of a fixed-rate run's requests.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Arrivals {
    /// Request k due at k / rate.
    #[default]
    Uniform,
    /// Exponential gaps with mean 1 / rate, drawn from the seed.
    Poisson,
}

/// How many due times behind the latest one asked for are kept. Tasks ask for a request's due
/// time as soon as they take its number, so none asks for one this far back; were one to, its due
/// time is drawn again from the seed.
const KEPT: usize = 1 << 16;

/// The due times of a Poisson schedule, in nanoseconds from the start, drawn as they are needed.
pub struct Poisson {
    rate: f64,
    seed: u64,
    drawn: Mutex<Drawn>,
}

/// The due times drawn so far that are still kept, and the generator that draws the next.
struct Drawn {
    /// Index of `offsets[0]`.
    first: u64,
    offsets: VecDeque<u64>,
    /// The next due time, in (fractional) nanoseconds: the sum of the gaps drawn so far.
    next: f64,
    rng: SplitMix64,
}

impl Drawn {
    fn new(seed: u64) -> Drawn {
        Drawn {
            first: 0,
            offsets: VecDeque::new(),
            next: 0.0,
            rng: SplitMix64(seed),
        }
    }

    /// Draws due times up to request `seq`; the first request is due at the start, as with
    /// even spacing.
    fn draw_to(&mut self, seq: u64, rate: f64) {
        while self.first + self.offsets.len() as u64 <= seq {
            self.offsets.push_back(self.next as u64);
            self.next += self.rng.exponential() * 1e9 / rate;
            if self.offsets.len() > 2 * KEPT {
                self.offsets.drain(..KEPT);
                self.first += KEPT as u64;
            }
        }
    }
}

impl Poisson {
    pub fn new(rate: f64, seed: u64) -> Poisson {
        Poisson {
            rate,
            seed,
            drawn: Mutex::new(Drawn::new(seed)),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Nanoseconds from the start to when request `seq` (from 0) is due.
    pub fn offset_nanos(&self, seq: u64) -> u64 {
        let mut d = self.drawn.lock().unwrap_or_else(|p| p.into_inner());
        if seq < d.first {
            // Long forgotten: drawn again from the seed, the same as it was the first time.
            let mut again = Drawn::new(self.seed);
            again.draw_to(seq, self.rate);
            return again.offsets[(seq - again.first) as usize];
        }
        d.draw_to(seq, self.rate);
        d.offsets[(seq - d.first) as usize]
    }

    /// How many requests are due before `nanos` from the start.
    pub fn due_before(&self, nanos: u128) -> u64 {
        // The schedule is drawn from the seed alone, so counting on a fresh copy of the generator
        // gives the run's own count without holding the lock of the running one.
        let mut rng = SplitMix64(self.seed);
        let mut next = 0.0_f64;
        let mut n = 0u64;
        while (next as u128) < nanos {
            n += 1;
            next += rng.exponential() * 1e9 / self.rate;
        }
        n
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a small, fast generator whose every seed, 0
/// included, gives a full-period stream; enough for arrival times, and the same on every platform.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform draw in (0, 1]: the top 53 bits, plus one so that the logarithm below is finite.
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// An exponential draw with mean 1 (inverse transform).
    fn exponential(&mut self) -> f64 {
        -self.unit().ln()
    }
}

/// Refuses arrivals or a seed that a run could not follow: both belong to a fixed rate, and only
/// drawn arrivals have a seed.
pub fn check_arrivals(
    rate: Option<f64>,
    arrivals: Arrivals,
    seed: Option<u64>,
) -> Result<(), String> {
    if rate.is_none() && arrivals != Arrivals::Uniform {
        return Err("--arrivals poisson needs --rate R (the mean rate of the arrivals)".into());
    }
    if seed.is_some() && arrivals != Arrivals::Poisson {
        return Err(
            "--seed seeds drawn arrivals only: give it with --rate R --arrivals poisson".into(),
        );
    }
    Ok(())
}

/// A seed for a run that was given none: the clock's nanoseconds and the process id, reported so
/// the run can be repeated with `--seed`.
pub fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    SplitMix64(nanos ^ u64::from(std::process::id()).rotate_left(32)).next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaps(rate: f64, seed: u64, n: u64) -> Vec<f64> {
        let p = Poisson::new(rate, seed);
        (1..=n)
            .map(|k| (p.offset_nanos(k) - p.offset_nanos(k - 1)) as f64 / 1e9)
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule_and_another_seed_another() {
        let a = Poisson::new(500.0, 7);
        let b = Poisson::new(500.0, 7);
        let c = Poisson::new(500.0, 8);
        let first: Vec<u64> = (0..1000).map(|k| a.offset_nanos(k)).collect();
        assert_eq!(
            first,
            (0..1000).map(|k| b.offset_nanos(k)).collect::<Vec<_>>()
        );
        assert_ne!(
            first,
            (0..1000).map(|k| c.offset_nanos(k)).collect::<Vec<_>>()
        );
        assert_eq!(first[0], 0, "the first request is due at the start");
        // Asked for out of order, and far behind what is kept: still the same times.
        let late = Poisson::new(500.0, 7);
        let far = late.offset_nanos(3 * KEPT as u64);
        assert_eq!(late.offset_nanos(999), first[999]);
        assert_eq!(a.offset_nanos(3 * KEPT as u64), far);
    }

    #[test]
    fn poisson_gaps_have_mean_one_over_the_rate_and_a_coefficient_of_variation_of_one() {
        let rate = 1000.0;
        let g = gaps(rate, 42, 200_000);
        let n = g.len() as f64;
        let mean = g.iter().sum::<f64>() / n;
        let sd = (g.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        // The standard error of the mean of 200 000 exponential gaps is 1/√200 000 ≈ 0.22 % of it.
        assert!((mean * rate - 1.0).abs() < 0.01, "mean gap {mean}");
        assert!((sd / mean - 1.0).abs() < 0.02, "cv {}", sd / mean);
    }

    #[test]
    fn due_before_counts_the_due_times_drawn() {
        let p = Poisson::new(300.0, 3);
        let end = p.offset_nanos(500);
        assert_eq!(p.due_before(u128::from(end)), 500);
        assert_eq!(p.due_before(u128::from(end) + 1), 501);
        assert_eq!(p.due_before(0), 0);
    }
}
