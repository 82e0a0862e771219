//! Request latencies: read from h2load's per-request log, summarised as percentiles.

use std::time::Duration;

use anyhow::Context;

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

/// Every request's latency from the contents of an h2load `--log-file`: tab-separated lines of the start
/// time (µs since the epoch), the HTTP status (-1 for a failed stream) and the µs until the response ended.
pub fn parse_h2load_log(contents: &str) -> anyhow::Result<Vec<Duration>> {
    contents
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let micros = line
                .split('\t')
                .nth(2)
                .and_then(|field| field.trim().parse().ok())
                .with_context(|| format!("no latency in line {line:?}"))?;
            Ok(Duration::from_micros(micros))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_micros).collect()
    }

    #[test]
    fn reads_h2load_logs() {
        let log =
            "1700000000000001\t200\t350\n1700000000000010\t200\t1200\n\n1700000000000020\t-1\t90\n";
        assert_eq!(parse_h2load_log(log).unwrap(), micros([350, 1200, 90]));
        assert!(parse_h2load_log("1700000000000001\t200\n").is_err());
        assert!(parse_h2load_log("").unwrap().is_empty());
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
