//! Property tests: every encoding round-trips, any single-byte change to a macaroon makes verification fail,
//! and random input to every parser returns an error instead of panicking.

use std::time::{Duration, UNIX_EPOCH};

use l402::{
    verify, AuthScheme, Caveat, Challenge, Credential, Identifier, Macaroon, PaymentHash, Preimage,
    RequestContext, RootKey, Service, Token, TokenId,
};
use proptest::prelude::*;

const INVOICE: &str = "lntb5u1p0pskpmpp5jzw9xvdast2g5lm5tswq6n64t2epe3f4xav43dyd239qr8h3yllqdqqcqzpgsp5m8sfjqgugthk66q3tr4gsqr5rh740jrq9x4l0kvj5e77nmwqvpnq9qy9qsq72afzu7sfuppzqg3q2pn49hlh66rv7w60h2ruahx857g94s066yzxcjn4yccqc79779sd232v9ewluvu0tmusvht6r99rld8xsk287cpyac79r";
const NOW: i64 = 1_700_000_000;

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,11}"
}

fn caveat() -> impl Strategy<Value = Caveat> {
    prop_oneof![
        prop::collection::vec((name(), any::<u8>()), 1..4).prop_map(|s| Caveat::services(
            s.into_iter().map(|(n, t)| Service::new(n, t).unwrap())
        )
        .unwrap()),
        (name(), prop::collection::vec("[a-z]{1,8}", 0..4))
            .prop_map(|(s, c)| Caveat::capabilities(&s, c).unwrap()),
        (name(), any::<i64>()).prop_map(|(s, t)| Caveat::valid_until(&s, t).unwrap()),
        any::<[u8; 32]>().prop_map(|p| Caveat::preimage(&Preimage::from_bytes(p))),
        // Conditions ending in `x` never have a known shape.
        ("[a-z][a-z_]{0,8}x", "[ -~]{0,40}").prop_map(|(k, v)| Caveat::other(&k, &v).unwrap()),
    ]
}

/// A macaroon that verifies for service `loop` at [`NOW`], plus its key and preimage.
fn valid_token() -> impl Strategy<Value = (RootKey, Preimage, Macaroon)> {
    (
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        0..3usize,
    )
        .prop_map(|(key, preimage, token_id, extra)| {
            let key = RootKey::from_bytes(key);
            let preimage = Preimage::from_bytes(preimage);
            let id = Identifier::new(preimage.hash(), TokenId(token_id));
            let mut caveats = vec![
                "services=loop:0,pool:1".parse().unwrap(),
                "loop_capabilities=out,in".parse().unwrap(),
            ];
            caveats.extend((0..extra).map(|i| Caveat::other(&format!("note{i}x"), "v").unwrap()));
            caveats.push(Caveat::valid_until("loop", NOW + 3600).unwrap());
            let mac = Macaroon::mint(&key, &id, &caveats).unwrap();
            (key, preimage, mac)
        })
}

