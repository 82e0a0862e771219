//! The client's token: what Loop stores in `l402.token` (paid) and `l402.token.pending` (payment in flight).
//!
//! Binary layout, big-endian, exactly as Loop/Aperture's `serializeToken`:
//! `u32 mac_len ‖ macaroon (V2 binary, base macaroon without the preimage caveat) ‖ payment_hash[32] ‖
//! preimage[32] (all zero while pending) ‖ u64 amount_paid_msat ‖ u64 routing_fee_paid_msat ‖
//! i64 created_unix_nanos`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::credential::Credential;
use crate::limits::{MAX_MACAROON_LEN, MAX_TOKEN_LEN};
use crate::macaroon::{Macaroon, MacaroonError};
use crate::types::{PaymentHash, Preimage, TokenId};

/// File name of the paid token in the client's data dir (Loop's).
pub const TOKEN_FILE_NAME: &str = "l402.token";
/// File name of the pending token (payment in flight).
pub const PENDING_TOKEN_FILE_NAME: &str = "l402.token.pending";

/// Error decoding a [`Token`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The input ended before the layout was complete.
    #[error("token truncated: need {needed} bytes, have {have}")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        have: usize,
    },
    /// Bytes left over after the last field.
    #[error("{0} trailing bytes after the token")]
    TrailingBytes(usize),
    /// Longer than [`MAX_TOKEN_LEN`], or a macaroon length over [`MAX_MACAROON_LEN`].
    #[error("token too large ({0} bytes)")]
    TooLarge(usize),
    /// The macaroon did not decode.
    #[error("invalid macaroon in token: {0}")]
    Macaroon(#[from] MacaroonError),
    /// A non-zero preimage that does not hash to the payment hash.
    #[error("token preimage does not match its payment hash")]
    PreimageMismatch,
}

/// A client token: the base macaroon, what was paid for it, and the preimage once the payment succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The base macaroon from the challenge (without the preimage caveat).
    pub macaroon: Macaroon,
    /// The invoice's payment hash.
    pub payment_hash: PaymentHash,
    /// The preimage, or `None` while the payment is pending (stored as 32 zero bytes).
    pub preimage: Option<Preimage>,
    /// Amount paid, in millisatoshis (0 while pending).
    pub amount_paid_msat: u64,
    /// Routing fee paid, in millisatoshis (0 while pending).
    pub routing_fee_paid_msat: u64,
    /// When the token was created (challenge received).
    pub created: SystemTime,
}

/// A cursor over the token bytes with truncation errors.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        let end = self.pos.saturating_add(n);
        let out = self.data.get(self.pos..end).ok_or(TokenError::Truncated {
            needed: end,
            have: self.data.len(),
        })?;
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], TokenError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

fn unix_nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

