//! Every vector of the conformance kit's `l402-conformance/vectors.json`, checked against this crate:
//! what the kit publishes for other implementations is what our own code does.

use std::time::{Duration, UNIX_EPOCH};

use l402::{
    AuthScheme, Caveat, Challenge, Credential, Identifier, Macaroon, Network, PaymentHash,
    Preimage, RequestContext, RootKey, Token, TokenId,
};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../l402-conformance/vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("the conformance vectors are committed");
    serde_json::from_str(&text).expect("the vectors are JSON")
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {value}"))
}

fn list<'a>(value: &'a Value, key: &str) -> &'a Vec<Value> {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is a list in {value}"))
}

fn root_key(hex_text: &str) -> RootKey {
    RootKey::from_hex(hex_text).expect("a 32-byte root key")
}

fn preimage(hex_text: &str) -> Preimage {
    Preimage::from_hex(hex_text).expect("a 32-byte preimage")
}

fn caveats(inputs: &Value) -> Vec<Caveat> {
    list(inputs, "caveats")
        .iter()
        .map(|c| c.as_str().unwrap().parse().expect("the caveats parse"))
        .collect()
}

/// The last step of a vector's chain is its signature.
fn check_chain(vector: &Value) {
    let chain = list(vector, "chain");
    assert_eq!(
        str_of(chain.last().expect("a chain"), "hmac"),
        str_of(vector, "signature")
    );
}

#[test]
fn identifiers() {
    let v = vectors();
    for vector in list(&v["identifiers"], "valid") {
        let inputs = &vector["inputs"];
        let hash: PaymentHash = str_of(inputs, "payment_hash").parse().unwrap();
        let token_id: TokenId = str_of(inputs, "token_id").parse().unwrap();
        let id = Identifier::new(hash, token_id);
        assert_eq!(hex::encode(id.encode()), str_of(vector, "hex"));
        assert_eq!(id.hash().to_hex(), str_of(vector, "identifier_hash"));
        assert_eq!(
            Identifier::decode(&hex::decode(str_of(vector, "hex")).unwrap()),
            Ok(id)
        );
    }
    for vector in list(&v["identifiers"], "invalid") {
        let bytes = hex::decode(str_of(vector, "hex")).unwrap();
        assert!(Identifier::decode(&bytes).is_err(), "{vector}");
    }
}

#[test]
fn macaroons_and_their_verification() {
    for vector in vectors()["macaroons"].as_array().unwrap() {
        let inputs = &vector["inputs"];
        let key = root_key(str_of(inputs, "root_key"));
        let id = Identifier::decode(&hex::decode(str_of(inputs, "identifier")).unwrap()).unwrap();
        let mac = Macaroon::mint(&key, &id, &caveats(inputs)).unwrap();
        assert_eq!(mac.location(), Some(str_of(inputs, "location")));
        assert_eq!(mac.to_hex(), str_of(vector, "hex"));
        assert_eq!(mac.to_base64(), str_of(vector, "base64"));
        assert_eq!(hex::encode(mac.signature()), str_of(vector, "signature"));
        check_chain(vector);
        assert_eq!(
            Macaroon::from_base64(str_of(vector, "base64")),
            Ok(mac.clone())
        );
        let credential = Credential::new(mac, preimage_of(&id));
        for request in list(vector, "verification") {
            let now = request["now"].as_i64().unwrap();
            let mut ctx = RequestContext::at_unix_secs(str_of(request, "service"), now);
            if let Some(capability) = request["capability"].as_str() {
                ctx = ctx.with_capability(capability);
            }
            let result = match l402::verify(&credential, &key, &ctx) {
                Ok(_) => "ok",
                Err(e) => e.reason(),
            };
            assert_eq!(result, str_of(request, "result"), "{request}");
        }
    }
}

/// The vectors' preimage: the one whose hash the identifier holds (`00 01 … 1f`).
fn preimage_of(id: &Identifier) -> Preimage {
    let preimage = Preimage::from_bytes(std::array::from_fn(|i| i as u8));
    assert!(preimage.matches(&id.payment_hash));
    preimage
}

#[test]
fn paid_macaroons() {
    for vector in vectors()["paid_macaroons"].as_array().unwrap() {
        let inputs = &vector["inputs"];
        let base = Macaroon::from_base64(str_of(inputs, "macaroon_base64")).unwrap();
        let pre = preimage(str_of(inputs, "preimage"));
        let paid = base.with_preimage(&pre).unwrap();
        assert_eq!(paid.to_hex(), str_of(vector, "hex"));
        assert_eq!(hex::encode(paid.signature()), str_of(vector, "signature"));
        check_chain(vector);
        let credential = Credential::from_macaroon_metadata(str_of(vector, "hex")).unwrap();
        assert_eq!(credential.preimage(), &pre);
    }
}

