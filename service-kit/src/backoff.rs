//! Reconnect delays for long-lived streams (lnd's invoice subscriptions, PostgreSQL's `LISTEN`).
//!
//! The delays come from `backon`'s exponential builder: they double from `min` up to `max`, with jitter so
//! that several replicas do not reconnect in lockstep, and never run out. A stream that was healthy again
//! calls [`Reconnect::reset`].

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

/// An endless sequence of reconnect delays.
#[derive(Debug)]
pub struct Reconnect {
    builder: ExponentialBuilder,
    delays: ExponentialBackoff,
}

impl Reconnect {
    /// Delays starting at `min`, doubling up to `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        let builder = ExponentialBuilder::default()
            .with_min_delay(min)
            .with_max_delay(max)
            .with_jitter()
            .without_max_times();
        Self {
            delays: builder.build(),
            builder,
        }
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        // Without a maximum number of attempts the sequence never ends; `max` is the fallback anyway.
        self.delays.next().unwrap_or(Duration::from_secs(1))
    }

    /// Starts again from `min` after a success.
    pub fn reset(&mut self) {
        self.delays = self.builder.build();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_reset() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(1));
        let mut reconnect = Reconnect::new(min, max);
        let first = reconnect.next_delay();
        assert!(first >= min && first < 2 * min, "{first:?}");
        let later: Vec<_> = (0..20).map(|_| reconnect.next_delay()).collect();
        // Jitter adds at most one more `max` on top of the capped delay.
        assert!(later.iter().all(|d| *d <= 2 * max), "{later:?}");
        assert!(later.iter().any(|d| *d >= max), "{later:?}");
        reconnect.reset();
        assert!(reconnect.next_delay() < 2 * min);
    }
}
