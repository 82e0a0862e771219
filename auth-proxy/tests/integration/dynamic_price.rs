//! Dynamic prices (`dynamicprice`): an in-process `pricesrpc.Prices` server on an ephemeral port prices each
//! path; the challenge's invoice carries its price, a price of 0 lets the request through, and a price server
//! that is gone is a 503 (gRPC 14), never a default price.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use proto::pricesrpc::prices_server::{Prices, PricesServer};
use proto::pricesrpc::{GetPriceRequest, GetPriceResponse};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

use crate::support::{
    challenge_of, get, get_with, http_client, unpaid_grpc_call, TestEnv, TestProxy,
};

/// Prices by path (`default` for any other), recording what it was asked.
#[derive(Clone, Default)]
struct TestPrices {
    prices: HashMap<String, i64>,
    default: i64,
    asked: Arc<Mutex<Vec<GetPriceRequest>>>,
}

#[tonic::async_trait]
impl Prices for TestPrices {
    async fn get_price(
        &self,
        request: Request<GetPriceRequest>,
    ) -> Result<Response<GetPriceResponse>, Status> {
        let request = request.into_inner();
        let price_sats = self
            .prices
            .get(&request.path)
            .copied()
            .unwrap_or(self.default);
        self.asked.lock().unwrap().push(request);
        Ok(Response::new(GetPriceResponse { price_sats }))
    }
}

/// A running price server; dropping `stop` stops it.
struct PriceServer {
    addr: SocketAddr,
    asked: Arc<Mutex<Vec<GetPriceRequest>>>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl PriceServer {
    async fn start(prices: TestPrices, tls: Option<&service_kit::tls::Identity>) -> PriceServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let asked = Arc::clone(&prices.asked);
        let (stop, stopped) = oneshot::channel::<()>();
        let mut builder = tonic::transport::Server::builder();
        if let Some(identity) = tls {
            let identity =
                tonic::transport::Identity::from_pem(&identity.cert_pem, &identity.key_pem);
            builder = builder
                .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
                .unwrap();
        }
        let router = builder.add_service(PricesServer::new(prices));
        let task = tokio::spawn(async move {
            router
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(listener),
                    async {
                        let _ = stopped.await;
                    },
                )
                .await
                .unwrap()
        });
        PriceServer {
            addr,
            asked,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let _ = self.task.await;
    }

    fn asked(&self) -> Vec<GetPriceRequest> {
        self.asked.lock().unwrap().clone()
    }
}

fn prices() -> TestPrices {
    TestPrices {
        prices: HashMap::from([("/priced/cheap".into(), 7), ("/priced/free".into(), 0)]),
        default: 42,
        ..TestPrices::default()
    }
}

/// Service `priced` (HTTP backend, `/priced/…`) and `loop` (gRPC backend), both priced by the server at
/// `pricer`; `dynamicprice` is the rest of the section (`insecure: true`, or a `tlscertpath`).
fn priced_services(env: &TestEnv, pricer: SocketAddr, dynamicprice: &str) -> String {
    format!(
        r#"
services:
  - name: priced
    hostregexp: '.*'
    pathregexp: '^/priced/.*$'
    address: "{http}"
    price: 1000
    timeout: 3600
    dynamicprice:
      enabled: true
      grpcaddress: "{pricer}"
      {dynamicprice}
  - name: loop
    hostregexp: '.*'
    pathregexp: '^/looprpc\..*$'
    address: "{grpc}"
    dynamicprice:
      enabled: true
      grpcaddress: "{pricer}"
      {dynamicprice}
"#,
        http = env.http.addr,
        grpc = env.grpc.addr,
    )
}

async fn priced_proxy(env: &TestEnv, pricer: SocketAddr, dynamicprice: &str) -> TestProxy {
    let services = priced_services(env, pricer, dynamicprice);
    TestProxy::start(&env.yaml_with_services(&env.basedir(), &services, "")).await
}

