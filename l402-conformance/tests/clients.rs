//! `client` mode against clients: ours (`l402 get`'s code, in process) passes every case; clients that
//! are wrong on purpose fail, with the case that names their flaw. A kit that cannot fail is worthless.
//!
//! The wrong clients are written here on the `l402` crate and lnd's payer, each with one rule of the
//! client left out.

use std::collections::HashMap;
use std::time::Duration;

use futures::future::BoxFuture;
use l402::{Challenge, Credential};
use l402_cli::get::GetArgs;
use l402_conformance::case::{Level, Verdict};
use l402_conformance::client::{self, ClientUnderTest};
use l402_conformance::report::Report;
use lnd_client::{LndClient, LndConfig, LndPayer, PaymentOutcome};

/// The environment of one run, by name.
fn vars(env: &[(String, String)]) -> HashMap<&str, &str> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// `l402 get`, in process: the same code as the command.
struct L402Get;

impl ClientUnderTest for L402Get {
    fn describe(&self) -> String {
        "l402 get (in process)".into()
    }

    fn run<'a>(&'a self, env: &'a [(String, String)]) -> BoxFuture<'a, String> {
        Box::pin(async move {
            let vars = vars(env);
            let args = GetArgs {
                url: vars["L402_URL"].parse().unwrap(),
                lnd_host: vars["LND_GRPC_HOST"].into(),
                lnd_tls_path: Some(vars["LND_TLS_CERT_PATH"].into()),
                lnd_macaroon_path: vars["LND_MACAROON_PATH"].into(),
                network: vars["LND_NETWORK"].parse().unwrap(),
                tokendir: Some(vars["L402_TOKEN_DIR"].into()),
                max_cost_sat: vars["L402_MAX_PRICE_SAT"].parse().unwrap(),
                max_fee_sat: 10,
            };
            match l402_cli::get::get(&args).await {
                Ok(body) => format!("ok: {}", body.trim()),
                Err(e) => format!("error: {e}"),
            }
        })
    }
}

/// The rule a wrong client breaks.
#[derive(Debug, Clone, Copy)]
enum Flaw {
    /// Does not keep the token it bought: asks again without it, and pays the second challenge too.
    PaysTwice,
    /// Pays whatever the invoice asks.
    PaysAnyPrice,
}

/// A client that reads Aperture's challenge, pays through lnd and retries, with one flaw.
struct Wrong(Flaw);

impl Wrong {
    async fn buy(
        http: &reqwest::Client,
        payer: &LndPayer,
        url: &str,
    ) -> Result<Credential, String> {
        let response = http.get(url).send().await.map_err(|e| e.to_string())?;
        let challenge = Challenge::from_headers(response.headers()).map_err(|e| e.to_string())?;
        if !challenge.is_consistent() {
            return Err("inconsistent challenge".into());
        }
        let outcome = payer
            .pay(
                challenge.invoice_str(),
                challenge.payment_hash(),
                10,
                Duration::from_secs(30),
            )
            .await
            .map_err(|e| e.to_string())?;
        match outcome {
            PaymentOutcome::Succeeded(success) => Ok(challenge.into_credential(success.preimage)),
            other => Err(format!("payment: {other:?}")),
        }
    }

    async fn fetch(&self, env: &[(String, String)]) -> Result<u16, String> {
        let vars = vars(env);
        let lnd = LndClient::connect(&LndConfig {
            host: vars["LND_GRPC_HOST"].into(),
            tls_cert_path: Some(vars["LND_TLS_CERT_PATH"].into()),
            macaroon_path: vars["LND_MACAROON_PATH"].into(),
        })
        .await
        .map_err(|e| e.to_string())?;
        let payer = LndPayer::new(&lnd);
        let http = reqwest::Client::new();
        let url = vars["L402_URL"];
        let mut credential = Self::buy(&http, &payer, url).await?;
        if let Flaw::PaysTwice = self.0 {
            credential = Self::buy(&http, &payer, url).await?;
        }
        let response = http
            .get(url)
            .header("authorization", credential.to_authorization())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(response.status().as_u16())
    }
}

impl ClientUnderTest for Wrong {
    fn describe(&self) -> String {
        format!("a client that {:?}", self.0)
    }

    fn run<'a>(&'a self, env: &'a [(String, String)]) -> BoxFuture<'a, String> {
        Box::pin(async move {
            match self.fetch(env).await {
                Ok(status) => format!("HTTP {status}"),
                Err(e) => format!("error: {e}"),
            }
        })
    }
}

fn verdict(report: &Report, id: &str) -> Verdict {
    report
        .case(id)
        .unwrap_or_else(|| panic!("{id} ran"))
        .verdict
}

#[tokio::test]
async fn our_http_client_passes_every_case() {
    let report = client::run(&L402Get, None).await.expect("the kit runs");
    println!("{}", report.to_table());
    assert!(report.conforms(), "{}", report.to_table());
    assert_eq!(report.failed, 0, "{}", report.to_table());
    assert_eq!(report.cases.len(), client::cases::all().len());
    // What was seen is in the report: the payment and the admitted token.
    let aperture = report.case("dialect/aperture").unwrap();
    assert!(
        aperture.detail.contains("paid 100 sat"),
        "{}",
        aperture.detail
    );
    assert!(
        aperture.detail.contains("the paid token → admitted"),
        "{}",
        aperture.detail
    );
}

#[tokio::test]
async fn a_client_that_pays_twice_fails_the_dialect_cases() {
    let report = client::run(&Wrong(Flaw::PaysTwice), Some("dialect/aperture"))
        .await
        .expect("the kit runs");
    println!("{}", report.to_table());
    assert_eq!(verdict(&report, "dialect/aperture"), Verdict::Fail);
    assert!(report
        .case("dialect/aperture")
        .unwrap()
        .detail
        .starts_with("paid 2 times"));
    assert_eq!(report.failed_ids(Level::Must), ["dialect/aperture"]);
}

#[tokio::test]
async fn a_client_that_pays_any_price_fails_over_priced_and_only_that() {
    let report = client::run(&Wrong(Flaw::PaysAnyPrice), None)
        .await
        .expect("the kit runs");
    println!("{}", report.to_table());
    assert!(!report.conforms());
    let failed = report.failed_ids(Level::Must);
    assert!(failed.contains(&"refuse/over-priced"), "{failed:?}");
    let over_priced = report.case("refuse/over-priced").unwrap();
    assert!(
        over_priced.detail.contains("paid 1000000 sat"),
        "{}",
        over_priced.detail
    );
    // It reads Aperture's form and checks the hash: those cases pass.
    assert_eq!(verdict(&report, "dialect/aperture"), Verdict::Pass);
    assert_eq!(verdict(&report, "refuse/hash-mismatch"), Verdict::Pass);
}

#[tokio::test]
async fn the_binary_runs_a_command_and_rejects_bad_usage() {
    let kit = env!("CARGO_BIN_EXE_l402-conformance");
    // A "client" that does nothing: it never pays, so the dialect case fails and the exit code is 1.
    let output = tokio::process::Command::new(kit)
        .args([
            "client",
            "--json",
            "--only",
            "dialect/aperture",
            "--",
            "true",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["target"], "true");
    assert_eq!(report["cases"][0]["verdict"], "fail");
    assert!(report["cases"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("no request reached the server"));
    let unknown = tokio::process::Command::new(kit)
        .args(["client", "--only", "nonsense", "--", "true"])
        .output()
        .await
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
}
