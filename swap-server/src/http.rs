//! The JSON-over-HTTP front end: the same operations as the gRPC service.
//!
//! Bytes are lowercase hex, amounts are satoshis, states are the proto enum
//! names (`SERVER_HTLC_PUBLISHED`). Errors are `{"code": "...", "message": "..."}`
//! with 400 (invalid argument), 403 (not the owner), 404 (unknown swap or
//! route), 409 (duplicate swap hash, or wrong state), 503 (lnd or database
//! unavailable), 500 otherwise.
//!
//! | method and path | body / query | answer |
//! |---|---|---|
//! | `GET /v1/loop/out/terms` | | [`TermsJson`] |
//! | `GET /v1/loop/out/quote/{amt}` | `?swap_publication_deadline=&expiry=` | [`QuoteJson`] |
//! | `POST /v1/loop/out` | [`NewSwapJson`] | [`NewSwapResponseJson`] |
//! | `POST /v1/loop/out/preimage` | [`PushPreimageJson`] | `{}` |
//! | `GET /v1/loop/out/{swap_hash}` | | [`StatusJson`] |
//! | `GET /v1/loop/out/{swap_hash}/updates` | | NDJSON stream of [`UpdateJson`], current state first |
//! | `POST /v1/loop/out/{swap_hash}/cancel` | [`CancelJson`] | `{}` |

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use proto::looprpc::{
    cancel_loop_out_swap_request::CancelInfo, CancelLoopOutSwapRequest, RouteCancel,
    RoutePaymentType, ServerLoopOutQuoteRequest, ServerLoopOutRequest,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorBody, SwapError};
use crate::manager::{SwapManager, SwapStatus};
use crate::swap::{Hash32, SwapUpdate};
use crate::token::token_id_from_headers;

/// `GET /v1/loop/out/terms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsJson {
    /// Smallest swap amount, sat.
    pub min_swap_amount: u64,
    /// Largest swap amount, sat.
    pub max_swap_amount: u64,
    /// Smallest HTLC cltv delta, blocks.
    pub min_cltv_delta: i32,
    /// Largest HTLC cltv delta, blocks.
    pub max_cltv_delta: i32,
}

/// Query of `GET /v1/loop/out/quote/{amt}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteQuery {
    /// Unix seconds by which the HTLC should be published.
    #[serde(default)]
    pub swap_publication_deadline: i64,
    /// Requested HTLC expiry height.
    #[serde(default)]
    pub expiry: i32,
}

/// `GET /v1/loop/out/quote/{amt}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteJson {
    /// The server node's public key (hex), where the swap payment goes.
    pub swap_payment_dest: String,
    /// Total swap fee, sat.
    pub swap_fee: i64,
    /// Prepay amount, sat (part of amount + fee).
    pub prepay_amt: u64,
}

/// Body of `POST /v1/loop/out`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSwapJson {
    /// The client's HTLC key, 33 bytes hex.
    pub receiver_key: String,
    /// `sha256(preimage)`, 32 bytes hex.
    pub swap_hash: String,
    /// Swap amount, sat.
    pub amt: u64,
    /// Unix seconds by which the HTLC should be published.
    #[serde(default)]
    pub swap_publication_deadline: i64,
    /// Requested HTLC expiry height (0 = none).
    #[serde(default)]
    pub expiry: i32,
    /// Loop protocol version number.
    #[serde(default)]
    pub protocol_version: i32,
    /// Free-form client description.
    #[serde(default)]
    pub user_agent: String,
}

/// Answer of `POST /v1/loop/out`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSwapResponseJson {
    /// BOLT 11 hold invoice for amount + fee - prepay, locked to the swap hash.
    pub swap_invoice: String,
    /// BOLT 11 hold invoice for the prepay.
    pub prepay_invoice: String,
    /// The server's HTLC key, 33 bytes hex.
    pub sender_key: String,
    /// A message from the server.
    pub server_message: String,
}

