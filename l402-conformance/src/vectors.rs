//! The test vectors: identifiers, macaroons with their signature chains, paid macaroons, challenge and
//! credential header strings and Loop token files, each with its inputs, plus the known errata of the
//! public specification as vectors with a note.
//!
//! Every input is fixed (root keys, preimages, token ids, the invoice's node key and timestamp), so the
//! document is the same on every run: `l402-conformance vectors` writes it, the committed
//! `l402-conformance/vectors.json` is it, and the `l402` crate's tests check every vector in that file.
//! The signature chains are computed here with plain HMAC-SHA256, independently of the `l402` crate.

use std::time::{Duration, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use l402::{
    AuthScheme, Caveat, Challenge, Credential, Identifier, Macaroon, Preimage, RequestContext,
    RootKey, Token, TokenId,
};
use lightning_invoice::Currency;
use serde::Serialize;
use serde_json::{json, Value};

/// The constant go-macaroon derives a macaroon's signing key with.
const KEY_GENERATOR: &[u8] = b"macaroons-key-generator";
/// The caveats of the main vector (Aperture's minting order, § 4.1).
const CAVEATS: [&str; 3] = [
    "services=loop:0",
    "loop_capabilities=",
    "loop_valid_until=1700000000",
];
/// The invoice's creation time (unix seconds); it expires an hour later.
const INVOICE_TIMESTAMP: u64 = 1_699_990_000;
/// The token price: 100 sat.
const PRICE_MSAT: u64 = 100_000;
/// The routing fee recorded in the token file.
const ROUTING_FEE_MSAT: u64 = 1_000;
/// The token file's creation time, unix nanoseconds.
const TOKEN_CREATED_NANOS: u64 = 1_699_990_001_000_000_000;

/// The preimage `00 01 … 1f`.
fn preimage() -> Preimage {
    Preimage::from_bytes(std::array::from_fn(|i| i as u8))
}

/// The preimage of the second invoice, `ff fe … e0`: another paid invoice.
fn other_preimage() -> Preimage {
    Preimage::from_bytes(std::array::from_fn(|i| 0xff - i as u8))
}

/// The token id `20 1f … 01`.
fn token_id() -> TokenId {
    TokenId(std::array::from_fn(|i| 32 - i as u8))
}

/// The root key: 32 zero bytes.
fn root_key_bytes() -> [u8; 32] {
    [0; 32]
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// One step of a signature chain.
#[derive(Serialize)]
struct ChainStep {
    step: String,
    hmac: String,
}

/// go-macaroon's chain over `identifier` and `caveats`, every step written out.
fn signature_chain(root_key: &[u8], identifier: &[u8], caveats: &[&str]) -> Vec<ChainStep> {
    let key = hmac_sha256(KEY_GENERATOR, root_key);
    let mut steps = vec![ChainStep {
        step: "k = HMAC(\"macaroons-key-generator\", root_key)".into(),
        hmac: hex::encode(key),
    }];
    let mut sig = hmac_sha256(&key, identifier);
    steps.push(ChainStep {
        step: "sig_0 = HMAC(k, identifier)".into(),
        hmac: hex::encode(sig),
    });
    for caveat in caveats {
        sig = hmac_sha256(&sig, caveat.as_bytes());
        steps.push(ChainStep {
            step: format!("HMAC(sig, {caveat:?})"),
            hmac: hex::encode(sig),
        });
    }
    steps
}

/// A signed regtest invoice for `preimage`'s hash, from a fixed node key at a fixed time.
fn invoice(preimage: &Preimage) -> String {
    crate::invoice::signed(
        Currency::Regtest,
        preimage.hash(),
        Duration::from_secs(INVOICE_TIMESTAMP),
        PRICE_MSAT,
    )
}

fn identifier() -> Identifier {
    Identifier::new(preimage().hash(), token_id())
}

fn macaroon() -> Macaroon {
    let caveats: Vec<Caveat> = CAVEATS
        .iter()
        .map(|c| c.parse().expect("the vector's caveats parse"))
        .collect();
    Macaroon::mint(
        &RootKey::from_bytes(root_key_bytes()),
        &identifier(),
        &caveats,
    )
    .expect("the vector macaroon mints")
}

fn identifiers() -> Value {
    let id = identifier();
    let mut other_version = id.encode().to_vec();
    other_version[1] = 1;
    let mut trailing = id.encode().to_vec();
    trailing.push(0);
    json!({
        "valid": [{
            "name": "version-0",
            "inputs": {"version": 0, "payment_hash": preimage().hash().to_hex(), "token_id": token_id().to_hex()},
            "hex": hex::encode(id.encode()),
            "identifier_hash": id.hash().to_hex(),
        }],
        "invalid": [
            {"name": "version-1", "hex": hex::encode(other_version), "note": "an unknown version is refused"},
            {"name": "trailing-byte", "hex": hex::encode(trailing), "note": "a version-0 identifier is exactly 66 bytes"},
            {"name": "too-short", "hex": "00", "note": "fewer than 2 bytes"},
        ],
    })
}

fn macaroons() -> Value {
    let mac = macaroon();
    let id = identifier().encode();
    json!([{
        "name": "vector-b",
        "inputs": {
            "root_key": hex::encode(root_key_bytes()),
            "identifier": hex::encode(id),
            "location": "lsat",
            "caveats": CAVEATS,
        },
        "chain": signature_chain(&root_key_bytes(), &id, &CAVEATS),
        "signature": hex::encode(mac.signature()),
        "hex": mac.to_hex(),
        "base64": mac.to_base64(),
        "verification": verification(&mac),
    }])
}

/// What verifying the vector macaroon with its preimage gives in several requests.
fn verification(mac: &Macaroon) -> Value {
    let credential = Credential::new(mac.clone(), preimage());
    let key = RootKey::from_bytes(root_key_bytes());
    let requests = [
        ("loop", 1_699_999_999, None),
        ("loop", 1_700_000_000, None),
        ("pool", 1_699_999_999, None),
        ("loop", 1_699_999_999, Some("out")),
    ];
    requests
        .iter()
        .map(|(service, now, capability)| {
            let mut ctx = RequestContext::at_unix_secs(*service, *now);
            if let Some(capability) = capability {
                ctx = ctx.with_capability(*capability);
            }
            let result = match l402::verify(&credential, &key, &ctx) {
                Ok(_) => "ok",
                Err(error) => error.reason(),
            };
            json!({"service": service, "now": now, "capability": capability, "result": result})
        })
        .collect()
}

fn paid_macaroons() -> Value {
    let mac = macaroon();
    let paid = mac
        .with_preimage(&preimage())
        .expect("a preimage caveat can be added");
    let preimage_caveat = format!("preimage={}", preimage().to_hex());
    let mut caveats = CAVEATS.to_vec();
    caveats.push(&preimage_caveat);
    json!([{
        "name": "vector-b-paid",
        "inputs": {"macaroon_base64": mac.to_base64(), "preimage": preimage().to_hex()},
        "added_caveat": preimage_caveat,
        "chain": signature_chain(&root_key_bytes(), &identifier().encode(), &caveats),
        "signature": hex::encode(paid.signature()),
        "hex": paid.to_hex(),
        "note": "the macaroon metadata credential (Loop's gRPC form): the base macaroon plus a preimage caveat, hex",
    }])
}

fn challenges() -> Value {
    let mac = macaroon();
    let invoice = invoice(&preimage());
    let challenge = Challenge::new(mac.clone(), &invoice).expect("the vector invoice decodes");
    let [lsat, l402] = challenge.header_values();
    let b64 = mac.to_base64();
    let url_safe = b64.replace('/', "_").replace('+', "-");
    let mismatched = Challenge::new(mac, &self::invoice(&other_preimage())).expect("decodes");
    json!([{
        "name": "vector-b",
        "inputs": {"macaroon_base64": b64, "invoice": invoice},
        "invoice": {"network": "regtest", "amount_msat": PRICE_MSAT, "payment_hash": challenge.payment_hash().to_hex(), "timestamp": INVOICE_TIMESTAMP, "expiry_secs": 3600},
        "consistent": challenge.is_consistent(),
        "aperture": [lsat, l402],
        "spec": challenge.spec_header_value(),
        "also_parse": [
            format!("l402 invoice=\"{invoice}\", macaroon=\"{b64}\""),
            format!("LsAt macaroon=\"{b64}\", invoice=\"{invoice}\""),
            format!("L402 macaroon=\"{}\", invoice={invoice}, realm=\"api\"", url_safe.trim_end_matches('=')),
            format!("L402 version=\"0\", token=\"{b64}\", invoice=\"{invoice}\", macaroon=\"{b64}\""),
            format!("Basic realm=\"x\", {lsat}"),
        ],
        "rejected": [
            {"value": format!("L402 version=\"1\", token=\"{b64}\", invoice=\"{invoice}\""), "note": "version must be 0"},
            {"value": format!("L402 macaroon=\"{b64}\""), "note": "invoice is required"},
            {"value": format!("L402 invoice=\"{invoice}\""), "note": "macaroon (or token) is required"},
            {"value": format!("L402 macaroon=\"{b64}\", token=\"{}\", invoice=\"{invoice}\"", paid_b64()), "note": "macaroon and token disagree"},
            {"value": format!("Bearer realm=\"x\", macaroon=\"{b64}\", invoice=\"{invoice}\""), "note": "no L402 or LSAT scheme"},
        ],
    }, {
        "name": "hash-mismatch",
        "inputs": {"macaroon_base64": mismatched.macaroon().to_base64(), "invoice": mismatched.invoice_str()},
        "consistent": mismatched.is_consistent(),
        "note": "the invoice pays another hash than the identifier's: a client must not pay it",
    }])
}

fn paid_b64() -> String {
    macaroon()
        .with_preimage(&preimage())
        .expect("a preimage caveat can be added")
        .to_base64()
}

fn credentials() -> Value {
    let credential = Credential::new(macaroon(), preimage());
    let b64 = macaroon().to_base64();
    let hex_preimage = preimage().to_hex();
    json!([{
        "name": "vector-b",
        "inputs": {"macaroon_base64": b64, "preimage": hex_preimage},
        "authorization": credential.to_authorization(),
        "authorization_lsat": credential.to_authorization_with(AuthScheme::Lsat),
        "macaroon_metadata": credential.to_macaroon_metadata().expect("the preimage caveat can be added"),
        "also_parse": [
            format!("l402 {b64}:{hex_preimage}"),
            format!("L402 {b64}:{}", hex_preimage.to_uppercase()),
            format!("  LSAT {b64}:{hex_preimage}  "),
        ],
        "rejected": [
            {"value": format!("L402 {b64}"), "note": "no preimage"},
            {"value": format!("L402 {b64}:{}", &hex_preimage[..62]), "note": "a preimage is 64 hex characters"},
            {"value": format!("L402 {b64},{b64}:{hex_preimage}"), "note": "several macaroons: the others can only be discharges, which L402 macaroons never need"},
            {"value": format!("L402 !{b64}:{hex_preimage}"), "note": "malformed base64"},
            {"value": format!("Basic {b64}:{hex_preimage}"), "note": "another scheme"},
        ],
    }])
}

fn token_files() -> Value {
    let created = UNIX_EPOCH + Duration::from_nanos(TOKEN_CREATED_NANOS);
    let pending = Token::pending(macaroon(), preimage().hash(), created);
    let mut paid = pending.clone();
    assert!(paid.mark_paid(preimage(), PRICE_MSAT, ROUTING_FEE_MSAT));
    let inputs = |state: &str| {
        json!({
            "state": state,
            "macaroon_base64": macaroon().to_base64(),
            "payment_hash": preimage().hash().to_hex(),
            "preimage": if state == "paid" { preimage().to_hex() } else { hex::encode([0u8; 32]) },
            "amount_paid_msat": if state == "paid" { PRICE_MSAT } else { 0 },
            "routing_fee_paid_msat": if state == "paid" { ROUTING_FEE_MSAT } else { 0 },
            "created_unix_nanos": TOKEN_CREATED_NANOS,
        })
    };
    json!([
        {"name": "l402.token", "inputs": inputs("paid"), "hex": hex::encode(paid.encode()), "length": paid.encode().len()},
        {"name": "l402.token.pending", "inputs": inputs("pending"), "hex": hex::encode(pending.encode()), "length": pending.encode().len()},
    ])
}

/// The V2 encoding of the vector macaroon with the field tags of the specification's table, which
/// go-macaroon (and so Aperture) does not use.
fn spec_tagged_encoding() -> Vec<u8> {
    fn field(out: &mut Vec<u8>, tag: u8, data: &[u8]) {
        out.push(tag);
        out.push(u8::try_from(data.len()).expect("the vector's fields are short"));
        out.extend_from_slice(data);
    }
    let mut out = vec![0x02];
    field(&mut out, 0x06, b"lsat");
    field(&mut out, 0x02, &identifier().encode());
    out.push(0x00);
    for caveat in CAVEATS {
        field(&mut out, 0x01, caveat.as_bytes());
        out.push(0x00);
    }
    out.push(0x00);
    field(&mut out, 0x06, &macaroon().signature());
    out.push(0x00);
    out
}

fn errata() -> Value {
    let id = identifier().encode();
    let mut spec_sig = hmac_sha256(&root_key_bytes(), &id);
    for caveat in CAVEATS {
        spec_sig = hmac_sha256(&spec_sig, caveat.as_bytes());
    }
    json!([{
        "name": "spec-v2-field-tags",
        "note": "The specification's macaroon table gives the V2 field tags as location 0x06, identifier 0x02, caveat identifier 0x01, caveat verification id 0x02 and signature 0x06, with an end-of-section byte after the signature. go-macaroon, Aperture and Loop use location 1, identifier 2, caveat identifier 2, verification id 4 (third-party only) and signature 6, with no byte after the signature. Bytes written with the specification's tags are not a macaroon any of them reads.",
        "spec_tags": {"location": 6, "identifier": 2, "caveat_identifier": 1, "verification_id": 2, "signature": 6},
        "real_tags": {"location": 1, "identifier": 2, "caveat_identifier": 2, "verification_id": 4, "signature": 6},
        "spec_encoding_hex": hex::encode(spec_tagged_encoding()),
        "real_encoding_hex": macaroon().to_hex(),
    }, {
        "name": "spec-key-derivation",
        "note": "The specification computes sig_0 = HMAC(root_key, identifier). go-macaroon and libmacaroons first derive k = HMAC(\"macaroons-key-generator\", root_key) and compute sig_0 = HMAC(k, identifier); a macaroon signed the specification's way does not verify against Aperture.",
        "inputs": {"root_key": hex::encode(root_key_bytes()), "identifier": hex::encode(id), "caveats": CAVEATS},
        "spec_signature": hex::encode(spec_sig),
        "real_signature": hex::encode(macaroon().signature()),
    }])
}

/// The whole document.
pub fn document() -> Value {
    json!({
        "description": "L402 test vectors from the loop-l402 conformance kit (l402-conformance vectors). Hex is lowercase, base64 standard with padding, integers in the binary forms big-endian.",
        "identifiers": identifiers(),
        "macaroons": macaroons(),
        "paid_macaroons": paid_macaroons(),
        "challenges": challenges(),
        "credentials": credentials(),
        "token_files": token_files(),
        "errata": errata(),
    })
}

/// The document as the committed file holds it: pretty JSON with a final newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("the vectors serialise");
    text.push('\n');
    text
}
