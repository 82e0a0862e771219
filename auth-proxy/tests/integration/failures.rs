//! What goes wrong around the proxy: lnd down (503), backend down (502 / gRPC 14), unknown route (404), bad
//! configuration (non-zero exit naming the key).

use std::process::Command;

use crate::support::{get, http_client, unpaid_grpc_call, TestEnv, TestProxy};

#[tokio::test]
async fn lnd_down_answers_503_and_recovers() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let node = env.net.node("proxy");
    node.set_offline(true).await;

    let response = get(&proxy, "/http/data").await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["retry-after"],
        "5",
        "a 503 says when to retry"
    );
    assert_eq!(
        response.text().await.unwrap(),
        "lightning node unavailable: cannot create invoice\n"
    );
    let decision = proxy.last_decision("/http/data");
    assert_eq!(
        (decision.outcome, decision.reason.as_deref()),
        (
            auth_proxy::Outcome::ChallengeFailed,
            Some("lnd_unavailable")
        )
    );

    let status = unpaid_grpc_call(&proxy).await;
    assert_eq!(status.code(), tonic::Code::Unavailable);

    node.set_offline(false).await;
    crate::support::eventually(
        std::time::Duration::from_secs(20),
        "challenges work again",
        || async {
            http_client()
                .get(proxy.url("/http/data"))
                .send()
                .await
                .map(|r| r.status() == 402)
                .unwrap_or(false)
        },
    )
    .await;
    assert_eq!(env.http.count(), 0);
}

#[tokio::test]
async fn backend_down_answers_502_or_grpc_unavailable() {
    let env = TestEnv::start().await;
    // A port that was free a moment ago and has nobody listening now.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let yaml = format!(
        "insecure: true\nbasedir: {}\nauthenticator:\n  disable: true\nservices:\n  - name: dead\n    hostregexp: '.*'\n    \
         address: \"{dead}\"\n    protocol: http\n",
        env.dir.path().join("dead").display()
    );
    let proxy = TestProxy::start(&yaml).await;
    let response = get(&proxy, "/anything").await;
    assert_eq!(response.status(), 502);
    let status = unpaid_grpc_call(&proxy).await;
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(status.message(), "backend unavailable");
    assert!(proxy
        .handle
        .metrics_text()
        .contains("auth_proxy_upstream_responses_total{service=\"dead\",status=\"502\"}"));
}

#[tokio::test]
async fn unknown_route_is_404() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let response = get(&proxy, "/nowhere").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        proxy.last_decision("/nowhere").outcome,
        auth_proxy::Outcome::NoRoute
    );
}

fn run_binary(config: &str) -> std::process::Output {
    run_binary_with_env(config, &[])
}

fn run_binary_with_env(config: &str, env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aperture.yaml");
    std::fs::write(&path, config).unwrap();
    Command::new(env!("CARGO_BIN_EXE_auth-proxy"))
        .arg("--configfile")
        .arg(&path)
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .output()
        .expect("binary runs")
}

#[test]
fn bad_config_exits_non_zero_naming_the_key() {
    let cases = [
        ("listenaddr: 127.0.0.1:0\nlistenadr: oops\n", "listenadr"),
        ("authenticator: {disable: true}\nservices:\n  - name: a\n    address: x:1\n    pathregexp: '('\n", "services[0].pathregexp"),
        ("authenticator: {disable: true}\nservices:\n  - name: a\n    address: x:1\n    price: -3\n", "services[0].price"),
        ("authenticator: {disable: true}\ndbbackend: etcd\n", "dbbackend"),
        ("services: []\n", "authenticator.lndhost"),
        ("authenticator: {disable: true}\npostgres:\n  password: s3cret-value\n  bogus: 1\n", "postgres.bogus"),
    ];
    for (config, key) in cases {
        let output = run_binary(config);
        assert!(!output.status.success(), "{config}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(key), "stderr names {key}: {stderr}");
        assert!(
            !stderr.contains("s3cret-value"),
            "secrets never printed: {stderr}"
        );
    }
}

#[test]
fn aperture_features_we_lack_refuse_to_start_with_the_config_exit_code() {
    let cases = [
        ("authenticator: {disable: true}\nautocert: true\n", "autocert"),
        ("authenticator: {disable: true, enablempp: true}\n", "authenticator.enablempp"),
        ("authenticator: {disable: true}\nservices:\n  - name: a\n    address: x:1\n    authscheme: mpp\n", "services[0].authscheme"),
    ];
    for (config, key) in cases {
        let output = run_binary(config);
        assert_eq!(output.status.code(), Some(2), "{config}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("`{key}` is not supported")),
            "stderr names {key}: {stderr}"
        );
    }
}

#[test]
fn missing_config_file_is_an_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_auth-proxy"))
        .args(["--configfile", "/nonexistent/aperture.yaml"])
        .output()
        .expect("binary runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/aperture.yaml"));
}

#[test]
fn environment_variables_override_the_file() {
    let output = run_binary_with_env(
        "authenticator: {disable: true}\ndbbackend: sqlite\n",
        &[("AUTH_PROXY_DBBACKEND", "etcd")],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("dbbackend") && stderr.contains("etcd"),
        "{stderr}"
    );
}
