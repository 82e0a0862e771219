//! An HTTP control endpoint exposing the test hooks to other processes (`mock-lnd --control-listen`).
//!
//! Meant for loopback use by test scripts; it has no authentication, so never expose it.
//!
//! | method and path | body | effect |
//! |---|---|---|
//! | `GET /nodes` | | every node: name, host, REST URL, pubkey, files, balance, counts, online |
//! | `GET /nodes/{name}` | | one node |
//! | `POST /nodes/{name}/offline` | | close its listener and connections; payments to it fail `NO_ROUTE` |
//! | `POST /nodes/{name}/online` | | serve again on the same address |
//! | `POST /nodes/{name}/fail-next-payments` | `{"count": 2, "reason": "NO_ROUTE"}` | its next `count` payments fail |
//! | `GET /latency`, `PUT /latency` | `{"latency_ms": 250}` | delay before each payment attempt |
//! | `GET /total-balance` | | `{"total_balance_msat": …}` (conserved) |
//! | `GET /events` | | server-sent events: every [`NetworkEvent`] from now on, as JSON (at most [`MAX_EVENT_STREAMS`] at once) |
//!
//! Answers are JSON; errors are `{"error": "…"}` with 400 (bad request) or 404 (unknown node).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use service_kit::sse::Feeds;

use crate::{FailureReason, MockNetwork, NetworkEvent, NodeHandle};

/// Event streams (`GET /events`) served at once.
pub const MAX_EVENT_STREAMS: usize = 8;

/// What the control endpoint reports about a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Node name (and alias).
    pub name: String,
    /// `host:port` of its gRPC listener.
    pub host: String,
    /// Identity public key, hex.
    pub pubkey: String,
    /// Whether it is online.
    pub online: bool,
    /// Whether it serves TLS.
    pub tls: bool,
    /// Base URL of its REST listener, if it has one.
    pub rest_url: Option<String>,
    /// Path of `tls.cert`.
    pub tls_cert_path: PathBuf,
    /// Path of `admin.macaroon`.
    pub admin_macaroon_path: PathBuf,
    /// Path of `invoice.macaroon`.
    pub invoice_macaroon_path: PathBuf,
    /// Spendable balance.
    pub balance_msat: u64,
    /// Invoices created.
    pub invoice_count: usize,
    /// Payments sent.
    pub payment_count: usize,
}

impl From<&NodeHandle> for NodeInfo {
    fn from(node: &NodeHandle) -> Self {
        Self {
            name: node.name().to_owned(),
            host: node.host(),
            pubkey: node.pubkey().to_string(),
            online: node.is_online(),
            tls: node.tls(),
            rest_url: node.rest_url(),
            tls_cert_path: node.tls_cert_path(),
            admin_macaroon_path: node.admin_macaroon_path(),
            invoice_macaroon_path: node.invoice_macaroon_path(),
            balance_msat: node.balance_msat(),
            invoice_count: node.invoice_count(),
            payment_count: node.payment_count(),
        }
    }
}

/// Body of `POST /nodes/{name}/fail-next-payments`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailNextPayments {
    /// How many of the node's next payments fail (0 clears).
    pub count: u32,
    /// lnd's failure reason, e.g. `NO_ROUTE` or `FAILURE_REASON_NO_ROUTE`.
    pub reason: String,
}

/// Body and answer of `/latency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    /// Delay before each payment attempt, in milliseconds.
    pub latency_ms: u64,
}

/// Answer of `GET /total-balance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalBalance {
    /// Balances + held hold-invoice money + routing fees earned.
    pub total_balance_msat: u64,
}

/// An error answer.
#[derive(Debug)]
enum ControlError {
    UnknownNode(String),
    BadRequest(String),
    Internal(String),
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::UnknownNode(name) => (StatusCode::NOT_FOUND, format!("unknown node {name:?}")),
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            Self::Internal(message) => (StatusCode::INTERNAL_SERVER_ERROR, message),
        };
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

