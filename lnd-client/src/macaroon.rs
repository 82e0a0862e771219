//! lnd-format macaroons, the server side: baking them from a root key and verifying them per call.
//!
//! lnd bakes its `admin.macaroon` / `invoice.macaroon` this way, and Loop's loopd bakes its
//! `loop.macaroon` with the same code (lnd's `macaroons` package via `lndclient.MacaroonService`,
//! location `loop`). The format is what lnd writes: go-macaroon's V2 binary encoding, location `lnd`, and an identifier
//! made of the version byte `3` followed by macaroon-bakery's protobuf `MacaroonId { nonce,
//! storageId, ops }`, where `ops` lists the granted `entity: actions` permissions (lnd's
//! `printmacaroon` shows them). The V2 encoding and go-macaroon's signature chain
//! (`k = HMAC-SHA256("macaroons-key-generator", root_key)`, `sig0 = HMAC(k, id)`,
//! `sig_i = HMAC(sig_{i-1}, caveat_i)`) are the `libmacaroon` crate's; this module adds lnd's
//! identifier and permissions on top. Which permissions a method needs is the caller's table
//! (mock-lnd has lnd's, loopd Loop's `looprpc/perms.go`); [`crate::macaroon_auth`] applies it per call.
//!
//! Verification checks, in order: the V2 encoding, the signature (constant time), the identifier's
//! version and storage id, every first-party caveat (only lnd's `time-before <RFC 3339>` is
//! understood; any other caveat fails closed), then every permission the called method needs.

use std::path::Path;
use std::time::SystemTime;

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;
use libmacaroon::{Format, MacaroonKey, Verifier};
use prost::Message as _;
use rand::RngCore;

/// The location lnd writes into its macaroons.
pub const LND_LOCATION: &str = "lnd";
/// Identifier version byte of macaroon-bakery's protobuf identifiers (what lnd uses).
const ID_VERSION: u8 = 3;
/// The root key id lnd uses for its default macaroons.
const DEFAULT_ROOT_KEY_ID: &[u8] = b"0";

/// A permission as lnd names them: an entity (`invoices`, `offchain`, ...) and an action (`read`, `write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// The entity, e.g. `invoices`.
    pub entity: &'static str,
    /// The action, e.g. `write`.
    pub action: &'static str,
}

impl Permission {
    /// The permission `entity: action`.
    pub const fn new(entity: &'static str, action: &'static str) -> Self {
        Self { entity, action }
    }
}

/// Why a presented macaroon was refused, or a macaroon could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MacaroonError {
    /// No `macaroon` metadata, or more than one value.
    #[error("expected 1 macaroon, got {0}")]
    Count(usize),
    /// The metadata is not hex or the bytes are not a V2 macaroon.
    #[error("malformed macaroon: {0}")]
    Malformed(String),
    /// The signature does not verify against this node's root key.
    #[error("verification failed: signature mismatch")]
    BadSignature,
    /// The identifier is not an lnd identifier or names an unknown root key.
    #[error("invalid macaroon identifier: {0}")]
    BadIdentifier(&'static str),
    /// A first-party caveat is not satisfied (or not understood).
    #[error("caveat not satisfied: {0}")]
    Caveat(String),
    /// An identifier, location or caveat too large (or too many caveats) to build a macaroon with.
    #[error("cannot build macaroon: {0}")]
    Unbuildable(String),
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
    inner: libmacaroon::Macaroon,
}

impl std::fmt::Debug for Macaroon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signature makes a macaroon a bearer credential: never print it.
        f.debug_struct("Macaroon")
            .field("location", &self.inner.location())
            .field("caveats", &self.inner.caveats().len())
            .finish_non_exhaustive()
    }
}

impl Macaroon {
    /// Mints a macaroon for `identifier` signed with `root_key` (go-macaroon's key derivation);
    /// an empty `location` is left out.
    pub fn new(
        root_key: &[u8],
        identifier: Vec<u8>,
        location: &str,
    ) -> Result<Self, MacaroonError> {
        let location = (!location.is_empty()).then_some(location);
        let inner =
            libmacaroon::Macaroon::create(location, &MacaroonKey::generate(root_key), identifier)
                .map_err(|e| MacaroonError::Unbuildable(e.to_string()))?;
        Ok(Self { inner })
    }