/// Body of `POST /v1/loop/out/preimage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushPreimageJson {
    /// The swap preimage, 32 bytes hex.
    pub preimage: String,
}

/// Body of `POST /v1/loop/out/{swap_hash}/cancel`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelJson {
    /// The swap invoice's payment address, 32 bytes hex.
    pub payment_address: String,
    /// `PREPAY_ROUTE` or `INVOICE_ROUTE`: which payment the client could not route.
    #[serde(default)]
    pub route_type: Option<String>,
}

/// One state of a swap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateJson {
    /// `ServerSwapState` name.
    pub state: String,
    /// When the swap entered the state, Unix nanoseconds.
    pub timestamp_ns: i64,
}

impl From<&SwapUpdate> for UpdateJson {
    fn from(update: &SwapUpdate) -> Self {
        Self {
            state: update.state.as_str_name().to_owned(),
            timestamp_ns: update.timestamp_ns,
        }
    }
}

/// `GET /v1/loop/out/{swap_hash}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusJson {
    /// The swap hash, hex.
    pub swap_hash: String,
    /// Current state name.
    pub state: String,
    /// When the swap entered it, Unix nanoseconds.
    pub timestamp_ns: i64,
    /// Swap amount, sat.
    pub amt: u64,
    /// Total swap fee, sat.
    pub swap_fee: u64,
    /// Prepay amount, sat.
    pub prepay_amt: u64,
    /// The swap invoice.
    pub swap_invoice: String,
    /// The prepay invoice.
    pub prepay_invoice: String,
    /// The server's HTLC key, hex.
    pub sender_key: String,
    /// Simulated HTLC transaction id, once published.
    pub htlc_txid: Option<String>,
    /// Simulated timeout sweep transaction id, if the HTLC timed out.
    pub timeout_txid: Option<String>,
    /// Every state so far, in order.
    pub updates: Vec<UpdateJson>,
}

impl From<&SwapStatus> for StatusJson {
    fn from(status: &SwapStatus) -> Self {
        let s = &status.swap;
        Self {
            swap_hash: s.swap_hash.to_string(),
            state: s.state.as_str_name().to_owned(),
            timestamp_ns: s.state_ns,
            amt: s.amount_sat,
            swap_fee: s.fee_sat,
            prepay_amt: s.prepay_amt_sat,
            swap_invoice: s.swap_invoice.clone(),
            prepay_invoice: s.prepay_invoice.clone(),
            sender_key: hex::encode(&s.sender_key),
            htlc_txid: s.htlc_txid.clone(),
            timeout_txid: s.timeout_txid.clone(),
            updates: status.updates.iter().map(UpdateJson::from).collect(),
        }
    }
}

/// The HTTP routes, for `manager`.
pub fn router(manager: SwapManager) -> Router {
    Router::new()
        .route("/v1/loop/out/terms", get(terms))
        .route("/v1/loop/out/quote/{amt}", get(quote))
        .route("/v1/loop/out", post(new_swap))
        .route("/v1/loop/out/preimage", post(push_preimage))
        .route("/v1/loop/out/{swap_hash}", get(status))
        .route("/v1/loop/out/{swap_hash}/updates", get(updates))
        .route("/v1/loop/out/{swap_hash}/cancel", post(cancel))
        .fallback(not_found)
        .with_state(manager)
}

fn parse_json<T: DeserializeOwned>(body: &Bytes) -> Result<T, SwapError> {
    serde_json::from_slice(body)
        .map_err(|e| SwapError::InvalidArgument(format!("invalid JSON body: {e}")))
}

fn parse_hex(text: &str, field: &str) -> Result<Vec<u8>, SwapError> {
    hex::decode(text).map_err(|_| SwapError::InvalidArgument(format!("{field} must be hex")))
}

