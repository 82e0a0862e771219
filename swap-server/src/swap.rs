//! The swap domain: hashes, states and the stored swap record.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use proto::looprpc::ServerSwapState;
use sha2::{Digest, Sha256};

/// A value of the wrong shape in a request (not hex, not 32 bytes); the message names the field and never
/// repeats a secret. Answered as `INVALID_ARGUMENT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

/// A 32-byte hash (swap hash, prepay hash), shown as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// `sha256(preimage)`.
    pub fn of_preimage(preimage: &[u8; 32]) -> Self {
        Self(Sha256::digest(preimage).into())
    }

    /// Parses exactly 32 bytes; `what` names the field in the error.
    pub fn from_slice(bytes: &[u8], what: &str) -> Result<Self, InvalidValue> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| InvalidValue(format!("{what} must be 32 bytes, got {}", bytes.len())))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({self})")
    }
}

impl FromStr for Hash32 {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes =
            hex::decode(s).map_err(|_| InvalidValue(format!("{s:?} is not a hex string")))?;
        Self::from_slice(&bytes, "hash")
    }
}

/// Decodes exactly 32 bytes of a secret (preimage); the error never repeats the input.
pub fn secret32(bytes: &[u8], what: &str) -> Result<[u8; 32], InvalidValue> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| InvalidValue(format!("{what} must be 32 bytes, got {}", bytes.len())))
}

/// Whether a state is final: the swap will not change any more.
pub fn is_final(state: ServerSwapState) -> bool {
    !matches!(
        state,
        ServerSwapState::ServerInitiated
            | ServerSwapState::ServerHtlcPublished
            | ServerSwapState::ServerHtlcConfirmed
            | ServerSwapState::ServerTimeoutPublished
    )
}

