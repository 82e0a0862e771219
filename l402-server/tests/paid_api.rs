//! The example's router on a real socket, paid through an in-process mock-lnd network: the 402, the
//! payment from another node, the retry with `Authorization: L402 …` — and what must not get a 200.

#[allow(dead_code)] // `main` is the example's entry point, unused here.
#[path = "../examples/paid_api.rs"]
mod paid_api;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use l402::{Challenge, Credential, IdentifierHash, Preimage, TokenId};
use l402_client::{L402Client, L402Config, L402HttpClient, LndPayer, PaymentOutcome, TokenStore};
use l402_server::{LndInvoices, MemoryStore, NewRootKey, RootKeyLookup, RootKeyStore, StoreError};
use lnd_client::LndClient;
use mock_lnd::MockNetwork;
use reqwest::StatusCode;

struct World {
    network: MockNetwork,
    _dir: tempfile::TempDir,
    api_lnd: LndClient,
    payer: LndPayer,
}

impl World {
    async fn start() -> World {
        let dir = tempfile::tempdir().unwrap();
        let network = MockNetwork::builder()
            .datadir(dir.path())
            .network("regtest")
            .node("api")
            .node("wallet")
            .start()
            .await
            .unwrap();
        let api_lnd = LndClient::connect(&network.node("api").invoice_lnd_config())
            .await
            .unwrap();
        let wallet = LndClient::connect(&network.node("wallet").lnd_config())
            .await
            .unwrap();
        World {
            network,
            _dir: dir,
            api_lnd,
            payer: LndPayer::new(&wallet),
        }
    }

    /// Serves `router` on 127.0.0.1:0 and returns the `/joke` URL.
    async fn serve(&self, router: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}/joke")
    }

    async fn serve_example(&self, store: MemoryStore) -> String {
        self.serve(paid_api::app(store, LndInvoices::new(self.api_lnd.clone())))
            .await
    }

    /// Pays the challenge's invoice from the wallet node and returns the preimage.
    async fn pay(&self, challenge: &Challenge) -> Preimage {
        let outcome = self
            .payer
            .pay(
                challenge.invoice_str(),
                challenge.payment_hash(),
                10,
                Duration::from_secs(30),
            )
            .await
            .unwrap();
        match outcome {
            PaymentOutcome::Succeeded(success) => success.preimage,
            other => panic!("payment did not succeed: {other:?}"),
        }
    }
}

async fn challenge_of(response: reqwest::Response) -> Challenge {
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let values =
        l402::http::challenge_values(response.status(), response.headers()).expect("a challenge");
    assert_eq!(values.len(), 2);
    assert!(values[0].starts_with("LSAT macaroon=\""));
    assert!(values[1].starts_with("L402 macaroon=\""));
    assert_eq!(response.text().await.unwrap(), "payment required\n");
    Challenge::from_header_values(values.iter().map(String::as_str)).unwrap()
}

#[tokio::test]
async fn pay_once_then_call_with_the_credential() {
    let world = World::start().await;
    let url = world.serve_example(MemoryStore::new()).await;
    let http = reqwest::Client::new();

    let challenge = challenge_of(http.get(&url).send().await.unwrap()).await;
    assert_eq!(
        challenge.amount_msat(),
        Some(paid_api::JOKE_PRICE_SAT as u64 * 1000)
    );
    let token_id = challenge.macaroon().token_id();
    let preimage = world.pay(&challenge).await;
    let authorization = Credential::new(challenge.macaroon().clone(), preimage).to_authorization();
    for _ in 0..2 {
        let response = http
            .get(&url)
            .header("authorization", &authorization)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.text().await.unwrap();
        assert!(body.contains(&token_id.to_hex()), "{body}");
    }
    assert_eq!(world.network.node("wallet").payment_count(), 1);
}

#[tokio::test]
async fn wrong_preimage_gets_a_new_challenge() {
    let world = World::start().await;
    let url = world.serve_example(MemoryStore::new()).await;
    let http = reqwest::Client::new();
    let challenge = challenge_of(http.get(&url).send().await.unwrap()).await;
    let wrong = Credential::new(challenge.macaroon().clone(), Preimage::random());
    let response = http
        .get(&url)
        .header("authorization", wrong.to_authorization())
        .send()
        .await
        .unwrap();
    let again = challenge_of(response).await;
    assert_ne!(again.macaroon().token_id(), challenge.macaroon().token_id());
    let garbage = http
        .get(&url)
        .header("authorization", "L402 not-a-macaroon")
        .send()
        .await
        .unwrap();
    challenge_of(garbage).await;
}