async fn not_found() -> Response {
    let body = ErrorBody {
        code: "not_found".into(),
        message: "no such route".into(),
    };
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

async fn terms(State(manager): State<SwapManager>) -> Json<TermsJson> {
    let t = manager.terms();
    Json(TermsJson {
        min_swap_amount: t.min_swap_amount,
        max_swap_amount: t.max_swap_amount,
        min_cltv_delta: t.min_cltv_delta,
        max_cltv_delta: t.max_cltv_delta,
    })
}

async fn quote(
    State(manager): State<SwapManager>,
    Path(amt): Path<String>,
    Query(query): Query<QuoteQuery>,
) -> Result<Json<QuoteJson>, SwapError> {
    let amt = amt.parse::<u64>().map_err(|_| {
        SwapError::InvalidArgument(format!("amount {amt:?} is not a number of satoshis"))
    })?;
    let q = manager
        .quote(&ServerLoopOutQuoteRequest {
            amt,
            swap_publication_deadline: query.swap_publication_deadline,
            expiry: query.expiry,
            ..Default::default()
        })
        .await?;
    Ok(Json(QuoteJson {
        swap_payment_dest: q.swap_payment_dest,
        swap_fee: q.swap_fee,
        prepay_amt: q.prepay_amt,
    }))
}

async fn new_swap(
    State(manager): State<SwapManager>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<NewSwapResponseJson>, SwapError> {
    let request: NewSwapJson = parse_json(&body)?;
    let request = ServerLoopOutRequest {
        receiver_key: parse_hex(&request.receiver_key, "receiver_key")?,
        swap_hash: parse_hex(&request.swap_hash, "swap_hash")?,
        amt: request.amt,
        swap_publication_deadline: request.swap_publication_deadline,
        protocol_version: request.protocol_version,
        expiry: request.expiry,
        user_agent: request.user_agent,
    };
    let response = manager
        .new_swap(request, token_id_from_headers(&headers))
        .await?;
    Ok(Json(NewSwapResponseJson {
        swap_invoice: response.swap_invoice,
        prepay_invoice: response.prepay_invoice,
        sender_key: hex::encode(response.sender_key),
        server_message: response.server_message,
    }))
}

async fn push_preimage(
    State(manager): State<SwapManager>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, SwapError> {
    let request: PushPreimageJson = parse_json(&body)?;
    manager
        .push_preimage(&parse_hex(&request.preimage, "preimage")?)
        .await?;
    Ok(Json(serde_json::json!({})))
}

async fn status(
    State(manager): State<SwapManager>,
    Path(swap_hash): Path<String>,
) -> Result<Json<StatusJson>, SwapError> {
    let hash: Hash32 = swap_hash.parse()?;
    Ok(Json(StatusJson::from(&manager.status(&hash).await?)))
}

async fn updates(
    State(manager): State<SwapManager>,
    Path(swap_hash): Path<String>,
) -> Result<Response, SwapError> {
    let hash: Hash32 = swap_hash.parse()?;
    let stream = manager.subscribe(hash).await?.map(|update| {
        let mut line = serde_json::to_vec(&UpdateJson::from(&update)).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, Infallible>(Bytes::from(line))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn cancel(
    State(manager): State<SwapManager>,
    Path(swap_hash): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, SwapError> {
    let hash: Hash32 = swap_hash.parse()?;
    let request: CancelJson = parse_json(&body)?;
    let cancel_info = match request.route_type.as_deref() {
        None => None,
        Some(name) => {
            let route_type = RoutePaymentType::from_str_name(name).ok_or_else(|| {
                SwapError::InvalidArgument(format!(
                    "route_type must be PREPAY_ROUTE or INVOICE_ROUTE, got {name:?}"
                ))
            })?;
            Some(CancelInfo::RouteCancel(RouteCancel {
                route_type: route_type as i32,
                ..Default::default()
            }))
        }
    };
    manager
        .cancel(
            CancelLoopOutSwapRequest {
                swap_hash: hash.as_bytes().to_vec(),
                payment_address: parse_hex(&request.payment_address, "payment_address")?,
                cancel_info,
                ..Default::default()
            },
            token_id_from_headers(&headers),
        )
        .await?;
    Ok(Json(serde_json::json!({})))
}
