//! loopd's own API as Loop serves it: TLS with its generated `tls.cert`, a macaroon on every
//! call checked against Loop's permissions, and the files private.

use std::path::Path;

use lnd_client::macaroon::{MacaroonService, Permission};
use lnd_client::MacaroonInterceptor;
use proto::looprpc::swap_client_client::SwapClientClient;
use proto::looprpc::{GetInfoRequest, ListSwapsRequest, LoopOutRequest, TokensRequest};
use swap_client::config::{MACAROON_FILE, MACAROON_ROOT_KEY_FILE, TLS_CERT_FILE, TLS_KEY_FILE};
use tonic::service::interceptor::InterceptedService;
use tonic::Code;

use crate::support::loopd_stack;

/// A channel to loopd over TLS trusting its `tls.cert`, without a macaroon.
fn tls_channel(env: &testkit::stack::Stack) -> tonic::transport::Channel {
    let pem = std::fs::read(env.loopd_data_dir().join(TLS_CERT_FILE)).expect("tls.cert");
    lnd_client::pinned_tls_channel(&env.loopd_addr().to_string(), &pem).expect("channel")
}

/// A client of loopd that presents `macaroon`.
fn client_with(
    env: &testkit::stack::Stack,
    macaroon: &[u8],
) -> SwapClientClient<InterceptedService<tonic::transport::Channel, MacaroonInterceptor>> {
    SwapClientClient::new(InterceptedService::new(
        tls_channel(env),
        MacaroonInterceptor::new(macaroon),
    ))
}

#[tokio::test]
async fn a_call_without_a_macaroon_is_unauthenticated() {
    let env = loopd_stack(1000, true).await;
    let mut bare = SwapClientClient::new(tls_channel(&env));
    let status = bare.get_info(GetInfoRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = bare.get_l402_tokens(TokensRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}

#[tokio::test]
async fn a_wrong_macaroon_is_unauthenticated() {
    let env = loopd_stack(1000, true).await;
    let dir = tempfile::tempdir().unwrap();
    // Same format, location and permissions as loop.macaroon, another root key.
    let stranger = MacaroonService::load_or_create(&dir.path().join("key"), "loop")
        .unwrap()
        .bake(swap_client::daemon::perms::ALL)
        .encode();
    let status = client_with(&env, &stranger)
        .get_info(GetInfoRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // loop.macaroon with its signature altered.
    let mut tampered = std::fs::read(env.loopd_data_dir().join(MACAROON_FILE)).unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let status = client_with(&env, &tampered)
        .get_info(GetInfoRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // Not a macaroon at all.
    let status = client_with(&env, b"garbage")
        .get_info(GetInfoRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}

#[tokio::test]
async fn loops_permissions_are_enforced_per_method() {
    let env = loopd_stack(1000, true).await;
    // A read-only macaroon baked with loopd's own root key, as `lncli bakemacaroon` would.
    let root_key = env.loopd_data_dir().join(MACAROON_ROOT_KEY_FILE);
    let read_only = MacaroonService::load_or_create(&root_key, "loop")
        .unwrap()
        .bake(&[Permission::new("swap", "read")])
        .encode();
    let mut client = client_with(&env, &read_only);
    client
        .list_swaps(ListSwapsRequest::default())
        .await
        .expect("swap:read lists swaps");
    let status = client
        .loop_out(LoopOutRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("swap:execute"), "{status:?}");
}

#[tokio::test]
async fn plaintext_is_refused_by_the_tls_listener() {
    let env = loopd_stack(1000, true).await;
    let channel = lnd_client::plaintext_channel(&env.loopd_addr().to_string()).unwrap();
    let status = SwapClientClient::new(channel)
        .get_info(GetInfoRequest {})
        .await
        .unwrap_err();
    assert_ne!(status.code(), Code::Ok);
}

#[tokio::test]
async fn the_cli_finds_loops_default_files_under_the_loopdir() {
    let env = loopd_stack(1000, true).await;
    // Stack::loop_cli passes only --rpcserver, --loopdir and -n regtest: tls.cert and
    // loop.macaroon are found at <loopdir>/regtest/, Loop's defaults.
    let (result, out) = env.loop_cli(&["getinfo"]).await;
    result.unwrap();
    assert!(out.contains("\"network\": \"regtest\""), "{out}");
    let (result, out) = env.loop_cli(&["listauth"]).await;
    result.unwrap();
    assert_eq!(out.trim(), "[]");

    // Another network's directory has no files: one clear error naming the file.
    let loop_dir = env.loop_dir().display().to_string();
    let addr = env.loopd_addr().to_string();
    let argv = [
        "loop",
        "--rpcserver",
        &addr,
        "--loopdir",
        &loop_dir,
        "getinfo",
    ];
    let error = testkit::stack::run_loop_cli(&argv, "")
        .await
        .0
        .unwrap_err()
        .to_string();
    assert!(error.contains("mainnet/tls.cert"), "{error}");
}

#[cfg(unix)]
#[tokio::test]
async fn loopds_secrets_are_0600_in_0700_directories() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let env = loopd_stack(1000, true).await;
    let dir = env.loopd_data_dir();
    for file in [TLS_KEY_FILE, MACAROON_FILE, MACAROON_ROOT_KEY_FILE] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&dir), 0o700, "<loopdir>/regtest");
    assert_eq!(mode(&env.loop_dir()), 0o700, "<loopdir>");
    // The certificate is public, as Loop's.
    assert!(dir.join(TLS_CERT_FILE).exists());
}
