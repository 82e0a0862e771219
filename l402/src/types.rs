//! Fixed-size 32-byte values of the protocol: [`TokenId`], [`PaymentHash`], [`Preimage`], [`RootKey`] and
//! [`IdentifierHash`].
//!
//! Public values (`TokenId`, `PaymentHash`, `IdentifierHash`) display as lowercase hex and parse from hex
//! (`FromStr`/`Display` round-trip). Secrets (`Preimage`, `RootKey`) never print themselves: their `Debug` is
//! redacted, they have no `Display`, equality is constant-time and hex is only available through an explicit
//! [`Preimage::to_hex`] call.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Error parsing a 32-byte value from hex or bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// The input did not have exactly 32 bytes (64 hex characters).
    #[error("expected 32 bytes (64 hex characters), got {0} characters/bytes")]
    Length(usize),
    /// The input contained a character that is not a hex digit.
    #[error("invalid hex character")]
    InvalidHex,
}

/// Decodes exactly 32 bytes from 64 hex characters (either case).
pub(crate) fn decode_hex32(s: &str) -> Result<[u8; 32], HexError> {
    if s.len() != 64 {
        return Err(HexError::Length(s.len()));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| HexError::InvalidHex)?;
    Ok(out)
}

/// Copies exactly 32 bytes out of a slice.
pub(crate) fn bytes32(b: &[u8]) -> Result<[u8; 32], HexError> {
    <[u8; 32]>::try_from(b).map_err(|_| HexError::Length(b.len()))
}

/// Defines a public (non-secret) 32-byte newtype with hex `Display`/`FromStr` and byte accessors.
macro_rules! public_bytes32 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// Wraps 32 raw bytes.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// Builds the value from a 32-byte slice.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, HexError> {
                bytes32(bytes).map(Self)
            }

            /// The raw 32 bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lowercase hex (64 characters), same as `Display`.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = HexError;
            fn from_str(s: &str) -> Result<Self, HexError> {
                decode_hex32(s).map(Self)
            }
        }

        impl From<[u8; 32]> for $name {
            fn from(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }
    };
}

public_bytes32!(
    /// The 32 random bytes that name one token (the last 32 bytes of the [`crate::Identifier`]). Loop shows it
    /// as the token `id`; backends use it as the user's identity.
    TokenId
);

public_bytes32!(
    /// The SHA-256 hash of a Lightning payment [`Preimage`]; the invoice in a challenge is locked to it.
    PaymentHash
);

public_bytes32!(
    /// `sha256(identifier bytes)`: the key under which a server stores a token's [`RootKey`] (Aperture's
    /// "identifier hash").
    IdentifierHash
);

impl TokenId {
    /// A fresh random token id from the operating system's CSPRNG.
    pub fn random() -> Self {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        Self(b)
    }
}

impl IdentifierHash {
    /// Hashes raw identifier bytes.
    pub fn of(identifier_bytes: &[u8]) -> Self {
        Self(Sha256::digest(identifier_bytes).into())
    }
}

/// Defines a secret 32-byte newtype: redacted `Debug`, constant-time `PartialEq`, no `Display`.
macro_rules! secret_bytes32 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps 32 raw bytes.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// Builds the value from a 32-byte slice.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, HexError> {
                bytes32(bytes).map(Self)
            }

            /// Parses 64 hex characters (either case).
            pub fn from_hex(s: &str) -> Result<Self, HexError> {
                decode_hex32(s).map(Self)
            }

            /// The raw 32 bytes (a secret: do not log).
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lowercase hex of the secret (do not log).
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// A fresh random value from the operating system's CSPRNG.
            pub fn random() -> Self {
                let mut b = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut b);
                Self(b)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.ct_eq(&other.0).into()
            }
        }

        impl Eq for $name {}

        impl FromStr for $name {
            type Err = HexError;
            fn from_str(s: &str) -> Result<Self, HexError> {
                Self::from_hex(s)
            }
        }
    };
}

secret_bytes32!(
    /// The 32-byte secret whose SHA-256 is the invoice's [`PaymentHash`]; paying the invoice reveals it, and
    /// presenting it proves payment.
    Preimage
);

secret_bytes32!(
    /// The per-token macaroon root key, 32 random bytes stored server-side under the token's
    /// [`IdentifierHash`]. Deleting it revokes the token.
    RootKey
);

impl Preimage {
    /// The payment hash this preimage unlocks: `sha256(preimage)`.
    pub fn hash(&self) -> PaymentHash {
        PaymentHash(Sha256::digest(self.0).into())
    }

    /// Whether `sha256(self) == hash`, compared in constant time.
    pub fn matches(&self, hash: &PaymentHash) -> bool {
        self.hash().0.ct_eq(&hash.0).into()
    }

    /// Whether this is the all-zero value Loop uses to mark a token whose payment is still pending.
    pub fn is_zero(&self) -> bool {
        self.0.ct_eq(&[0u8; 32]).into()
    }
}
