//! Test vectors from docs/PROTOCOL.md (checked there with an independent macaroon implementation).

use l402::{
    verify, AuthScheme, Caveat, Challenge, Credential, Identifier, Macaroon, MintRequest,
    PaymentHash, Preimage, RequestContext, RootKey, Service, TokenId, VerifyError,
};

const PAYMENT_HASH: &str = "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd";
const TOKEN_ID: &str = "201f1e1d1c1b1a191817161514131211100f0e0d0c0b0a090807060504030201";
const IDENTIFIER: &str = "0000630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd201f1e1d1c1b1a191817161514131211100f0e0d0c0b0a090807060504030201";
const CAVEATS: [&str; 3] = [
    "services=loop:0",
    "loop_capabilities=",
    "loop_valid_until=1700000000",
];
const SIGNATURE: &str = "4e0d8d4a9812ba03ea609631a9d83ad64824f77cdb0f3341796ce9fe30fef59d";
const BASE64: &str = "AgEEbHNhdAJCAABjDc0pZsQzZpESVEi7sltP9BKknHMtssirwbhYG9cQ3SAfHh0cGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwIBAAIPc2VydmljZXM9bG9vcDowAAISbG9vcF9jYXBhYmlsaXRpZXM9AAIbbG9vcF92YWxpZF91bnRpbD0xNzAwMDAwMDAwAAAGIE4NjUqYEroD6mCWManYOtZIJPd82w8zQXls6f4w/vWd";
const PREIMAGE_SIGNATURE: &str = "50b53406703ca05cf845675ecad206f5ebca5ad8ab8e906991ac011c4315f470";
const TESTNET_INVOICE: &str = "lntb5u1p0pskpmpp5jzw9xvdast2g5lm5tswq6n64t2epe3f4xav43dyd239qr8h3yllqdqqcqzpgsp5m8sfjqgugthk66q3tr4gsqr5rh740jrq9x4l0kvj5e77nmwqvpnq9qy9qsq72afzu7sfuppzqg3q2pn49hlh66rv7w60h2ruahx857g94s066yzxcjn4yccqc79779sd232v9ewluvu0tmusvht6r99rld8xsk287cpyac79r";

fn preimage() -> Preimage {
    Preimage::from_bytes(std::array::from_fn(|i| i as u8))
}

fn token_id() -> TokenId {
    TokenId(std::array::from_fn(|i| 32 - i as u8))
}

fn vector_b() -> Macaroon {
    let caveats: Vec<Caveat> = CAVEATS.iter().map(|c| c.parse().unwrap()).collect();
    let id = Identifier::new(preimage().hash(), token_id());
    Macaroon::mint(&RootKey::from_bytes([0; 32]), &id, &caveats).unwrap()
}

#[test]
fn identifier_vector() {
    assert_eq!(preimage().hash().to_string(), PAYMENT_HASH);
    assert_eq!(token_id().to_string(), TOKEN_ID);
    let id = Identifier::new(PAYMENT_HASH.parse().unwrap(), TOKEN_ID.parse().unwrap());
    assert_eq!(hex::encode(id.encode()), IDENTIFIER);
    assert_eq!(
        Identifier::decode(&hex::decode(IDENTIFIER).unwrap()),
        Ok(id)
    );
}

#[test]
fn macaroon_signature_and_bytes_vector() {
    let mac = vector_b();
    assert_eq!(hex::encode(mac.signature()), SIGNATURE);
    assert_eq!(mac.to_base64(), BASE64);
    let parsed = Macaroon::from_base64(BASE64).unwrap();
    assert_eq!(parsed, mac);
    assert_eq!(hex::encode(parsed.identifier().encode()), IDENTIFIER);
    let raw: Vec<&[u8]> = parsed.raw_caveats().collect();
    assert_eq!(raw, CAVEATS.map(str::as_bytes));
    assert!(parsed.verify_signature(&RootKey::from_bytes([0; 32])));
}