type Net = Arc<MockNetwork>;

fn find(net: &MockNetwork, name: &str) -> Result<NodeHandle, ControlError> {
    net.try_node(name)
        .ok_or_else(|| ControlError::UnknownNode(name.to_owned()))
}

/// The control routes for `net`; `feeds` bounds and ends the event streams.
pub fn router(net: Arc<MockNetwork>, feeds: Feeds) -> Router {
    let events = Router::new()
        .route("/events", get(events))
        .with_state((net.clone(), feeds));
    Router::new()
        .route("/nodes", get(list_nodes))
        .route("/nodes/{name}", get(show_node))
        .route("/nodes/{name}/offline", post(offline))
        .route("/nodes/{name}/online", post(online))
        .route("/nodes/{name}/fail-next-payments", post(fail_next_payments))
        .route(
            "/latency",
            get(get_latency).put(set_latency).post(set_latency),
        )
        .route("/total-balance", get(total_balance))
        .with_state(net)
        .merge(events)
}

/// Serves [`router`] on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    net: Arc<MockNetwork>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let feeds = Feeds::new(MAX_EVENT_STREAMS);
    let closing = feeds.clone();
    axum::serve(listener, router(net, feeds))
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Event streams never end by themselves.
            closing.close();
        })
        .await
}

/// `GET /events`: the network's events as server-sent events of JSON.
async fn events(State((net, feeds)): State<(Net, Feeds)>) -> Response {
    feeds.stream::<NetworkEvent>(net.subscribe_events())
}

async fn list_nodes(State(net): State<Net>) -> Json<Vec<NodeInfo>> {
    Json(net.nodes().iter().map(NodeInfo::from).collect())
}

async fn show_node(
    State(net): State<Net>,
    Path(name): Path<String>,
) -> Result<Json<NodeInfo>, ControlError> {
    Ok(Json(NodeInfo::from(&find(&net, &name)?)))
}

async fn offline(
    State(net): State<Net>,
    Path(name): Path<String>,
) -> Result<Json<NodeInfo>, ControlError> {
    switch(&net, &name, true).await
}

async fn online(
    State(net): State<Net>,
    Path(name): Path<String>,
) -> Result<Json<NodeInfo>, ControlError> {
    switch(&net, &name, false).await
}

async fn switch(
    net: &MockNetwork,
    name: &str,
    offline: bool,
) -> Result<Json<NodeInfo>, ControlError> {
    let node = find(net, name)?;
    node.try_set_offline(offline)
        .await
        .map_err(|e| ControlError::Internal(e.to_string()))?;
    Ok(Json(NodeInfo::from(&node)))
}

async fn fail_next_payments(
    State(net): State<Net>,
    Path(name): Path<String>,
    Json(body): Json<FailNextPayments>,
) -> Result<Json<NodeInfo>, ControlError> {
    let node = find(&net, &name)?;
    let reason: FailureReason = body
        .reason
        .parse()
        .map_err(|e| ControlError::BadRequest(format!("{e}")))?;
    node.fail_next_payments(body.count, reason);
    tracing::info!(node = %name, count = body.count, %reason, "next payments will fail");
    Ok(Json(NodeInfo::from(&node)))
}

async fn get_latency(State(net): State<Net>) -> Json<Latency> {
    let latency_ms = u64::try_from(net.payment_latency().as_millis()).unwrap_or(u64::MAX);
    Json(Latency { latency_ms })
}

async fn set_latency(State(net): State<Net>, Json(body): Json<Latency>) -> Json<Latency> {
    net.set_payment_latency(Duration::from_millis(body.latency_ms));
    tracing::info!(latency_ms = body.latency_ms, "payment latency set");
    Json(body)
}

async fn total_balance(State(net): State<Net>) -> Json<TotalBalance> {
    Json(TotalBalance {
        total_balance_msat: net.total_balance_msat(),
    })
}
