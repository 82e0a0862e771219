//! auth-proxy's memory over a long authenticated load: the load runs in stretches until the requested
//! number of requests has been served, and the proxy's resident set size is sampled before the first
//! stretch and after each, about every tenth of the requests.

use std::time::Duration;

use crate::load::Run;

/// How many stretches the load is cut into (one RSS sample after each).
const STRETCHES: u64 = 10;

/// One sample: the RSS after so many requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Requests served before the sample was taken.
    pub requests: u64,
    /// Resident set size, KiB.
    pub rss_kib: u64,
}

/// The samples of one long run, in order; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Samples(Vec<Sample>);

impl Samples {
    /// The first sample, taken before the load.
    pub fn first(&self) -> Sample {
        self.0[0]
    }

    /// The last sample, taken after all the requests.
    pub fn last(&self) -> Sample {
        self.0[self.0.len() - 1]
    }

    /// The largest RSS sampled, KiB.
    pub fn max_kib(&self) -> u64 {
        self.0.iter().map(|s| s.rss_kib).max().unwrap_or(0)
    }

    /// How many samples were taken.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The range of the samples (largest minus smallest) in % of the first.
    pub fn spread_percent(&self) -> f64 {
        let min = self.0.iter().map(|s| s.rss_kib).min().unwrap_or(0);
        let first = self.first().rss_kib.max(1);
        (self.max_kib() - min) as f64 * 100.0 / first as f64
    }
}

/// Drives load with `drive` (a run of the given duration) until at least `total` requests have been
/// served, sampling the RSS with `rss` (KiB) before and after every run. Each run is sized, from the
/// rate of the one before (`rate` for the first), to reach the next tenth of `total`; runs last whole
/// seconds, so a fast proxy may pass several tenths in one.
pub fn follow(
    total: u64,
    rate: f64,
    mut drive: impl FnMut(Duration) -> anyhow::Result<Run>,
    mut rss: impl FnMut() -> anyhow::Result<u64>,
) -> anyhow::Result<Samples> {
    let stretch = total.div_ceil(STRETCHES).max(1);
    let mut samples = vec![Sample {
        requests: 0,
        rss_kib: rss()?,
    }];
    let (mut served, mut rate) = (0, rate);
    while served < total {
        let next = ((served / stretch + 1) * stretch).min(total);
        let run = drive(duration_for(next - served, rate))?;
        anyhow::ensure!(run.requests > 0, "a run served no request: {run:?}");
        served += run.requests;
        rate = run.rate;
        samples.push(Sample {
            requests: served,
            rss_kib: rss()?,
        });
    }
    Ok(Samples(samples))
}

/// Whole seconds (at least one) to serve `requests` at `rate` a second.
fn duration_for(requests: u64, rate: f64) -> Duration {
    let seconds = requests as f64 / rate.max(1.0);
    Duration::from_secs((seconds.ceil() as u64).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(rss: &[u64]) -> Samples {
        Samples(
            rss.iter()
                .enumerate()
                .map(|(i, &rss_kib)| Sample {
                    requests: i as u64 * 100,
                    rss_kib,
                })
                .collect(),
        )
    }

    #[test]
    fn the_spread_is_the_range_in_percent_of_the_first_sample() {
        let flat = samples(&[1000, 1050, 980, 1020]);
        assert_eq!(
            (flat.first().rss_kib, flat.max_kib(), flat.last().rss_kib),
            (1000, 1050, 1020)
        );
        assert!((flat.spread_percent() - 7.0).abs() < 1e-9);
        assert_eq!(samples(&[2048]).spread_percent(), 0.0);
    }

    #[test]
    fn runs_are_sized_to_the_next_tenth_in_whole_seconds() {
        assert_eq!(duration_for(100_000, 10_000.0), Duration::from_secs(10));
        assert_eq!(duration_for(100_001, 10_000.0), Duration::from_secs(11));
        assert_eq!(duration_for(10, 10_000.0), Duration::from_secs(1));
        assert_eq!(duration_for(10, 0.0), Duration::from_secs(10));
    }

    /// A load of exactly `rate` requests a second; RSS grows by 1 KiB a run.
    fn follow_at(total: u64, rate: u64) -> (Samples, Vec<Duration>) {
        let mut durations = Vec::new();
        let mut rss = 1000;
        let samples = follow(
            total,
            rate as f64,
            |duration| {
                durations.push(duration);
                Ok(Run {
                    rate: rate as f64,
                    non_success: 0,
                    requests: rate * duration.as_secs(),
                })
            },
            || {
                rss += 1;
                Ok(rss)
            },
        )
        .unwrap();
        (samples, durations)
    }

    #[test]
    fn a_long_load_is_sampled_every_tenth() {
        let (samples, durations) = follow_at(1_000_000, 10_000);
        assert_eq!(durations, vec![Duration::from_secs(10); 10]);
        assert_eq!(samples.len(), 11);
        assert_eq!(
            samples.first(),
            Sample {
                requests: 0,
                rss_kib: 1001
            }
        );
        assert_eq!(
            samples.last(),
            Sample {
                requests: 1_000_000,
                rss_kib: 1011
            }
        );
    }

    #[test]
    fn a_short_load_ends_once_the_total_is_served() {
        // 20 000 requests at 15 000 a second: two one-second runs, each past several tenths.
        let (samples, durations) = follow_at(20_000, 15_000);
        assert_eq!(durations, vec![Duration::from_secs(1); 2]);
        assert_eq!(samples.last().requests, 30_000);
        assert_eq!(samples.len(), 3);
    }
}
