//! BOLT11 invoices the kit signs itself, with a fixed node key: for the test vectors, and for the
//! `client` case whose invoice is for another network than any node of the simulated one.

use std::time::Duration;

use bitcoin_hashes::Hash as _;
use l402::PaymentHash;
use lightning_invoice::{Currency, InvoiceBuilder, PaymentSecret};
use secp256k1::{Secp256k1, SecretKey};

/// The node key the kit signs its invoices with (not a node of any network).
const NODE_KEY: [u8; 32] = [0x11; 32];

/// A signed invoice for `currency` paying `amount_msat` to `payment_hash`, created at `created`
/// (since the Unix epoch), expiring an hour later (BOLT 11's default), final CLTV delta 144.
pub fn signed(
    currency: Currency,
    payment_hash: PaymentHash,
    created: Duration,
    amount_msat: u64,
) -> String {
    let node_key = SecretKey::from_slice(&NODE_KEY).expect("a valid secret key");
    InvoiceBuilder::new(currency)
        .description("L402".into())
        .payment_hash(bitcoin_hashes::sha256::Hash::from_byte_array(
            *payment_hash.as_bytes(),
        ))
        .payment_secret(PaymentSecret([7; 32]))
        .duration_since_epoch(created)
        .min_final_cltv_expiry_delta(144)
        .amount_milli_satoshis(amount_msat)
        .build_signed(|message| Secp256k1::new().sign_ecdsa_recoverable(message, &node_key))
        .expect("the invoice's fields are complete")
        .to_string()
}
