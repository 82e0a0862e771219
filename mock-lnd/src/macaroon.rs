//! lnd-style macaroons: baking `admin.macaroon` / `invoice.macaroon` and verifying them per call.
//!
//! The format is what lnd writes: go-macaroon's V2 binary encoding, location `lnd`, and an identifier
//! made of the version byte `3` followed by macaroon-bakery's protobuf `MacaroonId { nonce,
//! storageId, ops }`, where `ops` lists the granted `entity: actions` permissions (lnd's
//! `printmacaroon` shows them). The signature chain is go-macaroon's:
//! `k = HMAC-SHA256("macaroons-key-generator", root_key)`, `sig0 = HMAC(k, id)`,
//! `sig_i = HMAC(sig_{i-1}, caveat_i)`.
//!
//! Verification checks, in order: the V2 encoding, the signature (constant time), the identifier's
//! version and storage id, every first-party caveat (only lnd's `time-before <RFC 3339>` is
//! understood; any other caveat fails closed), then the permission the called method needs.

use std::time::SystemTime;

use hmac::{Hmac, Mac};
use prost::Message as _;
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The location lnd writes into its macaroons.
pub const LOCATION: &str = "lnd";
/// Identifier version byte of macaroon-bakery's protobuf identifiers (what lnd uses).
const ID_VERSION: u8 = 3;
/// The root key id lnd uses for its default macaroons.
const DEFAULT_ROOT_KEY_ID: &[u8] = b"0";
/// go-macaroon's key-derivation constant.
const KEY_GENERATOR: &[u8] = b"macaroons-key-generator";

/// A permission as lnd names them: an entity (`invoices`, `offchain`, ...) and an action (`read`, `write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// The entity, e.g. `invoices`.
    pub entity: &'static str,
    /// The action, e.g. `write`.
    pub action: &'static str,
}

impl Permission {
    const fn new(entity: &'static str, action: &'static str) -> Self {
        Self { entity, action }
    }
}

/// Everything `admin.macaroon` grants (lnd's read + write permissions).
pub const ADMIN_PERMISSIONS: &[Permission] = &[
    Permission::new("address", "read"),
    Permission::new("address", "write"),
    Permission::new("info", "read"),
    Permission::new("info", "write"),
    Permission::new("invoices", "read"),
    Permission::new("invoices", "write"),
    Permission::new("macaroon", "generate"),
    Permission::new("macaroon", "read"),
    Permission::new("macaroon", "write"),
    Permission::new("message", "read"),
    Permission::new("message", "write"),
    Permission::new("offchain", "read"),
    Permission::new("offchain", "write"),
    Permission::new("onchain", "read"),
    Permission::new("onchain", "write"),
    Permission::new("peers", "read"),
    Permission::new("peers", "write"),
    Permission::new("signer", "generate"),
    Permission::new("signer", "read"),
];

/// What `invoice.macaroon` grants: invoices, addresses and reading on-chain state, as in lnd.
pub const INVOICE_PERMISSIONS: &[Permission] = &[
    Permission::new("address", "read"),
    Permission::new("address", "write"),
    Permission::new("invoices", "read"),
    Permission::new("invoices", "write"),
    Permission::new("onchain", "read"),
];

/// The permission each gRPC method served by mock-lnd requires (lnd's own table for these calls).
/// `None` for a path we do not serve: the call is then answered `Unimplemented` after authentication.
pub fn required_permission(path: &str) -> Option<Permission> {
    let permission = match path {
        "/lnrpc.Lightning/GetInfo" => Permission::new("info", "read"),
        "/lnrpc.Lightning/ChannelBalance" | "/lnrpc.Lightning/DecodePayReq" => {
            Permission::new("offchain", "read")
        }
        "/lnrpc.Lightning/AddInvoice" => Permission::new("invoices", "write"),
        "/lnrpc.Lightning/LookupInvoice"
        | "/lnrpc.Lightning/ListInvoices"
        | "/lnrpc.Lightning/SubscribeInvoices"
        | "/invoicesrpc.Invoices/SubscribeSingleInvoice" => Permission::new("invoices", "read"),
        "/lnrpc.Lightning/SendPaymentSync" | "/routerrpc.Router/SendPaymentV2" => {
            Permission::new("offchain", "write")
        }
        "/routerrpc.Router/TrackPaymentV2" => Permission::new("offchain", "read"),
        "/invoicesrpc.Invoices/AddHoldInvoice"
        | "/invoicesrpc.Invoices/SettleInvoice"
        | "/invoicesrpc.Invoices/CancelInvoice" => Permission::new("invoices", "write"),
        _ => return None,
    };
    Some(permission)
}

