//! The operator's feed of every swap's state changes, on a listener of its own (`--eventslisten`), as
//! server-sent events of JSON: `GET /v1/swaps/updates` streams each [`SwapUpdate`] from now on, e.g.
//! `{"swap_hash": "…", "seq": 1, "state": "SERVER_HTLC_PUBLISHED", "timestamp_ns": …}`.
//!
//! It is not behind the L402 proxy and has no authentication: it names every client's swaps, so keep it on
//! a private address (loopback, or a network only the operator's tools join). At most
//! [`MAX_UPDATE_STREAMS`] streams at once.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use service_kit::sse::Feeds;

use crate::manager::SwapManager;
use crate::swap::SwapUpdate;

/// Update streams served at once.
pub const MAX_UPDATE_STREAMS: usize = 8;

/// The events routes for `manager`'s swaps; `feeds` bounds the streams and ends them at shutdown.
pub fn router(manager: SwapManager, feeds: Feeds) -> Router {
    Router::new()
        .route("/v1/swaps/updates", get(updates))
        .with_state((manager, feeds))
}

async fn updates(State((manager, feeds)): State<(SwapManager, Feeds)>) -> Response {
    feeds.stream::<SwapUpdate>(manager.subscribe_all())
}
