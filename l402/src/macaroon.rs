//! L402 macaroons: V2 binary macaroons minted and verified exactly as go-macaroon (`gopkg.in/macaroon.v2`)
//! does, so Aperture and Loop accept ours and we accept theirs.
//!
//! * Encoding: `0x02`, location field (type 1, `lsat`), identifier field (type 2), `0x00`; per first-party
//!   caveat an id field (type 2) and `0x00`; a final `0x00`, then the signature field (type 6, 32 bytes).
//!   A field is `varint type ‖ varint length ‖ bytes`.
//! * Signature chain: `k = HMAC-SHA256("macaroons-key-generator", root_key)`, `sig0 = HMAC-SHA256(k, id)`,
//!   `sig_i = HMAC-SHA256(sig_{i-1}, caveat_i)`; compared in constant time.
//!
//! The byte layout and HMAC chain are delegated to the pure-Rust `libmacaroon` crate (the maintained fork of
//! `macaroon`): its `MacaroonKey::generate` is exactly go-macaroon's key-generator derivation. On top of it
//! this module enforces what L402 needs: V2 binary only, canonical encoding (re-encoding gives the same bytes,
//! so no unsigned byte can be changed unnoticed), a version-0 [`Identifier`], first-party caveats only, and
//! the size limits in [`crate::limits`].

use std::fmt;

use libmacaroon::{MacaroonKey, Verifier};

use crate::caveat::{Caveat, CaveatError, COND_PREIMAGE};
use crate::encoding::{b64_decode, b64_encode};
use crate::identifier::{Identifier, IdentifierError};
use crate::limits::{MAX_CAVEATS, MAX_MACAROON_LEN};
use crate::types::{IdentifierHash, PaymentHash, Preimage, RootKey, TokenId};

/// The macaroon location Aperture writes and we require when verifying.
pub const LOCATION: &str = "lsat";

/// Error decoding, building or attenuating a [`Macaroon`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MacaroonError {
    /// The encoded macaroon is larger than [`MAX_MACAROON_LEN`].
    #[error("macaroon is {0} bytes, more than the limit of {MAX_MACAROON_LEN}")]
    TooLarge(usize),
    /// Empty input or a first byte other than `0x02` (V1 and JSON formats are not accepted).
    #[error("not a V2 binary macaroon")]
    NotV2,
    /// The V2 structure could not be decoded.
    #[error("malformed macaroon: {0}")]
    Malformed(String),
    /// The bytes decode, but re-encoding them gives different bytes (e.g. non-canonical fields).
    #[error("macaroon is not canonically encoded")]
    NonCanonical,
    /// More first-party caveats than [`MAX_CAVEATS`].
    #[error("macaroon has {0} caveats, more than the limit of {MAX_CAVEATS}")]
    TooManyCaveats(usize),
    /// L402 macaroons never carry third-party caveats.
    #[error("third-party caveats are not supported")]
    ThirdPartyCaveat,
    /// The identifier is not a valid L402 identifier.
    #[error("invalid identifier: {0}")]
    Identifier(#[from] IdentifierError),
    /// Invalid base64 (standard or URL-safe) text.
    #[error("invalid base64 macaroon")]
    Base64,
    /// Invalid hex text.
    #[error("invalid hex macaroon")]
    Hex,
    /// A caveat could not be added.
    #[error("invalid caveat: {0}")]
    Caveat(#[from] CaveatError),
}

/// An L402 macaroon: a V2 binary macaroon whose identifier is a valid [`Identifier`].
///
/// Cheap to clone relative to the work done with it; `Debug` shows only the token id and caveat count because
/// the macaroon is a bearer credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Macaroon {
    inner: libmacaroon::Macaroon,
    identifier: Identifier,
    bytes: Vec<u8>,
}

fn lib_err(e: libmacaroon::MacaroonError) -> MacaroonError {
    MacaroonError::Malformed(e.to_string())
}

/// V2 binary field types (go-macaroon `fieldLocation`, `fieldIdentifier`, `fieldSignature`).
const FIELD_EOS: u8 = 0;
const FIELD_LOCATION: u8 = 1;
const FIELD_IDENTIFIER: u8 = 2;
const FIELD_SIGNATURE: u8 = 6;

