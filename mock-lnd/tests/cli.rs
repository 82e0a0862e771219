//! The `mock-lnd` binary: flags, files, gRPC with TLS + macaroons, REST, and the HTTP control endpoint.

use std::process::Stdio;
use std::time::Duration;

use lnd_client::{LndClient, LndConfig};
use mock_lnd::control::{Latency, NodeInfo, TotalBalance};
use proto::lnrpc::{self, payment::PaymentStatus, PaymentFailureReason};
use proto::routerrpc::SendPaymentRequest;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const WAIT: Duration = Duration::from_secs(30);

async fn within<F: std::future::Future>(future: F) -> F::Output {
    testkit::within("the mock-lnd binary", WAIT, future)
        .await
        .expect("in time")
}

fn lnd_config(node: &NodeInfo) -> LndConfig {
    LndConfig {
        host: node.host.clone(),
        tls_cert_path: Some(node.tls_cert_path.clone()),
        macaroon_path: node.admin_macaroon_path.clone(),
    }
}

async fn pay(client: &mut LndClient, payment_request: &str) -> lnrpc::Payment {
    let request = SendPaymentRequest {
        payment_request: payment_request.into(),
        timeout_seconds: 30,
        fee_limit_sat: 10,
        ..Default::default()
    };
    let mut stream = client
        .router
        .send_payment_v2(request)
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Some(update) = within(stream.message()).await.unwrap() {
        last = Some(update);
    }
    last.expect("at least one update")
}

/// A client of the control endpoint.
struct Control {
    http: reqwest::Client,
    base: String,
}

impl Control {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        within(request.send()).await.unwrap()
    }

    /// Sends and decodes a successful JSON answer.
    async fn ok<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> T {
        let response = self.send(method, path, body).await;
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }
}

#[tokio::test]
async fn binary_serves_nodes_and_control_endpoint() {
    let datadir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-lnd"))
        .args(["--datadir", datadir.path().to_str().unwrap()])
        .args(["--node", "alice=127.0.0.1:0", "--node", "bob=127.0.0.1:0"])
        .args(["--rest", "bob=127.0.0.1:0"])
        .env("MOCK_LND_NO_REST_TLS", "true")
        .args([
            "--control-listen",
            "127.0.0.1:0",
            "--tls-extra-domain",
            "lnd.docker",
        ])
        .env("MOCK_LND_BALANCE_SAT", "5000")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The control endpoint's address is logged once it listens.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let control = within(async {
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("mock-lnd exited early");
            if line.contains("control endpoint listening") {
                let addr = line
                    .split("addr=")
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap();
                break format!("http://{addr}");
            }
        }
    })
    .await;
    // Keep draining the logs so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let control = Control {
        http: reqwest::Client::new(),
        base: control,
    };
    let nodes: Vec<NodeInfo> = control.ok(Method::GET, "/nodes", None).await;
    assert_eq!(
        nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
        ["alice", "bob"]
    );
    assert!(nodes
        .iter()
        .all(|n| n.tls && n.online && n.balance_msat == 5_000_000));
    let (alice, bob) = (&nodes[0], &nodes[1]);
    assert_eq!(alice.tls_cert_path, datadir.path().join("alice/tls.cert"));

    // bob's REST listener, plaintext by MOCK_LND_NO_REST_TLS; alice has none.
    assert_eq!(alice.rest_url, None);
    let rest_url = bob.rest_url.clone().expect("bob has a REST listener");
    assert!(rest_url.starts_with("http://127.0.0.1:"), "{rest_url}");
    let macaroon = hex::encode(std::fs::read(&bob.admin_macaroon_path).unwrap());
    let request = reqwest::Client::new()
        .get(format!("{rest_url}/v1/getinfo"))
        .header("Grpc-Metadata-macaroon", macaroon);
    let info: serde_json::Value = within(request.send()).await.unwrap().json().await.unwrap();
    assert_eq!(info["alias"], "bob");

    let mut a = LndClient::connect(&lnd_config(alice)).await.unwrap();
    let mut b = LndClient::connect(&lnd_config(bob)).await.unwrap();
    let info = a
        .lightning
        .get_info(lnrpc::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (info.alias.as_str(), info.identity_pubkey.as_str()),
        ("alice", alice.pubkey.as_str())
    );

    // Forced failure through the control endpoint.
    let body = json!({"count": 1, "reason": "no_route"});
    let _: NodeInfo = control
        .ok(Method::POST, "/nodes/alice/fail-next-payments", Some(body))
        .await;
    let invoice = lnrpc::Invoice {
        value: 100,
        memo: "cli".into(),
        ..Default::default()
    };
    let first = b.lightning.add_invoice(invoice).await.unwrap().into_inner();
    let failed = pay(&mut a, &first.payment_request).await;
    assert_eq!(
        failed.failure_reason(),
        PaymentFailureReason::FailureReasonNoRoute
    );
    let bad = json!({"count": 1, "reason": "sunspots"});
    let status = control
        .send(Method::POST, "/nodes/alice/fail-next-payments", Some(bad))
        .await
        .status();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let status = control
        .send(Method::POST, "/nodes/carol/offline", None)
        .await
        .status();
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Offline and back.
    let off: NodeInfo = control.ok(Method::POST, "/nodes/bob/offline", None).await;
    assert!(!off.online);
    let err = b
        .lightning
        .get_info(lnrpc::GetInfoRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let on: NodeInfo = control.ok(Method::POST, "/nodes/bob/online", None).await;
    assert!(on.online);
    assert_eq!(on.host, bob.host);

    // Latency setting round-trips.
    let latency = Latency { latency_ms: 5 };
    let set: Latency = control
        .ok(Method::PUT, "/latency", Some(json!(latency)))
        .await;
    let got: Latency = control.ok(Method::GET, "/latency", None).await;
    assert_eq!((set, got), (latency, latency));

    // A retry of the failed payment succeeds once bob is back.
    let paid = within(async {
        loop {
            match b.lightning.get_info(lnrpc::GetInfoRequest {}).await {
                Ok(_) => break pay(&mut a, &first.payment_request).await,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await;
    assert_eq!(paid.status(), PaymentStatus::Succeeded);
    let total: TotalBalance = control.ok(Method::GET, "/total-balance", None).await;
    assert_eq!(total.total_balance_msat, 10_000_000);
    let bob_now: NodeInfo = control.ok(Method::GET, "/nodes/bob", None).await;
    assert_eq!(bob_now.balance_msat, 5_100_000);

    // The certificate carries the extra name (a DNS SAN is stored as plain ASCII in the DER).
    let pem = std::fs::read(&alice.tls_cert_path).unwrap();
    let der = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .unwrap()
        .unwrap();
    assert!(der.windows(b"lnd.docker".len()).any(|w| w == b"lnd.docker"));
    child.kill().await.unwrap();
}
