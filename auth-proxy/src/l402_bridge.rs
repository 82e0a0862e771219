//! Everything the proxy does with the `l402` crate, in one place: reading credentials, minting macaroons,
//! formatting challenges, verifying tokens and writing the credential forwarded to backends.
//!
//! The rest of the proxy sees plain types ([`Minted`], [`Rejection`]) and never touches macaroon bytes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use l402::{
    Caveat, Challenge, Credential, CredentialError, Identifier, IdentifierHash, Macaroon,
    PaymentHash, RequestContext, RootKey, Service, TokenId, VerifyError,
};

use crate::service::ServiceConfig;

/// Why a presented credential was refused; `reason` is a stable label for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Stable label: `malformed_credential`, `preimage_mismatch`, `bad_signature`, `expired`, `wrong_service`,
    /// `missing_capability`, `revoked`, `unknown_token`, `invoice_not_settled`, …
    pub reason: &'static str,
    /// Human-readable detail without secrets.
    pub detail: String,
}

impl Rejection {
    pub(crate) fn new(reason: &'static str, detail: impl Into<String>) -> Self {
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

/// A credential found in a request, not yet verified.
#[derive(Debug, Clone)]
pub struct Presented(Credential);

impl Presented {
    /// The token id claimed by the credential (not proof of anything until verified).
    pub fn token_id(&self) -> TokenId {
        self.0.token_id()
    }

    /// `sha256(identifier)`, the root-key lookup key.
    pub fn identifier_hash(&self) -> IdentifierHash {
        self.0.macaroon().identifier_hash()
    }

    /// The payment hash the token is locked to.
    pub fn payment_hash(&self) -> PaymentHash {
        self.0.macaroon().payment_hash()
    }

    /// Checks what needs no root key (location, preimage against payment hash).
    pub fn check_keyless(&self) -> Result<(), Rejection> {
        l402::check_keyless(&self.0).map_err(Rejection::from)
    }

    /// Full verification against the root key, for `service` (and `capability` if the path needs one).
    pub fn verify(
        self,
        root_key: &RootKey,
        service: &str,
        capability: Option<&str>,
        now: SystemTime,
    ) -> Result<Verified, Rejection> {
        let mut ctx = RequestContext::new(service, now);
        if let Some(capability) = capability {
            ctx = ctx.with_capability(capability);
        }
        l402::verify(&self.0, root_key, &ctx)?;
        Ok(Verified(self.0))
    }
}

/// A credential that passed verification.
#[derive(Debug, Clone)]
pub struct Verified(Credential);

impl Verified {
    /// The token id (the client's identity).
    pub fn token_id(&self) -> TokenId {
        self.0.token_id()
    }

    /// `Authorization: L402 <base64 macaroon>:<hex preimage>`, the only credential a backend ever sees.
    pub fn forward_authorization(&self) -> HeaderValue {
        HeaderValue::try_from(self.0.to_authorization())
            .expect("base64 and hex are valid header text")
    }
}

/// Finds the credential in request headers, in any form PROTOCOL.md lists. `Ok(None)`: none presented.
pub fn presented(headers: &HeaderMap) -> Result<Option<Presented>, Rejection> {
    match Credential::from_headers(headers) {
        Ok(credential) => Ok(Some(Presented(credential))),
        Err(CredentialError::Missing) => Ok(None),
        Err(error) => Err(Rejection::new("malformed_credential", error.to_string())),
    }
}

/// A freshly minted token, before it is stored and sent.
#[derive(Debug, Clone)]
pub struct Minted {
    /// Token id.
    pub token_id: TokenId,
    /// Root-key lookup key.
    pub identifier_hash: IdentifierHash,
    /// The secret root key (to be stored).
    pub root_key: RootKey,
    macaroon: Macaroon,
}

/// A macaroon building failure (a service name or capability the caveat syntax cannot carry).
#[derive(Debug, thiserror::Error)]
#[error("cannot mint token: {0}")]
pub struct MintError(String);

/// Mints a macaroon for `service` locked to `payment_hash`, with Aperture's caveats in Aperture's order:
/// `services=<name>:0`, `<name>_capabilities=…`, the configured constraints (`<key>=<value>`, verbatim as
/// Aperture mints them), `<name>_valid_until=…`.
pub fn mint(
    service: &ServiceConfig,
    payment_hash: PaymentHash,
    now: SystemTime,
) -> Result<Minted, MintError> {
    let err = |e: &dyn std::fmt::Display| MintError(e.to_string());
    let name = service.name.as_str();
    let mut caveats = vec![
        Caveat::services([Service::new(name, 0).map_err(|e| err(&e))?]).map_err(|e| err(&e))?,
        Caveat::capabilities(
            name,
            service.capabilities.split(',').filter(|c| !c.is_empty()),
        )
        .map_err(|e| err(&e))?,
    ];
    for (key, value) in &service.constraints {
        caveats.push(Caveat::other(key, value).map_err(|e| err(&e))?);
    }
    if let Some(timeout) = service.timeout {
        caveats.push(Caveat::valid_until(name, unix_secs(now + timeout)).map_err(|e| err(&e))?);
    }
    let identifier = Identifier::random(payment_hash);
    let root_key = RootKey::random();
    let macaroon = Macaroon::mint(&root_key, &identifier, &caveats).map_err(|e| err(&e))?;
    Ok(Minted {
        token_id: macaroon.token_id(),
        identifier_hash: macaroon.identifier_hash(),
        root_key,
        macaroon,
    })
}

/// The two `WWW-Authenticate` values (LSAT first, then L402) for `minted` and the invoice.
pub fn challenge_headers(minted: &Minted, invoice: &str) -> Result<[HeaderValue; 2], MintError> {
    let challenge =
        Challenge::new(minted.macaroon.clone(), invoice).map_err(|e| MintError(e.to_string()))?;
    let [lsat, l402] = challenge.header_values();
    let value = |v: String| HeaderValue::try_from(v).map_err(|e| MintError(e.to_string()));
    Ok([value(lsat)?, value(l402)?])
}

fn unix_secs(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64
}

/// The caveat that marks the admin macaroon (it can never pass as a service token: no service accepts it
/// because its root key is not in the token store).
const ADMIN_CAVEAT: (&str, &str) = ("auth_proxy_role", "admin");

/// Mints the admin API's macaroon (binary V2, as lnd writes macaroon files) under `root_key`.
pub fn mint_admin_macaroon(root_key: &RootKey) -> Result<Vec<u8>, MintError> {
    let caveat =
        Caveat::other(ADMIN_CAVEAT.0, ADMIN_CAVEAT.1).map_err(|e| MintError(e.to_string()))?;
    let identifier = Identifier::random(PaymentHash::from_bytes(*TokenId::random().as_bytes()));
    let macaroon =
        Macaroon::mint(root_key, &identifier, &[caveat]).map_err(|e| MintError(e.to_string()))?;
    Ok(macaroon.as_bytes().to_vec())
}

/// Whether `hex` is an admin macaroon signed with `root_key` (signature checked in constant time by l402).
pub fn is_admin_macaroon(hex: &str, root_key: &RootKey) -> bool {
    let Ok(macaroon) = Macaroon::from_hex(hex.trim()) else {
        return false;
    };
    let expected = Caveat::other(ADMIN_CAVEAT.0, ADMIN_CAVEAT.1).ok();
    macaroon.verify_signature(root_key)
        && macaroon
            .caveats()
            .is_ok_and(|caveats| caveats.iter().any(|c| Some(c) == expected.as_ref()))
}
