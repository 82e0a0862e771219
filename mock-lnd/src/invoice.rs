//! BOLT11 invoices: signing them with a node key and parsing the ones presented for payment.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use bitcoin_hashes::{sha256, Hash};
use l402::Network;
use lightning_invoice::{
    Bolt11Invoice, Bolt11InvoiceDescription, Bolt11InvoiceDescriptionRef, Currency, Description,
    InvoiceBuilder, PaymentSecret, Sha256,
};
use secp256k1::{Message, SecretKey, SECP256K1};

use crate::error::MockLndError;

/// The BOLT11 currency (human-readable prefix) of an lnd `--network` name.
pub fn currency_for_network(network: &str) -> Result<Currency, MockLndError> {
    network
        .parse::<Network>()
        .map(Network::currency)
        .map_err(|e| MockLndError::InvalidConfig(e.to_string()))
}

/// Why an invoice could not be built or was refused. The messages are lnd's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InvoiceError {
    /// The memo does not fit into a BOLT11 description.
    #[error("memo too long: max 639 bytes")]
    MemoTooLong,
    /// lightning-invoice refused to build or sign the invoice.
    #[error("cannot create invoice: {0}")]
    Unsignable(String),
    /// The text is not a BOLT11 payment request.
    #[error("invalid payment request: {0}")]
    Unparsable(String),
    /// The payment request is for another network than the node's.
    #[error("invoice not for current active network '{0}'")]
    WrongNetwork(&'static str),
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
) -> Result<Bolt11Invoice, InvoiceError> {
    let description = match params.description_hash {
        Some(hash) => Bolt11InvoiceDescription::Hash(Sha256(sha256::Hash::from_byte_array(hash))),
        None => Bolt11InvoiceDescription::Direct(
            Description::new(params.memo.to_owned()).map_err(|_| InvoiceError::MemoTooLong)?,
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
        .map_err(|e| InvoiceError::Unsignable(e.to_string()))
}

/// Parses a payment request and checks it is for `currency`, as lnd does before decoding or paying.
pub(crate) fn parse_invoice(
    payment_request: &str,
    currency: Currency,
) -> Result<Bolt11Invoice, InvoiceError> {
    let invoice = Bolt11Invoice::from_str(payment_request.trim())
        .map_err(|e| InvoiceError::Unparsable(e.to_string()))?;
    if invoice.currency() != currency {
        return Err(InvoiceError::WrongNetwork(network_name(currency)));
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
