//! Benchmarks of the hot paths: verifying a token whose root key is cached (the authenticate phase), and the
//! proxy's forwarding overhead (a request through the proxy vs. straight to the backend).
//!
//! `cargo bench -p auth-proxy`

use std::hint::black_box;

use auth_proxy::authenticate::{AuthOutcome, Authenticator};
use auth_proxy::config::DatabaseConfig;
use auth_proxy::metrics::Metrics;
use auth_proxy::store::Store;
use auth_proxy::{Config, Listeners, Overrides, Proxy};
use criterion::{criterion_group, criterion_main, Criterion};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

#[path = "../tests/integration/support/forge.rs"]
mod forge;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn service_yaml(address: &str) -> String {
    format!(
        "insecure: true\nauthenticator: {{disable: true}}\nservices:\n  - name: bench\n    hostregexp: '.*'\n    \
         address: \"{address}\"\n    auth: off\n"
    )
}

fn authenticate(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_yaml(&service_yaml("127.0.0.1:1"), &Overrides::default()).unwrap();
    let service = config.services[0].clone();
    let store = rt
        .block_on(Store::connect(
            &DatabaseConfig::Sqlite {
                path: dir.path().join("bench.db"),
                skip_migrations: false,
            },
            Metrics::new(),
        ))
        .unwrap();
    // A paid token for the `bench` service, stored (and so cached) like a minted one.
    let credential = rt.block_on(forge::stored_token(&store, "bench"));
    let mut headers = http::HeaderMap::new();
    let authorization = credential.to_authorization();
    headers.insert("authorization", authorization.parse().unwrap());
    let authenticator = Authenticator::new(store, None);
    c.bench_function("authenticate/cached_root_key", |b| {
        b.iter(|| {
            let outcome =
                rt.block_on(authenticator.authenticate(black_box(&headers), &service, "/x"));
            assert!(matches!(outcome, AuthOutcome::Valid(_)));
        })
    });
}

fn forward(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (backend, proxy) = rt.block_on(async {
        let backend = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let backend_addr = backend.local_addr().unwrap();
        let app = axum::Router::new().fallback(|| async { "ok" });
        tokio::spawn(async move { axum::serve(backend, app).await.unwrap() });
        let yaml = format!(
            "basedir: {}\n{}",
            dir.path().display(),
            service_yaml(&backend_addr.to_string())
        );
        let config = Config::from_yaml(&yaml, &Overrides::default()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_addr = listener.local_addr().unwrap();
        let proxy = Proxy::build(config).await.unwrap();
        let listeners = Listeners {
            proxy: listener,
            metrics: None,
            admin: None,
        };
        tokio::spawn(proxy.run(listeners, std::future::pending()));
        (backend_addr, proxy_addr)
    });
    let client = reqwest::Client::new();
    let mut group = c.benchmark_group("forward");
    for (name, addr) in [("direct", backend), ("through_proxy", proxy)] {
        let url = format!("http://{addr}/x");
        group.bench_function(name, |b| {
            b.iter(|| {
                let status = rt.block_on(async { client.get(&url).send().await.unwrap().status() });
                assert!(status.is_success());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, authenticate, forward);
criterion_main!(benches);
