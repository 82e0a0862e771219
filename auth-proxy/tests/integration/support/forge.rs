//! Tokens written straight into a store, bypassing the challenge: for tests of what verification does with
//! a correctly signed token that was never paid through our lnd, and for benchmarks. (Also used by
//! `benches/proxy.rs`.)

use auth_proxy::store::{NewToken, Store};
use l402::{Caveat, Credential, Identifier, Macaroon, Preimage, RootKey, Service};

/// Stores a fresh token for `service` (root key, record) and returns a valid credential for it.
pub async fn stored_token(store: &Store, service: &str) -> Credential {
    let preimage = Preimage::random();
    let identifier = Identifier::random(preimage.hash());
    let root_key = RootKey::random();
    let caveats = [Caveat::services([Service::new(service, 0).unwrap()]).unwrap()];
    let macaroon = Macaroon::mint(&root_key, &identifier, &caveats).unwrap();
    store
        .insert(&NewToken {
            identifier_hash: macaroon.identifier_hash(),
            root_key,
            token_id: macaroon.token_id(),
            payment_hash: preimage.hash(),
            service: service.into(),
            price_sat: 1,
        })
        .await
        .expect("token stored");
    Credential::new(macaroon, preimage)
}
