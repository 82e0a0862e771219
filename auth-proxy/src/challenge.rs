//! Phase 3a, challenge: an invoice from our lnd, a freshly minted macaroon for the service, its root key
//! stored, and the two `WWW-Authenticate` values to send.

use std::time::SystemTime;

use http::HeaderValue;
use l402::TokenId;

use crate::l402_bridge::{self, MintError};
use crate::lnd::{Invoices, LndError};
use crate::service::ServiceConfig;
use crate::store::{NewToken, Store, StoreError};

/// Why no challenge could be issued (answered with 503: the client can do nothing about it).
#[derive(Debug, thiserror::Error)]
pub enum ChallengeError {
    /// lnd is down or refused the invoice.
    #[error(transparent)]
    Lnd(#[from] LndError),
    /// The root key could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The macaroon or challenge could not be built.
    #[error(transparent)]
    Mint(#[from] MintError),
}

impl ChallengeError {
    /// Stable label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            ChallengeError::Lnd(_) => "lnd_unavailable",
            ChallengeError::Store(_) => "store_unavailable",
            ChallengeError::Mint(_) => "mint_failed",
        }
    }
}

/// A challenge ready to send.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The new token's id.
    pub token_id: TokenId,
    /// LSAT then L402 `WWW-Authenticate` values.
    pub www_authenticate: [HeaderValue; 2],
}

/// Issues challenges.
#[derive(Debug, Clone)]
pub struct Challenger {
    invoices: Invoices,
    store: Store,
}

impl Challenger {
    /// A challenger creating invoices with `invoices` and storing root keys in `store`.
    pub fn new(invoices: Invoices, store: Store) -> Self {
        Challenger { invoices, store }
    }

    /// Mints a challenge for `service`. `valid_until` is computed now, at mint time.
    pub async fn issue(&self, service: &ServiceConfig) -> Result<Issued, ChallengeError> {
        let invoice = self.invoices.add_invoice(service.price_sat).await?;
        let minted = l402_bridge::mint(service, invoice.payment_hash, SystemTime::now())?;
        let www_authenticate = l402_bridge::challenge_headers(&minted, &invoice.payment_request)?;
        self.store
            .insert(&NewToken {
                identifier_hash: minted.identifier_hash,
                root_key: minted.root_key.clone(),
                token_id: minted.token_id,
                payment_hash: invoice.payment_hash,
                service: service.name.clone(),
                price_sat: service.price_sat,
            })
            .await?;
        Ok(Issued {
            token_id: minted.token_id,
            www_authenticate,
        })
    }
}
