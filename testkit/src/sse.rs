//! A test's subscription to a program's server-sent event feed (`service_kit::sse`): opened with the
//! answer's status and content type checked, read one item at a time with a bounded wait.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use service_kit::sse::{read_json, ReadError, Received};

use crate::WAIT;

/// An open event stream of `T`.
pub struct Subscription<T> {
    events: Pin<Box<dyn Stream<Item = Result<Received<T>, ReadError>> + Send>>,
}

/// Sends `request` and checks that the answer is an event stream (200, `text/event-stream`). Once this
/// returns, the server has subscribed: every later event reaches the subscription.
pub async fn subscribe<T: DeserializeOwned + Send + 'static>(
    request: reqwest::RequestBuilder,
) -> Subscription<T> {
    let response = crate::within("opening an event stream", WAIT, request.send())
        .await
        .expect("in time")
        .expect("the event stream opens");
    assert_eq!(
        response.status(),
        reqwest::StatusCode::OK,
        "an event stream"
    );
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_TYPE],
        "text/event-stream"
    );
    Subscription {
        events: Box::pin(read_json(response.bytes_stream())),
    }
}

impl<T> Subscription<T> {
    /// The next item or lag notice, within [`WAIT`]; `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Received<T>> {
        crate::within("the next server-sent event", WAIT, self.events.next())
            .await
            .expect("in time")
            .map(|event| event.expect("a readable event"))
    }

    /// The next item (a lag notice or the end fails the test).
    pub async fn next_item(&mut self) -> T {
        match self.next().await {
            Some(Received::Item(item)) => item,
            Some(Received::Lagged(missed)) => panic!("the stream lagged by {missed} events"),
            None => panic!("the event stream ended"),
        }
    }

    /// Skips items until one satisfies `wanted`, and returns it.
    pub async fn next_where(&mut self, mut wanted: impl FnMut(&T) -> bool) -> T {
        loop {
            let item = self.next_item().await;
            if wanted(&item) {
                return item;
            }
        }
    }
}
