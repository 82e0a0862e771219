//! Loop's fee limits and contract checks for a loop out.

use l402::PaymentHash;
use proto::looprpc::{LoopOutRequest, OutQuoteResponse};

use super::OutLimits;

/// Base of Loop's default routing fee limit (satoshis).
pub const MAX_ROUTING_FEE_BASE_SAT: u64 = 10;
/// Rate of Loop's default routing fee limit (parts per million: 2 %).
pub const MAX_ROUTING_FEE_RATE_PPM: u64 = 20_000;
/// Loop's multiplier of the estimated sweep fee for the miner fee limit.
pub const MINER_FEE_MULTIPLIER: u64 = 250;

/// Loop's default routing fee limit for paying `amount_sat`: 10 sat + 2 %.
pub fn max_routing_fee(amount_sat: u64) -> u64 {
    MAX_ROUTING_FEE_BASE_SAT + amount_sat.saturating_mul(MAX_ROUTING_FEE_RATE_PPM) / 1_000_000
}

/// Loop's default limits for a quote (the `loop` CLI's `getOutLimits`).
pub fn default_limits(amount_sat: u64, quote: &OutQuoteResponse) -> OutLimits {
    let prepay = u64::try_from(quote.prepay_amt_sat).unwrap_or(0);
    OutLimits {
        max_swap_routing_fee: max_routing_fee(amount_sat),
        max_prepay_routing_fee: max_routing_fee(prepay),
        max_miner_fee: u64::try_from(quote.htlc_sweep_fee_sat)
            .unwrap_or(0)
            .saturating_mul(MINER_FEE_MULTIPLIER),
        max_swap_fee: u64::try_from(quote.swap_fee_sat).unwrap_or(0),
        max_prepay_amt: prepay,
    }
}

/// The limits of a request: the caller's where set, Loop's defaults elsewhere.
pub fn request_limits(request: &LoopOutRequest, quote: &OutQuoteResponse) -> OutLimits {
    let defaults = default_limits(u64::try_from(request.amt).unwrap_or(0), quote);
    let or = |value: i64, default: u64| {
        u64::try_from(value)
            .ok()
            .filter(|v| *v > 0)
            .unwrap_or(default)
    };
    OutLimits {
        max_swap_fee: or(request.max_swap_fee, defaults.max_swap_fee),
        max_prepay_amt: or(request.max_prepay_amt, defaults.max_prepay_amt),
        max_swap_routing_fee: or(request.max_swap_routing_fee, defaults.max_swap_routing_fee),
        max_prepay_routing_fee: or(
            request.max_prepay_routing_fee,
            defaults.max_prepay_routing_fee,
        ),
        max_miner_fee: or(request.max_miner_fee, defaults.max_miner_fee),
    }
}

/// Why the server's swap contract was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// An invoice could not be decoded.
    #[error("cannot decode the {which} invoice: {reason}")]
    BadInvoice {
        /// "swap" or "prepay".
        which: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// An invoice has no amount.
    #[error("the {0} invoice has no amount")]
    NoAmount(&'static str),
    /// The swap invoice is not locked to our swap hash.
    #[error("swap invoice hash {invoice_hash} is not the swap hash {swap_hash}")]
    WrongHash {
        /// The invoice's payment hash.
        invoice_hash: String,
        /// Our swap hash.
        swap_hash: String,
    },
    /// Swap + prepay − amount exceeds the maximum swap fee.
    #[error("swap fee of {fee_sat} sat exceeds the maximum of {max_sat} sat")]
    SwapFeeTooHigh {
        /// The fee the contract asks.
        fee_sat: i64,
        /// The limit.
        max_sat: u64,
    },
    /// The prepay exceeds the maximum prepay amount.
    #[error("prepay amount of {prepay_sat} sat exceeds the maximum of {max_sat} sat")]
    PrepayTooHigh {
        /// The prepay asked.
        prepay_sat: u64,
        /// The limit.
        max_sat: u64,
    },
}

/// What a validated contract asks us to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contract {
    /// Amount of the swap (hold) invoice, satoshis.
    pub swap_invoice_amt_sat: u64,
    /// Amount of the prepay invoice, satoshis.
    pub prepay_invoice_amt_sat: u64,
    /// Hash of the prepay invoice.
    pub prepay_hash: PaymentHash,
}

/// Loop's `validateLoopOutContract`: the swap invoice pays for our swap hash,
/// and the fees stay within the limits.
pub fn validate_contract(
    swap_hash: &PaymentHash,
    amount_sat: u64,
    limits: &OutLimits,
    swap_invoice: &str,
    prepay_invoice: &str,
) -> Result<Contract, ContractError> {
    let (swap_invoice_hash, swap_amt) = decode_invoice("swap", swap_invoice)?;
    if &swap_invoice_hash != swap_hash {
        return Err(ContractError::WrongHash {
            invoice_hash: swap_invoice_hash.to_hex(),
            swap_hash: swap_hash.to_hex(),
        });
    }
    let (prepay_hash, prepay_amt) = decode_invoice("prepay", prepay_invoice)?;
    let fee_sat = swap_amt as i64 + prepay_amt as i64 - amount_sat as i64;
    if fee_sat > 0 && fee_sat as u64 > limits.max_swap_fee {
        return Err(ContractError::SwapFeeTooHigh {
            fee_sat,
            max_sat: limits.max_swap_fee,
        });
    }
    if prepay_amt > limits.max_prepay_amt {
        return Err(ContractError::PrepayTooHigh {
            prepay_sat: prepay_amt,
            max_sat: limits.max_prepay_amt,
        });
    }
    Ok(Contract {
        swap_invoice_amt_sat: swap_amt,
        prepay_invoice_amt_sat: prepay_amt,
        prepay_hash,
    })
}

