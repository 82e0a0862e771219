//! The request pipeline, in named phases (after pingora's `ProxyHttp`):
//!
//! 0. **screen** — the path is made canonical once ([`crate::path`]: what routing, free paths, rate limits
//!    and the backend all see) or refused with 400; blocklisted clients get 403; CORS preflights are
//!    answered.
//! 1. **route** — the first service whose `hostregexp` and `pathregexp` match; none → 404.
//! 2. **authenticate / admit** — by the service's auth level for this path: a valid token is admitted, a
//!    missing or refused one leads to a challenge (or a freebie, or 401 on "no invoice" paths), free paths
//!    are admitted without a token; admitted requests then pass the rate limits.
//! 3. **challenge** (402 / gRPC 13 with a fresh invoice and macaroon) **or forward** (stream to the backend
//!    with only the verified `Authorization: L402 …`).
//! 4. **log** — one structured line, the metrics, and the in-process decision feed.
//!
//! Each phase returns data; only [`Pipeline::handle`] sequences them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::authenticate::{AuthOutcome, Authenticator};
use crate::body::{BodyFailure, ClientBody};
use crate::challenge::Challenger;
use crate::decision::{Decision, Decisions, Outcome};
use crate::forward::{Backends, Upstream};
use crate::freebie::Freebies;
use crate::l402_bridge::Rejection;
use crate::metrics::Metrics;
use crate::path::{self, PathError};
use crate::pricer::{self, Pricer};
use crate::ratelimit::{ClientKey, RateLimiter};
use crate::responses::{self, ProxyBody};
use crate::service::{AuthLevel, ServiceConfig};
use crate::unpaid::UnpaidTokens;
use tonic::Code;

/// A configured service with its runtime state, shared by every worker (each has its own connection pools
/// to the service's backend: [`Backends`]).
#[derive(Debug)]
pub(crate) struct Route {
    pub config: ServiceConfig,
    pub limiter: RateLimiter,
    pub freebies: Freebies,
    /// The price server, with `dynamicprice.enabled`.
    pub pricer: Option<Pricer>,
}

/// The L402 machinery; absent when `authenticator.disable` is set.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    pub authenticator: Authenticator,
    pub challenger: Challenger,
    pub unpaid: Arc<UnpaidTokens>,
    /// Which `WWW-Authenticate` values a challenge carries (`challengeform`).
    pub challenge_form: l402::ChallengeForm,
}

/// What the proxy knows about a request before looking at its body.
#[derive(Debug, Clone)]
struct RequestInfo {
    method: Method,
    host: String,
    path: String,
    grpc: bool,
    client_ip: IpAddr,
}

