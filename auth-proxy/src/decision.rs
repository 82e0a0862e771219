//! Phase 4, log: what the proxy decided for a request, written as one structured log line, counted in the
//! metrics, kept (the most recent ones) for in-process inspection by tests and tools, and streamed to the
//! operator (`GET /v1/decisions` of the admin API) as JSON.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// How many recent decisions [`Decisions::recent`] keeps.
const KEEP: usize = 1024;

/// What happened to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The client's address is on the blocklist: 403.
    Blocked,
    /// A CORS preflight answered by the proxy.
    Preflight,
    /// No service matches: 404.
    NoRoute,
    /// The path cannot be read unambiguously (encoded `/`, dot segment, backslash, NUL): 400.
    BadPath,
    /// A fresh challenge was sent (no credential, or one that failed verification: see `reason`).
    Challenged,
    /// A challenge was needed but could not be minted (lnd or database down): 503.
    ChallengeFailed,
    /// No valid token on a path configured never to create invoices: 401.
    Unauthorized,
    /// A valid token: the request was forwarded.
    Accepted,
    /// Forwarded without a token (`auth: off`, whitelisted path, freebie, authenticator disabled).
    Free,
    /// Refused by a rate limit: 429.
    RateLimited,
    /// The token store could not be reached: 503.
    StoreUnavailable,
}

impl Outcome {
    /// Stable label.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Blocked => "blocked",
            Outcome::Preflight => "preflight",
            Outcome::NoRoute => "no_route",
            Outcome::BadPath => "bad_path",
            Outcome::Challenged => "challenged",
            Outcome::ChallengeFailed => "challenge_failed",
            Outcome::Unauthorized => "unauthorized",
            Outcome::Accepted => "accepted",
            Outcome::Free => "free",
            Outcome::RateLimited => "rate_limited",
            Outcome::StoreUnavailable => "store_unavailable",
        }
    }
}

/// One request's decision. Contains no secrets: token ids are identifiers, not credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The matched service.
    pub service: Option<Arc<str>>,
    /// What happened.
    pub outcome: Outcome,
    /// Why (rejection reason such as `expired`, `missing` when no credential was sent, the free-access reason,
    /// or the failure reason).
    pub reason: Option<Cow<'static, str>>,
    /// Human-readable detail (no secrets).
    pub detail: Option<String>,
    /// The accepted token, or the token minted by a challenge.
    pub token_id: Option<String>,
    /// Whether the client spoke gRPC.
    pub grpc: bool,
    /// HTTP method.
    pub method: String,
    /// Request path (without query).
    pub path: String,
    /// Client address.
    pub client_ip: IpAddr,
    /// The HTTP status sent to the client (gRPC answers are 200; see `grpc_status`).
    pub status: u16,
    /// `grpc-status` the proxy itself sent, if it answered a gRPC request directly.
    pub grpc_status: Option<u16>,
    /// The backend's HTTP status, when forwarded and answered.
    pub upstream_status: Option<u16>,
    /// Time until the response headers.
    #[serde(rename = "elapsed_ms", with = "millis")]
    pub elapsed: Duration,
}

/// A duration as fractional milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64() * 1000.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms = f64::deserialize(d)?;
        Duration::try_from_secs_f64(ms / 1000.0).map_err(serde::de::Error::custom)
    }
}

impl Decision {
    /// Writes the decision as one structured log line. Fields without a value are left out (a forwarded
    /// request has no reason, detail or proxy-made `grpc_status`): formatting the line is a measurable part
    /// of a request's cost.
    pub fn log(&self) {
        tracing::info!(
            target: "auth_proxy::decision",
            decision = self.outcome.as_str(),
            reason = self.reason.as_deref(),
            detail = self.detail.as_deref(),
            service = self.service.as_deref(),
            token_id = self.token_id.as_deref(),
            grpc = self.grpc,
            method = %self.method,
            path = %self.path,
            client_ip = %self.client_ip,
            status = self.status,
            grpc_status = self.grpc_status,
            upstream_status = self.upstream_status,
            elapsed_ms = self.elapsed.as_secs_f64() * 1000.0,
            "request decided"
        );
    }
}

/// Recent decisions and a live feed of new ones.
#[derive(Debug, Clone)]
pub struct Decisions {
    recent: Arc<Mutex<VecDeque<Decision>>>,
    feed: broadcast::Sender<Decision>,
}

impl Default for Decisions {
    fn default() -> Self {
        Decisions {
            recent: Arc::default(),
            feed: broadcast::channel(KEEP).0,
        }
    }
}

impl Decisions {
    /// Records a decision.
    pub fn record(&self, decision: Decision) {
        // The feed's copy is made only while someone listens: most requests have no subscriber.
        let for_feed = (self.feed.receiver_count() > 0).then(|| decision.clone());
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == KEEP {
            recent.pop_front();
        }
        recent.push_back(decision);
        drop(recent);
        if let Some(decision) = for_feed {
            // A subscriber that left meanwhile is fine.
            let _ = self.feed.send(decision);
        }
    }

    /// The most recent decisions, oldest first.
    pub fn recent(&self) -> Vec<Decision> {
        self.recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Every decision from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Decision> {
        self.feed.subscribe()
    }
}
