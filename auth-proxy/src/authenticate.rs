//! Phase 2, authenticate: does the request carry a valid, paid token for this service and path?
//!
//! l402-server's verification, cheapest first: parse the credential → preimage against payment hash (no key
//! needed) → root key (cache, else database) → signature and caveats (service, expiry, capability); then
//! settlement at our lnd when `strictverify` is on.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderMap;

use l402_server::StoreError;

use crate::l402_bridge::{Rejection, Verified};
use crate::lnd::Settlements;
use crate::service::ServiceConfig;
use crate::store::Store;

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
        let capability = service.required_capability(path);
        let outcome = l402_server::authenticate(
            headers,
            &self.store,
            &service.resource_name(path),
            capability,
            SystemTime::now(),
        )
        .await;
        let credential = match outcome {
            l402_server::AuthOutcome::Valid(credential) => credential,
            l402_server::AuthOutcome::Missing => return AuthOutcome::Missing,
            l402_server::AuthOutcome::Rejected(rejection) => {
                return AuthOutcome::Rejected(rejection)
            }
            l402_server::AuthOutcome::StoreUnavailable(error) => {
                return AuthOutcome::StoreUnavailable(error)
            }
        };
        if let Some((settlements, timeout)) = &self.strict {
            let payment_hash = credential.macaroon().payment_hash();
            match Box::pin(settlements.wait_settled(&payment_hash, *timeout)).await {
                Ok(true) => {}
                Ok(false) => {
                    return AuthOutcome::Rejected(Rejection::new(
                        "invoice_not_settled",
                        "our lnd has not reported the invoice settled",
                    ));
                }
                Err(error) => return AuthOutcome::StoreUnavailable(StoreError::new(error)),
            }
        }
        AuthOutcome::Valid(Verified::new(credential))
    }
}
