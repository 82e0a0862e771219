//! `loop-demo --web`: the sequence as a live page. The stack runs as in the narrated demo; one page shows
//! a sequence diagram whose rows appear as the programs report what they do, with buttons that drive
//! them (a first and a repeat loop, and the unhappy paths: revocation, expiry, the proxy's lnd offline).
//!
//! - [`feed`]: the page events, kept and sent to each open page (bounded);
//! - [`translate`]: one task per program feed, turning its reports into rows;
//! - [`detail`]: what crossed the wire, secrets marked;
//! - [`actions`]: the buttons, one at a time;
//! - this module: the HTTP side — `GET /` (the page, its script and style, embedded), `GET /events`
//!   (server-sent events: the history, then live), `POST /actions/{name}` (202, or 409 with the reason).

pub mod actions;
pub mod detail;
pub mod feed;
pub mod translate;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::stream::{self, StreamExt};
use serde_json::json;
use service_kit::sse;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use actions::{Action, Actions};
use feed::{Feed, PageEvent};

use crate::programs::Programs;

const PAGE: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/app.js");
const STYLE: &str = include_str!("page/style.css");

/// How soon the page's loopd may buy a new token after its last re-purchase (`--l402rebuybackoff`):
/// short, so that a visitor can revoke a token and then make the next one expire without waiting ten
/// minutes, Loop's default.
pub const REBUY_BACKOFF: Duration = Duration::from_secs(3);

/// What the page's loops move.
#[derive(Debug, Clone, Copy)]
pub struct WebOptions {
    /// The first loop's amount, in satoshis.
    pub first_amount_sat: u64,
    /// The repeat loop's amount, in satoshis.
    pub repeat_amount_sat: u64,
}

/// The page's shared state.
#[derive(Clone)]
struct App {
    feed: Feed,
    actions: Actions,
    /// Ends every event stream at shutdown, so that the server can stop.
    closing: CancellationToken,
}

/// Serves the page on `listener` until `shutdown` completes, translating the programs' feeds meanwhile;
/// then stops what of them runs in this process.
pub async fn serve(
    programs: Programs,
    listener: TcpListener,
    options: WebOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let programs = Arc::new(programs);
    let feed = Feed::default();
    // Subscribed before the first page can press a button: nothing a program reports is missed.
    let translators = translate::spawn_all(&programs, &feed);
    feed.publish(translate::balances(programs.by_ref()).await);
    let app = App {
        actions: Actions::new(
            programs.clone(),
            feed.clone(),
            options.first_amount_sat,
            options.repeat_amount_sat,
        ),
        feed,
        closing: CancellationToken::new(),
    };
    let closing = app.closing.clone();
    let served = axum::serve(listener, router(app))
        .with_graceful_shutdown(async move {
            shutdown.await;
            closing.cancel();
        })
        .await;
    drop(translators);
    crate::programs::shutdown_shared(programs).await;
    served
}

fn router(app: App) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", PAGE) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route("/events", get(events))
        .route("/status", get(status))
        .route("/actions/{name}", post(act))
        .with_state(app)
}

/// An embedded file, allowed to load only the page's own script and style.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'self'"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// An error answer: `{"error": "…"}`.
fn refuse(status: StatusCode, message: impl ToString) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

/// `GET /events`: what happened so far, then every new event, as `data:` lines of JSON.
async fn events(State(app): State<App>) -> Response {
    let Some(watch) = app.feed.watch() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} pages are watching already; close one",
                feed::MAX_VIEWERS
            ),
        );
    };
    let permit = watch.permit;
    let history = stream::iter(watch.history).map(|event| Ok::<_, Infallible>(sse_event(&event)));
    let live = sse::live_with(watch.live, sse_event).map(Ok::<_, Infallible>);
    let closing = app.closing.clone();
    let stream = history
        .chain(live)
        .take_until(async move { closing.cancelled_owned().await })
        // The viewer's place is freed when the page goes away and the stream is dropped.
        .map(move |item| {
            let _ = &permit;
            item
        });
    sse::respond(stream)
}

fn sse_event(event: &Arc<PageEvent>) -> Event {
    sse::json_event(event).id(event.seq.to_string())
}

/// `GET /status`: whether an action runs, the token held, the proxy's lnd.
async fn status(State(app): State<App>) -> Response {
    Json(app.actions.status().await).into_response()
}

/// `POST /actions/{name}`: 202 once started, 409 with the reason when refused, 404 for no such action.
async fn act(State(app): State<App>, Path(name): Path<String>) -> Response {
    let Some(action) = Action::from_name(&name) else {
        return refuse(StatusCode::NOT_FOUND, format!("no action {name:?}"));
    };
    match app.actions.start(action) {
        Ok(()) => (StatusCode::ACCEPTED, Json(json!({ "started": name }))).into_response(),
        Err(refusal) => refuse(StatusCode::CONFLICT, refusal),
    }
}