/// The state stored as an integer, decoded; unknown values read as `SERVER_FAILED_UNKNOWN`.
pub fn state_from_i32(value: i32) -> ServerSwapState {
    ServerSwapState::try_from(value).unwrap_or(ServerSwapState::ServerFailedUnknown)
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

/// One state change of a swap, as streamed to subscribers (in JSON: the hash as hex, the state by its proto
/// name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "SwapUpdateJson", try_from = "SwapUpdateJson")]
pub struct SwapUpdate {
    /// The swap.
    pub swap_hash: Hash32,
    /// Position in the swap's history (0 = `SERVER_INITIATED`).
    pub seq: i64,
    /// The new state.
    pub state: ServerSwapState,
    /// When the swap entered it, Unix nanoseconds.
    pub timestamp_ns: i64,
}

/// [`SwapUpdate`] as JSON.
#[derive(serde::Serialize, serde::Deserialize)]
struct SwapUpdateJson {
    swap_hash: String,
    seq: i64,
    state: String,
    timestamp_ns: i64,
}

impl From<SwapUpdate> for SwapUpdateJson {
    fn from(update: SwapUpdate) -> Self {
        Self {
            swap_hash: update.swap_hash.to_string(),
            seq: update.seq,
            state: update.state.as_str_name().to_owned(),
            timestamp_ns: update.timestamp_ns,
        }
    }
}

impl TryFrom<SwapUpdateJson> for SwapUpdate {
    type Error = String;

    fn try_from(json: SwapUpdateJson) -> Result<Self, String> {
        Ok(Self {
            swap_hash: json
                .swap_hash
                .parse()
                .map_err(|e| format!("swap_hash: {e}"))?,
            seq: json.seq,
            state: ServerSwapState::from_str_name(&json.state)
                .ok_or_else(|| format!("unknown swap state {:?}", json.state))?,
            timestamp_ns: json.timestamp_ns,
        })
    }
}

/// Everything the server stores about one loop-out swap.
///
/// Secrets (`prepay_preimage`, `sender_secret`, `preimage`) are stored because
/// the server needs them to settle; `Debug` does not print them.
#[derive(Clone, PartialEq, Eq)]
pub struct SwapRecord {
    /// `sha256(preimage)` chosen by the client.
    pub swap_hash: Hash32,
    /// Swap amount (what the client gets on chain), sat.
    pub amount_sat: u64,
    /// Total swap fee, sat.
    pub fee_sat: u64,
    /// Prepay invoice amount, sat (the swap invoice carries `amount + fee - prepay`).
    pub prepay_amt_sat: u64,
    /// The client's key for the HTLC's success path (33 bytes).
    pub receiver_key: Vec<u8>,
    /// The server's key for the HTLC's timeout path (33 bytes).
    pub sender_key: Vec<u8>,
    /// Secret key behind `sender_key`.
    pub sender_secret: [u8; 32],
    /// BOLT 11 swap invoice (hold, locked to `swap_hash`).
    pub swap_invoice: String,
    /// Payment address (secret) of the swap invoice; authenticates cancellations.
    pub swap_payment_addr: Vec<u8>,
    /// BOLT 11 prepay invoice (hold, locked to `prepay_hash`).
    pub prepay_invoice: String,
    /// `sha256(prepay_preimage)`.
    pub prepay_hash: Hash32,
    /// The server's own preimage for the prepay invoice.
    pub prepay_preimage: [u8; 32],
    /// Requested HTLC expiry height (0 = not given).
    pub expiry_height: i64,
    /// Unix nanoseconds by which both invoices must be accepted.
    pub payment_deadline_ns: i64,
    /// The L402 token id (hex) of the client that created the swap, if any.
    pub token_id: Option<String>,
    /// The client's user agent.
    pub user_agent: String,
    /// The client's protocol version.
    pub protocol_version: i32,
    /// Current state.
    pub state: ServerSwapState,
    /// Sequence number of the current state in the swap's history.
    pub state_seq: i64,
    /// When the current state was entered, Unix nanoseconds.
    pub state_ns: i64,
    /// Simulated HTLC transaction id (hex), once published.
    pub htlc_txid: Option<String>,
    /// When the HTLC was "published", Unix nanoseconds.
    pub htlc_published_ns: Option<i64>,
    /// Simulated timeout sweep transaction id (hex), once published.
    pub timeout_txid: Option<String>,
    /// The swap preimage, once the client pushed it.
    pub preimage: Option<[u8; 32]>,
    /// Creation time, Unix nanoseconds.
    pub created_ns: i64,
}

impl fmt::Debug for SwapRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwapRecord")
            .field("swap_hash", &self.swap_hash)
            .field("amount_sat", &self.amount_sat)
            .field("fee_sat", &self.fee_sat)
            .field("prepay_amt_sat", &self.prepay_amt_sat)
            .field("state", &self.state)
            .field("state_seq", &self.state_seq)
            .field("htlc_txid", &self.htlc_txid)
            .field("token_id", &self.token_id)
            .finish_non_exhaustive()
    }
}

impl SwapRecord {
    /// The swap invoice amount: `amount + fee - prepay`.
    pub fn swap_invoice_amt(&self) -> u64 {
        self.amount_sat + self.fee_sat - self.prepay_amt_sat
    }

    /// The update describing the current state.
    pub fn current_update(&self) -> SwapUpdate {
        SwapUpdate {
            swap_hash: self.swap_hash,
            seq: self.state_seq,
            state: self.state,
            timestamp_ns: self.state_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trips_through_hex() {
        let h = Hash32::of_preimage(&[0u8; 32]);
        assert_eq!(
            h.to_string(),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
        assert_eq!(h.to_string().parse::<Hash32>().unwrap(), h);
        assert!("abcd".parse::<Hash32>().is_err());
        assert!("zz".parse::<Hash32>().is_err());
    }

    #[test]
    fn final_states() {
        assert!(!is_final(ServerSwapState::ServerInitiated));
        assert!(!is_final(ServerSwapState::ServerHtlcPublished));
        assert!(!is_final(ServerSwapState::ServerTimeoutPublished));
        assert!(is_final(ServerSwapState::ServerSuccess));
        assert!(is_final(ServerSwapState::ServerFailedTimeout));
        assert!(is_final(ServerSwapState::ServerClientInvoiceCancel));
        assert_eq!(state_from_i32(999), ServerSwapState::ServerFailedUnknown);
    }
}
