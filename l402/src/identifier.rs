//! The macaroon identifier, version 0: `u16 version ‖ payment_hash[32] ‖ token_id[32]`, big-endian, 66 bytes
//! (Aperture's `l402.Identifier`).

use crate::types::{IdentifierHash, PaymentHash, TokenId};

/// Length in bytes of an encoded version-0 identifier.
pub const IDENTIFIER_V0_LEN: usize = 66;

/// The only identifier version defined so far.
pub const LATEST_VERSION: u16 = 0;

/// Error decoding an [`Identifier`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// Too short to even hold the version field.
    #[error("identifier too short: {0} bytes")]
    TooShort(usize),
    /// A version this implementation does not know.
    #[error("unknown identifier version {0}")]
    UnknownVersion(u16),
    /// A version-0 identifier that is not exactly 66 bytes.
    #[error("version 0 identifier must be {IDENTIFIER_V0_LEN} bytes, got {0}")]
    WrongLength(usize),
}

/// A decoded L402 macaroon identifier. Only version 0 exists; any other version is rejected when decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Identifier {
    /// The payment hash of the invoice that pays for this token.
    pub payment_hash: PaymentHash,
    /// The random token id.
    pub token_id: TokenId,
}

impl Identifier {
    /// A version-0 identifier for this payment hash and token id.
    pub const fn new(payment_hash: PaymentHash, token_id: TokenId) -> Self {
        Self {
            payment_hash,
            token_id,
        }
    }

    /// A version-0 identifier with a fresh random token id.
    pub fn random(payment_hash: PaymentHash) -> Self {
        Self::new(payment_hash, TokenId::random())
    }

    /// The identifier version (always [`LATEST_VERSION`]).
    pub const fn version(&self) -> u16 {
        LATEST_VERSION
    }

    /// The 66-byte encoding: `0x0000 ‖ payment_hash ‖ token_id`.
    pub fn encode(&self) -> [u8; IDENTIFIER_V0_LEN] {
        let mut out = [0u8; IDENTIFIER_V0_LEN];
        out[..2].copy_from_slice(&LATEST_VERSION.to_be_bytes());
        out[2..34].copy_from_slice(self.payment_hash.as_bytes());
        out[34..].copy_from_slice(self.token_id.as_bytes());
        out
    }

    /// Decodes an identifier; unknown versions and wrong lengths are errors (trailing bytes are not allowed).
    pub fn decode(bytes: &[u8]) -> Result<Self, IdentifierError> {
        let version_bytes: [u8; 2] = bytes
            .get(..2)
            .and_then(|b| b.try_into().ok())
            .ok_or(IdentifierError::TooShort(bytes.len()))?;
        let version = u16::from_be_bytes(version_bytes);
        if version != LATEST_VERSION {
            return Err(IdentifierError::UnknownVersion(version));
        }
        if bytes.len() != IDENTIFIER_V0_LEN {
            return Err(IdentifierError::WrongLength(bytes.len()));
        }
        let mut hash = [0u8; 32];
        let mut id = [0u8; 32];
        hash.copy_from_slice(&bytes[2..34]);
        id.copy_from_slice(&bytes[34..]);
        Ok(Self::new(PaymentHash(hash), TokenId(id)))
    }

    /// `sha256(encode())`: where the server keeps this token's root key.
    pub fn hash(&self) -> IdentifierHash {
        IdentifierHash::of(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let id = Identifier::new(PaymentHash([7; 32]), TokenId([9; 32]));
        let enc = id.encode();
        assert_eq!(&enc[..2], &[0, 0]);
        assert_eq!(Identifier::decode(&enc), Ok(id));
        assert_eq!(
            Identifier::decode(&enc[..65]),
            Err(IdentifierError::WrongLength(65))
        );
        let mut long = enc.to_vec();
        long.push(0);
        assert_eq!(
            Identifier::decode(&long),
            Err(IdentifierError::WrongLength(67))
        );
        let mut v1 = enc;
        v1[1] = 1;
        assert_eq!(
            Identifier::decode(&v1),
            Err(IdentifierError::UnknownVersion(1))
        );
        assert_eq!(Identifier::decode(&[0]), Err(IdentifierError::TooShort(1)));
    }
}
