//! The one home of proto conversion: the ledger's domain types as lnd's protobuf messages.

use bitcoin_hashes::Hash as _;
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescriptionRef};
use proto::lnrpc::{self, PayReq, PaymentFailureReason};

use crate::invoice;
use crate::ledger::{FailureReason, Invoice, InvoiceState, Payment, PaymentStatus};

/// lnd's representation of an unknown preimage in `Payment.payment_preimage`.
const ZERO_PREIMAGE_HEX: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Saturating conversion for lnd's signed protobuf fields.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// `lnrpc.Invoice` for an invoice snapshot.
pub(crate) fn invoice_to_proto(invoice: &Invoice) -> lnrpc::Invoice {
    lnrpc::Invoice {
        memo: invoice.memo.clone(),
        r_preimage: invoice.preimage.map(|p| p.to_vec()).unwrap_or_default(),
        r_hash: invoice.hash.to_vec(),
        value: to_i64(invoice.value_msat / 1000),
        settled: invoice.state == InvoiceState::Settled,
        creation_date: to_i64(invoice.creation_date),
        settle_date: to_i64(invoice.settle_date),
        payment_request: invoice.payment_request.clone(),
        description_hash: invoice
            .description_hash
            .map(|h| h.to_vec())
            .unwrap_or_default(),
        expiry: to_i64(invoice.expiry_secs),
        cltv_expiry: invoice.cltv_expiry,
        private: false,
        add_index: invoice.add_index,
        settle_index: invoice.settle_index,
        amt_paid_sat: to_i64(invoice.amt_paid_msat / 1000),
        amt_paid_msat: to_i64(invoice.amt_paid_msat),
        state: invoice_state_to_proto(invoice.state) as i32,
        value_msat: to_i64(invoice.value_msat),
        payment_addr: invoice.payment_addr.to_vec(),
    }
}

fn invoice_state_to_proto(state: InvoiceState) -> lnrpc::invoice::InvoiceState {
    match state {
        InvoiceState::Open => lnrpc::invoice::InvoiceState::Open,
        InvoiceState::Settled => lnrpc::invoice::InvoiceState::Settled,
        InvoiceState::Canceled => lnrpc::invoice::InvoiceState::Canceled,
        InvoiceState::Accepted => lnrpc::invoice::InvoiceState::Accepted,
    }
}

/// `lnrpc.Payment` for a payment snapshot.
pub(crate) fn payment_to_proto(payment: &Payment) -> lnrpc::Payment {
    let (status, preimage, fee_msat, failure_reason) = match payment.status {
        PaymentStatus::InFlight => (
            lnrpc::payment::PaymentStatus::InFlight,
            None,
            0,
            PaymentFailureReason::FailureReasonNone,
        ),
        PaymentStatus::Succeeded { preimage, fee_msat } => (
            lnrpc::payment::PaymentStatus::Succeeded,
            Some(preimage),
            fee_msat,
            PaymentFailureReason::FailureReasonNone,
        ),
        PaymentStatus::Failed(reason) => (
            lnrpc::payment::PaymentStatus::Failed,
            None,
            0,
            failure_reason_to_proto(reason),
        ),
    };
    lnrpc::Payment {
        payment_hash: hex::encode(payment.hash),
        payment_preimage: preimage.map_or_else(|| ZERO_PREIMAGE_HEX.to_owned(), hex::encode),
        value_sat: to_i64(payment.amount_msat / 1000),
        value_msat: to_i64(payment.amount_msat),
        payment_request: payment.payment_request.clone(),
        status: status as i32,
        fee_sat: to_i64(fee_msat / 1000),
        fee_msat: to_i64(fee_msat),
        creation_time_ns: payment.creation_time_ns,
        payment_index: payment.payment_index,
        failure_reason: failure_reason as i32,
    }
}

/// The protobuf enum value of a failure reason.
pub(crate) fn failure_reason_to_proto(reason: FailureReason) -> PaymentFailureReason {
    match reason {
        FailureReason::Timeout => PaymentFailureReason::FailureReasonTimeout,
        FailureReason::NoRoute => PaymentFailureReason::FailureReasonNoRoute,
        FailureReason::Error => PaymentFailureReason::FailureReasonError,
        FailureReason::IncorrectPaymentDetails => {
            PaymentFailureReason::FailureReasonIncorrectPaymentDetails
        }
        FailureReason::InsufficientBalance => {
            PaymentFailureReason::FailureReasonInsufficientBalance
        }
        FailureReason::Canceled => PaymentFailureReason::FailureReasonCanceled,
    }
}