impl RequestInfo {
    fn of<B>(request: &Request<B>, peer: SocketAddr) -> Self {
        let host = request
            .uri()
            .authority()
            .map(|a| a.as_str().to_owned())
            .or_else(|| {
                request
                    .headers()
                    .get(HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let grpc = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/grpc"));
        RequestInfo {
            method: request.method().clone(),
            host,
            path: request.uri().path().to_owned(),
            grpc,
            client_ip: peer.ip().to_canonical(),
        }
    }
}

/// Replaces the request's path with its canonical form (the query is kept as it is).
fn canonicalize_path<B>(request: &mut Request<B>) -> Result<(), PathError> {
    let uri = request.uri();
    let canonical = path::canonicalize(uri.path())?;
    if canonical != uri.path() {
        let path_and_query = match uri.query() {
            Some(query) => format!("{canonical}?{query}"),
            None => canonical,
        };
        let mut parts = uri.clone().into_parts();
        // A canonical path is made of characters the raw path already held: it always parses.
        parts.path_and_query = Some(path_and_query.parse().map_err(|_| PathError::BadEscape)?);
        *request.uri_mut() = http::Uri::from_parts(parts).map_err(|_| PathError::BadEscape)?;
    }
    Ok(())
}

/// A request let in, and the only credential the backend will see.
struct Admitted {
    /// The verified credential, if any.
    authorization: Option<HeaderValue>,
    /// The verified token's id (also the rate-limit key).
    token_id: Option<String>,
    /// `Accepted` or `Free`.
    outcome: Outcome,
    /// Why it was free.
    reason: Option<&'static str>,
}

/// The result of the admit phase.
enum Admission<'a> {
    /// Let in.
    Forward(Admitted),
    /// Send a fresh challenge; `reason` says why the request was not admitted.
    Challenge {
        gate: &'a Gate,
        reason: &'static str,
        detail: Option<String>,
    },
    /// Answer directly.
    Answer {
        response: Response<ProxyBody>,
        outcome: Outcome,
        reason: &'static str,
        detail: Option<String>,
    },
}

/// The decision under construction plus the response.
struct Done {
    response: Response<ProxyBody>,
    outcome: Outcome,
    reason: Option<&'static str>,
    detail: Option<String>,
    token_id: Option<String>,
    upstream_status: Option<u16>,
}

impl Done {
    fn answer(
        response: Response<ProxyBody>,
        outcome: Outcome,
        reason: Option<&'static str>,
    ) -> Self {
        Done {
            response,
            outcome,
            reason,
            detail: None,
            token_id: None,
            upstream_status: None,
        }
    }
}

/// The request pipeline shared by every connection.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub blocklist: Vec<IpAddr>,
    pub routes: Vec<Route>,
    pub gate: Option<Gate>,
    pub metrics: Metrics,
    pub decisions: Decisions,
    /// The longest wait between two pieces of a request body being forwarded.
    pub body_timeout: std::time::Duration,
    /// Challenges per client network (`challengelimits`); `None`: unlimited.
    pub challenge_budget: Option<RateLimiter>,
}

impl Pipeline {
    /// Runs every phase for one request, forwarding through `backends` (the serving worker's pools).
    pub async fn handle(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
        backends: &Backends,
    ) -> Response<ProxyBody> {
        let started = Instant::now();
        let http2 = request.version() == Version::HTTP_2;
        let mut request = request.map(|body| ClientBody::new(body, http2, self.body_timeout));
        let canonical = canonicalize_path(&mut request);
        let info = RequestInfo::of(&request, peer);
        let (service, done) = if let Err(error) = canonical {
            let response = responses::error(
                info.grpc,
                StatusCode::BAD_REQUEST,
                Code::InvalidArgument,
                &error.to_string(),
            );
            (None, Done::answer(response, Outcome::BadPath, None))
        } else if self.blocklist.contains(&info.client_ip) {
            let response = responses::error(
                info.grpc,
                StatusCode::FORBIDDEN,
                Code::PermissionDenied,
                "access denied",
            );
            (None, Done::answer(response, Outcome::Blocked, None))
        } else if info.method == Method::OPTIONS {
            (
                None,
                Done::answer(responses::preflight(), Outcome::Preflight, None),
            )
        } else {
            match self.route(&info) {
                None => {
                    let response = responses::error(
                        info.grpc,
                        StatusCode::NOT_FOUND,
                        Code::Unimplemented,
                        "not found",
                    );
                    (None, Done::answer(response, Outcome::NoRoute, None))
                }
                Some((index, route)) => (
                    Some(Arc::clone(&route.config.name)),
                    self.serve(route, backends.service(index), request, &info)
                        .await,
                ),
            }
        };
        self.log(service, info, done, started)
    }

    /// Phase 1: route. The route and its index (that of its backend's pools in [`Backends`]).
    fn route(&self, info: &RequestInfo) -> Option<(usize, &Route)> {
        self.routes
            .iter()
            .enumerate()
            .find(|(_, r)| r.config.matches(&info.host, &info.path))
    }