#[test]
fn mint_request_reproduces_vector() {
    let minted = MintRequest::new(preimage().hash())
        .token_id(token_id())
        .root_key(RootKey::from_bytes([0; 32]))
        .service(Service::new("loop", 0).unwrap())
        .capabilities("loop", Vec::<String>::new())
        .valid_until("loop", 1_700_000_000)
        .mint()
        .unwrap();
    assert_eq!(minted.macaroon.to_base64(), BASE64);
    assert_eq!(minted.identifier_hash, minted.macaroon.identifier_hash());
}

#[test]
fn preimage_caveat_signature_vector() {
    let paid = vector_b().with_preimage(&preimage()).unwrap();
    assert_eq!(hex::encode(paid.signature()), PREIMAGE_SIGNATURE);
    let cred = Credential::from_macaroon_metadata(&paid.to_hex()).unwrap();
    assert_eq!(cred.preimage(), &preimage());
}

#[test]
fn vector_credential_verifies_before_expiry_only() {
    let key = RootKey::from_bytes([0; 32]);
    let cred = Credential::new(vector_b(), preimage());
    let before = RequestContext::at_unix_secs("loop", 1_699_999_999);
    let verified = verify(&cred, &key, &before).unwrap();
    assert_eq!(verified.token_id(), token_id());
    assert_eq!(
        verify(
            &cred,
            &key,
            &RequestContext::at_unix_secs("loop", 1_700_000_000)
        ),
        Err(VerifyError::Expired {
            valid_until: 1_700_000_000
        })
    );
    assert!(matches!(
        verify(&cred, &key, &RequestContext::at_unix_secs("pool", 0)),
        Err(VerifyError::WrongService { .. })
    ));
    // The empty capabilities caveat grants nothing.
    assert!(matches!(
        verify(&cred, &key, &before.clone().with_capability("out")),
        Err(VerifyError::MissingCapability { .. })
    ));
    let md = Credential::from_macaroon_metadata(&cred.to_macaroon_metadata().unwrap()).unwrap();
    assert!(verify(&md, &key, &before).is_ok());
    let auth = Credential::from_authorization(&cred.to_authorization()).unwrap();
    assert!(verify(&auth, &key, &before).is_ok());
}

#[test]
fn reference_testnet_invoice_in_challenge() {
    let mac = vector_b();
    let challenge = Challenge::new(mac.clone(), TESTNET_INVOICE).unwrap();
    assert_eq!(challenge.amount_msat(), Some(500_000));
    let [lsat, l402] = challenge.header_values();
    assert_eq!(
        lsat,
        format!("LSAT macaroon=\"{BASE64}\", invoice=\"{TESTNET_INVOICE}\"")
    );
    assert_eq!(
        l402,
        format!("L402 macaroon=\"{BASE64}\", invoice=\"{TESTNET_INVOICE}\"")
    );
    for value in [
        lsat.clone(),
        l402,
        format!("l402 invoice=\"{TESTNET_INVOICE}\", macaroon=\"{BASE64}\""),
        format!("L402 version=\"0\", token=\"{BASE64}\", invoice=\"{TESTNET_INVOICE}\""),
        format!(
            "L402 macaroon=\"{}\", invoice={TESTNET_INVOICE}, realm=\"x\"",
            BASE64
                .replace('/', "_")
                .replace('+', "-")
                .trim_end_matches('=')
        ),
        format!("Basic realm=\"x\", {lsat}"),
    ] {
        let parsed = Challenge::parse(&value).unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(parsed.macaroon(), &mac);
        assert_eq!(parsed.invoice_str(), TESTNET_INVOICE);
        // Payment hash decoded independently from the invoice's `p` field (bech32 by hand).
        assert_eq!(
            parsed.payment_hash(),
            "909c5331bd82d48a7f745c1c0d4f555ab21cc535375958b48d544a019ef127fe"
                .parse::<PaymentHash>()
                .unwrap()
        );
    }
    // The vector macaroon was not minted for this invoice.
    assert!(!challenge.is_consistent());
    let cred = challenge.into_credential(preimage());
    assert!(cred
        .to_authorization_with(AuthScheme::Lsat)
        .starts_with("LSAT "));
}

