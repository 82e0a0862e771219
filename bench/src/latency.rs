//! Request latencies summarised as percentiles.

use std::time::Duration;

/// The median and the 99th percentile of a run's latencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    /// Half the requests took at most this long.
    pub p50: Duration,
    /// 99 % of the requests took at most this long.
    pub p99: Duration,
}

impl Percentiles {
    /// The percentiles of `latencies` (nearest rank), `None` if there are none.
    pub fn of(mut latencies: Vec<Duration>) -> Option<Self> {
        latencies.sort_unstable();
        Some(Self {
            p50: nearest_rank(&latencies, 50)?,
            p99: nearest_rank(&latencies, 99)?,
        })
    }
}

/// The smallest value at least `percent` % of `sorted` are no greater than.
fn nearest_rank(sorted: &[Duration], percent: usize) -> Option<Duration> {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_micros).collect()
    }

    #[test]
    fn percentiles_are_nearest_ranks() {
        // 1..=100 µs, shuffled: the median is 50 µs, the 99th percentile 99 µs.
        let latencies = micros((1..=100).map(|n| (n * 37) % 100 + 1));
        assert_eq!(
            Percentiles::of(latencies),
            Some(Percentiles {
                p50: Duration::from_micros(50),
                p99: Duration::from_micros(99),
            })
        );
        // Ten requests: the 99th percentile is the slowest.
        let ten = Percentiles::of(micros(1..=10)).unwrap();
        assert_eq!(ten.p50, Duration::from_micros(5));
        assert_eq!(ten.p99, Duration::from_micros(10));
        let one = Percentiles::of(micros([7])).unwrap();
        assert_eq!(
            (one.p50, one.p99),
            (Duration::from_micros(7), Duration::from_micros(7))
        );
        assert_eq!(Percentiles::of(Vec::new()), None);
    }
}