    /// Phases 2 and 3 for a routed request; `upstream` is its backend.
    async fn serve(
        &self,
        route: &Route,
        upstream: &Upstream,
        mut request: Request<ClientBody>,
        info: &RequestInfo,
    ) -> Done {
        let admission = self.admit(route, &request, info).await;
        match admission {
            Admission::Forward(admitted) => {
                self.limit_and_forward(route, upstream, request, info, admitted)
                    .await
            }
            Admission::Challenge {
                gate,
                reason,
                detail,
            } => {
                // A challenge costs an invoice and a database row: each client network gets a budget.
                let client = ClientKey::network(info.client_ip);
                if let Some(Err(wait)) =
                    self.challenge_budget.as_ref().map(|b| b.check("", &client))
                {
                    let response =
                        responses::rate_limited(info.grpc, wait.as_secs_f64().ceil() as u64);
                    return Done::answer(response, Outcome::RateLimited, Some("challenge_budget"));
                }
                let price_sat = match &route.pricer {
                    None => route.config.price_sat,
                    Some(pricer) => {
                        match Box::pin(self.dynamic_price(pricer, &mut request, info)).await {
                            // Aperture: a price of 0 from the price server lets the request through.
                            Ok(0) => {
                                let admitted = Admitted {
                                    authorization: None,
                                    token_id: None,
                                    outcome: Outcome::Free,
                                    reason: Some("zero_price"),
                                };
                                return self
                                    .limit_and_forward(route, upstream, request, info, admitted)
                                    .await;
                            }
                            Ok(price) => price,
                            Err(done) => return done,
                        }
                    }
                };
                if gate.unpaid.at_cap() {
                    tracing::warn!(
                        unpaid = gate.unpaid.count(),
                        "maxunpaidtokens reached; refusing challenges"
                    );
                    let response = responses::error(
                        info.grpc,
                        StatusCode::SERVICE_UNAVAILABLE,
                        Code::Unavailable,
                        "too many unpaid tokens outstanding: try again later",
                    );
                    return Done::answer(response, Outcome::ChallengeFailed, Some("unpaid_cap"));
                }
                let mut done = Box::pin(self.challenge(gate, route, info, price_sat)).await;
                if done.outcome == Outcome::Challenged {
                    done.reason = Some(reason);
                    done.detail = detail;
                }
                done
            }
            Admission::Answer {
                response,
                outcome,
                reason,
                detail,
            } => Done {
                detail,
                ..Done::answer(response, outcome, Some(reason))
            },
        }
    }

    /// Rate limits (by token, else by client network), then phase 3b.
    async fn limit_and_forward(
        &self,
        route: &Route,
        upstream: &Upstream,
        request: Request<ClientBody>,
        info: &RequestInfo,
        admitted: Admitted,
    ) -> Done {
        // No rules (the usual case): no key to build, no token id to copy.
        let limited = match &admitted.token_id {
            _ if route.limiter.is_empty() => Ok(()),
            Some(id) => route
                .limiter
                .check(&info.path, &ClientKey::Token(id.clone())),
            None => route
                .limiter
                .check(&info.path, &ClientKey::network(info.client_ip)),
        };
        if let Err(wait) = limited {
            let response = responses::rate_limited(info.grpc, wait.as_secs_f64().ceil() as u64);
            return Done {
                token_id: admitted.token_id,
                ..Done::answer(response, Outcome::RateLimited, admitted.reason)
            };
        }
        self.forward(route, upstream, request, info, admitted).await
    }

