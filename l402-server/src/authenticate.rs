//! Checking a request's credential: parse it (any form `l402::Credential::from_headers` reads), check what
//! needs no key (preimage against payment hash), look the root key up, then signature and caveats for the
//! service, capability and time — cheapest first. The constant-time comparisons are `l402`'s.

use std::time::SystemTime;

use http::HeaderMap;
use l402::{Credential, CredentialError, RequestContext, VerifyError};

use crate::store::{RootKeyLookup, RootKeyStore, StoreError};

/// Why a presented credential was refused; `reason` is a stable label for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Stable label: `malformed_credential`, `preimage_mismatch`, `bad_signature`, `expired`,
    /// `wrong_service`, `missing_capability`, `revoked`, `unknown_token`, …
    pub reason: &'static str,
    /// Human-readable detail without secrets.
    pub detail: String,
}

impl Rejection {
    /// A rejection with this label and detail.
    pub fn new(reason: &'static str, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }
}

impl From<VerifyError> for Rejection {
    fn from(error: VerifyError) -> Self {
        Rejection::new(error.reason(), error.to_string())
    }
}

/// What checking a request found.
#[derive(Debug)]
pub enum AuthOutcome {
    /// No credential at all.
    Missing,
    /// A valid credential (its token id is the client's identity).
    Valid(Credential),
    /// A credential that failed parsing or verification.
    Rejected(Rejection),
    /// The root-key store could not be reached; nothing can be decided.
    StoreUnavailable(StoreError),
}

/// Checks the credential in `headers` against `store` for `service` (and `capability`, if required) at
/// `now`.
pub async fn authenticate<K>(
    headers: &HeaderMap,
    store: &K,
    service: &str,
    capability: Option<&str>,
    now: SystemTime,
) -> AuthOutcome
where
    K: RootKeyStore + ?Sized,
{
    let credential = match Credential::from_headers(headers) {
        Ok(credential) => credential,
        Err(CredentialError::Missing) => return AuthOutcome::Missing,
        Err(error) => {
            return AuthOutcome::Rejected(Rejection::new("malformed_credential", error.to_string()))
        }
    };
    if let Err(error) = l402::check_keyless(&credential) {
        return AuthOutcome::Rejected(error.into());
    }
    let root_key = match store
        .root_key(&credential.macaroon().identifier_hash())
        .await
    {
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
    let mut ctx = RequestContext::new(service, now);
    if let Some(capability) = capability {
        ctx = ctx.with_capability(capability);
    }
    match l402::verify(&credential, &root_key, &ctx) {
        Ok(_) => AuthOutcome::Valid(credential),
        Err(error) => AuthOutcome::Rejected(error.into()),
    }
}