/// Why a presented macaroon was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MacaroonError {
    /// No `macaroon` metadata, or more than one value.
    #[error("expected 1 macaroon, got {0}")]
    Count(usize),
    /// The metadata is not hex or the bytes are not a V2 macaroon.
    #[error("malformed macaroon: {0}")]
    Malformed(&'static str),
    /// The signature does not verify against this node's root key.
    #[error("verification failed: signature mismatch")]
    BadSignature,
    /// The identifier is not an lnd identifier or names an unknown root key.
    #[error("invalid macaroon identifier: {0}")]
    BadIdentifier(&'static str),
    /// A first-party caveat is not satisfied (or not understood).
    #[error("caveat not satisfied: {0}")]
    Caveat(String),
    /// The macaroon is valid but does not grant what the call needs.
    #[error("permission denied: macaroon lacks {entity}:{action}")]
    PermissionDenied {
        /// The entity the call needs.
        entity: &'static str,
        /// The action the call needs.
        action: &'static str,
    },
}

/// A decoded V2 macaroon (first-party caveats only, as lnd bakes them).
#[derive(Clone, PartialEq, Eq)]
pub struct Macaroon {
    location: String,
    identifier: Vec<u8>,
    caveats: Vec<Vec<u8>>,
    signature: [u8; 32],
}

impl std::fmt::Debug for Macaroon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signature makes a macaroon a bearer credential: never print it.
        f.debug_struct("Macaroon")
            .field("location", &self.location)
            .field("caveats", &self.caveats.len())
            .finish_non_exhaustive()
    }
}

/// go-macaroon V2 field types.
mod field {
    pub const EOS: u8 = 0;
    pub const LOCATION: u8 = 1;
    pub const IDENTIFIER: u8 = 2;
    pub const VERIFICATION_ID: u8 = 4;
    pub const SIGNATURE: u8 = 6;
}

impl Macaroon {
    /// Mints a macaroon for `identifier` signed with `root_key`.
    pub fn new(root_key: &[u8], identifier: Vec<u8>, location: &str) -> Self {
        let signature = hmac(&derive_key(root_key), &identifier);
        Self {
            location: location.to_owned(),
            identifier,
            caveats: Vec::new(),
            signature,
        }
    }

    /// Adds a first-party caveat, extending the signature chain.
    pub fn add_first_party_caveat(&mut self, caveat: &str) {
        self.signature = hmac(&self.signature, caveat.as_bytes());
        self.caveats.push(caveat.as_bytes().to_vec());
    }

    /// The identifier bytes.
    pub fn identifier(&self) -> &[u8] {
        &self.identifier
    }

