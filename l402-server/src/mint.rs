//! Issuing a challenge: an invoice from the [`InvoiceSource`], a macaroon minted from the [`Pricing`]
//! and locked to the invoice, its root key stored in the [`RootKeyStore`] — and only then the
//! [`Challenge`] to send.

use std::time::SystemTime;

use l402::{CaveatError, Challenge, ChallengeError, MacaroonError, TokenId};

use crate::invoice::{InvoiceError, InvoiceSource};
use crate::pricing::Pricing;
use crate::store::{NewRootKey, RootKeyStore, StoreError};

/// Why no challenge could be issued (answered with 503: the client can do nothing about it).
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// No invoice: the node is down or refused.
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
    /// The root key could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The macaroon or challenge could not be built (a caveat the syntax cannot carry, a bad invoice).
    #[error("cannot mint token: {0}")]
    Mint(String),
}

impl IssueError {
    /// Stable label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            IssueError::Invoice(_) => "lnd_unavailable",
            IssueError::Store(_) => "store_unavailable",
            IssueError::Mint(_) => "mint_failed",
        }
    }
}

impl From<CaveatError> for IssueError {
    fn from(error: CaveatError) -> Self {
        IssueError::Mint(error.to_string())
    }
}

impl From<MacaroonError> for IssueError {
    fn from(error: MacaroonError) -> Self {
        IssueError::Mint(error.to_string())
    }
}

impl From<ChallengeError> for IssueError {
    fn from(error: ChallengeError) -> Self {
        IssueError::Mint(error.to_string())
    }
}

/// A challenge ready to send; its root key is already stored.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The new token's id.
    pub token_id: TokenId,
    /// The macaroon and invoice to send (see [`l402::http::challenge_response`],
    /// [`l402::grpc::challenge_response`]).
    pub challenge: Challenge,
}

/// Issues a challenge for a token priced by `pricing`, minted at `now` (its expiry counts from then).
pub async fn issue<I, K>(
    pricing: &Pricing,
    invoices: &I,
    store: &K,
    now: SystemTime,
) -> Result<Issued, IssueError>
where
    I: InvoiceSource + ?Sized,
    K: RootKeyStore + ?Sized,
{
    let invoice = invoices.add_invoice(pricing.price_sat()).await?;
    let minted = pricing.mint_request(invoice.payment_hash, now)?.mint()?;
    let token_id = minted.macaroon.token_id();
    let challenge = Challenge::new(minted.macaroon, &invoice.payment_request)?;
    let stored = store
        .insert(&NewRootKey {
            identifier_hash: minted.identifier_hash,
            root_key: minted.root_key,
            token_id,
            payment_hash: invoice.payment_hash,
            service: pricing.service().to_owned(),
            price_sat: pricing.price_sat(),
        })
        .await;
    if let Err(error) = stored {
        // Nobody has seen the invoice yet: cancel it, so that it cannot be paid for a token that does
        // not exist (it would expire anyway; this is sooner).
        if let Err(cancel) = invoices.cancel_invoice(invoice.payment_hash).await {
            tracing::warn!(error = %cancel, payment_hash = %invoice.payment_hash, "cannot cancel the invoice of an unstored token");
        }
        return Err(error.into());
    }
    Ok(Issued {
        token_id,
        challenge,
    })
}
