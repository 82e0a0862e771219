//! What the proxy does with the `l402` crate beyond l402-server's minting and verification (see
//! [`crate::challenge`], [`crate::authenticate`]): the credential forwarded to backends, and the admin
//! macaroon.
//!
//! The rest of the proxy sees plain types ([`Verified`], [`Rejection`]) and never touches macaroon bytes.

use http::HeaderValue;
use l402::{Caveat, Credential, Identifier, Macaroon, PaymentHash, RootKey, TokenId};

pub use l402_server::Rejection;

/// A credential that passed verification.
#[derive(Debug, Clone)]
pub struct Verified(Credential);

impl Verified {
    /// Wraps a credential l402-server verified.
    pub(crate) fn new(credential: Credential) -> Self {
        Verified(credential)
    }

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
