//! Prometheus metrics of the proxy's own decisions, served at `/metrics` on a separate listener.
//!
//! | metric | labels |
//! |---|---|
//! | `auth_proxy_requests_total` | `service`, `decision` |
//! | `auth_proxy_challenges_minted_total` | `service` |
//! | `auth_proxy_tokens_accepted_total` | `service` |
//! | `auth_proxy_tokens_rejected_total` | `service`, `reason` |
//! | `auth_proxy_lnd_call_duration_seconds` | `call`, `result` |
//! | `auth_proxy_upstream_duration_seconds` (time to response headers) | `service` |
//! | `auth_proxy_upstream_responses_total` | `service`, `status` |
//! | `auth_proxy_root_key_cache_lookups_total` | `result` (`hit`/`miss`) |

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// All metrics; cheap to clone (shared).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<Labels, Counter>,
    challenges: Family<Labels, Counter>,
    accepted: Family<Labels, Counter>,
    rejected: Family<Labels, Counter>,
    lnd_latency: Histograms,
    upstream_latency: Histograms,
    upstream_responses: Family<Labels, Counter>,
    cache: Family<Labels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::default();
        let challenges = Family::default();
        let accepted = Family::default();
        let rejected = Family::default();
        let lnd_latency = Histograms::new_with_constructor(latency_histogram as fn() -> Histogram);
        let upstream_latency =
            Histograms::new_with_constructor(latency_histogram as fn() -> Histogram);
        let upstream_responses = Family::default();
        let cache = Family::default();
        registry.register(
            "auth_proxy_requests",
            "Requests by final decision",
            requests.clone(),
        );
        registry.register(
            "auth_proxy_challenges_minted",
            "L402 challenges minted",
            challenges.clone(),
        );
        registry.register(
            "auth_proxy_tokens_accepted",
            "Requests let in on a valid token",
            accepted.clone(),
        );
        registry.register(
            "auth_proxy_tokens_rejected",
            "Presented tokens refused, by reason",
            rejected.clone(),
        );
        registry.register(
            "auth_proxy_lnd_call_duration_seconds",
            "Latency of calls to the proxy's lnd",
            lnd_latency.clone(),
        );
        registry.register(
            "auth_proxy_upstream_duration_seconds",
            "Time until the backend's response headers",
            upstream_latency.clone(),
        );
        registry.register(
            "auth_proxy_upstream_responses",
            "Backend responses by status",
            upstream_responses.clone(),
        );
        registry.register(
            "auth_proxy_root_key_cache_lookups",
            "Root-key cache lookups",
            cache.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                challenges,
                accepted,
                rejected,
                lnd_latency,
                upstream_latency,
                upstream_responses,
                cache,
            }),
        }
    }

    /// One request finished with `decision`.
    pub fn request(&self, service: &str, decision: &str) {
        self.inner
            .requests
            .get_or_create(&vec![
                ("service", service.into()),
                ("decision", decision.into()),
            ])
            .inc();
    }

    /// A challenge was minted for `service`.
    pub fn challenge_minted(&self, service: &str) {
        self.inner
            .challenges
            .get_or_create(&vec![("service", service.into())])
            .inc();
    }

    /// A token was accepted for `service`.
    pub fn token_accepted(&self, service: &str) {
        self.inner
            .accepted
            .get_or_create(&vec![("service", service.into())])
            .inc();
    }

    /// A presented token was refused.
    pub fn token_rejected(&self, service: &str, reason: &str) {
        self.inner
            .rejected
            .get_or_create(&vec![
                ("service", service.into()),
                ("reason", reason.into()),
            ])
            .inc();
    }

    /// An lnd call took `elapsed`.
    pub fn lnd_call(&self, call: &'static str, ok: bool, elapsed: Duration) {
        let labels = vec![
            ("call", call.to_string()),
            ("result", if ok { "ok" } else { "error" }.to_string()),
        ];
        self.inner
            .lnd_latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The backend answered (or failed: `status` = 502) after `elapsed`.
    pub fn upstream(&self, service: &str, status: u16, elapsed: Duration) {
        self.inner
            .upstream_latency
            .get_or_create(&vec![("service", service.into())])
            .observe(elapsed.as_secs_f64());
        self.inner
            .upstream_responses
            .get_or_create(&vec![
                ("service", service.into()),
                ("status", status.to_string()),
            ])
            .inc();
    }

    /// A root-key lookup hit or missed the cache.
    pub fn cache_lookup(&self, hit: bool) {
        self.inner
            .cache
            .get_or_create(&vec![("result", if hit { "hit" } else { "miss" }.into())])
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.inner.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_labels() {
        let metrics = Metrics::new();
        metrics.token_rejected("loop", "expired");
        metrics.cache_lookup(true);
        let text = metrics.render();
        assert!(
            text.contains(
                "auth_proxy_tokens_rejected_total{service=\"loop\",reason=\"expired\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("auth_proxy_root_key_cache_lookups_total{result=\"hit\"} 1"),
            "{text}"
        );
    }
}