/// Appends one V2 field: `varint type ‖ varint length ‖ bytes` (types are < 128, so one byte).
fn put_field(out: &mut Vec<u8>, field: u8, value: &[u8]) {
    out.push(field);
    let mut len = value.len();
    while len >= 0x80 {
        out.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(value);
}

/// The V2 binary encoding of a first-party-only macaroon, written directly (libmacaroon only exposes it
/// wrapped in URL-safe base64, which would cost an encode and a decode on every parse).
fn encode_v2(inner: &libmacaroon::Macaroon) -> Result<Vec<u8>, MacaroonError> {
    let mut out = Vec::with_capacity(128);
    out.push(2);
    if let Some(location) = inner.location() {
        put_field(&mut out, FIELD_LOCATION, location.as_bytes());
    }
    put_field(&mut out, FIELD_IDENTIFIER, inner.identifier());
    out.push(FIELD_EOS);
    for caveat in inner.caveats() {
        let fp = caveat
            .as_first_party()
            .ok_or(MacaroonError::ThirdPartyCaveat)?;
        put_field(&mut out, FIELD_IDENTIFIER, fp.predicate());
        out.push(FIELD_EOS);
    }
    out.push(FIELD_EOS);
    put_field(&mut out, FIELD_SIGNATURE, inner.signature().as_ref());
    Ok(out)
}

/// go-macaroon's key derivation: `HMAC-SHA256(key = "macaroons-key-generator", msg = root_key)`.
fn derived_key(root_key: &RootKey) -> MacaroonKey {
    MacaroonKey::generate(root_key.as_bytes())
}

impl Macaroon {
    /// Mints a macaroon: location `lsat`, this identifier, signed with `root_key` through the key-generator
    /// derivation, then the caveats in order.
    pub fn mint(
        root_key: &RootKey,
        identifier: &Identifier,
        caveats: &[Caveat],
    ) -> Result<Self, MacaroonError> {
        if caveats.len() > MAX_CAVEATS {
            return Err(MacaroonError::TooManyCaveats(caveats.len()));
        }
        let mut inner = libmacaroon::Macaroon::create(
            Some(LOCATION),
            &derived_key(root_key),
            identifier.encode(),
        )
        .map_err(lib_err)?;
        for c in caveats {
            inner
                .add_first_party_caveat(c.to_bytes())
                .map_err(lib_err)?;
        }
        Self::from_inner(inner, *identifier)
    }

    fn from_inner(
        inner: libmacaroon::Macaroon,
        identifier: Identifier,
    ) -> Result<Self, MacaroonError> {
        let bytes = encode_v2(&inner)?;
        if bytes.len() > MAX_MACAROON_LEN {
            return Err(MacaroonError::TooLarge(bytes.len()));
        }
        Ok(Self {
            inner,
            identifier,
            bytes,
        })
    }

    /// Decodes the V2 binary form, enforcing the size limits, canonical encoding, first-party caveats only
    /// and a version-0 identifier. Does not verify the signature.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MacaroonError> {
        if bytes.len() > MAX_MACAROON_LEN {
            return Err(MacaroonError::TooLarge(bytes.len()));
        }
        if bytes.first() != Some(&2) {
            return Err(MacaroonError::NotV2);
        }
        let inner = libmacaroon::Macaroon::deserialize_binary(bytes).map_err(lib_err)?;
        let count = inner.caveats().len();
        if count > MAX_CAVEATS {
            return Err(MacaroonError::TooManyCaveats(count));
        }
        if inner.caveats().iter().any(|c| c.as_third_party().is_some()) {
            return Err(MacaroonError::ThirdPartyCaveat);
        }
        let identifier = Identifier::decode(inner.identifier())?;
        if encode_v2(&inner)? != bytes {
            return Err(MacaroonError::NonCanonical);
        }
        Ok(Self {
            inner,
            identifier,
            bytes: bytes.to_vec(),
        })
    }

    /// Decodes base64 text (standard or URL-safe, padded or not) holding the V2 binary form.
    pub fn from_base64(text: &str) -> Result<Self, MacaroonError> {
        // 4 base64 characters per 3 bytes: reject oversize text before decoding it.
        if text.len() > MAX_MACAROON_LEN.div_ceil(3) * 4 {
            return Err(MacaroonError::TooLarge(text.len() / 4 * 3));
        }
        Self::from_bytes(&b64_decode(text).ok_or(MacaroonError::Base64)?)
    }

    /// Decodes hex text (either case) holding the V2 binary form.
    pub fn from_hex(text: &str) -> Result<Self, MacaroonError> {
        if text.len() > MAX_MACAROON_LEN * 2 {
            return Err(MacaroonError::TooLarge(text.len() / 2));
        }
        Self::from_bytes(&hex::decode(text).map_err(|_| MacaroonError::Hex)?)
    }

    /// The V2 binary encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The V2 binary encoding as standard base64 with padding (the challenge and `Authorization` form).
    pub fn to_base64(&self) -> String {
        b64_encode(&self.bytes)
    }

    /// The V2 binary encoding as lowercase hex (the gRPC `macaroon` metadata form).
    pub fn to_hex(&self) -> String {
        hex::encode(&self.bytes)
    }

    /// The decoded identifier.
    pub fn identifier(&self) -> &Identifier {
        &self.identifier
    }

    /// The token id from the identifier.
    pub fn token_id(&self) -> TokenId {
        self.identifier.token_id
    }

    /// The payment hash from the identifier.
    pub fn payment_hash(&self) -> PaymentHash {
        self.identifier.payment_hash
    }

    /// `sha256(identifier)`: the key of this token's root key in the server's store.
    pub fn identifier_hash(&self) -> IdentifierHash {
        IdentifierHash::of(self.inner.identifier())
    }

    /// The location field (`lsat` for Aperture's macaroons), if present.
    pub fn location(&self) -> Option<&str> {
        self.inner.location()
    }

    /// The 32-byte signature (the HMAC chain's last value).
    pub fn signature(&self) -> [u8; 32] {
        let mut sig = [0u8; 32];
        sig.copy_from_slice(self.inner.signature().as_ref());
        sig
    }

    /// Number of caveats.
    pub fn caveat_count(&self) -> usize {
        self.inner.caveats().len()
    }

    /// The raw caveat bytes, in order.
    pub fn raw_caveats(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.inner
            .caveats()
            .iter()
            .filter_map(|c| c.as_first_party().map(|fp| fp.predicate()))
    }

    /// The caveats, parsed; fails on the first caveat that does not parse.
    pub fn caveats(&self) -> Result<Vec<Caveat>, CaveatError> {
        self.raw_caveats().map(Caveat::from_bytes).collect()
    }

    /// A copy with one more first-party caveat (attenuation: anyone holding a macaroon can add caveats, which
    /// can only restrict it).
    pub fn with_caveat(&self, caveat: &Caveat) -> Result<Self, MacaroonError> {
        if self.caveat_count() >= MAX_CAVEATS {
            return Err(MacaroonError::TooManyCaveats(self.caveat_count() + 1));
        }
        let mut inner = self.inner.clone();
        inner
            .add_first_party_caveat(caveat.to_bytes())
            .map_err(lib_err)?;
        Self::from_inner(inner, self.identifier)
    }

    /// A copy with the `preimage=<hex>` caveat added: the "paid macaroon" of the gRPC metadata form.
    pub fn with_preimage(&self, preimage: &Preimage) -> Result<Self, MacaroonError> {
        self.with_caveat(&Caveat::preimage(preimage))
    }

    /// The value of the `preimage` caveats, if any. Fails if one does not parse or two disagree.
    pub fn preimage_caveat(&self) -> Result<Option<Preimage>, CaveatError> {
        let prefix = format!("{COND_PREIMAGE}=");
        let mut found: Option<Preimage> = None;
        for raw in self
            .raw_caveats()
            .filter(|c| c.starts_with(prefix.as_bytes()))
        {
            // A caveat whose condition is `preimage` parses as `Caveat::Preimage` or fails.
            let Caveat::Preimage(p) = Caveat::from_bytes(raw)? else {
                continue;
            };
            match &found {
                Some(prev) if *prev != p => {
                    return Err(CaveatError::InvalidCondition(
                        "conflicting preimage caveats".into(),
                    ))
                }
                _ => found = Some(p),
            }
        }
        Ok(found)
    }

    /// Checks the HMAC chain against `root_key` (constant-time comparison). Caveats are not interpreted here;
    /// use [`crate::verify()`] for the full check.
    pub fn verify_signature(&self, root_key: &RootKey) -> bool {
        let mut verifier = Verifier::default();
        // Only the chain is checked here; the caveats are checked by the typed satisfiers.
        verifier.satisfy_general(|_| true);
        verifier
            .verify(&self.inner, &derived_key(root_key), &[])
            .is_ok()
    }
}