#[test]
fn challenges() {
    let v = vectors();
    let challenges = v["challenges"].as_array().unwrap();
    let vector = &challenges[0];
    let inputs = &vector["inputs"];
    let mac = Macaroon::from_base64(str_of(inputs, "macaroon_base64")).unwrap();
    let invoice = str_of(inputs, "invoice");
    let challenge = Challenge::new(mac.clone(), invoice).unwrap();
    assert_eq!(
        challenge.header_values().to_vec(),
        list(vector, "aperture")
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    );
    assert_eq!(challenge.spec_header_value(), str_of(vector, "spec"));
    assert_eq!(Value::Bool(challenge.is_consistent()), vector["consistent"]);
    let facts = &vector["invoice"];
    assert_eq!(challenge.amount_msat(), facts["amount_msat"].as_u64());
    assert_eq!(
        challenge.payment_hash().to_hex(),
        str_of(facts, "payment_hash")
    );
    assert_eq!(
        Network::of_currency(&challenge.invoice().currency()).as_str(),
        str_of(facts, "network")
    );
    assert_eq!(
        challenge.invoice().duration_since_epoch().as_secs(),
        facts["timestamp"].as_u64().unwrap()
    );
    assert_eq!(
        challenge.invoice().expiry_time().as_secs(),
        facts["expiry_secs"].as_u64().unwrap()
    );
    let all_forms = list(vector, "aperture")
        .iter()
        .chain(list(vector, "also_parse"))
        .chain([&vector["spec"]]);
    for value in all_forms {
        let parsed = Challenge::parse(value.as_str().unwrap()).unwrap();
        assert_eq!(parsed.macaroon(), &mac, "{value}");
        assert_eq!(parsed.invoice_str(), invoice, "{value}");
    }
    for rejected in list(vector, "rejected") {
        assert!(
            Challenge::parse(str_of(rejected, "value")).is_err(),
            "{rejected}"
        );
    }
    let mismatch = &challenges[1]["inputs"];
    let mismatched = Challenge::new(
        Macaroon::from_base64(str_of(mismatch, "macaroon_base64")).unwrap(),
        str_of(mismatch, "invoice"),
    )
    .unwrap();
    assert_eq!(
        Value::Bool(mismatched.is_consistent()),
        challenges[1]["consistent"]
    );
}

#[test]
fn credentials() {
    for vector in vectors()["credentials"].as_array().unwrap() {
        let inputs = &vector["inputs"];
        let mac = Macaroon::from_base64(str_of(inputs, "macaroon_base64")).unwrap();
        let credential = Credential::new(mac, preimage(str_of(inputs, "preimage")));
        assert_eq!(
            credential.to_authorization(),
            str_of(vector, "authorization")
        );
        assert_eq!(
            credential.to_authorization_with(AuthScheme::Lsat),
            str_of(vector, "authorization_lsat")
        );
        assert_eq!(
            credential.to_macaroon_metadata().unwrap(),
            str_of(vector, "macaroon_metadata")
        );
        for value in [&vector["authorization"], &vector["authorization_lsat"]]
            .into_iter()
            .chain(list(vector, "also_parse"))
        {
            let parsed = Credential::from_authorization(value.as_str().unwrap()).unwrap();
            assert_eq!(parsed, credential, "{value}");
        }
        let metadata = Credential::from_macaroon_metadata(str_of(vector, "macaroon_metadata"));
        assert_eq!(metadata.unwrap().preimage(), credential.preimage());
        for rejected in list(vector, "rejected") {
            assert!(
                Credential::from_authorization(str_of(rejected, "value")).is_err(),
                "{rejected}"
            );
        }
    }
}

#[test]
fn token_files() {
    for vector in vectors()["token_files"].as_array().unwrap() {
        let inputs = &vector["inputs"];
        let mac = Macaroon::from_base64(str_of(inputs, "macaroon_base64")).unwrap();
        let created =
            UNIX_EPOCH + Duration::from_nanos(inputs["created_unix_nanos"].as_u64().unwrap());
        let hash: PaymentHash = str_of(inputs, "payment_hash").parse().unwrap();
        let mut token = Token::pending(mac, hash, created);
        if str_of(inputs, "state") == "paid" {
            assert!(token.mark_paid(
                preimage(str_of(inputs, "preimage")),
                inputs["amount_paid_msat"].as_u64().unwrap(),
                inputs["routing_fee_paid_msat"].as_u64().unwrap(),
            ));
        }
        let encoded = token.encode();
        assert_eq!(hex::encode(&encoded), str_of(vector, "hex"));
        assert_eq!(Some(encoded.len() as u64), vector["length"].as_u64());
        assert_eq!(Token::decode(&encoded), Ok(token));
    }
}

#[test]
fn errata_of_the_specification() {
    let v = vectors();
    let errata = v["errata"].as_array().unwrap();
    let tags = &errata[0];
    let spec_bytes = hex::decode(str_of(tags, "spec_encoding_hex")).unwrap();
    assert!(
        Macaroon::from_bytes(&spec_bytes).is_err(),
        "bytes with the spec's field tags are not a macaroon"
    );
    let real = Macaroon::from_hex(str_of(tags, "real_encoding_hex")).unwrap();

    let derivation = &errata[1];
    let inputs = &derivation["inputs"];
    let key = root_key(str_of(inputs, "root_key"));
    assert!(real.verify_signature(&key));
    assert_eq!(
        hex::encode(real.signature()),
        str_of(derivation, "real_signature")
    );
    // The same macaroon carrying the signature computed the spec's way does not verify.
    let mut bytes = real.as_bytes().to_vec();
    let len = bytes.len();
    bytes[len - 32..].copy_from_slice(&hex::decode(str_of(derivation, "spec_signature")).unwrap());
    let spec_signed = Macaroon::from_bytes(&bytes).unwrap();
    assert!(!spec_signed.verify_signature(&key));
}
