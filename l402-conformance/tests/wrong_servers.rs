//! The kit against servers that are wrong on purpose: each must fail, with the cases that name its flaw,
//! and only those among the rejections. A kit that cannot fail is worthless.
//!
//! The servers are small axum apps that mint real challenges (invoices from a mock-lnd node, macaroons
//! from `l402`) and verify credentials with one check left out.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use l402::satisfier::{Satisfier, ServicesSatisfier, ValidUntilSatisfier};
use l402::{Challenge, Credential, IdentifierHash, MintRequest, PaymentHash, RootKey, Service};
use lnd_client::LndClient;
use mock_lnd::MockNetwork;
use proto::lnrpc::Invoice;

/// The service the wrong servers charge for.
const SERVICE: &str = "wrong";

/// The check a wrong server leaves out.
#[derive(Debug, Clone, Copy)]
enum Flaw {
    /// Checks the signature and the caveats, never that the preimage pays the payment hash.
    SkipsPreimage,
    /// Checks the preimage and the signature, never the caveats.
    IgnoresCaveats,
}

#[derive(Clone)]
struct WrongServer {
    flaw: Flaw,
    lnd: LndClient,
    root_keys: Arc<Mutex<HashMap<IdentifierHash, RootKey>>>,
}

impl WrongServer {
    fn admits(&self, credential: &Credential) -> bool {
        let macaroon = credential.macaroon();
        let Some(key) = self
            .root_keys
            .lock()
            .unwrap()
            .get(&macaroon.identifier_hash())
            .cloned()
        else {
            return false;
        };
        let signed = macaroon.verify_signature(&key);
        match self.flaw {
            Flaw::SkipsPreimage => {
                let now = i64::try_from(service_kit::clock::now_unix()).unwrap();
                let services = ServicesSatisfier::new(SERVICE);
                let valid_until = ValidUntilSatisfier::new(SERVICE, now);
                let satisfiers: [&dyn Satisfier; 2] = [&services, &valid_until];
                let caveats_hold = macaroon
                    .caveats()
                    .is_ok_and(|c| l402::verify_caveats(&c, satisfiers).is_ok());
                signed && caveats_hold
            }
            Flaw::IgnoresCaveats => signed && l402::check_keyless(credential).is_ok(),
        }
    }

    async fn challenge(&self) -> Response {
        let invoice = self
            .lnd
            .lightning
            .clone()
            .add_invoice(Invoice {
                memo: "L402".into(),
                value: 10,
                ..Default::default()
            })
            .await
            .expect("the server's node makes invoices")
            .into_inner();
        let hash = PaymentHash::from_slice(&invoice.r_hash).unwrap();
        let now = i64::try_from(service_kit::clock::now_unix()).unwrap();
        let minted = MintRequest::new(hash)
            .service(Service::new(SERVICE, 0).unwrap())
            .valid_until(SERVICE, now + 3600)
            .mint()
            .unwrap();
        self.root_keys
            .lock()
            .unwrap()
            .insert(minted.identifier_hash, minted.root_key);
        let challenge = Challenge::new(minted.macaroon, &invoice.payment_request).unwrap();
        l402::http::challenge_response(&challenge).into_response()
    }
}

async fn handle(State(server): State<WrongServer>, headers: HeaderMap) -> Response {
    match Credential::from_headers(&headers) {
        Ok(credential) if server.admits(&credential) => "the backend\n".into_response(),
        _ => server.challenge().await,
    }
}

/// Runs the kit against a server with `flaw` and returns the ids of the failed cases.
async fn failed_cases(flaw: Flaw) -> (bool, Vec<&'static str>) {
    let dir = tempfile::tempdir().unwrap();
    let net = MockNetwork::builder()
        .datadir(dir.path())
        .network("regtest")
        .node("client")
        .node("server")
        .start()
        .await
        .unwrap();
    let server = WrongServer {
        flaw,
        lnd: LndClient::connect(&net.node("server").lnd_config())
            .await
            .unwrap(),
        root_keys: Arc::default(),
    };
    let app = axum::Router::new().fallback(handle).with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });
    let args = support::server_args(format!("http://{addr}/thing"), &net.node("client"));
    let report = l402_conformance::server::run(&args)
        .await
        .expect("the kit runs");
    println!("{}", report.to_table());
    serving.abort();
    net.shutdown().await;
    (report.conforms(), failed(&report))
}

fn rejections(failed: &[&'static str]) -> Vec<&'static str> {
    failed
        .iter()
        .copied()
        .filter(|id| id.starts_with("reject/"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_skips_the_preimage_check_fails_the_preimage_cases() {
    let (conforms, failed) = failed_cases(Flaw::SkipsPreimage).await;
    assert!(!conforms);
    assert_eq!(
        rejections(&failed),
        ["reject/wrong-preimage", "reject/other-invoice-preimage"]
    );
    // Everything a correct client does still works against it.
    assert!(!failed.contains(&"paid/authorization-l402"), "{failed:?}");
    assert!(!failed.contains(&"challenge/status"), "{failed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_ignores_caveats_fails_the_widened_and_expired_cases() {
    let (conforms, failed) = failed_cases(Flaw::IgnoresCaveats).await;
    assert!(!conforms);
    assert_eq!(
        rejections(&failed),
        ["reject/widened-services", "reject/past-valid-until"]
    );
    assert!(!failed.contains(&"paid/reuse"), "{failed:?}");
}

/// The ids of every failed case, whatever its level.
fn failed(report: &l402_conformance::report::Report) -> Vec<&'static str> {
    report
        .cases
        .iter()
        .filter(|c| c.verdict == l402_conformance::case::Verdict::Fail)
        .map(|c| c.id)
        .collect()
}

#[tokio::test]
async fn a_server_without_a_paywall_fails_the_challenge_and_skips_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let net = MockNetwork::builder()
        .datadir(dir.path())
        .network("regtest")
        .node("client")
        .start()
        .await
        .unwrap();
    let app = axum::Router::new().fallback(|| async { "free for all\n" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });
    let args = support::server_args(format!("http://{addr}/"), &net.node("client"));
    let report = l402_conformance::server::run(&args)
        .await
        .expect("the kit runs");
    serving.abort();
    net.shutdown().await;
    assert!(!report.conforms());
    let failed = failed(&report);
    assert!(failed.contains(&"challenge/status"), "{failed:?}");
    assert!(failed.contains(&"challenge/www-authenticate"), "{failed:?}");
    // Nothing was paid, so nothing after the challenge could run: skipped, not passed.
    let verdict = |id| report.case(id).map(|c| c.verdict);
    assert_eq!(
        verdict("reject/wrong-preimage"),
        Some(l402_conformance::case::Verdict::Skip)
    );
    assert_eq!(
        verdict("paid/reuse"),
        Some(l402_conformance::case::Verdict::Skip)
    );
    assert_eq!(net.node("client").payment_count(), 0);
}
