//! The operator's side doors, each on its own listener: Prometheus `/metrics`, and the admin API (loopback by
//! default) protected by an admin macaroon of its own.
//!
//! Admin API, authenticated with the admin macaroon as hex in a `macaroon` or `Grpc-Metadata-Macaroon` header
//! (the way lnd's REST clients send theirs):
//! - `GET /v1/tokens?limit=&after=&status=&service=` → `{"tokens": [TokenRecord…], "next": cursor|null}`:
//!   one page, newest first, at most 1000 records (100 by default); `after` is the previous page's `next`,
//!   `status` one of `paid`, `unpaid`, `revoked`. A bad parameter is a 400 naming it.
//! - `POST /v1/tokens/{token_id}/revoke` (or `DELETE /v1/tokens/{token_id}`) → `{"revoked": true}`, 404 if no
//!   such unrevoked token.
//! - `GET /v1/decisions` → server-sent events: every [`Decision`](crate::Decision) from now on, one JSON object
//!   per `data:` line (`event: lagged` with a count when the reader fell behind); at most
//!   [`MAX_DECISION_STREAMS`] at once.
//!
//! The admin macaroon's root key lives in `<basedir>/admin.rootkey` (mode 0600) and the macaroon itself in
//! `admin.macaroonpath` (binary, mode 0600); deleting the root key file and restarting invalidates it.

use std::path::Path;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use l402::RootKey;
use serde_json::json;

use service_kit::files::{self as private_files, write_private};
use service_kit::sse::Feeds;

use crate::files::FileError;
use crate::handle::ProxyHandle;
use crate::l402_bridge;
use crate::metrics::Metrics;
use crate::store::{TokenQuery, DEFAULT_PAGE, MAX_PAGE};

/// The admin macaroon's root key, loaded or created at start-up.
#[derive(Clone)]
pub struct AdminAuth {
    root_key: std::sync::Arc<RootKey>,
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminAuth(..)")
    }
}

impl AdminAuth {
    /// Loads `<base_dir>/admin.rootkey` (creating it if missing) and writes the admin macaroon to
    /// `macaroon_path` if it does not exist yet.
    pub fn load_or_create(base_dir: &Path, macaroon_path: &Path) -> Result<AdminAuth, FileError> {
        let key_path = base_dir.join("admin.rootkey");
        private_files::create_private_dir(base_dir)?;
        private_files::warn_if_exposed(base_dir);
        private_files::warn_if_exposed(&key_path);
        let root_key = match std::fs::read_to_string(&key_path) {
            Ok(text) => RootKey::from_hex(text.trim()).map_err(|_| {
                FileError::Invalid(format!("{}: not a 32-byte hex key", key_path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = RootKey::random();
                write_private(&key_path, key.to_hex().as_bytes())?;
                // A new key invalidates any old macaroon file.
                let _ = std::fs::remove_file(macaroon_path);
                key
            }
            Err(e) => return Err(private_files::FileError::at(&key_path)(e).into()),
        };
        if !macaroon_path.exists() {
            let macaroon = l402_bridge::mint_admin_macaroon(&root_key)
                .map_err(|e| FileError::Invalid(e.to_string()))?;
            write_private(macaroon_path, &macaroon)?;
        }
        Ok(AdminAuth {
            root_key: std::sync::Arc::new(root_key),
        })
    }

    fn allows(&self, headers: &HeaderMap) -> bool {
        ["macaroon", "grpc-metadata-macaroon"]
            .iter()
            .filter_map(|name| headers.get(*name))
            .filter_map(|value| value.to_str().ok())
            .any(|hex| l402_bridge::is_admin_macaroon(hex, &self.root_key))
    }
}

/// Decision streams (`GET /v1/decisions`) served at once.
pub const MAX_DECISION_STREAMS: usize = 8;

#[derive(Clone)]
struct AdminState {
    auth: AdminAuth,
    handle: ProxyHandle,
    feeds: Feeds,
}

/// The admin API router; `feeds` bounds the decision streams and ends them at shutdown.
pub fn admin_router(auth: AdminAuth, handle: ProxyHandle, feeds: Feeds) -> Router {
    let state = AdminState {
        auth,
        handle,
        feeds,
    };
    Router::new()
        .route("/v1/decisions", get(stream_decisions))
        .route("/v1/tokens", get(list_tokens))
        .route("/v1/tokens/{token_id}/revoke", post(revoke))
        .route("/v1/tokens/{token_id}", delete(revoke))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_macaroon,
        ))
        .with_state(state)
}

async fn require_macaroon(
    State(state): State<AdminState>,
    request: Request,
    next: Next,
) -> Response {
    if state.auth.allows(request.headers()) {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "admin macaroon required"})),
        )
            .into_response()
    }
}

/// `GET /v1/decisions`: the decision feed as server-sent events.
async fn stream_decisions(State(state): State<AdminState>) -> Response {
    state.feeds.stream(state.handle.subscribe_decisions())
}

/// The query string of `GET /v1/tokens`, as given.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    limit: Option<u32>,
    after: Option<String>,
    status: Option<String>,
    service: Option<String>,
}

impl ListParams {
    fn query(self) -> Result<TokenQuery, String> {
        let limit = match self.limit {
            None => DEFAULT_PAGE,
            Some(n @ 1..=MAX_PAGE) => n,
            Some(n) => return Err(format!("limit {n} is not between 1 and {MAX_PAGE}")),
        };
        Ok(TokenQuery {
            limit,
            after: self.after.as_deref().map(str::parse).transpose()?,
            status: self.status.as_deref().map(str::parse).transpose()?,
            service: self.service,
        })
    }
}

async fn list_tokens(
    State(state): State<AdminState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Response {
    let query = match params
        .map_err(|e| e.body_text())
        .and_then(|Query(p)| p.query())
    {
        Ok(query) => query,
        Err(error) => {
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
        }
    };
    match state.handle.tokens(&query).await {
        Ok(page) => Json(json!({
            "tokens": page.tokens,
            "next": page.next.map(|cursor| cursor.to_string()),
        }))
        .into_response(),
        Err(error) => {
            tracing::error!(error = %error, "admin: cannot list tokens");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "token store unavailable"})),
            )
                .into_response()
        }
    }
}

async fn revoke(State(state): State<AdminState>, UrlPath(token_id): UrlPath<String>) -> Response {
    match state.handle.revoke(&token_id).await {
        Ok(true) => {
            tracing::info!(token_id = %token_id, "admin: token revoked");
            Json(json!({ "revoked": true })).into_response()
        }
        Ok(false) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such unrevoked token"})),
        )
            .into_response(),
        Err(crate::handle::HandleError::BadTokenId) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "token id must be 64 hex characters"})),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(error = %error, "admin: cannot revoke");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "token store unavailable"})),
            )
                .into_response()
        }
    }
}

/// The Prometheus router: `GET /metrics`.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.render(),
                )
            }
        }),
    )
}
