use std::cell::Cell;
use std::fmt;
use std::time::Duration;

/// How long the backend waits before answering `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    Fixed(Duration),
    /// Uniform in [min, max] milliseconds.
    Range(u64, u64),
}

const MAX_MS: u64 = 600_000;

impl Delay {
    /// `50` or `10-50` (milliseconds).
    pub fn parse(s: &str) -> Result<Delay, String> {
        let ms = |p: &str| -> Result<u64, String> {
            let v: u64 = p.trim().parse().map_err(|_| {
                format!("'{s}' is not a delay (accepted: MS or MIN-MAX, whole milliseconds, e.g. 50 or 10-50)")
            })?;
            if v > MAX_MS {
                return Err(format!("delay {v} ms is over the limit of {MAX_MS} ms"));
            }
            Ok(v)
        };
        match s.split_once('-') {
            None => Ok(Delay::Fixed(Duration::from_millis(ms(s)?))),
            Some((a, b)) => {
                let (a, b) = (ms(a)?, ms(b)?);
                if a > b {
                    return Err(format!("delay range '{s}' has MIN above MAX"));
                }
                Ok(Delay::Range(a, b))
            }
        }
    }

    pub fn sample(self) -> Duration {
        match self {
            Delay::Fixed(d) => d,
            Delay::Range(a, b) => Duration::from_millis(a + next_random() % (b - a + 1)),
        }
    }
}

/// The form `parse` reads, so a delay can be handed on to another process's command line.
impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delay::Fixed(d) => write!(f, "{}", d.as_millis()),
            Delay::Range(a, b) => write!(f, "{a}-{b}"),
        }
    }
}

/// xorshift64*, one state per thread: a delay needs spread, not cryptographic randomness.
fn next_random() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let here = &t as *const u64 as u64;
    (t ^ here.rotate_left(32)) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(
            Delay::parse("50"),
            Ok(Delay::Fixed(Duration::from_millis(50)))
        );
        assert_eq!(Delay::parse("10-50"), Ok(Delay::Range(10, 50)));
        assert!(Delay::parse("50-10").unwrap_err().contains("MIN above MAX"));
        assert!(Delay::parse("fast").unwrap_err().contains("MS or MIN-MAX"));
        assert!(Delay::parse("-5").is_err());
        assert!(Delay::parse("9999999").unwrap_err().contains("limit"));
        for s in ["50", "10-50", "0"] {
            assert_eq!(Delay::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn range_samples_stay_inside() {
        let d = Delay::Range(3, 7);
        for _ in 0..1000 {
            let s = d.sample().as_millis();
            assert!((3..=7).contains(&s), "{s}");
        }
    }
}