fn ctx() -> RequestContext {
    RequestContext::at_unix_secs("loop", NOW).with_capability("out")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn identifier_round_trips(hash in any::<[u8; 32]>(), id in any::<[u8; 32]>()) {
        let ident = Identifier::new(PaymentHash(hash), TokenId(id));
        prop_assert_eq!(Identifier::decode(&ident.encode()), Ok(ident));
        prop_assert_eq!(ident.token_id.to_string().parse::<TokenId>(), Ok(TokenId(id)));
    }

    #[test]
    fn caveat_round_trips(c in caveat()) {
        prop_assert_eq!(c.to_string().parse::<Caveat>(), Ok(c.clone()));
        prop_assert_eq!(Caveat::from_bytes(&c.to_bytes()), Ok(c));
    }

    #[test]
    fn macaroon_round_trips(key in any::<[u8; 32]>(), hash in any::<[u8; 32]>(),
                            caveats in prop::collection::vec(caveat(), 0..6)) {
        let key = RootKey::from_bytes(key);
        let mac = Macaroon::mint(&key, &Identifier::random(PaymentHash(hash)), &caveats).unwrap();
        prop_assert_eq!(&Macaroon::from_bytes(mac.as_bytes()).unwrap(), &mac);
        prop_assert_eq!(&Macaroon::from_base64(&mac.to_base64()).unwrap(), &mac);
        prop_assert_eq!(&Macaroon::from_hex(&mac.to_hex()).unwrap(), &mac);
        prop_assert_eq!(mac.caveats().unwrap(), caveats);
        prop_assert!(mac.verify_signature(&key));
    }

    #[test]
    fn credential_and_challenge_round_trip((key, preimage, mac) in valid_token(), lsat in any::<bool>()) {
        let cred = Credential::new(mac.clone(), preimage);
        let scheme = if lsat { AuthScheme::Lsat } else { AuthScheme::L402 };
        let auth = Credential::from_authorization(&cred.to_authorization_with(scheme)).unwrap();
        prop_assert_eq!(&auth, &cred);
        let md = Credential::from_macaroon_metadata(&cred.to_macaroon_metadata().unwrap()).unwrap();
        prop_assert_eq!(md.preimage(), cred.preimage());
        prop_assert!(verify(&auth, &key, &ctx()).is_ok());
        prop_assert!(verify(&md, &key, &ctx()).is_ok());
        let challenge = Challenge::new(mac.clone(), INVOICE).unwrap();
        for value in challenge.header_values() {
            let parsed: Challenge = value.parse().unwrap();
            prop_assert_eq!(&parsed, &challenge);
        }
    }

    #[test]
    fn token_round_trips((_key, preimage, mac) in valid_token(), paid in any::<bool>(),
                         amount in any::<u64>(), fee in any::<u64>(), nanos in any::<i64>()) {
        let created = if nanos >= 0 {
            UNIX_EPOCH + Duration::from_nanos(nanos.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_nanos(nanos.unsigned_abs())
        };
        let mut token = Token::pending(mac, preimage.hash(), created);
        if paid {
            prop_assert!(token.mark_paid(preimage, amount, fee));
        }
        prop_assert_eq!(Token::decode(&token.encode()), Ok(token));
    }

    #[test]
    fn any_single_byte_change_fails_verification(
        (key, preimage, mac) in valid_token(), metadata_form in any::<bool>(),
        pos in any::<prop::sample::Index>(), flip in 1..=255u8,
    ) {
        let presented = if metadata_form { mac.with_preimage(&preimage).unwrap() } else { mac };
        let mut bytes = presented.as_bytes().to_vec();
        let i = pos.index(bytes.len());
        bytes[i] ^= flip;
        // Either the bytes no longer decode, or the credential no longer verifies (even with the
        // original root key, i.e. a server that ignored the identifier change).
        if let Ok(tampered) = Macaroon::from_bytes(&bytes) {
            let cred = Credential::new(tampered, preimage);
            prop_assert!(verify(&cred, &key, &ctx()).is_err(), "byte {} ^ {:#x} still verifies", i, flip);
        }
    }

    #[test]
    fn tampered_preimage_fails((key, preimage, mac) in valid_token(), pos in 0..32usize, flip in 1..=255u8) {
        let mut p = *preimage.as_bytes();
        p[pos] ^= flip;
        let cred = Credential::new(mac, Preimage::from_bytes(p));
        prop_assert_eq!(verify(&cred, &key, &ctx()), Err(l402::VerifyError::PreimageMismatch));
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Identifier::decode(&data);
        let _ = Macaroon::from_bytes(&data);
        let _ = Caveat::from_bytes(&data);
        let _ = Token::decode(&data);
        // Structured: a plausible prefix followed by noise.
        let mut v2 = vec![2u8, 1, 4];
        v2.extend_from_slice(b"lsat");
        v2.extend_from_slice(&data);
        let _ = Macaroon::from_bytes(&v2);
        let mut tok = (data.len() as u32).to_be_bytes().to_vec();
        tok.extend_from_slice(&data);
        let _ = Token::decode(&tok);
    }

    #[test]
    fn random_text_never_panics(s in "\\PC{0,300}", scheme in "(L402|LSAT|l402|Basic) ") {
        let _ = Macaroon::from_base64(&s);
        let _ = Macaroon::from_hex(&s);
        let _ = s.parse::<Caveat>();
        let _ = Challenge::parse(&s);
        let _ = Challenge::parse(&format!("{scheme}{s}"));
        let _ = Credential::from_authorization(&s);
        let _ = Credential::from_authorization(&format!("{scheme}{s}"));
        let _ = Credential::from_authorization_values([s.as_str(), "L402 x:y"]);
        let _ = Credential::from_macaroon_metadata(&s);
    }

    #[test]
    fn mutated_headers_never_panic((_key, preimage, mac) in valid_token(),
                                   pos in any::<prop::sample::Index>(), c in any::<char>(), which in 0..3u8) {
        let cred = Credential::new(mac.clone(), preimage);
        let text = match which {
            0 => Challenge::new(mac, INVOICE).unwrap().header_values()[1].clone(),
            1 => cred.to_authorization(),
            _ => cred.to_macaroon_metadata().unwrap(),
        };
        let mut chars: Vec<char> = text.chars().collect();
        let i = pos.index(chars.len());
        chars[i] = c;
        let mutated: String = chars.into_iter().collect();
        let _ = Challenge::parse(&mutated);
        let _ = Credential::from_authorization(&mutated);
        let _ = Credential::from_macaroon_metadata(&mutated);
    }
}

/// Exhaustive version of the tamper property for one token in both forms: every byte, every change.
#[test]
fn every_single_byte_change_fails_verification_exhaustive() {
    let key = RootKey::from_bytes([7; 32]);
    let preimage = Preimage::from_bytes([8; 32]);
    let mac = l402::MintRequest::new(preimage.hash())
        .root_key(key.clone())
        .service(Service::new("loop", 0).unwrap())
        .capabilities("loop", ["out"])
        .valid_until("loop", NOW + 10)
        .mint()
        .unwrap()
        .macaroon;
    let mut decoded = 0;
    for presented in [mac.clone(), mac.with_preimage(&preimage).unwrap()] {
        assert!(verify(
            &Credential::new(presented.clone(), preimage.clone()),
            &key,
            &ctx()
        )
        .is_ok());
        for i in 0..presented.as_bytes().len() {
            for flip in 1..=255u8 {
                let mut bytes = presented.as_bytes().to_vec();
                bytes[i] ^= flip;
                if let Ok(tampered) = Macaroon::from_bytes(&bytes) {
                    decoded += 1;
                    let cred = Credential::new(tampered, preimage.clone());
                    assert!(
                        verify(&cred, &key, &ctx()).is_err(),
                        "byte {i} ^ {flip:#x} verifies"
                    );
                }
            }
        }
    }
    // Most changes still decode; they must be caught by the signature, preimage or location checks.
    assert!(
        decoded > 10_000,
        "only {decoded} tampered macaroons decoded"
    );
}