impl fmt::Debug for Macaroon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Macaroon")
            .field("token_id", &self.identifier.token_id)
            .field("caveats", &self.caveat_count())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (RootKey, Macaroon) {
        let key = RootKey::from_bytes([3; 32]);
        let id = Identifier::new(PaymentHash([1; 32]), TokenId([2; 32]));
        let caveats = [
            "services=loop:0",
            "loop_capabilities=",
            "loop_valid_until=5",
        ]
        .map(|c| c.parse().unwrap());
        (key.clone(), Macaroon::mint(&key, &id, &caveats).unwrap())
    }

    #[test]
    fn mint_parse_round_trip() {
        let (key, mac) = sample();
        assert_eq!(mac.location(), Some(LOCATION));
        let parsed = Macaroon::from_bytes(mac.as_bytes()).unwrap();
        assert_eq!(parsed, mac);
        assert_eq!(Macaroon::from_base64(&mac.to_base64()).unwrap(), mac);
        assert_eq!(Macaroon::from_hex(&mac.to_hex()).unwrap(), mac);
        assert!(parsed.verify_signature(&key));
        assert!(!parsed.verify_signature(&RootKey::from_bytes([4; 32])));
        assert_eq!(parsed.caveats().unwrap().len(), 3);
        assert!(!format!("{mac:?}").contains(&mac.to_hex()));
    }

    #[test]
    fn own_v2_encoder_matches_libmacaroon() {
        let (_, mac) = sample();
        let lib = mac.inner.serialize(libmacaroon::Format::V2).unwrap();
        assert_eq!(b64_decode(&lib).unwrap(), mac.as_bytes());
        let mut long = Vec::new();
        put_field(&mut long, FIELD_IDENTIFIER, &[0; 300]);
        assert_eq!(&long[..3], &[FIELD_IDENTIFIER, 0xac, 0x02]);
    }

    #[test]
    fn attenuation_keeps_signature_valid_and_preimage_is_found() {
        let (key, mac) = sample();
        let p = Preimage::from_bytes([9; 32]);
        let paid = mac.with_preimage(&p).unwrap();
        assert!(paid.verify_signature(&key));
        assert_eq!(paid.preimage_caveat().unwrap(), Some(p));
        assert_eq!(mac.preimage_caveat().unwrap(), None);
        let other = paid.with_preimage(&Preimage::from_bytes([8; 32])).unwrap();
        assert!(other.preimage_caveat().is_err());
    }

    #[test]
    fn rejects_other_formats_and_trailing_bytes() {
        let (_, mac) = sample();
        assert_eq!(Macaroon::from_bytes(&[]), Err(MacaroonError::NotV2));
        assert_eq!(Macaroon::from_bytes(b"0012"), Err(MacaroonError::NotV2));
        let mut long = mac.as_bytes().to_vec();
        long.push(0);
        assert!(Macaroon::from_bytes(&long).is_err());
        assert!(matches!(
            Macaroon::from_bytes(&vec![2u8; MAX_MACAROON_LEN + 1]),
            Err(MacaroonError::TooLarge(_))
        ));
    }
}