/// Payment hash and amount (whole satoshis, rounded up) of a BOLT11 invoice.
pub fn decode_invoice(
    which: &'static str,
    invoice: &str,
) -> Result<(PaymentHash, u64), ContractError> {
    let decoded: lightning_invoice::Bolt11Invoice =
        invoice
            .parse()
            .map_err(
                |e: lightning_invoice::ParseOrSemanticError| ContractError::BadInvoice {
                    which,
                    reason: e.to_string(),
                },
            )?;
    let msat = decoded
        .amount_milli_satoshis()
        .ok_or(ContractError::NoAmount(which))?;
    Ok((
        PaymentHash::from_bytes(*decoded.payment_hash().as_ref()),
        msat.div_ceil(1000),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin_hashes::Hash;

    /// A signed regtest invoice for `hash` and `amount_sat`.
    fn invoice(hash: PaymentHash, amount_sat: u64) -> String {
        let key = secp256k1::SecretKey::from_slice(&[7; 32]).unwrap();
        let secp = secp256k1::Secp256k1::new();
        lightning_invoice::InvoiceBuilder::new(lightning_invoice::Currency::Regtest)
            .description("swap".into())
            .payment_hash(bitcoin_hashes::sha256::Hash::from_byte_array(hash.0))
            .payment_secret(lightning_invoice::PaymentSecret([1; 32]))
            .current_timestamp()
            .min_final_cltv_expiry_delta(144)
            .amount_milli_satoshis(amount_sat * 1000)
            .build_signed(|m| secp.sign_ecdsa_recoverable(m, &key))
            .unwrap()
            .to_string()
    }

    const LIMITS: OutLimits = OutLimits {
        max_swap_fee: 600,
        max_prepay_amt: 1_000,
        max_swap_routing_fee: 5_010,
        max_prepay_routing_fee: 30,
        max_miner_fee: 0,
    };

    #[test]
    fn a_contract_within_the_limits_is_accepted() {
        let hash = PaymentHash::from_bytes([5; 32]);
        // Loop's convention: swap invoice = amount + fee - prepay.
        let contract = validate_contract(
            &hash,
            250_000,
            &LIMITS,
            &invoice(hash, 249_600),
            &invoice(PaymentHash::from_bytes([6; 32]), 1_000),
        )
        .unwrap();
        assert_eq!(contract.swap_invoice_amt_sat, 249_600);
        assert_eq!(contract.prepay_invoice_amt_sat, 1_000);
        assert_eq!(contract.prepay_hash, PaymentHash::from_bytes([6; 32]));
    }

    #[test]
    fn a_contract_outside_the_limits_is_refused() {
        let hash = PaymentHash::from_bytes([5; 32]);
        let prepay = invoice(PaymentHash::from_bytes([6; 32]), 1_000);
        assert!(matches!(
            validate_contract(
                &hash,
                250_000,
                &LIMITS,
                &invoice(PaymentHash::from_bytes([9; 32]), 249_600),
                &prepay
            ),
            Err(ContractError::WrongHash { .. })
        ));
        assert_eq!(
            validate_contract(&hash, 250_000, &LIMITS, &invoice(hash, 249_601), &prepay),
            Err(ContractError::SwapFeeTooHigh {
                fee_sat: 601,
                max_sat: 600
            })
        );
        assert_eq!(
            validate_contract(
                &hash,
                250_000,
                &LIMITS,
                &invoice(hash, 249_000),
                &invoice(PaymentHash::from_bytes([6; 32]), 1_001)
            ),
            Err(ContractError::PrepayTooHigh {
                prepay_sat: 1_001,
                max_sat: 1_000
            })
        );
        assert!(matches!(
            validate_contract(&hash, 250_000, &LIMITS, "lnbcrt1garbage", &prepay),
            Err(ContractError::BadInvoice { which: "swap", .. })
        ));
    }

    #[test]
    fn loop_default_routing_fee() {
        assert_eq!(max_routing_fee(250_000), 10 + 5_000);
        assert_eq!(max_routing_fee(0), 10);
        assert_eq!(max_routing_fee(1_000), 30);
    }

    #[test]
    fn defaults_fill_unset_limits_only() {
        let quote = OutQuoteResponse {
            swap_fee_sat: 500,
            prepay_amt_sat: 1_000,
            htlc_sweep_fee_sat: 2,
            ..Default::default()
        };
        let request = LoopOutRequest {
            amt: 250_000,
            max_swap_routing_fee: 77,
            ..Default::default()
        };
        let limits = request_limits(&request, &quote);
        assert_eq!(
            limits,
            OutLimits {
                max_swap_fee: 500,
                max_prepay_amt: 1_000,
                max_swap_routing_fee: 77,
                max_prepay_routing_fee: 30,
                max_miner_fee: 500,
            }
        );
    }
}