#[tokio::test]
async fn token_for_another_service_is_refused() {
    let world = World::start().await;
    let store = MemoryStore::new();
    let jokes = world.serve_example(store.clone()).await;
    // Another service in the same process, sharing the root-key store.
    let pricing = l402_server::Pricing::new("weather", 10).unwrap();
    let weather = world
        .serve(
            axum::Router::new()
                .route("/joke", axum::routing::get(|| async { "sunny" }))
                .layer(l402_server::L402Layer::new(
                    pricing,
                    store,
                    LndInvoices::new(world.api_lnd.clone()),
                )),
        )
        .await;
    let http = reqwest::Client::new();
    let challenge = challenge_of(http.get(&weather).send().await.unwrap()).await;
    let preimage = world.pay(&challenge).await;
    let authorization = Credential::new(challenge.macaroon().clone(), preimage).to_authorization();
    let ok = http.get(&weather).header("authorization", &authorization);
    assert_eq!(ok.send().await.unwrap().status(), StatusCode::OK);
    let refused = http.get(&jokes).header("authorization", &authorization);
    challenge_of(refused.send().await.unwrap()).await;
}

/// A store whose backend is down.
struct DownStore;

impl RootKeyStore for DownStore {
    async fn insert(&self, _token: &NewRootKey) -> Result<(), StoreError> {
        Err(StoreError::new("connection refused"))
    }

    async fn root_key(&self, _hash: &IdentifierHash) -> Result<RootKeyLookup, StoreError> {
        Err(StoreError::new("connection refused"))
    }

    async fn revoke(&self, _token_id: &TokenId) -> Result<bool, StoreError> {
        Err(StoreError::new("connection refused"))
    }
}

#[tokio::test]
async fn store_or_lnd_down_is_503() {
    let world = World::start().await;
    let http = reqwest::Client::new();

    let down = world
        .serve(paid_api::app(
            DownStore,
            LndInvoices::new(world.api_lnd.clone()),
        ))
        .await;
    let response = http.get(&down).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("www-authenticate").is_none());
    assert_eq!(
        response.text().await.unwrap(),
        "token store unavailable: cannot issue payment challenge\n"
    );
    // The invoice of the token that could not be stored was cancelled: nobody can pay it for nothing.
    let invoices = world
        .api_lnd
        .lightning
        .clone()
        .list_invoices(proto::lnrpc::ListInvoiceRequest::default())
        .await
        .unwrap()
        .into_inner()
        .invoices;
    assert_eq!(invoices.len(), 1);
    assert_eq!(
        invoices[0].state,
        proto::lnrpc::invoice::InvoiceState::Canceled as i32
    );

    // A credential whose lookup fails is not judged either.
    let url = world.serve_example(MemoryStore::new()).await;
    let challenge = challenge_of(http.get(&url).send().await.unwrap()).await;
    let preimage = world.pay(&challenge).await;
    let authorization = Credential::new(challenge.macaroon().clone(), preimage).to_authorization();
    let response = http
        .get(&down)
        .header("authorization", &authorization)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.text().await.unwrap(), "token store unavailable\n");

    world.network.node("api").set_offline(true).await;
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.text().await.unwrap(),
        "lightning node unavailable: cannot create invoice\n"
    );
}

#[tokio::test]
async fn the_l402_client_meets_the_layer() {
    let world = World::start().await;
    let url = world.serve_example(MemoryStore::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let client = L402Client::new(
        TokenStore::open(dir.path()).unwrap(),
        Arc::new(world.payer.clone()),
        L402Config::default(),
    )
    .unwrap();
    let http = L402HttpClient::new(reqwest::Client::new(), client);
    for _ in 0..3 {
        let response = http.send(http.inner().get(&url)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.text().await.unwrap().contains("settle down"));
    }
    assert_eq!(http.l402().stats().payments, 1);
    assert!(http.l402().store().paid_token().unwrap().is_some());
}
