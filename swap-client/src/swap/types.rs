//! A loop out as loopd records it, and how it is shown over `looprpc`.

use l402::{PaymentHash, Preimage};
use proto::looprpc::{FailureReason, SwapState, SwapStatus, SwapType};

/// The fee limits a loop out must stay within (Loop's `outLimits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutLimits {
    /// Maximum swap fee (server's fee, including the prepay), satoshis.
    pub max_swap_fee: u64,
    /// Maximum prepay amount, satoshis.
    pub max_prepay_amt: u64,
    /// Maximum routing fee for the swap payment, satoshis.
    pub max_swap_routing_fee: u64,
    /// Maximum routing fee for the prepay payment, satoshis.
    pub max_prepay_routing_fee: u64,
    /// Maximum on-chain fee for the sweep, satoshis.
    pub max_miner_fee: u64,
}

/// What a swap cost so far, in satoshis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SwapCost {
    /// Paid to the server: swap invoice + prepay − amount.
    pub server: i64,
    /// On-chain fees (the simulated sweep costs none).
    pub onchain: i64,
    /// Routing fees of both payments.
    pub offchain: i64,
}

/// One loop out.
#[derive(Clone, PartialEq, Eq)]
pub struct LoopOutSwap {
    /// `sha256(preimage)`: the swap id.
    pub hash: PaymentHash,
    /// The secret that settles the swap invoice; revealed once the HTLC is published.
    pub preimage: Preimage,
    /// The amount to receive on chain.
    pub amount_sat: u64,
    /// The on-chain destination (empty: the wallet of the client's lnd).
    pub dest: String,
    /// The user's label.
    pub label: String,
    /// The server's hold invoice, locked to `hash`.
    pub swap_invoice: String,
    /// The server's prepay invoice.
    pub prepay_invoice: String,
    /// Amount of the swap invoice.
    pub swap_invoice_amt_sat: u64,
    /// Amount of the prepay invoice.
    pub prepay_invoice_amt_sat: u64,
    /// Our key in the HTLC script.
    pub receiver_key: Vec<u8>,
    /// The server's key in the HTLC script.
    pub sender_key: Vec<u8>,
    /// Block height at which the HTLC expires.
    pub expiry_height: i32,
    /// The limits agreed when the swap started.
    pub limits: OutLimits,
    /// The server's message, if any.
    pub server_message: String,
    /// Unix nanoseconds.
    pub initiation_time_ns: i64,
    /// The current state.
    pub state: SwapState,
    /// Why the swap failed (`FailureReasonNone` otherwise).
    pub failure_reason: FailureReason,
    /// Unix nanoseconds of the last state change.
    pub last_update_time_ns: i64,
    /// What the swap cost.
    pub cost: SwapCost,
}

impl std::fmt::Debug for LoopOutSwap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the preimage.
        f.debug_struct("LoopOutSwap")
            .field("id", &self.hash.to_hex())
            .field("amount_sat", &self.amount_sat)
            .field("state", &self.state)
            .field("failure_reason", &self.failure_reason)
            .finish_non_exhaustive()
    }
}

impl LoopOutSwap {
    /// The swap id as users see it (hex swap hash).
    pub fn id(&self) -> String {
        self.hash.to_hex()
    }

    /// `true` once the swap reached SUCCESS or FAILED.
    pub fn is_final(&self) -> bool {
        is_final(self.state)
    }

    /// The swap as `looprpc.SwapStatus`.
    pub fn to_status(&self) -> SwapStatus {
        SwapStatus {
            amt: self.amount_sat as i64,
            id: self.id(),
            r#type: SwapType::LoopOut as i32,
            state: self.state as i32,
            initiation_time: self.initiation_time_ns,
            last_update_time: self.last_update_time_ns,
            htlc_address: String::new(),
            cost_server: self.cost.server,
            cost_onchain: self.cost.onchain,
            cost_offchain: self.cost.offchain,
            id_bytes: self.hash.as_bytes().to_vec(),
            htlc_address_p2wsh: String::new(),
            failure_reason: self.failure_reason as i32,
            label: self.label.clone(),
        }
    }
}

/// `true` for SUCCESS and FAILED.
pub fn is_final(state: SwapState) -> bool {
    matches!(state, SwapState::Success | SwapState::Failed)
}
