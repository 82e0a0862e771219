//! A program's live feed as server-sent events of JSON, and the reader on the other end.
//!
//! Server side: [`Feeds`] turns a `tokio::sync::broadcast` receiver into a `text/event-stream` answer, one
//! `data:` line of JSON per item. A subscriber that falls behind the channel's capacity gets an
//! `event: lagged` whose data is how many items it missed, then the stream goes on. Bounded: at most
//! `max_subscribers` streams at once (more are refused with 503), and every stream ends when
//! [`Feeds::close`] is called, so that a server's graceful shutdown is not held up by an endless answer.
//!
//! Client side: [`read_json`] turns the bytes of such an answer back into [`Received`] items.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use eventsource_stream::Eventsource;
use futures::stream::{self, Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{broadcast, Semaphore};
use tokio_util::sync::CancellationToken;

/// How often an idle stream sends a comment, so that proxies and browsers keep it open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The event name of a lag notice; its data is the number of items missed.
pub const LAGGED: &str = "lagged";

/// The event streams of one server: bounded in number, all ended at once on [`Feeds::close`].
#[derive(Debug, Clone)]
pub struct Feeds {
    subscribers: Arc<Semaphore>,
    closing: CancellationToken,
}

impl Feeds {
    /// At most `max_subscribers` streams at once.
    pub fn new(max_subscribers: usize) -> Self {
        Self {
            subscribers: Arc::new(Semaphore::new(max_subscribers)),
            closing: CancellationToken::new(),
        }
    }

    /// Ends every stream, now and from now on.
    pub fn close(&self) {
        self.closing.cancel();
    }

    /// The answer streaming every item `rx` receives from now on, or 503 when the streams are all taken.
    pub fn stream<T>(&self, rx: broadcast::Receiver<T>) -> Response
    where
        T: Serialize + Clone + Send + 'static,
    {
        let Ok(permit) = self.subscribers.clone().try_acquire_owned() else {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({
                    "error": "too many event streams are open; close one"
                })),
            )
                .into_response();
        };
        let closing = self.closing.clone();
        let events = live(rx)
            .take_until(async move { closing.cancelled_owned().await })
            // The subscriber's place is freed when its stream is dropped.
            .map(move |event| {
                let _ = &permit;
                Ok::<_, Infallible>(event)
            });
        respond(events)
    }
}

/// The events of every item `rx` receives, with a lag notice where it missed some; ends when the channel
/// closes.
pub fn live<T>(rx: broadcast::Receiver<T>) -> impl Stream<Item = Event> + Send
where
    T: Serialize + Clone + Send + 'static,
{
    live_with(rx, json_event)
}

/// [`live`], each item made into an event by `to_event` (e.g. [`json_event`] with an `id:`).
pub fn live_with<T>(
    rx: broadcast::Receiver<T>,
    to_event: fn(&T) -> Event,
) -> impl Stream<Item = Event> + Send
where
    T: Clone + Send + 'static,
{
    stream::unfold(rx, move |mut rx| async move {
        let event = match rx.recv().await {
            Ok(item) => to_event(&item),
            Err(broadcast::error::RecvError::Lagged(missed)) => lagged(missed),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((event, rx))
    })
}

/// One item as a `data:` line of JSON.
pub fn json_event<T: Serialize>(item: &T) -> Event {
    // Serialising our own types to JSON cannot fail (no maps with non-string keys); if one ever did, the
    // subscriber is told it missed an item rather than sent nothing.
    Event::default()
        .json_data(item)
        .unwrap_or_else(|_| lagged(1))
}

fn lagged(missed: u64) -> Event {
    Event::default().event(LAGGED).data(missed.to_string())
}

/// `events` as a `text/event-stream` answer with keep-alive comments.
pub fn respond(events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static) -> Response {
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// What a reader of a feed gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received<T> {
    /// One item.
    Item(T),
    /// The server says this subscriber missed this many items.
    Lagged(u64),
}

/// Why a feed could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The connection failed or the bytes are not an event stream.
    #[error("the event stream broke: {0}")]
    Stream(String),
    /// An event's data is not the JSON expected.
    #[error("an event is not the JSON expected: {0}")]
    Json(#[from] serde_json::Error),
}

/// The items of a feed, from the bytes of its answer (e.g. `reqwest::Response::bytes_stream`).
pub fn read_json<T, B, E>(
    bytes: impl Stream<Item = Result<B, E>> + Send + Unpin + 'static,
) -> impl Stream<Item = Result<Received<T>, ReadError>> + Send
where
    T: DeserializeOwned,
    B: AsRef<[u8]> + Send,
    E: std::fmt::Display + Send,
{
    bytes.eventsource().map(|event| {
        let event = event.map_err(|error| ReadError::Stream(error.to_string()))?;
        if event.event == LAGGED {
            let missed = event.data.trim().parse().map_err(|_| {
                ReadError::Stream(format!("a lag notice without a count: {:?}", event.data))
            })?;
            return Ok(Received::Lagged(missed));
        }
        Ok(Received::Item(serde_json::from_str(&event.data)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
    struct Item {
        n: u32,
    }

    async fn body_of(response: Response) -> Vec<u8> {
        to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body")
            .to_vec()
    }

    async fn read_all(bytes: Vec<u8>) -> Vec<Received<Item>> {
        let chunks = stream::iter([Ok::<_, Infallible>(bytes)]);
        read_json(chunks)
            .map(|item| item.expect("readable"))
            .collect()
            .await
    }

    #[tokio::test]
    async fn items_sent_arrive_in_order_and_a_closed_channel_ends_the_stream() {
        let (tx, rx) = broadcast::channel(8);
        let feeds = Feeds::new(1);
        let response = feeds.stream(rx);
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "an event stream"
        );
        for n in 1..=3 {
            tx.send(Item { n }).expect("a subscriber");
        }
        drop(tx);
        let received = read_all(body_of(response).await).await;
        assert_eq!(
            received,
            (1..=3)
                .map(|n| Received::Item(Item { n }))
                .collect::<Vec<_>>()
        );
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_how_many_items_it_missed() {
        let (tx, rx) = broadcast::channel(2);
        let response = Feeds::new(1).stream(rx);
        for n in 1..=5 {
            tx.send(Item { n }).expect("a subscriber");
        }
        drop(tx);
        let received = read_all(body_of(response).await).await;
        assert_eq!(
            received,
            vec![
                Received::Lagged(3),
                Received::Item(Item { n: 4 }),
                Received::Item(Item { n: 5 })
            ]
        );
    }

    #[tokio::test]
    async fn streams_beyond_the_bound_are_refused_until_one_is_dropped() {
        let (tx, _) = broadcast::channel::<Item>(2);
        let feeds = Feeds::new(1);
        let first = feeds.stream(tx.subscribe());
        assert_eq!(
            feeds.stream(tx.subscribe()).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        drop(first);
        assert_eq!(feeds.stream(tx.subscribe()).status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn close_ends_open_streams_though_the_channel_lives_on() {
        let (tx, rx) = broadcast::channel::<Item>(2);
        let feeds = Feeds::new(1);
        let response = feeds.stream(rx);
        feeds.close();
        assert!(read_all(body_of(response).await).await.is_empty());
        drop(tx);
    }

    #[tokio::test]
    async fn data_that_is_not_the_json_expected_is_an_error() {
        let chunks = stream::iter([Ok::<_, Infallible>(b"data: {\"m\": 1}\n\n".to_vec())]);
        let received: Vec<_> = read_json::<Item, _, _>(chunks).collect().await;
        assert!(
            matches!(received[..], [Err(ReadError::Json(_))]),
            "{received:?}"
        );
    }
}