#[test]
fn wire_bindings_round_trip_both_ends() {
    let challenge = Challenge::new(vector_b(), TESTNET_INVOICE).unwrap();
    let lsat = format!("LSAT macaroon=\"{BASE64}\", invoice=\"{TESTNET_INVOICE}\"");
    let l402_line = format!("L402 macaroon=\"{BASE64}\", invoice=\"{TESTNET_INVOICE}\"");

    let http = l402::http::challenge_response(&challenge);
    assert_eq!(http.status(), 402);
    assert_eq!(http.body(), "payment required\n");
    assert_eq!(http.headers()["content-type"], "text/plain; charset=utf-8");
    let values = l402::http::challenge_values(http.status(), http.headers()).unwrap();
    assert_eq!(values, [lsat.clone(), l402_line.clone()]);
    let parsed = Challenge::from_header_values(values.iter().map(String::as_str)).unwrap();
    assert_eq!(parsed, challenge);
    assert!(l402::http::challenge_values(http::StatusCode::OK, http.headers()).is_none());

    let grpc = l402::grpc::challenge_response(&challenge);
    assert_eq!(grpc.status(), 200);
    assert_eq!(grpc.headers()["grpc-status"], "13");
    assert_eq!(grpc.headers()["grpc-message"], "payment required");
    assert_eq!(grpc.headers()["content-type"], "application/grpc");
    let values =
        l402::grpc::challenge_values(13, "payment required", grpc.headers(), None).unwrap();
    assert_eq!(values, [lsat, l402_line]);
}

#[test]
fn challenge_forms_are_written_and_all_parse_back() {
    use l402::ChallengeForm;
    let challenge = Challenge::new(vector_b(), TESTNET_INVOICE).unwrap();
    let lsat = format!("LSAT macaroon=\"{BASE64}\", invoice=\"{TESTNET_INVOICE}\"");
    let l402_line = format!("L402 macaroon=\"{BASE64}\", invoice=\"{TESTNET_INVOICE}\"");
    let spec = format!("L402 version=\"0\", token=\"{BASE64}\", invoice=\"{TESTNET_INVOICE}\"");
    assert_eq!("aperture".parse(), Ok(ChallengeForm::Aperture));
    assert_eq!(ChallengeForm::default(), ChallengeForm::Aperture);
    assert!("rfc".parse::<ChallengeForm>().is_err());
    for (form, expected) in [
        (
            ChallengeForm::Aperture,
            vec![lsat.clone(), l402_line.clone()],
        ),
        (ChallengeForm::Spec, vec![spec.clone()]),
        (
            ChallengeForm::Both,
            vec![lsat.clone(), l402_line.clone(), spec.clone()],
        ),
    ] {
        assert_eq!(challenge.header_values_in(form), expected, "{form}");
        let http = l402::http::challenge_response_in(&challenge, form);
        let values = l402::http::challenge_values(http.status(), http.headers()).unwrap();
        assert_eq!(values, expected, "{form}");
        let parsed = Challenge::from_header_values(values.iter().map(String::as_str)).unwrap();
        assert_eq!(parsed, challenge, "{form}");
        let grpc = l402::grpc::challenge_response_in(&challenge, form);
        let values =
            l402::grpc::challenge_values(13, "payment required", grpc.headers(), None).unwrap();
        assert_eq!(values, expected, "{form}");
        let parsed = Challenge::from_header_values(values.iter().map(String::as_str)).unwrap();
        assert_eq!(parsed, challenge, "{form}");
    }
    // The default form is byte-identical to the two-line challenge written before forms existed.
    let http = l402::http::challenge_response(&challenge);
    assert_eq!(
        l402::http::challenge_values(http.status(), http.headers()).unwrap(),
        challenge.header_values_in(ChallengeForm::Aperture)
    );
}