#[tokio::test]
async fn invoices_carry_the_price_servers_price_for_the_path() {
    let env = TestEnv::start().await;
    let pricer = PriceServer::start(prices(), None).await;
    let proxy = priced_proxy(&env, pricer.addr, "insecure: true").await;

    let response = get(&proxy, "/priced/cheap?x=1").await;
    assert_eq!(response.status(), 402);
    let cheap = challenge_of(response.headers());
    assert_eq!(
        cheap.amount_msat(),
        Some(7_000),
        "not the configured 1000 sat"
    );

    // What Aperture sends: the URL path, and the request as Go's httputil.DumpRequest writes it.
    let asked = pricer.asked();
    assert_eq!(asked[0].path, "/priced/cheap");
    let host = format!("Host: {}\r\n", proxy.addr);
    assert!(
        asked[0].http_request_text.starts_with(&format!(
            "GET /priced/cheap?x=1 HTTP/1.1\r\n{host}Accept: */*\r\n"
        )),
        "{:?}",
        asked[0].http_request_text
    );
    assert!(asked[0].http_request_text.ends_with("\r\n\r\n"));

    // A body goes along (its first 64 KiB), and the default price applies to other paths.
    let response = http_client()
        .post(proxy.url("/priced/big"))
        .header("content-type", "application/json")
        .body(r#"{"model":"big"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(challenge_of(response.headers()).amount_msat(), Some(42_000));
    let text = pricer.asked()[1].http_request_text.clone();
    assert!(
        text.contains("Content-Type: application/json\r\n"),
        "{text:?}"
    );
    assert!(text.ends_with("\r\n\r\n{\"model\":\"big\"}"), "{text:?}");

    // The paid token opens the path it was priced for, and only that one (Aperture's resource name).
    let credential = env.pay_challenge(cheap).await;
    let authorization = credential.to_authorization();
    let response = get_with(&proxy, "/priced/cheap", ("authorization", &authorization)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        "hello /priced/cheap (0 bytes)"
    );
    let response = get_with(&proxy, "/priced/big", ("authorization", &authorization)).await;
    assert_eq!(
        response.status(),
        402,
        "a 7-sat token does not open a 42-sat path"
    );
    assert_eq!(
        proxy.last_decision("/priced/big").reason.as_deref(),
        Some("wrong_service")
    );
    let tokens = proxy.tokens().await;
    assert!(
        tokens
            .iter()
            .any(|t| t.service == "priced/priced/cheap" && t.price_sat == 7),
        "{tokens:?}"
    );

    // Price 0 (Aperture): the request goes through without a token, its body intact.
    let before = env.http.count();
    let response = http_client()
        .post(proxy.url("/priced/free"))
        .body(vec![b'x'; 100_000])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        "hello /priced/free (100000 bytes)"
    );
    assert_eq!(env.http.count(), before + 1);
    let decision = proxy.last_decision("/priced/free");
    assert_eq!(
        (decision.outcome, decision.reason.as_deref()),
        (auth_proxy::Outcome::Free, Some("zero_price"))
    );
    let free_text = pricer.asked().last().unwrap().http_request_text.clone();
    assert!(
        free_text.ends_with(&format!("\r\n\r\n{}", "x".repeat(64 * 1024))),
        "at most 64 KiB of the body"
    );

    proxy.stop().await;
    pricer.stop().await;
}

#[tokio::test]
async fn a_stopped_price_server_is_a_503_never_a_default_price() {
    let env = TestEnv::start().await;
    let pricer = PriceServer::start(prices(), None).await;
    let proxy = priced_proxy(&env, pricer.addr, "insecure: true").await;
    assert_eq!(get(&proxy, "/priced/cheap").await.status(), 402);
    pricer.stop().await;

    let response = get(&proxy, "/priced/cheap").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert!(response.headers().get("www-authenticate").is_none());
    let decision = proxy.last_decision("/priced/cheap");
    assert_eq!(decision.reason.as_deref(), Some("pricer_unavailable"));

    let status = unpaid_grpc_call(&proxy).await;
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_eq!(status.message(), "price server unavailable");
    assert_eq!(env.http.count(), 0);
    proxy.stop().await;
}

#[tokio::test]
async fn a_tls_price_server_is_reached_with_its_pinned_certificate() {
    let env = TestEnv::start().await;
    let identity = service_kit::tls::self_signed("pricer", &[]).unwrap();
    let cert = env.dir.path().join("pricer.cert");
    std::fs::write(&cert, &identity.cert_pem).unwrap();
    let pricer = PriceServer::start(prices(), Some(&identity)).await;
    let proxy = priced_proxy(
        &env,
        pricer.addr,
        &format!("tlscertpath: '{}'", cert.display()),
    )
    .await;
    let response = get(&proxy, "/priced/cheap").await;
    assert_eq!(response.status(), 402);
    assert_eq!(challenge_of(response.headers()).amount_msat(), Some(7_000));
    proxy.stop().await;

    // Another certificate is not trusted: no price, so no challenge.
    let other = service_kit::tls::self_signed("other", &[]).unwrap();
    std::fs::write(&cert, &other.cert_pem).unwrap();
    let proxy = priced_proxy(
        &env,
        pricer.addr,
        &format!("tlscertpath: '{}'", cert.display()),
    )
    .await;
    assert_eq!(get(&proxy, "/priced/cheap").await.status(), 503);
    proxy.stop().await;
    pricer.stop().await;
}