    /// The price server's price for this request (phase 3a, before minting): the first
    /// [`pricer::MAX_BODY_PREFIX`] bytes of the body are read ahead for it and kept for the backend. A
    /// price server that fails is a 503 (gRPC 14) with `Retry-After`, never a default price.
    async fn dynamic_price(
        &self,
        pricer: &Pricer,
        request: &mut Request<ClientBody>,
        info: &RequestInfo,
    ) -> Result<i64, Done> {
        let prefix = match request
            .body_mut()
            .buffer_prefix(pricer::MAX_BODY_PREFIX)
            .await
        {
            Ok(prefix) => prefix,
            Err(failure) => {
                let (status, message) = match failure {
                    BodyFailure::TimedOut => {
                        (StatusCode::REQUEST_TIMEOUT, "request body timed out")
                    }
                    BodyFailure::Malformed => (StatusCode::BAD_REQUEST, "malformed request body"),
                };
                let response = responses::error(info.grpc, status, Code::InvalidArgument, message);
                return Err(Done::answer(
                    response,
                    Outcome::ChallengeFailed,
                    Some("bad_body"),
                ));
            }
        };
        let text = pricer::request_text(request, &info.host, &prefix);
        pricer.price(&info.path, text).await.map_err(|error| {
            tracing::error!(error = %error, "cannot get the price of a resource");
            let response = responses::error(
                info.grpc,
                StatusCode::SERVICE_UNAVAILABLE,
                Code::Unavailable,
                "price server unavailable",
            );
            Done {
                detail: Some(error.to_string()),
                ..Done::answer(
                    response,
                    Outcome::ChallengeFailed,
                    Some("pricer_unavailable"),
                )
            }
        })
    }

