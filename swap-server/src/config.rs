//! Server configuration: the swap terms and fees it offers, the timings of the
//! simulated chain, where its lnd and its database are.
//!
//! Everything here is plain data, validated once by [`Config::validate`]; the
//! binary builds it from command-line flags and environment variables.

use std::time::Duration;

use l402::Network;
use lnd_client::LndConfig;

/// The loop-out terms and fees the server offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// Smallest swap amount accepted, in satoshis.
    pub min_swap_amount: u64,
    /// Largest swap amount accepted, in satoshis.
    pub max_swap_amount: u64,
    /// Smallest accepted distance between the current block height and the HTLC expiry.
    pub min_cltv_delta: i32,
    /// Largest accepted distance between the current block height and the HTLC expiry.
    pub max_cltv_delta: i32,
    /// Fixed part of the swap fee, in satoshis.
    pub fee_base_sat: u64,
    /// Proportional part of the swap fee, in parts per million of the amount.
    pub fee_ppm: u64,
    /// Amount of the prepay invoice, in satoshis (part of amount + fee, as in Loop).
    pub prepay_amt_sat: u64,
}

impl Default for Terms {
    fn default() -> Self {
        Self {
            min_swap_amount: 10_000,
            max_swap_amount: 5_000_000,
            min_cltv_delta: 20,
            max_cltv_delta: 2016,
            fee_base_sat: 100,
            fee_ppm: 2_000,
            prepay_amt_sat: 1_000,
        }
    }
}

impl Terms {
    /// The total swap fee for `amt` satoshis: `base + amt * ppm / 1_000_000` (rounded down).
    pub fn swap_fee(&self, amt: u64) -> u64 {
        let proportional = u128::from(amt) * u128::from(self.fee_ppm) / 1_000_000;
        self.fee_base_sat
            .saturating_add(u64::try_from(proportional).unwrap_or(u64::MAX))
    }

    /// Whether `amt` lies within `[min_swap_amount, max_swap_amount]`.
    pub fn amount_in_terms(&self, amt: u64) -> bool {
        (self.min_swap_amount..=self.max_swap_amount).contains(&amt)
    }

    /// Whether a CLTV delta lies within `[min_cltv_delta, max_cltv_delta]`.
    pub fn cltv_delta_in_terms(&self, delta: i64) -> bool {
        (i64::from(self.min_cltv_delta)..=i64::from(self.max_cltv_delta)).contains(&delta)
    }
}

/// Timings of the simulated on-chain part and of the deadlines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timings {
    /// Added to the client's `swap_publication_deadline` (or to the creation
    /// time, if the deadline is already past): when both invoices are not paid
    /// (accepted) by then, the swap fails with `SERVER_FAILED_SWAP_DEADLINE`.
    pub publication_grace: Duration,
    /// Time between "publishing" the HTLC and its simulated confirmation, and
    /// between publishing the timeout sweep and its confirmation.
    pub confirmation_delay: Duration,
    /// Time after publication at which the simulated HTLC expires: without a
    /// preimage by then the server sweeps it, keeps the prepay and cancels the
    /// swap invoice.
    pub htlc_expiry: Duration,
    /// Pause before retrying an lnd call or subscription that failed.
    pub lnd_retry: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            publication_grace: Duration::from_secs(10 * 60),
            confirmation_delay: Duration::from_secs(2),
            htlc_expiry: Duration::from_secs(60 * 60),
            lnd_retry: Duration::from_secs(1),
        }
    }
}

/// Everything the server needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server's own lnd node (hold invoices are created there).
    pub lnd: LndConfig,
    /// Database URL: `sqlite://path` (created if missing), `sqlite::memory:`,
    /// or `postgres://…`. A bare path is taken as a SQLite file.
    pub database_url: String,
    /// The Bitcoin network the server and its lnd are on (`regtest`, `testnet`, `mainnet`, …).
    pub network: Network,
    /// Terms and fees.
    pub terms: Terms,
    /// Deadlines and simulated chain timings.
    pub timings: Timings,
    /// The `server_message` returned with every new swap.
    pub server_message: String,
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `min_swap_amount > max_swap_amount`, or the minimum is zero.
    #[error("invalid swap amount range [{min}, {max}] sat")]
    AmountRange {
        /// Configured minimum.
        min: u64,
        /// Configured maximum.
        max: u64,
    },
    /// `min_cltv_delta > max_cltv_delta`, or a negative delta.
    #[error("invalid cltv delta range [{min}, {max}] blocks")]
    CltvRange {
        /// Configured minimum.
        min: i32,
        /// Configured maximum.
        max: i32,
    },
    /// The prepay must be strictly smaller than the smallest amount + fee,
    /// because the swap invoice carries `amount + fee - prepay`.
    #[error(
        "prepay amount {prepay} sat must be below the smallest swap amount plus fee ({floor} sat)"
    )]
    PrepayTooLarge {
        /// Configured prepay amount.
        prepay: u64,
        /// Smallest amount + fee.
        floor: u64,
    },
}

impl Config {
    /// A configuration with default terms and timings for the given lnd and database.
    pub fn new(lnd: LndConfig, database_url: impl Into<String>) -> Self {
        Self {
            lnd,
            database_url: database_url.into(),
            network: Network::Regtest,
            terms: Terms::default(),
            timings: Timings::default(),
            server_message: String::new(),
        }
    }

    /// Checks that the terms are coherent and the network is known.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.terms;
        if t.min_swap_amount == 0 || t.min_swap_amount > t.max_swap_amount {
            return Err(ConfigError::AmountRange {
                min: t.min_swap_amount,
                max: t.max_swap_amount,
            });
        }
        if t.min_cltv_delta < 0 || t.min_cltv_delta > t.max_cltv_delta {
            return Err(ConfigError::CltvRange {
                min: t.min_cltv_delta,
                max: t.max_cltv_delta,
            });
        }
        let floor = t.min_swap_amount + t.swap_fee(t.min_swap_amount);
        if t.prepay_amt_sat >= floor {
            return Err(ConfigError::PrepayTooLarge {
                prepay: t.prepay_amt_sat,
                floor,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::new(
            LndConfig {
                host: "127.0.0.1:1".into(),
                tls_cert_path: None,
                macaroon_path: "admin.macaroon".into(),
            },
            "sqlite::memory:",
        )
    }

    #[test]
    fn fee_is_base_plus_ppm() {
        let terms = Terms {
            fee_base_sat: 100,
            fee_ppm: 2_000,
            ..Terms::default()
        };
        assert_eq!(terms.swap_fee(250_000), 100 + 500);
        assert_eq!(terms.swap_fee(0), 100);
        assert_eq!(terms.swap_fee(999), 101);
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(config().validate(), Ok(()));
    }

    #[test]
    fn incoherent_terms_are_rejected() {
        let mut c = config();
        c.terms.min_swap_amount = 10;
        c.terms.max_swap_amount = 5;
        assert!(matches!(c.validate(), Err(ConfigError::AmountRange { .. })));

        let mut c = config();
        c.terms.prepay_amt_sat = c.terms.min_swap_amount * 2;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::PrepayTooLarge { .. })
        ));

        let mut c = config();
        c.terms.min_cltv_delta = 50;
        c.terms.max_cltv_delta = 40;
        assert!(matches!(c.validate(), Err(ConfigError::CltvRange { .. })));
    }
}