    /// Serialises in go-macaroon's V2 binary format.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![2u8];
        if !self.location.is_empty() {
            put_field(&mut out, field::LOCATION, self.location.as_bytes());
        }
        put_field(&mut out, field::IDENTIFIER, &self.identifier);
        out.push(field::EOS);
        for caveat in &self.caveats {
            put_field(&mut out, field::IDENTIFIER, caveat);
            out.push(field::EOS);
        }
        out.push(field::EOS);
        put_field(&mut out, field::SIGNATURE, &self.signature);
        out
    }

    /// Parses go-macaroon's V2 binary format. Third-party caveats are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, MacaroonError> {
        let mut reader = Reader { bytes, pos: 0 };
        if reader.byte()? != 2 {
            return Err(MacaroonError::Malformed("not a V2 macaroon"));
        }
        let header = reader.section()?;
        let mut location = String::new();
        let mut identifier = None;
        for (kind, data) in header {
            match kind {
                field::LOCATION => {
                    location = String::from_utf8(data.to_vec())
                        .map_err(|_| MacaroonError::Malformed("location is not UTF-8"))?
                }
                field::IDENTIFIER => identifier = Some(data.to_vec()),
                _ => return Err(MacaroonError::Malformed("unexpected field in header")),
            }
        }
        let identifier = identifier.ok_or(MacaroonError::Malformed("missing identifier"))?;
        let mut caveats = Vec::new();
        loop {
            let section = reader.section()?;
            if section.is_empty() {
                break;
            }
            let mut id = None;
            for (kind, data) in section {
                match kind {
                    field::IDENTIFIER => id = Some(data.to_vec()),
                    field::LOCATION => {}
                    field::VERIFICATION_ID => {
                        return Err(MacaroonError::Malformed(
                            "third-party caveats are not supported",
                        ))
                    }
                    _ => return Err(MacaroonError::Malformed("unexpected field in caveat")),
                }
            }
            caveats.push(id.ok_or(MacaroonError::Malformed("caveat without identifier"))?);
        }
        let (kind, data) = reader.field()?;
        if kind != field::SIGNATURE || data.len() != 32 {
            return Err(MacaroonError::Malformed("missing or invalid signature"));
        }
        if reader.pos != bytes.len() {
            return Err(MacaroonError::Malformed("trailing bytes"));
        }
        let mut signature = [0u8; 32];
        signature.copy_from_slice(data);
        Ok(Self {
            location,
            identifier,
            caveats,
            signature,
        })
    }

    /// Checks the signature chain against `root_key` in constant time.
    fn signature_matches(&self, root_key: &[u8]) -> bool {
        let mut signature = hmac(&derive_key(root_key), &self.identifier);
        for caveat in &self.caveats {
            signature = hmac(&signature, caveat);
        }
        bool::from(signature.ct_eq(&self.signature))
    }
}

