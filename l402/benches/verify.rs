//! Criterion benchmark: verifying one credential with a known root key (target ≤ 5 µs).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use l402::{verify, Credential, MintRequest, Preimage, RequestContext, Service};

fn bench_verify(c: &mut Criterion) {
    let preimage = Preimage::random();
    let minted = MintRequest::new(preimage.hash())
        .service(Service::new("loop", 0).unwrap())
        .capabilities("loop", ["out"])
        .valid_until("loop", 4_000_000_000)
        .mint()
        .unwrap();
    let cred = Credential::new(minted.macaroon.clone(), preimage);
    let header = cred.to_authorization();
    let metadata = cred.to_macaroon_metadata().unwrap();
    let ctx = RequestContext::at_unix_secs("loop", 1_700_000_000).with_capability("out");
    let key = minted.root_key;

    c.bench_function("verify (parsed credential)", |b| {
        b.iter(|| verify(black_box(&cred), black_box(&key), black_box(&ctx)).unwrap())
    });
    c.bench_function("parse Authorization + verify", |b| {
        b.iter(|| {
            let cred = Credential::from_authorization(black_box(&header)).unwrap();
            verify(&cred, black_box(&key), black_box(&ctx)).unwrap()
        })
    });
    c.bench_function("parse macaroon metadata + verify", |b| {
        b.iter(|| {
            let cred = Credential::from_macaroon_metadata(black_box(&metadata)).unwrap();
            verify(&cred, black_box(&key), black_box(&ctx)).unwrap()
        })
    });
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