    /// Phase 2: authenticate and admit, by the service's auth level for this path.
    async fn admit<'a>(
        &'a self,
        route: &Route,
        request: &Request<ClientBody>,
        info: &RequestInfo,
    ) -> Admission<'a> {
        let service = &route.config;
        let free = |reason| {
            Admission::Forward(Admitted {
                authorization: None,
                token_id: None,
                outcome: Outcome::Free,
                reason: Some(reason),
            })
        };
        let Some(gate) = &self.gate else {
            return free("auth_disabled");
        };
        let level = service.auth_level(&info.path);
        if level == AuthLevel::Off {
            return free(if service.auth == AuthLevel::Off {
                "auth_off"
            } else {
                "whitelisted"
            });
        }
        let refused = match gate
            .authenticator
            .authenticate(request.headers(), service, &info.path)
            .await
        {
            AuthOutcome::Valid(verified) => {
                self.metrics.token_accepted(&service.name);
                return Admission::Forward(Admitted {
                    authorization: Some(verified.forward_authorization()),
                    token_id: Some(verified.token_id().to_hex()),
                    outcome: Outcome::Accepted,
                    reason: None,
                });
            }
            AuthOutcome::StoreUnavailable(error) => {
                tracing::error!(error = %error, "token store unavailable");
                return Admission::Answer {
                    response: responses::error(
                        info.grpc,
                        StatusCode::SERVICE_UNAVAILABLE,
                        Code::Unavailable,
                        "token store unavailable",
                    ),
                    outcome: Outcome::StoreUnavailable,
                    reason: "store_unavailable",
                    detail: None,
                };
            }
            AuthOutcome::Missing => Rejection::new("missing", "no credential"),
            AuthOutcome::Rejected(rejection) => {
                self.metrics.token_rejected(&service.name, rejection.reason);
                rejection
            }
        };
        if let AuthLevel::Freebie(allowed) = level {
            if route.freebies.take(info.client_ip, allowed) {
                return free("freebie");
            }
        }
        if service.skips_invoice(&info.path) {
            return Admission::Answer {
                response: responses::error(
                    info.grpc,
                    StatusCode::UNAUTHORIZED,
                    Code::Unauthenticated,
                    "unauthorized",
                ),
                outcome: Outcome::Unauthorized,
                reason: refused.reason,
                detail: Some(refused.detail),
            };
        }
        Admission::Challenge {
            gate,
            reason: refused.reason,
            detail: Some(refused.detail),
        }
    }

    /// Phase 3a: challenge.
    async fn challenge(
        &self,
        gate: &Gate,
        route: &Route,
        info: &RequestInfo,
        price_sat: i64,
    ) -> Done {
        match gate
            .challenger
            .issue(&route.config, &info.path, price_sat)
            .await
        {
            Ok(issued) => {
                self.metrics.challenge_minted(&route.config.name);
                gate.unpaid.minted();
                Done {
                    token_id: Some(issued.token_id.to_hex()),
                    ..Done::answer(
                        responses::payment_required(
                            info.grpc,
                            &issued.challenge,
                            gate.challenge_form,
                        ),
                        Outcome::Challenged,
                        None,
                    )
                }
            }
            Err(error) => {
                tracing::error!(error = %error, service = %route.config.name, "cannot issue challenge");
                let message = l402_server::layer::unavailable_message(&error);
                let response = responses::error(
                    info.grpc,
                    StatusCode::SERVICE_UNAVAILABLE,
                    Code::Unavailable,
                    message,
                );
                Done {
                    detail: Some(error.to_string()),
                    ..Done::answer(response, Outcome::ChallengeFailed, Some(error.reason()))
                }
            }
        }
    }

    /// Phase 3b: forward.
    async fn forward(
        &self,
        route: &Route,
        upstream: &Upstream,
        request: Request<ClientBody>,
        info: &RequestInfo,
        admitted: Admitted,
    ) -> Done {
        let Admitted {
            authorization,
            token_id,
            outcome,
            reason,
        } = admitted;
        let started = Instant::now();
        let client_body = request.body().failure();
        let result = upstream
            .forward(request, info.grpc, info.client_ip, authorization)
            .await;
        let (response, upstream_status, detail) = match result {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                let status = parts.status.as_u16();
                responses::add_cors(&mut parts.headers);
                (
                    Response::from_parts(parts, body.boxed()),
                    Some(status),
                    None,
                )
            }
            // The client's body broke off: the client's fault, not the backend's.
            Err(_) if client_body.get().is_some() => {
                let (status, message) = match client_body.get() {
                    Some(BodyFailure::TimedOut) => {
                        (StatusCode::REQUEST_TIMEOUT, "request body timed out")
                    }
                    _ => (StatusCode::BAD_REQUEST, "malformed request body"),
                };
                let response = responses::error(info.grpc, status, Code::InvalidArgument, message);
                (response, Some(status.as_u16()), Some(message.to_owned()))
            }
            Err(error) => {
                tracing::warn!(error = %error, service = %route.config.name, "backend unreachable");
                let message = "backend unavailable";
                let response = responses::error(
                    info.grpc,
                    StatusCode::BAD_GATEWAY,
                    Code::Unavailable,
                    message,
                );
                (response, None, Some(message.to_owned()))
            }
        };
        let status = upstream_status.unwrap_or(StatusCode::BAD_GATEWAY.as_u16());
        self.metrics
            .upstream(&route.config.name, status, started.elapsed());
        Done {
            detail,
            token_id,
            upstream_status,
            ..Done::answer(response, outcome, reason)
        }
    }

    /// Phase 4: log. Takes the request's facts and the outcome by value (nothing is copied into the
    /// decision) and hands back the response.
    fn log(
        &self,
        service: Option<Arc<str>>,
        info: RequestInfo,
        done: Done,
        started: Instant,
    ) -> Response<ProxyBody> {
        let Done {
            response,
            outcome,
            reason,
            detail,
            token_id,
            upstream_status,
        } = done;
        let grpc_status = match upstream_status {
            Some(_) => None,
            None => response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok()),
        };
        let decision = Decision {
            service,
            outcome,
            reason: reason.map(std::borrow::Cow::Borrowed),
            detail,
            token_id,
            grpc: info.grpc,
            method: info.method.to_string(),
            path: info.path,
            client_ip: info.client_ip,
            status: response.status().as_u16(),
            grpc_status,
            upstream_status,
            elapsed: started.elapsed(),
        };
        self.metrics
            .request(decision.service.as_ref(), decision.outcome);
        decision.log();
        self.decisions.record(decision);
        response
    }
}