fn from_unix_nanos(n: i64) -> SystemTime {
    let d = Duration::from_nanos(n.unsigned_abs());
    if n >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

impl Token {
    /// A pending token, created when a challenge arrives and stored *before* paying.
    pub fn pending(macaroon: Macaroon, payment_hash: PaymentHash, created: SystemTime) -> Self {
        Self {
            macaroon,
            payment_hash,
            preimage: None,
            amount_paid_msat: 0,
            routing_fee_paid_msat: 0,
            created,
        }
    }

    /// Marks the token paid. Returns `false` (and changes nothing) if the preimage does not match.
    pub fn mark_paid(
        &mut self,
        preimage: Preimage,
        amount_paid_msat: u64,
        routing_fee_paid_msat: u64,
    ) -> bool {
        if !preimage.matches(&self.payment_hash) {
            return false;
        }
        self.preimage = Some(preimage);
        self.amount_paid_msat = amount_paid_msat;
        self.routing_fee_paid_msat = routing_fee_paid_msat;
        true
    }

    /// Whether the payment is still pending (no preimage yet).
    pub fn is_pending(&self) -> bool {
        self.preimage.is_none()
    }

    /// The token id from the macaroon identifier.
    pub fn token_id(&self) -> TokenId {
        self.macaroon.token_id()
    }

    /// The credential to send, once paid.
    pub fn credential(&self) -> Option<Credential> {
        self.preimage
            .as_ref()
            .map(|p| Credential::new(self.macaroon.clone(), p.clone()))
    }

    /// Loop's binary encoding (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mac = self.macaroon.as_bytes();
        let mut out = Vec::with_capacity(4 + mac.len() + 32 + 32 + 24);
        // Macaroons are limited to MAX_MACAROON_LEN bytes, so the length always fits in a u32.
        out.extend_from_slice(&u32::try_from(mac.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(mac);
        out.extend_from_slice(self.payment_hash.as_bytes());
        match &self.preimage {
            Some(p) => out.extend_from_slice(p.as_bytes()),
            None => out.extend_from_slice(&[0u8; 32]),
        }
        out.extend_from_slice(&self.amount_paid_msat.to_be_bytes());
        out.extend_from_slice(&self.routing_fee_paid_msat.to_be_bytes());
        out.extend_from_slice(&unix_nanos(self.created).to_be_bytes());
        out
    }

    /// Decodes Loop's binary encoding. An all-zero preimage means pending; a non-zero preimage must hash to
    /// the payment hash.
    pub fn decode(bytes: &[u8]) -> Result<Self, TokenError> {
        if bytes.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLarge(bytes.len()));
        }
        let mut r = Reader {
            data: bytes,
            pos: 0,
        };
        let mac_len = u32::from_be_bytes(r.array()?) as usize;
        if mac_len > MAX_MACAROON_LEN {
            return Err(TokenError::TooLarge(mac_len));
        }
        let macaroon = Macaroon::from_bytes(r.take(mac_len)?)?;
        let payment_hash = PaymentHash(r.array()?);
        let preimage = Preimage::from_bytes(r.array()?);
        let amount_paid_msat = u64::from_be_bytes(r.array()?);
        let routing_fee_paid_msat = u64::from_be_bytes(r.array()?);
        let created = from_unix_nanos(i64::from_be_bytes(r.array()?));
        if r.pos != bytes.len() {
            return Err(TokenError::TrailingBytes(bytes.len() - r.pos));
        }
        let preimage = if preimage.is_zero() {
            None
        } else if preimage.matches(&payment_hash) {
            Some(preimage)
        } else {
            return Err(TokenError::PreimageMismatch);
        };
        Ok(Self {
            macaroon,
            payment_hash,
            preimage,
            amount_paid_msat,
            routing_fee_paid_msat,
            created,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identifier::Identifier;
    use crate::types::RootKey;

    #[test]
    fn pending_and_paid_round_trip() {
        let p = Preimage::from_bytes([5; 32]);
        let mac = Macaroon::mint(&RootKey::random(), &Identifier::random(p.hash()), &[]).unwrap();
        let created = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        let mut t = Token::pending(mac.clone(), p.hash(), created);
        let enc = t.encode();
        assert_eq!(enc.len(), 4 + mac.as_bytes().len() + 32 + 32 + 24);
        assert_eq!(&enc[..4], &(mac.as_bytes().len() as u32).to_be_bytes());
        assert_eq!(Token::decode(&enc).unwrap(), t);
        assert!(Token::decode(&enc).unwrap().is_pending());
        assert!(!t.mark_paid(Preimage::from_bytes([6; 32]), 1, 1));
        assert!(t.mark_paid(p, 1_000_000, 1_000));
        let paid = Token::decode(&t.encode()).unwrap();
        assert_eq!(paid, t);
        assert!(paid.credential().is_some());
        let mut bad = t.encode();
        let n = bad.len();
        bad[n - 24 - 32] ^= 1;
        assert_eq!(Token::decode(&bad), Err(TokenError::PreimageMismatch));
        assert!(matches!(
            Token::decode(&enc[..enc.len() - 1]),
            Err(TokenError::Truncated { .. })
        ));
        let before_epoch = UNIX_EPOCH - Duration::from_secs(5);
        let old = Token::pending(mac, PaymentHash([0; 32]), before_epoch);
        assert_eq!(Token::decode(&old.encode()).unwrap().created, before_epoch);
    }
}
