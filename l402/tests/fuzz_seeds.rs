//! The fuzz seed inputs in `fuzz/seeds/` are valid examples of each format (so the fuzzer starts from real
//! structure, and the round-trip assertions in the fuzz targets are exercised from the first run).

use std::path::Path;

use l402::{Caveat, Challenge, Credential, Identifier, Macaroon, Token};

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|f| std::fs::read(f.unwrap().path()).unwrap())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap()
}

#[test]
fn every_seed_parses_and_round_trips() {
    for s in seeds("identifier") {
        assert_eq!(Identifier::decode(&s).unwrap().encode().to_vec(), s);
    }
    for s in seeds("macaroon") {
        assert_eq!(Macaroon::from_bytes(&s).unwrap().as_bytes(), s);
    }
    for s in seeds("caveat") {
        assert_eq!(Caveat::from_bytes(&s).unwrap().to_bytes(), s);
    }
    for s in seeds("challenge") {
        let c = Challenge::parse(text(&s)).unwrap();
        assert_eq!(c.header_values()[0].parse::<Challenge>().unwrap(), c);
    }
    let creds: Vec<Credential> = seeds("credential")
        .iter()
        .map(|s| {
            Credential::from_authorization(text(s))
                .or_else(|_| Credential::from_macaroon_metadata(text(s)))
                .unwrap()
        })
        .collect();
    assert_eq!(creds.len(), 2);
    assert_eq!(creds[0].preimage(), creds[1].preimage());
    for s in seeds("token") {
        assert_eq!(Token::decode(&s).unwrap().encode(), s);
    }
}
