//! Verification of a [`Credential`] against a root key and a [`RequestContext`], with a typed
//! [`VerifyError`] telling why a token was refused (for logs and metrics).
//!
//! Order of checks (cheap and key-less first): location `lsat` → `sha256(preimage) == payment_hash` →
//! root key (looked up by `sha256(identifier)`) → HMAC chain → every caveat parses → satisfiers
//! (preimage caveats, services, `<svc>_valid_until`, `<svc>_capabilities`, in that order).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::caveat::Caveat;
use crate::credential::Credential;
use crate::identifier::Identifier;
use crate::macaroon::LOCATION;
use crate::satisfier::{
    verify_caveats, CapabilitiesSatisfier, PreimageSatisfier, Satisfier, ServicesSatisfier,
    ValidUntilSatisfier,
};
use crate::types::{IdentifierHash, PaymentHash, RootKey, TokenId};

pub use crate::verify_error::VerifyError;

/// What a request needs from a token: the target service, optionally a capability, and the current time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    service: String,
    capability: Option<String>,
    now_unix_secs: i64,
}

impl RequestContext {
    /// A request for `service` at time `now`, needing no particular capability.
    pub fn new(service: impl Into<String>, now: SystemTime) -> Self {
        let now_unix_secs = match now.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // Before 1970: floor to whole seconds.
            Err(e) => {
                let d = e.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                -secs - i64::from(d.subsec_nanos() > 0)
            }
        };
        Self::at_unix_secs(service, now_unix_secs)
    }

    /// A request for `service` at `now_unix_secs` (whole seconds since the Unix epoch).
    pub fn at_unix_secs(service: impl Into<String>, now_unix_secs: i64) -> Self {
        Self {
            service: service.into(),
            capability: None,
            now_unix_secs,
        }
    }

    /// Also require this capability (checked against the last `<service>_capabilities` caveat, if any).
    pub fn with_capability(mut self, capability: impl Into<String>) -> Self {
        self.capability = Some(capability.into());
        self
    }

    /// The target service.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The required capability, if any.
    pub fn capability(&self) -> Option<&str> {
        self.capability.as_deref()
    }

    /// The request time in whole unix seconds (floored).
    pub fn now_unix_secs(&self) -> i64 {
        self.now_unix_secs
    }
}

/// A credential that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The token's identifier.
    pub identifier: Identifier,
    /// The parsed caveats, in macaroon order.
    pub caveats: Vec<Caveat>,
}

impl Verified {
    /// The token id (the user's identity for the backend).
    pub fn token_id(&self) -> TokenId {
        self.identifier.token_id
    }

    /// The payment hash that was paid.
    pub fn payment_hash(&self) -> PaymentHash {
        self.identifier.payment_hash
    }
}

/// Verifies `credential` with `root_key` for the request `ctx` using the standard satisfiers (preimage
/// caveats, services, valid_until and capabilities of the target service). Unknown `key=value` caveats and
/// caveats of other services are parsed (so they must be well-formed) but otherwise not checked, as Aperture
/// does.
pub fn verify(
    credential: &Credential,
    root_key: &RootKey,
    ctx: &RequestContext,
) -> Result<Verified, VerifyError> {
    verify_with_satisfiers(credential, root_key, ctx, &[])
}

/// Like [`verify()`], looking the root key up by `sha256(identifier)`; `None` means unknown or revoked.
/// The preimage is checked before the lookup, so bad credentials cost no lookup.
pub fn verify_with_lookup<F>(
    credential: &Credential,
    lookup: F,
    ctx: &RequestContext,
) -> Result<Verified, VerifyError>
where
    F: FnOnce(&IdentifierHash) -> Option<RootKey>,
{
    check_keyless(credential)?;
    let root_key =
        lookup(&credential.macaroon().identifier_hash()).ok_or(VerifyError::UnknownRootKey)?;
    verify(credential, &root_key, ctx)
}

/// Checks everything that needs no root key: location `lsat` and `sha256(preimage) == payment_hash`.
/// A proxy with an asynchronous root-key store calls this before its lookup.
pub fn check_keyless(credential: &Credential) -> Result<(), VerifyError> {
    let mac = credential.macaroon();
    if mac.location() != Some(LOCATION) {
        return Err(VerifyError::WrongLocation);
    }
    if !credential.preimage().matches(&mac.payment_hash()) {
        return Err(VerifyError::PreimageMismatch);
    }
    Ok(())
}

/// Like [`verify()`], with extra satisfiers for custom caveat conditions (checked after the standard ones).
pub fn verify_with_satisfiers(
    credential: &Credential,
    root_key: &RootKey,
    ctx: &RequestContext,
    extra: &[&dyn Satisfier],
) -> Result<Verified, VerifyError> {
    check_keyless(credential)?;
    let mac = credential.macaroon();
    if !mac.verify_signature(root_key) {
        return Err(VerifyError::BadSignature);
    }
    let caveats = mac.caveats()?;
    let preimage = PreimageSatisfier::new(credential.preimage().clone());
    let services = ServicesSatisfier::new(ctx.service());
    let valid_until = ValidUntilSatisfier::new(ctx.service(), ctx.now_unix_secs());
    let capabilities = CapabilitiesSatisfier::new(ctx.service(), ctx.capability());
    let standard: [&dyn Satisfier; 4] = [&preimage, &services, &valid_until, &capabilities];
    verify_caveats(&caveats, standard.iter().chain(extra).copied())?;
    Ok(Verified {
        identifier: *mac.identifier(),
        caveats,
    })
}
