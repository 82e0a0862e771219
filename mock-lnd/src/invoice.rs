//! BOLT11 invoices: signing them with a node key and decoding them into lnd's `PayReq`.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use bitcoin_hashes::{sha256, Hash};
use l402::Network;
use lightning_invoice::{
    Bolt11Invoice, Bolt11InvoiceDescription, Bolt11InvoiceDescriptionRef, Currency, Description,
    InvoiceBuilder, PaymentSecret, Sha256,
};
use proto::lnrpc::PayReq;
use secp256k1::{Message, SecretKey, SECP256K1};
use tonic::Status;

use crate::error::MockLndError;

/// The BOLT11 currency (human-readable prefix) of an lnd `--network` name.
pub fn currency_for_network(network: &str) -> Result<Currency, MockLndError> {
    network
        .parse::<Network>()
        .map(Network::currency)
        .map_err(|e| MockLndError::InvalidConfig(e.to_string()))
}

/// What goes into a new invoice.
pub(crate) struct InvoiceParams<'a> {
    pub currency: Currency,
    pub payment_hash: [u8; 32],
    pub payment_secret: [u8; 32],
    /// 0 = an invoice without amount ("any amount").
    pub amount_msat: u64,
    pub memo: &'a str,
    /// When set, the invoice commits to this hash instead of carrying the memo.
    pub description_hash: Option<[u8; 32]>,
    pub expiry: Duration,
    pub cltv_expiry: u64,
    pub timestamp: SystemTime,
}

/// Builds and signs a BOLT11 invoice with `node_key`.
pub(crate) fn sign_invoice(
    node_key: &SecretKey,
    params: &InvoiceParams<'_>,
) -> Result<Bolt11Invoice, Status> {
    let description = match params.description_hash {
        Some(hash) => Bolt11InvoiceDescription::Hash(Sha256(sha256::Hash::from_byte_array(hash))),
        None => Bolt11InvoiceDescription::Direct(
            Description::new(params.memo.to_owned())
                .map_err(|_| Status::invalid_argument("memo too long: max 639 bytes"))?,
        ),
    };
    let builder = InvoiceBuilder::new(params.currency.clone())
        .invoice_description(description)
        .payment_hash(sha256::Hash::from_byte_array(params.payment_hash))
        .payment_secret(PaymentSecret(params.payment_secret))
        .basic_mpp()
        .timestamp(params.timestamp)
        .min_final_cltv_expiry_delta(params.cltv_expiry)
        .expiry_time(params.expiry);
    let builder = if params.amount_msat > 0 {
        builder.amount_milli_satoshis(params.amount_msat)
    } else {
        builder
    };
    builder
        .build_signed(|hash: &Message| SECP256K1.sign_ecdsa_recoverable(hash, node_key))
        .map_err(|e| Status::invalid_argument(format!("cannot create invoice: {e}")))
}

/// Parses a payment request and checks it is for `currency`, as lnd does before decoding or paying.
pub(crate) fn parse_invoice(
    payment_request: &str,
    currency: Currency,
) -> Result<Bolt11Invoice, Status> {
    let invoice = Bolt11Invoice::from_str(payment_request.trim())
        .map_err(|e| Status::invalid_argument(format!("invalid payment request: {e}")))?;
    if invoice.currency() != currency {
        return Err(Status::invalid_argument(format!(
            "invoice not for current active network '{}'",
            network_name(currency)
        )));
    }
    Ok(invoice)
}

/// lnd's name of a BOLT11 currency's network.
pub(crate) fn network_name(currency: Currency) -> &'static str {
    Network::of_currency(&currency).as_str()
}

/// The node that signed `invoice` (explicit payee field, or recovered from the signature).
pub(crate) fn payee(invoice: &Bolt11Invoice) -> secp256k1::PublicKey {
    invoice
        .payee_pub_key()
        .copied()
        .unwrap_or_else(|| invoice.recover_payee_pub_key())
}

/// The memo of an invoice, empty when it only commits to a description hash.
pub(crate) fn memo(invoice: &Bolt11Invoice) -> String {
    match invoice.description() {
        Bolt11InvoiceDescriptionRef::Direct(description) => description.as_inner().0.clone(),
        Bolt11InvoiceDescriptionRef::Hash(_) => String::new(),
    }
}

/// lnd's `DecodePayReq` answer for `invoice`.
pub(crate) fn to_pay_req(invoice: &Bolt11Invoice) -> PayReq {
    let amount_msat = invoice.amount_milli_satoshis().unwrap_or(0);
    let description_hash = match invoice.description() {
        Bolt11InvoiceDescriptionRef::Hash(hash) => hex::encode(hash.0.to_byte_array()),
        Bolt11InvoiceDescriptionRef::Direct(_) => String::new(),
    };
    PayReq {
        destination: payee(invoice).to_string(),
        payment_hash: hex::encode(invoice.payment_hash().to_byte_array()),
        num_satoshis: to_i64(amount_msat / 1000),
        timestamp: to_i64(invoice.duration_since_epoch().as_secs()),
        expiry: to_i64(invoice.expiry_time().as_secs()),
        description: memo(invoice),
        description_hash,
        cltv_expiry: to_i64(invoice.min_final_cltv_expiry_delta()),
        payment_addr: invoice.payment_secret().0.to_vec(),
        num_msat: to_i64(amount_msat),
    }
}

/// Saturating conversion for lnd's signed protobuf fields.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_invoice_decodes_to_its_parameters() {
        let key = SecretKey::from_slice(&[0x11; 32]).unwrap();
        let timestamp = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let params = InvoiceParams {
            currency: Currency::Regtest,
            payment_hash: [2; 32],
            payment_secret: [3; 32],
            amount_msat: 1_234_000,
            memo: "coffee",
            description_hash: None,
            expiry: Duration::from_secs(3600),
            cltv_expiry: 80,
            timestamp,
        };
        let invoice = sign_invoice(&key, &params).unwrap().to_string();
        assert!(invoice.starts_with("lnbcrt12340n1"), "{invoice}");
        let decoded = to_pay_req(&parse_invoice(&invoice, Currency::Regtest).unwrap());
        assert_eq!(decoded.destination, key.public_key(SECP256K1).to_string());
        assert_eq!(decoded.payment_hash, hex::encode([2; 32]));
        assert_eq!((decoded.num_satoshis, decoded.num_msat), (1234, 1_234_000));
        assert_eq!(
            (decoded.timestamp, decoded.expiry, decoded.cltv_expiry),
            (1_700_000_000, 3600, 80)
        );
        assert_eq!(decoded.description, "coffee");
        assert_eq!(decoded.payment_addr, vec![3; 32]);
        let err = parse_invoice(&invoice, Currency::Bitcoin).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn description_hash_replaces_memo() {
        let key = SecretKey::from_slice(&[0x11; 32]).unwrap();
        let params = InvoiceParams {
            currency: Currency::BitcoinTestnet,
            payment_hash: [2; 32],
            payment_secret: [3; 32],
            amount_msat: 0,
            memo: "ignored",
            description_hash: Some([9; 32]),
            expiry: Duration::from_secs(60),
            cltv_expiry: 18,
            timestamp: SystemTime::now(),
        };
        let invoice = sign_invoice(&key, &params).unwrap();
        let decoded = to_pay_req(&invoice);
        assert_eq!(decoded.description, "");
        assert_eq!(decoded.description_hash, hex::encode([9; 32]));
        assert_eq!(decoded.num_msat, 0);
        assert!(invoice.to_string().starts_with("lntb1"));
    }
}