fn derive_key(root_key: &[u8]) -> [u8; 32] {
    hmac(KEY_GENERATOR, root_key)
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn put_varint(out: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_field(out: &mut Vec<u8>, kind: u8, data: &[u8]) {
    out.push(kind);
    put_varint(out, data.len());
    out.extend_from_slice(data);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, MacaroonError> {
        let byte = *self
            .bytes
            .get(self.pos)
            .ok_or(MacaroonError::Malformed("truncated"))?;
        self.pos += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<usize, MacaroonError> {
        let mut value = 0usize;
        for shift in (0..35).step_by(7) {
            let byte = self.byte()?;
            value |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(MacaroonError::Malformed("varint too long"))
    }

    /// One field; type `EOS` has no length and no data.
    fn field(&mut self) -> Result<(u8, &'a [u8]), MacaroonError> {
        let kind = self.varint()?;
        let kind =
            u8::try_from(kind).map_err(|_| MacaroonError::Malformed("unknown field type"))?;
        if kind == field::EOS {
            return Ok((kind, &[]));
        }
        let len = self.varint()?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len());
        let end = end.ok_or(MacaroonError::Malformed("truncated field"))?;
        let data = &self.bytes[self.pos..end];
        self.pos = end;
        Ok((kind, data))
    }

    /// Fields up to (and consuming) the next end-of-section marker.
    fn section(&mut self) -> Result<Vec<(u8, &'a [u8])>, MacaroonError> {
        let mut fields = Vec::new();
        loop {
            let (kind, data) = self.field()?;
            if kind == field::EOS {
                return Ok(fields);
            }
            fields.push((kind, data));
        }
    }
}

/// macaroon-bakery's protobuf identifier, as lnd encodes it after the version byte.
#[derive(Clone, PartialEq, prost::Message)]
struct MacaroonId {
    #[prost(bytes = "vec", tag = "1")]
    nonce: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    storage_id: Vec<u8>,
    #[prost(message, repeated, tag = "3")]
    ops: Vec<Op>,
}

/// One entity and the actions granted on it.
#[derive(Clone, PartialEq, prost::Message)]
struct Op {
    #[prost(string, tag = "1")]
    entity: String,
    #[prost(string, repeated, tag = "2")]
    actions: Vec<String>,
}

/// A node's macaroon root key: bakes its macaroons and verifies the ones presented to it.
#[derive(Clone)]
pub struct MacaroonService {
    root_key: [u8; 32],
}

impl std::fmt::Debug for MacaroonService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacaroonService(..)")
    }
}

impl MacaroonService {
    /// A service with the given root key (persisted by the caller).
    pub fn new(root_key: [u8; 32]) -> Self {
        Self { root_key }
    }

    /// Bakes a macaroon granting exactly `permissions`, as lnd's bakery does.
    pub fn bake(&self, permissions: &[Permission]) -> Macaroon {
        let mut ops: Vec<Op> = Vec::new();
        for permission in permissions {
            match ops.iter_mut().find(|op| op.entity == permission.entity) {
                Some(op) => op.actions.push(permission.action.to_owned()),
                None => ops.push(Op {
                    entity: permission.entity.to_owned(),
                    actions: vec![permission.action.to_owned()],
                }),
            }
        }
        let mut nonce = vec![0u8; 16];
        rand::thread_rng().fill_bytes(&mut nonce);
        let id = MacaroonId {
            nonce,
            storage_id: DEFAULT_ROOT_KEY_ID.to_vec(),
            ops,
        };
        let mut identifier = vec![ID_VERSION];
        identifier.extend_from_slice(&id.encode_to_vec());
        Macaroon::new(&self.root_key, identifier, LOCATION)
    }

    /// Verifies a hex-encoded macaroon (the `macaroon` metadata value) for a call needing `required`.
    pub fn verify_hex(
        &self,
        hex_macaroon: &str,
        required: Option<Permission>,
    ) -> Result<(), MacaroonError> {
        let bytes =
            hex::decode(hex_macaroon.trim()).map_err(|_| MacaroonError::Malformed("not hex"))?;
        self.verify(&bytes, required)
    }

    /// Verifies macaroon bytes for a call needing `required` (`None`: any valid macaroon).
    pub fn verify(&self, bytes: &[u8], required: Option<Permission>) -> Result<(), MacaroonError> {
        let macaroon = Macaroon::decode(bytes)?;
        if !macaroon.signature_matches(&self.root_key) {
            return Err(MacaroonError::BadSignature);
        }
        let (&version, rest) = macaroon
            .identifier
            .split_first()
            .ok_or(MacaroonError::BadIdentifier("empty"))?;
        if version != ID_VERSION {
            return Err(MacaroonError::BadIdentifier("unsupported version"));
        }
        let id = MacaroonId::decode(rest)
            .map_err(|_| MacaroonError::BadIdentifier("not a bakery id"))?;
        if id.storage_id != DEFAULT_ROOT_KEY_ID {
            return Err(MacaroonError::BadIdentifier("unknown root key id"));
        }
        for caveat in &macaroon.caveats {
            check_caveat(caveat)?;
        }
        let Some(required) = required else {
            return Ok(());
        };
        let granted = id.ops.iter().any(|op| {
            op.entity == required.entity
                && op.actions.iter().any(|action| action == required.action)
        });
        if granted {
            Ok(())
        } else {
            Err(MacaroonError::PermissionDenied {
                entity: required.entity,
                action: required.action,
            })
        }
    }
}

/// lnd's `time-before <RFC 3339>` caveat is understood; anything else fails closed.
fn check_caveat(caveat: &[u8]) -> Result<(), MacaroonError> {
    let caveat =
        std::str::from_utf8(caveat).map_err(|_| MacaroonError::Caveat("not UTF-8".into()))?;
    let (condition, argument) = caveat.split_once(' ').unwrap_or((caveat, ""));
    match condition {
        "time-before" => {
            let deadline = humantime::parse_rfc3339_weak(argument)
                .map_err(|_| MacaroonError::Caveat(format!("invalid time {argument:?}")))?;
            if SystemTime::now() < deadline {
                Ok(())
            } else {
                Err(MacaroonError::Caveat("macaroon has expired".into()))
            }
        }
        _ => Err(MacaroonError::Caveat(format!(
            "unknown condition {condition:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVOICES_WRITE: Permission = Permission::new("invoices", "write");
    const OFFCHAIN_WRITE: Permission = Permission::new("offchain", "write");

    #[test]
    fn vector_b_signature_chain_matches_go_macaroon() {
        // PROTOCOL.md vector B: root key of 32 zero bytes, location `lsat`.
        let identifier = hex::decode("0000630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd201f1e1d1c1b1a191817161514131211100f0e0d0c0b0a090807060504030201").unwrap();
        let mut macaroon = Macaroon::new(&[0u8; 32], identifier, "lsat");
        for caveat in [
            "services=loop:0",
            "loop_capabilities=",
            "loop_valid_until=1700000000",
        ] {
            macaroon.add_first_party_caveat(caveat);
        }
        assert_eq!(
            hex::encode(macaroon.signature),
            "4e0d8d4a9812ba03ea609631a9d83ad64824f77cdb0f3341796ce9fe30fef59d"
        );
        let decoded = Macaroon::decode(&macaroon.encode()).unwrap();
        assert_eq!(decoded, macaroon);
    }

    #[test]
    fn admin_macaroon_grants_everything_we_serve() {
        let service = MacaroonService::new([7u8; 32]);
        let admin = service.bake(ADMIN_PERMISSIONS).encode();
        for path in [
            "/lnrpc.Lightning/GetInfo",
            "/routerrpc.Router/SendPaymentV2",
            "/invoicesrpc.Invoices/SettleInvoice",
        ] {
            service.verify(&admin, required_permission(path)).unwrap();
        }
    }

    #[test]
    fn invoice_macaroon_cannot_pay() {
        let service = MacaroonService::new([7u8; 32]);
        let invoice = service.bake(INVOICE_PERMISSIONS).encode();
        service.verify(&invoice, Some(INVOICES_WRITE)).unwrap();
        assert_eq!(
            service.verify(&invoice, Some(OFFCHAIN_WRITE)),
            Err(MacaroonError::PermissionDenied {
                entity: "offchain",
                action: "write"
            })
        );
    }

    #[test]
    fn other_root_key_and_tampering_are_rejected() {
        let service = MacaroonService::new([7u8; 32]);
        let other = MacaroonService::new([8u8; 32])
            .bake(ADMIN_PERMISSIONS)
            .encode();
        assert_eq!(
            service.verify(&other, None),
            Err(MacaroonError::BadSignature)
        );
        let mut admin = service.bake(ADMIN_PERMISSIONS).encode();
        let last = admin.len() - 1;
        admin[last] ^= 1;
        assert_eq!(
            service.verify(&admin, None),
            Err(MacaroonError::BadSignature)
        );
        assert!(matches!(
            service.verify_hex("zz", None),
            Err(MacaroonError::Malformed(_))
        ));
        assert!(matches!(
            service.verify(&admin[..10], None),
            Err(MacaroonError::Malformed(_))
        ));
    }

    #[test]
    fn caveats_are_enforced() {
        let service = MacaroonService::new([7u8; 32]);
        let mut expired = service.bake(ADMIN_PERMISSIONS);
        expired.add_first_party_caveat("time-before 2001-01-01T00:00:00Z");
        assert!(matches!(
            service.verify(&expired.encode(), None),
            Err(MacaroonError::Caveat(_))
        ));
        let mut valid = service.bake(ADMIN_PERMISSIONS);
        valid.add_first_party_caveat("time-before 2999-01-01T00:00:00Z");
        service.verify(&valid.encode(), None).unwrap();
        let mut unknown = service.bake(ADMIN_PERMISSIONS);
        unknown.add_first_party_caveat("ipaddr 10.0.0.1");
        assert!(matches!(
            service.verify(&unknown.encode(), None),
            Err(MacaroonError::Caveat(_))
        ));
    }
}
