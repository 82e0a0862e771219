//! The crate-wide [`Error`], for callers that want one error type for every operation.

use crate::caveat::CaveatError;
use crate::challenge::ChallengeError;
use crate::credential::CredentialError;
use crate::identifier::IdentifierError;
use crate::macaroon::MacaroonError;
use crate::token::TokenError;
use crate::types::HexError;
use crate::verify::VerifyError;

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// See [`HexError`].
    #[error(transparent)]
    Hex(#[from] HexError),
    /// See [`IdentifierError`].
    #[error(transparent)]
    Identifier(#[from] IdentifierError),
    /// See [`MacaroonError`].
    #[error(transparent)]
    Macaroon(#[from] MacaroonError),
    /// See [`CaveatError`].
    #[error(transparent)]
    Caveat(#[from] CaveatError),
    /// See [`ChallengeError`].
    #[error(transparent)]
    Challenge(#[from] ChallengeError),
    /// See [`CredentialError`].
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// See [`TokenError`].
    #[error(transparent)]
    Token(#[from] TokenError),
    /// See [`VerifyError`].
    #[error(transparent)]
    Verify(#[from] VerifyError),
}
