//! Phase 2, authenticate: does the request carry a valid, paid token for this service and path?
//!
//! Order of checks, cheapest first: parse the credential → preimage against payment hash (no key needed) →
//! root key (cache, else database) → signature and caveats (service, expiry, capability) → settlement at our
//! lnd when `strictverify` is on.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderMap;

use crate::l402_bridge::{self, Rejection, Verified};
use crate::lnd::Settlements;
use crate::service::ServiceConfig;
use crate::store::{RootKeyLookup, Store, StoreError};

/// What the authenticate phase found.
#[derive(Debug)]
pub enum AuthOutcome {
    /// No credential at all.
    Missing,
    /// A valid token.
    Valid(Verified),
    /// A credential that failed verification.
    Rejected(Rejection),
    /// The root-key store could not be reached; nothing can be decided.
    StoreUnavailable(StoreError),
}

/// Verifies credentials against the store.
#[derive(Debug, Clone)]
pub struct Authenticator {
    store: Store,
    strict: Option<(Arc<Settlements>, Duration)>,
}

impl Authenticator {
    /// `strict`: the settlement tracker and how long to wait for a settlement, when `strictverify` is on.
    pub fn new(store: Store, strict: Option<(Arc<Settlements>, Duration)>) -> Self {
        Authenticator { store, strict }
    }

    /// Runs the phase for a request to `service` at `path`.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        service: &ServiceConfig,
        path: &str,
    ) -> AuthOutcome {
        let presented = match l402_bridge::presented(headers) {
            Ok(Some(presented)) => presented,
            Ok(None) => return AuthOutcome::Missing,
            Err(rejection) => return AuthOutcome::Rejected(rejection),
        };
        if let Err(rejection) = presented.check_keyless() {
            return AuthOutcome::Rejected(rejection);
        }
        let root_key = match self.store.root_key(&presented.identifier_hash()).await {
            Ok(RootKeyLookup::Found(key)) => key,
            Ok(RootKeyLookup::Revoked) => {
                return AuthOutcome::Rejected(Rejection::new("revoked", "token was revoked"));
            }
            Ok(RootKeyLookup::Unknown) => {
                return AuthOutcome::Rejected(Rejection::new(
                    "unknown_token",
                    "no root key for this token",
                ));
            }
            Err(error) => return AuthOutcome::StoreUnavailable(error),
        };
        let payment_hash = presented.payment_hash();
        let capability = service.required_capability(path);
        let verified =
            match presented.verify(&root_key, &service.name, capability, SystemTime::now()) {
                Ok(verified) => verified,
                Err(rejection) => return AuthOutcome::Rejected(rejection),
            };
        if let Some((settlements, timeout)) = &self.strict {
            match settlements.wait_settled(&payment_hash, *timeout).await {
                Ok(true) => {}
                Ok(false) => {
                    return AuthOutcome::Rejected(Rejection::new(
                        "invoice_not_settled",
                        "our lnd has not reported the invoice settled",
                    ));
                }
                Err(error) => return AuthOutcome::StoreUnavailable(error),
            }
        }
        AuthOutcome::Valid(verified)
    }
}
