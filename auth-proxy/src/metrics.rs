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
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::decision::Outcome;

/// A service's name as a label value: shared, so that counting a request never allocates.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Service(Option<Arc<str>>);

impl EncodeLabelValue for Service {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        EncodeLabelValue::encode(&self.0.as_deref().unwrap_or(""), encoder)
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The label sets, typed: no label vector is built per update.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: Service,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    service: Service,
    decision: Outcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    service: Service,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    service: Service,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LndCallLabels {
    call: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    result: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Service {
    fn of(name: &Arc<str>) -> Service {
        Service(Some(Arc::clone(name)))
    }
}

impl ServiceLabels {
    fn of(name: &Arc<str>) -> ServiceLabels {
        ServiceLabels {
            service: Service::of(name),
        }
    }
}

/// All metrics; cheap to clone (shared).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    challenges: Family<ServiceLabels, Counter>,
    accepted: Family<ServiceLabels, Counter>,
    rejected: Family<RejectionLabels, Counter>,
    lnd_latency: Histograms<LndCallLabels>,
    upstream_latency: Histograms<ServiceLabels>,
    upstream_responses: Family<ResponseLabels, Counter>,
    cache: Family<CacheLabels, Counter>,
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

    /// One request finished with `decision`; `service` is `None` when no service matched.
    pub fn request(&self, service: Option<&Arc<str>>, decision: Outcome) {
        let labels = RequestLabels {
            service: Service(service.cloned()),
            decision,
        };
        self.inner.requests.get_or_create(&labels).inc();
    }

    /// A challenge was minted for `service`.
    pub fn challenge_minted(&self, name: &Arc<str>) {
        let labels = ServiceLabels::of(name);
        self.inner.challenges.get_or_create(&labels).inc();
    }

    /// A token was accepted for `service`.
    pub fn token_accepted(&self, name: &Arc<str>) {
        let labels = ServiceLabels::of(name);
        self.inner.accepted.get_or_create(&labels).inc();
    }

    /// A presented token was refused.
    pub fn token_rejected(&self, name: &Arc<str>, reason: &'static str) {
        let labels = RejectionLabels {
            service: Service::of(name),
            reason,
        };
        self.inner.rejected.get_or_create(&labels).inc();
    }

    /// An lnd call took `elapsed`.
    pub fn lnd_call(&self, call: &'static str, ok: bool, elapsed: Duration) {
        let labels = LndCallLabels {
            call,
            result: if ok { "ok" } else { "error" },
        };
        self.inner
            .lnd_latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The backend answered (or failed: `status` = 502) after `elapsed`.
    pub fn upstream(&self, name: &Arc<str>, status: u16, elapsed: Duration) {
        self.inner
            .upstream_latency
            .get_or_create(&ServiceLabels::of(name))
            .observe(elapsed.as_secs_f64());
        let labels = ResponseLabels {
            service: Service::of(name),
            status,
        };
        self.inner.upstream_responses.get_or_create(&labels).inc();
    }

    /// A root-key lookup hit or missed the cache.
    pub fn cache_lookup(&self, hit: bool) {
        let labels = CacheLabels {
            result: if hit { "hit" } else { "miss" },
        };
        self.inner.cache.get_or_create(&labels).inc();
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
        metrics.token_rejected(&Arc::from("loop"), "expired");
        metrics.request(None, Outcome::NoRoute);
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
        assert!(
            text.contains("auth_proxy_requests_total{service=\"\",decision=\"no_route\"} 1"),
            "{text}"
        );
    }
}
