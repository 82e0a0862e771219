//! Why a payment failed: lnd's failure reasons, their names and how test hooks spell them.

use std::fmt;
use std::str::FromStr;

/// Why a payment failed, as lnd reports it in `Payment.failure_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailureReason {
    /// `FAILURE_REASON_TIMEOUT`: the payment timeout elapsed before a route was found.
    Timeout,
    /// `FAILURE_REASON_NO_ROUTE`: unknown or offline destination, or every route costs more than the fee limit.
    NoRoute,
    /// `FAILURE_REASON_ERROR`: an unexpected error.
    Error,
    /// `FAILURE_REASON_INCORRECT_PAYMENT_DETAILS`: unknown, expired, canceled, paid or wrong-amount invoice.
    IncorrectPaymentDetails,
    /// `FAILURE_REASON_INSUFFICIENT_BALANCE`: the payer cannot afford amount + fee.
    InsufficientBalance,
    /// `FAILURE_REASON_CANCELED`: the payment was canceled.
    Canceled,
}

impl FailureReason {
    /// Every reason, in lnd's numbering order.
    pub const ALL: [FailureReason; 6] = [
        Self::Timeout,
        Self::NoRoute,
        Self::Error,
        Self::IncorrectPaymentDetails,
        Self::InsufficientBalance,
        Self::Canceled,
    ];

    /// lnd's name, e.g. `FAILURE_REASON_NO_ROUTE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "FAILURE_REASON_TIMEOUT",
            Self::NoRoute => "FAILURE_REASON_NO_ROUTE",
            Self::Error => "FAILURE_REASON_ERROR",
            Self::IncorrectPaymentDetails => "FAILURE_REASON_INCORRECT_PAYMENT_DETAILS",
            Self::InsufficientBalance => "FAILURE_REASON_INSUFFICIENT_BALANCE",
            Self::Canceled => "FAILURE_REASON_CANCELED",
        }
    }

    /// lnd's name without its prefix, in lower case, e.g. `no_route` (as `SendPaymentSync` reports it).
    pub fn short_name(self) -> String {
        self.as_str()
            .trim_start_matches("FAILURE_REASON_")
            .to_ascii_lowercase()
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not a failure reason name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown failure reason {0:?} (expected e.g. NO_ROUTE or FAILURE_REASON_NO_ROUTE)")]
pub struct ParseFailureReasonError(String);

impl FromStr for FailureReason {
    type Err = ParseFailureReasonError;

    /// Accepts `FAILURE_REASON_NO_ROUTE`, `NO_ROUTE`, `no_route` or `no-route`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normalised = s.trim().to_ascii_uppercase().replace('-', "_");
        let name = normalised
            .strip_prefix("FAILURE_REASON_")
            .unwrap_or(&normalised);
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str().strip_prefix("FAILURE_REASON_") == Some(name))
            .ok_or_else(|| ParseFailureReasonError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_reasons_parse_in_every_spelling() {
        for reason in FailureReason::ALL {
            assert_eq!(reason.as_str().parse::<FailureReason>().unwrap(), reason);
            let short = reason
                .as_str()
                .trim_start_matches("FAILURE_REASON_")
                .to_lowercase();
            assert_eq!(short.parse::<FailureReason>().unwrap(), reason);
            assert_eq!(
                short.replace('_', "-").parse::<FailureReason>().unwrap(),
                reason
            );
        }
        assert!("none".parse::<FailureReason>().is_err());
        assert!("bogus".parse::<FailureReason>().is_err());
    }
}
