//! The errors a swap operation can answer, and their one mapping to gRPC
//! status codes and HTTP responses.
//!
//! Messages help the caller (they name the limits that were violated) and
//! never leak internals: database and unexpected lnd errors are logged in
//! full and answered with a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tonic::Code;

/// Why a swap operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    /// The amount is outside the server's terms.
    #[error("swap amount {amt} sat is out of terms: must be between {min} and {max} sat")]
    AmountOutOfTerms {
        /// The requested amount.
        amt: u64,
        /// The smallest amount accepted.
        min: u64,
        /// The largest amount accepted.
        max: u64,
    },
    /// The requested HTLC expiry is too close or too far.
    #[error(
        "expiry height {expiry} is {delta} blocks from the current height {height}: \
         the cltv delta must be between {min} and {max} blocks"
    )]
    CltvOutOfTerms {
        /// The requested expiry height.
        expiry: i64,
        /// The current block height of the server's lnd.
        height: i64,
        /// `expiry - height`.
        delta: i64,
        /// The smallest delta accepted.
        min: i32,
        /// The largest delta accepted.
        max: i32,
    },
    /// Any other malformed request field.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No swap with this hash.
    #[error("swap {0} not found")]
    NotFound(String),
    /// A swap with this hash exists already.
    #[error("a swap with hash {0} already exists")]
    AlreadyExists(String),
    /// The swap is not in a state that allows the operation.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The caller is not the swap's owner.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The server's lnd cannot be reached.
    #[error("lnd is unavailable: {0}")]
    LndUnavailable(String),
    /// The server's lnd answered an unexpected error.
    #[error("lnd error: {0}")]
    Lnd(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] crate::store::StoreError),
    /// The server is shutting down and no longer accepts work for this swap.
    #[error("server is shutting down")]
    ShuttingDown,
}

impl From<crate::swap::InvalidValue> for SwapError {
    fn from(error: crate::swap::InvalidValue) -> Self {
        SwapError::InvalidArgument(error.0)
    }
}

impl SwapError {
    /// The gRPC code this error maps to.
    pub fn code(&self) -> Code {
        match self {
            Self::AmountOutOfTerms { .. }
            | Self::CltvOutOfTerms { .. }
            | Self::InvalidArgument(_) => Code::InvalidArgument,
            Self::NotFound(_) => Code::NotFound,
            Self::AlreadyExists(_) => Code::AlreadyExists,
            Self::FailedPrecondition(_) => Code::FailedPrecondition,
            Self::PermissionDenied(_) => Code::PermissionDenied,
            Self::LndUnavailable(_) | Self::ShuttingDown => Code::Unavailable,
            Self::Database(e) if e.is_unavailable() => Code::Unavailable,
            Self::Lnd(_) | Self::Database(_) => Code::Internal,
        }
    }

    /// The message shown to callers: the error itself, except for internal
    /// failures whose details stay in the server's log.
    pub fn public_message(&self) -> String {
        match self.code() {
            Code::Internal => "internal error".to_owned(),
            Code::Unavailable if matches!(self, Self::Database(_)) => {
                "database unavailable".to_owned()
            }
            _ => self.to_string(),
        }
    }

    fn log_if_internal(&self) {
        if matches!(self.code(), Code::Internal | Code::Unavailable) {
            tracing::warn!(error = %self, "request failed");
        }
    }
}

impl From<SwapError> for tonic::Status {
    fn from(error: SwapError) -> Self {
        error.log_if_internal();
        tonic::Status::new(error.code(), error.public_message())
    }
}

/// The JSON body of every HTTP error response.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// The gRPC code name in snake case, e.g. `invalid_argument`.
    pub code: String,
    /// The same message a gRPC client gets.
    pub message: String,
}

/// The HTTP status matching a gRPC code.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::InvalidArgument => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists => StatusCode::CONFLICT,
        Code::FailedPrecondition => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The snake-case name of a gRPC code, used in [`ErrorBody::code`].
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument => "invalid_argument",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::FailedPrecondition => "failed_precondition",
        Code::PermissionDenied => "permission_denied",
        Code::Unavailable => "unavailable",
        _ => "internal",
    }
}

impl IntoResponse for SwapError {
    fn into_response(self) -> Response {
        self.log_if_internal();
        let code = self.code();
        let body = ErrorBody {
            code: code_name(code).to_owned(),
            message: self.public_message(),
        };
        (http_status(code), Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_terms_names_the_limits() {
        let e = SwapError::AmountOutOfTerms {
            amt: 5,
            min: 10_000,
            max: 5_000_000,
        };
        assert_eq!(e.code(), Code::InvalidArgument);
        let msg = e.public_message();
        assert!(msg.contains("10000") && msg.contains("5000000"), "{msg}");
        assert_eq!(http_status(e.code()), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn internal_errors_do_not_leak() {
        let e = SwapError::Lnd("secret detail".into());
        assert_eq!(e.code(), Code::Internal);
        assert_eq!(e.public_message(), "internal error");
    }

    #[test]
    fn codes_map_to_http() {
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(http_status(Code::AlreadyExists), StatusCode::CONFLICT);
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
