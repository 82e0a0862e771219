//! Starting the page over a fresh stack, and reading its server-sent events.

use std::time::Duration;

use loop_demo::web::{self, WebOptions};
use serde_json::Value;
use testkit::stack::{Stack, StackOptions};
use tokio::sync::oneshot;

pub use testkit::WAIT;

/// The first and the repeat loop's amounts.
pub const FIRST_SAT: u64 = 250_000;
pub const REPEAT_SAT: u64 = 100_000;

/// A page served in this process; stops when dropped.
pub struct Page {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// loopd's token directory (`l402.token`), read to check that no secret reaches the page.
    pub token_dir: std::path::PathBuf,
    pub http: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

impl Page {
    /// A stack (re-purchases without back-off, so that the unhappy paths can follow each other) and its
    /// page on an ephemeral port.
    pub async fn start() -> Self {
        let stack = Stack::start(StackOptions {
            rebuy_backoff: Duration::ZERO,
            ..StackOptions::default()
        })
        .await
        .expect("the stack starts");
        let token_dir = stack.loopd_data_dir();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let options = WebOptions {
            first_amount_sat: FIRST_SAT,
            repeat_amount_sat: REPEAT_SAT,
        };
        tokio::spawn(web::serve(stack, listener, options, async move {
            let _ = stopped.await;
        }));
        Self {
            url,
            token_dir,
            http: reqwest::Client::new(),
            _stop: stop,
        }
    }

    /// `POST /actions/{name}`: the status and the JSON answer.
    pub async fn act(&self, name: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/actions/{name}", self.url))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Opens the event stream.
    pub async fn events(&self) -> Events {
        let response = self
            .http
            .get(format!("{}/events", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "server-sent events"
        );
        Events {
            response,
            buffer: String::new(),
        }
    }
}

/// A page's event stream.
pub struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// The next event's JSON (comments and keep-alives skipped).
    pub async fn next(&mut self) -> Value {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let data: Vec<&str> = block
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                assert!(
                    !block.lines().any(|l| l == "event: lagged"),
                    "the test's stream lagged: {block}"
                );
                if !data.is_empty() {
                    return serde_json::from_str(&data.join("\n")).expect("JSON data");
                }
                continue;
            }
            let chunk = testkit::within("the next page event", WAIT, self.response.chunk())
                .await
                .expect("an event in time")
                .expect("the stream reads")
                .expect("the stream stays open");
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    /// Every event up to the one that ends the running action (the buttons' state turning idle).
    pub async fn until_idle(&mut self) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let idle = event["kind"] == "status" && event["detail"]["busy"] == false;
            seen.push(event);
            if idle {
                return seen;
            }
        }
    }
}

/// The events of `kind` among `events`.
pub fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

/// Whether some event of `kind` has a label containing `text`.
pub fn has_row(events: &[Value], kind: &str, text: &str) -> bool {
    of_kind(events, kind)
        .iter()
        .any(|e| e["label"].as_str().unwrap_or("").contains(text))
}
