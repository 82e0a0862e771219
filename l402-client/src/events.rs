//! The client's live feed of what it does with tokens — a challenge met, the pending token written, the
//! payment's outcome, a rejected token evicted — for observers in the same process (`loop-demo --web`).
//!
//! The feed is bounded (a subscriber that falls behind loses the oldest events and is told how many) and
//! costs nothing while nobody listens: an event is built only when there is a subscriber. Events carry no
//! secret: a challenge holds the macaroon without its preimage and the invoice, both public.

use l402::{PaymentHash, TokenId};

/// Events kept for a subscriber that has not read them yet.
pub(crate) const FEED_CAPACITY: usize = 256;

/// Something the client did with a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L402Event {
    /// A call met a payment challenge.
    Challenged {
        /// The token the call carried, `None` if it had none.
        sent: Option<TokenId>,
        /// The `WWW-Authenticate` values of the answer.
        challenges: Vec<String>,
    },
    /// The token to buy is written as `l402.token.pending`, before its invoice is paid.
    PendingStored {
        /// The token's id.
        token_id: TokenId,
        /// The invoice's payment hash.
        payment_hash: PaymentHash,
        /// What the invoice asks, in millisatoshis.
        invoice_msat: u64,
    },
    /// The invoice is paid, the preimage checked against the payment hash and the token stored as
    /// `l402.token`.
    Paid {
        /// The token's id.
        token_id: TokenId,
        /// Amount paid, in millisatoshis.
        amount_paid_msat: u64,
        /// Routing fee paid, in millisatoshis.
        routing_fee_msat: u64,
    },
    /// The payment failed; nothing was bought.
    PaymentFailed {
        /// The token that was being bought.
        token_id: TokenId,
        /// Why, as lnd said.
        reason: String,
    },
    /// The server rejected the token held; it is kept aside as `l402.token.rejected-<nanos>`.
    Evicted {
        /// The rejected token.
        token_id: TokenId,
    },
    /// The holder added a caveat to its token ([`crate::L402Client::restrict`]).
    Restricted {
        /// The token.
        token_id: TokenId,
        /// The caveat added, as it stands in the macaroon.
        caveat: String,
    },
}
