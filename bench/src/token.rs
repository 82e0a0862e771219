//! Buying the tokens the benchmark presents: one L402 round trip per service, as any client does it —
//! a request without a credential, the 402's challenge, the invoice paid through the payer's lnd, the
//! `Authorization` value built from the macaroon and the preimage.

use std::time::Duration;

use anyhow::{bail, Context};
use l402::Challenge;
use lnd_client::{LndClient, LndConfig, LndPayer, PaymentOutcome};

/// Buys a token for whatever service serves `url` and returns its `Authorization` value.
pub async fn buy(url: &str, payer_lnd: &LndConfig) -> anyhow::Result<String> {
    let response = reqwest::get(url).await?;
    if response.status() != reqwest::StatusCode::PAYMENT_REQUIRED {
        bail!(
            "{url}: expected 402 Payment Required, got {}",
            response.status()
        );
    }
    let challenge = Challenge::from_headers(response.headers())
        .with_context(|| format!("{url}: the 402 carries no usable challenge"))?;
    let lnd = LndClient::connect(payer_lnd).await?;
    let outcome = LndPayer::new(&lnd)
        .pay(
            challenge.invoice_str(),
            challenge.payment_hash(),
            10,
            Duration::from_secs(30),
        )
        .await?;
    let PaymentOutcome::Succeeded(paid) = outcome else {
        bail!("{url}: paying the invoice did not succeed: {outcome:?}");
    };
    Ok(challenge.into_credential(paid.preimage).to_authorization())
}