    /// Adds a first-party caveat, extending the signature chain.
    pub fn add_first_party_caveat(&mut self, caveat: &str) -> Result<(), MacaroonError> {
        self.inner
            .add_first_party_caveat(caveat)
            .map_err(|e| MacaroonError::Unbuildable(e.to_string()))?;
        Ok(())
    }

    /// The identifier bytes.
    pub fn identifier(&self) -> &[u8] {
        self.inner.identifier()
    }

    /// The signature: the last value of the HMAC chain.
    pub fn signature(&self) -> [u8; 32] {
        *AsRef::<[u8; 32]>::as_ref(self.inner.signature())
    }

    /// Serialises in go-macaroon's V2 binary format.
    pub fn encode(&self) -> Vec<u8> {
        // libmacaroon hands out V2 only as URL-safe base64 of the binary form.
        let base64 = self
            .inner
            .serialize(Format::V2)
            .expect("V2 serialisation of a first-party macaroon cannot fail");
        URL_SAFE
            .decode(base64)
            .expect("libmacaroon writes valid URL-safe base64")
    }

    /// Parses go-macaroon's V2 binary format. Third-party caveats are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, MacaroonError> {
        if bytes.first() != Some(&2) {
            return Err(MacaroonError::Malformed("not a V2 macaroon".into()));
        }
        let inner = libmacaroon::Macaroon::deserialize_binary(bytes)
            .map_err(|e| MacaroonError::Malformed(e.to_string()))?;
        if !inner.third_party_caveats().is_empty() {
            return Err(MacaroonError::Malformed(
                "third-party caveats are not supported".into(),
            ));
        }
        Ok(Self { inner })
    }

    /// The first-party caveats, in order.
    fn caveats(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.inner
            .caveats()
            .iter()
            .filter_map(|caveat| caveat.as_first_party().map(|fp| fp.predicate()))
    }

    /// Checks the signature chain against `root_key` (libmacaroon compares in constant time).
    /// Caveats are not interpreted here: [`check_caveat`] does that with its own answers.
    fn signature_matches(&self, root_key: &[u8]) -> bool {
        let mut verifier = Verifier::default();
        verifier.satisfy_general(|_| true);
        verifier
            .verify(&self.inner, &MacaroonKey::generate(root_key), &[])
            .is_ok()
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

/// A macaroon root key and location: bakes macaroons and verifies the ones presented.
#[derive(Clone)]
pub struct MacaroonService {
    root_key: [u8; 32],
    location: &'static str,
}

impl std::fmt::Debug for MacaroonService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MacaroonService")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// The root key file could not be read, written or parsed.
#[derive(Debug, thiserror::Error)]
pub enum RootKeyError {
    /// Reading or writing the file failed.
    #[error(transparent)]
    File(#[from] service_kit::files::FileError),
    /// The file does not hold 32 bytes as hex.
    #[error("{}: not a 32-byte hex key", .0.display())]
    Invalid(std::path::PathBuf),
}

impl MacaroonService {
    /// A service with the given root key (persisted by the caller), baking for `location`
    /// ([`LND_LOCATION`] for lnd, `loop` for loopd).
    pub fn new(root_key: [u8; 32], location: &'static str) -> Self {
        Self { root_key, location }
    }

    /// The service whose root key is in `key_path` (hex), creating a random key there (mode 0600 in a
    /// 0700 directory) if the file does not exist. Macaroons baked earlier stay valid as long as the
    /// file is kept; deleting it invalidates them all.
    pub fn load_or_create(key_path: &Path, location: &'static str) -> Result<Self, RootKeyError> {
        use service_kit::files::{self, FileError};
        let root_key = match std::fs::read_to_string(key_path) {
            Ok(text) => {
                files::warn_if_exposed(key_path);
                hex::decode(text.trim())
                    .ok()
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                    .ok_or_else(|| RootKeyError::Invalid(key_path.to_owned()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut key);
                files::write_private(key_path, hex::encode(key).as_bytes())?;
                key
            }
            Err(e) => return Err(FileError::at(key_path)(e).into()),
        };
        Ok(Self::new(root_key, location))
    }

    /// Bakes a macaroon granting exactly `permissions`, as lnd's bakery does.
    pub fn bake(&self, permissions: &[Permission]) -> Macaroon {
        let mut ops: Vec<Op> = Vec::new();
        for permission in permissions {
            match ops.iter_mut().find(|op| op.entity == permission.entity) {
                Some(op) if op.actions.iter().any(|a| a == permission.action) => {}
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
        Macaroon::new(&self.root_key, identifier, self.location)
            .expect("lnd identifiers are short and never empty")
    }

    /// Verifies a hex-encoded macaroon (the `macaroon` metadata value) for a call needing every
    /// permission in `required`.
    pub fn verify_hex(
        &self,
        hex_macaroon: &str,
        required: &[Permission],
    ) -> Result<(), MacaroonError> {
        let bytes = hex::decode(hex_macaroon.trim())
            .map_err(|_| MacaroonError::Malformed("not hex".into()))?;
        self.verify(&bytes, required)
    }

    /// Verifies macaroon bytes for a call needing every permission in `required` (empty: any valid
    /// macaroon).
    pub fn verify(&self, bytes: &[u8], required: &[Permission]) -> Result<(), MacaroonError> {
        let macaroon = Macaroon::decode(bytes)?;
        if !macaroon.signature_matches(&self.root_key) {
            return Err(MacaroonError::BadSignature);
        }
        let (&version, rest) = macaroon
            .identifier()
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
        for caveat in macaroon.caveats() {
            check_caveat(caveat)?;
        }
        for needed in required {
            let granted = id.ops.iter().any(|op| {
                op.entity == needed.entity
                    && op.actions.iter().any(|action| action == needed.action)
            });
            if !granted {
                return Err(MacaroonError::PermissionDenied {
                    entity: needed.entity,
                    action: needed.action,
                });
            }
        }
        Ok(())
    }
}

impl From<MacaroonError> for tonic::Status {
    /// lnd's codes: `PermissionDenied` for a valid macaroon lacking a permission, `Unauthenticated`
    /// for everything else (missing, malformed, wrong key, unsatisfied caveat).
    fn from(error: MacaroonError) -> Self {
        match error {
            MacaroonError::PermissionDenied { .. } => {
                tonic::Status::permission_denied(error.to_string())
            }
            _ => tonic::Status::unauthenticated(error.to_string()),
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
    const SOME: &[Permission] = &[
        INVOICES_WRITE,
        Permission::new("invoices", "read"),
        INVOICES_WRITE,
    ];
    const ALL: &[Permission] = &[INVOICES_WRITE, OFFCHAIN_WRITE];

    fn service(key: u8) -> MacaroonService {
        MacaroonService::new([key; 32], LND_LOCATION)
    }

    #[test]
    fn vector_b_signature_chain_matches_go_macaroon() {
        // PROTOCOL.md vector B: root key of 32 zero bytes, location `lsat`.
        let identifier = hex::decode("0000630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd201f1e1d1c1b1a191817161514131211100f0e0d0c0b0a090807060504030201").unwrap();
        let mut macaroon = Macaroon::new(&[0u8; 32], identifier, "lsat").unwrap();
        for caveat in [
            "services=loop:0",
            "loop_capabilities=",
            "loop_valid_until=1700000000",
        ] {
            macaroon.add_first_party_caveat(caveat).unwrap();
        }
        assert_eq!(
            hex::encode(macaroon.signature()),
            "4e0d8d4a9812ba03ea609631a9d83ad64824f77cdb0f3341796ce9fe30fef59d"
        );
        let decoded = Macaroon::decode(&macaroon.encode()).unwrap();
        assert_eq!(decoded, macaroon);
    }

    #[test]
    fn baked_macaroon_has_go_macaroons_v2_layout() {
        for location in [LND_LOCATION, "loop"] {
            let macaroon = MacaroonService::new([7u8; 32], location).bake(SOME);
            let identifier = macaroon.identifier();
            assert_eq!(identifier[0], ID_VERSION);
            let id_len = u8::try_from(identifier.len()).unwrap();
            assert!(id_len < 0x80, "one-byte varint expected");
            // version, location field, identifier field, end of header, end of caveats, signature
            let mut expected = vec![2, 1, location.len() as u8];
            expected.extend_from_slice(location.as_bytes());
            expected.extend_from_slice(&[2, id_len]);
            expected.extend_from_slice(identifier);
            expected.extend_from_slice(&[0, 0, 6, 32]);
            expected.extend_from_slice(&macaroon.signature());
            assert_eq!(macaroon.encode(), expected);
        }
    }

    #[test]
    fn every_required_permission_must_be_granted() {
        let service = service(7);
        let some = service.bake(SOME).encode();
        service.verify(&some, &[INVOICES_WRITE]).unwrap();
        service.verify(&some, &[]).unwrap();
        assert_eq!(
            service.verify(&some, &[INVOICES_WRITE, OFFCHAIN_WRITE]),
            Err(MacaroonError::PermissionDenied {
                entity: "offchain",
                action: "write"
            })
        );
        service.verify(&service.bake(ALL).encode(), ALL).unwrap();
        let id = MacaroonId::decode(&Macaroon::decode(&some).unwrap().identifier()[1..]).unwrap();
        assert_eq!(id.ops.len(), 1);
        assert_eq!(id.ops[0].actions, ["write", "read"], "actions deduplicated");
    }

    #[test]
    fn other_root_key_and_tampering_are_rejected() {
        let service = service(7);
        let other = self::service(8).bake(ALL).encode();
        assert_eq!(
            service.verify(&other, &[]),
            Err(MacaroonError::BadSignature)
        );
        let mut admin = service.bake(ALL).encode();
        let last = admin.len() - 1;
        admin[last] ^= 1;
        assert_eq!(
            service.verify(&admin, &[]),
            Err(MacaroonError::BadSignature)
        );
        assert!(matches!(
            service.verify_hex("zz", &[]),
            Err(MacaroonError::Malformed(_))
        ));
        assert!(matches!(
            service.verify(&admin[..10], &[]),
            Err(MacaroonError::Malformed(_))
        ));
        assert_eq!(
            tonic::Status::from(MacaroonError::BadSignature).code(),
            tonic::Code::Unauthenticated
        );
    }

    #[test]
    fn caveats_are_enforced() {
        let service = service(7);
        let mut expired = service.bake(ALL);
        expired
            .add_first_party_caveat("time-before 2001-01-01T00:00:00Z")
            .unwrap();
        assert!(matches!(
            service.verify(&expired.encode(), &[]),
            Err(MacaroonError::Caveat(_))
        ));
        let mut valid = service.bake(ALL);
        valid
            .add_first_party_caveat("time-before 2999-01-01T00:00:00Z")
            .unwrap();
        service.verify(&valid.encode(), &[]).unwrap();
        let mut unknown = service.bake(ALL);
        unknown.add_first_party_caveat("ipaddr 10.0.0.1").unwrap();
        assert!(matches!(
            service.verify(&unknown.encode(), &[]),
            Err(MacaroonError::Caveat(_))
        ));
    }

    #[test]
    fn root_key_file_is_created_private_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net/macaroons.key");
        let first = MacaroonService::load_or_create(&path, "loop").unwrap();
        let macaroon = first.bake(ALL).encode();
        let second = MacaroonService::load_or_create(&path, "loop").unwrap();
        second.verify(&macaroon, ALL).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(matches!(
            MacaroonService::load_or_create(&path, "loop"),
            Err(RootKeyError::Invalid(_))
        ));
    }
}
