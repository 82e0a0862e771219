//! What the proxy does with the `l402` crate beyond minting (which is l402-server's, see [`crate::challenge`]):
//! reading credentials, verifying tokens, writing the credential forwarded to backends, and the admin macaroon.
//!
//! The rest of the proxy sees plain types ([`Presented`], [`Verified`], [`Rejection`]) and never touches
//! macaroon bytes.

use std::time::SystemTime;

use http::{HeaderMap, HeaderValue};
use l402::{
    Caveat, Credential, CredentialError, Identifier, IdentifierHash, Macaroon, PaymentHash,
    RequestContext, RootKey, TokenId,
};

pub use l402_server::Rejection;

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

/// The admin macaroon could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot mint token: {0}")]
pub struct MintError(String);

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
