//! The kit against our auth-proxy, started in-process with the whole stack (mock-lnd, swap-server behind
//! the proxy over HTTP and gRPC, TLS on the proxy's listener): every MUST case passes, as a library call
//! and as the binary.

mod support;

use l402_conformance::case::{Level, Verdict};
use l402_conformance::cli::ServerArgs;
use testkit::stack::{Stack, StackOptions, CLIENT_NODE};

async fn stack() -> Stack {
    testkit::init_test_logging();
    Stack::start(StackOptions::default())
        .await
        .expect("the stack starts")
}

fn args(stack: &Stack) -> ServerArgs {
    let proxy = stack.proxy_addr();
    let mut args = support::server_args(
        format!("https://127.0.0.1:{}/v1/loop/out/terms", proxy.port()),
        &stack.node(CLIENT_NODE),
    );
    args.grpc = Some(proxy.to_string());
    args.grpc_method = Some("/looprpc.SwapServer/LoopOutTerms".into());
    args.tls_path = stack.proxy_cert();
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_proxy_passes_every_must_case_over_http_and_grpc() {
    let stack = stack().await;
    let payments_before = stack.client_payments();
    let report = l402_conformance::server::run(&args(&stack))
        .await
        .expect("the kit runs");
    println!("{}", report.to_table());
    assert!(report.conforms(), "{:?}", report.failed_ids(Level::Must));
    // Every MUST case ran and passed: none was skipped.
    for case in report.cases.iter().filter(|c| c.level == Level::Must) {
        assert_eq!(case.verdict, Verdict::Pass, "{} {}", case.id, case.detail);
    }
    assert!(report.case("grpc-reject/widened-services").is_some());
    // What the proxy does not accept, by design (docs/PROTOCOL.md § 6.1), is reported, not hidden.
    assert_eq!(
        report.case("paid/several-macaroons").map(|c| c.verdict),
        Some(Verdict::Fail)
    );
    // Two tokens per binding were bought, through the payer node.
    assert_eq!(stack.client_payments() - payments_before, 4);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_prints_json_and_exits_0_then_2_on_bad_usage() {
    let stack = stack().await;
    let args = args(&stack);
    let binary = env!("CARGO_BIN_EXE_l402-conformance");
    let mut argv = command_line(&args);
    argv.push("--json".into());
    let output = tokio::process::Command::new(binary)
        .args(&argv)
        .output()
        .await
        .expect("the kit runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(json["failed"].as_u64(), Some(report_failures(&json)));
    assert!(json["cases"].as_array().unwrap().len() > 40);
    assert!(json["target"]
        .as_str()
        .unwrap()
        .contains("/v1/loop/out/terms"));

    // --only runs one case; an unknown one is a usage error.
    let mut only = command_line(&args);
    only.extend([
        "--only".into(),
        "reject/flipped-signature".into(),
        "--json".into(),
    ]);
    let output = tokio::process::Command::new(binary)
        .args(&only)
        .output()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["cases"].as_array().unwrap().len(), 1);
    assert_eq!(json["cases"][0]["verdict"], "pass");
    let mut unknown = command_line(&args);
    unknown.extend(["--only".into(), "reject/nothing".into()]);
    let output = tokio::process::Command::new(binary)
        .args(&unknown)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("names no case"));
    stack.shutdown().await;
}

/// The failed cases counted from the list, to check the total.
fn report_failures(json: &serde_json::Value) -> u64 {
    json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "fail")
        .count() as u64
}

#[tokio::test]
async fn an_unreachable_server_is_a_connection_error() {
    let dir = tempfile::tempdir().unwrap();
    let net = mock_lnd::MockNetwork::builder()
        .datadir(dir.path())
        .network("regtest")
        .node("client")
        .start()
        .await
        .unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let args = support::server_args(format!("http://{closed}/x"), &net.node("client"));
    let error = l402_conformance::server::run(&args).await.unwrap_err();
    assert!(error.to_string().contains("no answer"), "{error}");
    net.shutdown().await;
}

/// The flags of `server_args` on a command line.
fn command_line(args: &ServerArgs) -> Vec<String> {
    let mut argv = vec![
        "server".to_owned(),
        "--url".into(),
        args.url.clone(),
        "--lnd.host".into(),
        args.lnd_host.clone(),
        "--lnd.tlspath".into(),
        path(&args.lnd_tls_path),
        "--lnd.macaroonpath".into(),
        path(&args.lnd_macaroon_path),
    ];
    if let (Some(grpc), Some(method)) = (&args.grpc, &args.grpc_method) {
        argv.extend([
            "--grpc".into(),
            grpc.clone(),
            "--grpc-method".into(),
            method.clone(),
        ]);
    }
    if let Some(tls) = &args.tls_path {
        argv.extend(["--tlspath".into(), path(tls)]);
    }
    argv
}

fn path(path: &std::path::Path) -> String {
    path.display().to_string()
}
