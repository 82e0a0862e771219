//! Token files as a client leaves them behind.

use std::time::SystemTime;

use l402::{Challenge, Token};
use l402_client::TokenStore;

/// Writes the pending token a client that crashed mid-payment leaves behind
/// (`l402.token.pending` for `challenge`'s macaroon and payment hash), and
/// returns it.
pub fn leave_pending(store: &TokenStore, challenge: &Challenge) -> Token {
    let pending = Token::pending(
        challenge.macaroon().clone(),
        challenge.payment_hash(),
        SystemTime::now(),
    );
    store
        .store_pending(&pending)
        .expect("store the pending token");
    pending
}
