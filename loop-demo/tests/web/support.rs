//! Starting the page over a fresh stack — in process, or as another deployment reached over the network —
//! and reading its server-sent events.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use l402_client::L402Config;
use loop_demo::programs::Programs;
use loop_demo::remote::{Remote, RemoteOptions};
use loop_demo::web::{self, WebOptions};
use serde_json::Value;
use service_kit::sse::Feeds;
use swap_client::config::ServerTls;
use testkit::stack::{Stack, StackOptions, CLIENT_NODE};
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
    /// The other deployment, when the page shows one.
    _remote: Option<RemoteDeployment>,
}

/// A stack serving the listeners a deployment exposes to the page: mock-lnd's control endpoint, the proxy's
/// admin API, swap-server's events listener.
struct RemoteDeployment {
    _stack: Stack,
    _loop_dir: tempfile::TempDir,
}

/// A stack whose loopd re-purchases without back-off, so that the unhappy paths can follow each other.
async fn stack() -> Stack {
    Stack::start(StackOptions {
        rebuy_backoff: Duration::ZERO,
        ..StackOptions::default()
    })
    .await
    .expect("the stack starts")
}

/// Serves `router` on an ephemeral loopback port (until the test's runtime ends).
async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

impl Page {
    /// A stack in this process and its page on an ephemeral port.
    pub async fn start() -> Self {
        let stack = stack().await;
        let token_dir = stack.loopd_data_dir();
        Self::serve(Programs::InProcess(stack), token_dir, None).await
    }

    /// The page of another deployment (as in docker compose): a stack whose programs the page reaches only
    /// over their control, admin and events listeners, with a loopd of the page's own.
    pub async fn start_remote() -> Self {
        let stack = stack().await;
        let control = serve(mock_lnd::control::router(
            stack.shared_network(),
            Feeds::new(4),
        ))
        .await;
        let admin_dir = stack.dir().join("admin");
        let admin_macaroon = admin_dir.join("admin.macaroon");
        let auth = auth_proxy::admin::AdminAuth::load_or_create(&admin_dir, &admin_macaroon)
            .expect("an admin macaroon");
        let admin = serve(auth_proxy::admin::admin_router(
            auth,
            stack.proxy().clone(),
            Feeds::new(4),
        ))
        .await;
        let events = serve(swap_server::events::router(
            stack.swap_server().clone(),
            Feeds::new(4),
        ))
        .await;
        let loop_dir = tempfile::tempdir().unwrap();
        let remote = Remote::connect(RemoteOptions {
            mock_lnd_control: format!("http://{control}"),
            proxy_admin: format!("http://{admin}"),
            proxy_admin_macaroon: admin_macaroon,
            swap_server_events: format!("http://{events}"),
            proxy_host: stack.proxy_addr().to_string(),
            proxy_tls: ServerTls::Pinned(stack.proxy_cert().expect("a TLS proxy")),
            lnd: stack.node(CLIENT_NODE).lnd_config(),
            loop_dir: loop_dir.path().to_owned(),
            l402: L402Config {
                rebuy_backoff: Duration::ZERO,
                ..L402Config::default()
            },
        })
        .await
        .expect("the page reaches the deployment");
        let token_dir = testkit::loopd::data_dir(loop_dir.path());
        let deployment = RemoteDeployment {
            _stack: stack,
            _loop_dir: loop_dir,
        };
        Self::serve(Programs::Remote(remote), token_dir, Some(deployment)).await
    }

    async fn serve(
        programs: Programs,
        token_dir: std::path::PathBuf,
        remote: Option<RemoteDeployment>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let options = WebOptions {
            first_amount_sat: FIRST_SAT,
            repeat_amount_sat: REPEAT_SAT,
        };
        tokio::spawn(web::serve(programs, listener, options, async move {
            let _ = stopped.await;
        }));
        Self {
            url,
            token_dir,
            http: reqwest::Client::new(),
            _stop: stop,
            _remote: remote,
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

    /// Every event up to the one that ends the running action (the buttons' state turning idle) — and,
    /// when loopd reported a swap's SUCCESS, up to the swap server's own final state too: the two programs
    /// report independently, so the server's row may follow loopd's answer.
    pub async fn until_idle(&mut self) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let idle = event["kind"] == "status" && event["detail"]["busy"] == false;
            seen.push(event);
            if idle {
                break;
            }
        }
        while has_row(&seen, "result", "SUCCESS") && !has_row(&seen, "swap_state", "SERVER_SUCCESS")
        {
            seen.push(self.next().await);
        }
        seen
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

/// The sources the rows of a first loop come from: one per program.
pub const SOURCES: [&str; 4] = [
    "auth-proxy decision feed",
    "loopd's L402 client events",
    "mock-lnd invoice and payment events",
    "swap-server swap updates",
];

pub fn assert_succeeded(events: &[Value]) {
    assert!(
        has_row(events, "result", "SUCCESS"),
        "no SUCCESS: {:#?}",
        of_kind(events, "result")
    );
    assert!(of_kind(events, "error").is_empty(), "{events:#?}");
    assert!(
        has_row(events, "swap_state", "SERVER_SUCCESS"),
        "{events:#?}"
    );
    assert!(has_row(events, "forward", "forwarded"), "{events:#?}");
}

/// Plays an unhappy path: `action`, then a repeat loop; returns the loop's events.
pub async fn provoke(page: &Page, events: &mut Events, action: &str) -> Vec<Value> {
    assert_eq!(page.act(action).await.0, 202, "{action}");
    events.until_idle().await;
    assert_eq!(page.act("repeat-loop").await.0, 202);
    events.until_idle().await
}