/// lnd's `DecodePayReq` answer for `invoice`.
pub(crate) fn pay_req_to_proto(invoice: &Bolt11Invoice) -> PayReq {
    let amount_msat = invoice.amount_milli_satoshis().unwrap_or(0);
    let description_hash = match invoice.description() {
        Bolt11InvoiceDescriptionRef::Hash(hash) => hex::encode(hash.0.to_byte_array()),
        Bolt11InvoiceDescriptionRef::Direct(_) => String::new(),
    };
    PayReq {
        destination: invoice::payee(invoice).to_string(),
        payment_hash: hex::encode(invoice.payment_hash().to_byte_array()),
        num_satoshis: to_i64(amount_msat / 1000),
        timestamp: to_i64(invoice.duration_since_epoch().as_secs()),
        expiry: to_i64(invoice.expiry_time().as_secs()),
        description: invoice::memo(invoice),
        description_hash,
        cltv_expiry: to_i64(invoice.min_final_cltv_expiry_delta()),
        payment_addr: invoice.payment_secret().0.to_vec(),
        num_msat: to_i64(amount_msat),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use lightning_invoice::Currency;
    use secp256k1::{SecretKey, SECP256K1};

    use super::*;
    use crate::invoice::{parse_invoice, sign_invoice, InvoiceParams};

    fn node_key() -> SecretKey {
        SecretKey::from_slice(&[0x11; 32]).unwrap()
    }

    /// A regtest invoice for 1234 sat, memo `coffee`; tests override what they look at.
    fn params() -> InvoiceParams<'static> {
        InvoiceParams {
            currency: Currency::Regtest,
            payment_hash: [2; 32],
            payment_secret: [3; 32],
            amount_msat: 1_234_000,
            memo: "coffee",
            description_hash: None,
            expiry: Duration::from_secs(3600),
            cltv_expiry: 80,
            timestamp: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    #[test]
    fn signed_invoice_decodes_to_its_parameters() {
        let key = node_key();
        let invoice = sign_invoice(&key, &params()).unwrap().to_string();
        assert!(invoice.starts_with("lnbcrt12340n1"), "{invoice}");
        let decoded = pay_req_to_proto(&parse_invoice(&invoice, Currency::Regtest).unwrap());
        assert_eq!(decoded.destination, key.public_key(SECP256K1).to_string());
        assert_eq!(decoded.payment_hash, hex::encode([2; 32]));
        assert_eq!((decoded.num_satoshis, decoded.num_msat), (1234, 1_234_000));
        assert_eq!(
            (decoded.timestamp, decoded.expiry, decoded.cltv_expiry),
            (1_700_000_000, 3600, 80)
        );
        assert_eq!(decoded.description, "coffee");
        assert_eq!(decoded.payment_addr, vec![3; 32]);
        let err = tonic::Status::from(parse_invoice(&invoice, Currency::Bitcoin).unwrap_err());
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn description_hash_replaces_memo() {
        let params = InvoiceParams {
            currency: Currency::BitcoinTestnet,
            amount_msat: 0,
            memo: "ignored",
            description_hash: Some([9; 32]),
            expiry: Duration::from_secs(60),
            cltv_expiry: 18,
            timestamp: SystemTime::now(),
            ..params()
        };
        let invoice = sign_invoice(&node_key(), &params).unwrap();
        let decoded = pay_req_to_proto(&invoice);
        assert_eq!(decoded.description, "");
        assert_eq!(decoded.description_hash, hex::encode([9; 32]));
        assert_eq!(decoded.num_msat, 0);
        assert!(invoice.to_string().starts_with("lntb1"));
    }

    #[test]
    fn failure_reasons_have_lnds_names() {
        for reason in FailureReason::ALL {
            assert_eq!(
                failure_reason_to_proto(reason).as_str_name(),
                reason.as_str()
            );
        }
    }
}
