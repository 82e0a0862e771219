//! Why a credential was refused: [`VerifyError`], with a stable label per reason for logs and metrics.
//!
//! Its own module so that both the verifier and the caveat satisfiers can return it without depending on
//! each other.

use crate::caveat::CaveatError;
use crate::macaroon::MacaroonError;

/// Why a credential was refused. [`VerifyError::reason`] gives a stable label for metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The macaroon could not be decoded or attenuated.
    #[error("malformed macaroon: {0}")]
    Malformed(#[from] MacaroonError),
    /// The macaroon's location is not `lsat`.
    #[error("unexpected macaroon location")]
    WrongLocation,
    /// A caveat could not be parsed (including a known caveat with a bad value).
    #[error("malformed caveat: {0}")]
    BadCaveat(#[from] CaveatError),
    /// `sha256(preimage)` is not the identifier's payment hash, or a `preimage` caveat disagrees.
    #[error("preimage does not match the payment hash")]
    PreimageMismatch,
    /// No root key is stored for this identifier (never minted here, or revoked).
    #[error("no root key for this token (unknown or revoked)")]
    UnknownRootKey,
    /// The HMAC chain does not end in the macaroon's signature.
    #[error("invalid macaroon signature")]
    BadSignature,
    /// A later caveat tries to widen an earlier caveat with the same condition.
    #[error("caveat {condition} widens an earlier caveat")]
    CaveatWidened {
        /// The condition of the offending caveat.
        condition: String,
    },
    /// The `<service>_valid_until` time has passed.
    #[error("token expired at unix time {valid_until}")]
    Expired {
        /// The expiry that was exceeded.
        valid_until: i64,
    },
    /// The `services` caveat does not list the requested service.
    #[error("token is not valid for service {service}")]
    WrongService {
        /// The service the request was for.
        service: String,
    },
    /// The `<service>_capabilities` caveat does not grant the required capability.
    #[error("token lacks capability {capability}")]
    MissingCapability {
        /// The capability the request needed.
        capability: String,
    },
    /// A custom [`Satisfier`] refused a caveat.
    #[error("caveat {condition} not satisfied: {reason}")]
    Unsatisfied {
        /// The condition of the refused caveat.
        condition: String,
        /// Why (no secrets).
        reason: String,
    },
}

impl VerifyError {
    /// A short stable label (`bad_signature`, `preimage_mismatch`, `expired`, …) for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "malformed",
            VerifyError::WrongLocation => "wrong_location",
            VerifyError::BadCaveat(_) => "bad_caveat",
            VerifyError::PreimageMismatch => "preimage_mismatch",
            VerifyError::UnknownRootKey => "unknown_root_key",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::CaveatWidened { .. } => "caveat_widened",
            VerifyError::Expired { .. } => "expired",
            VerifyError::WrongService { .. } => "wrong_service",
            VerifyError::MissingCapability { .. } => "missing_capability",
            VerifyError::Unsatisfied { .. } => "unsatisfied_caveat",
        }
    }
}
