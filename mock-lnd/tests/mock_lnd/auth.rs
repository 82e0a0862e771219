//! Macaroons: missing, wrong and insufficient macaroons are refused; TLS and plaintext modes.

use lnd_client::{pinned_tls_channel, LndClient, LndConfig};
use mock_lnd::MockNetwork;
use proto::lnrpc::{self, lightning_client::LightningClient};
use tonic::Code;

use crate::support::{add_invoice, client, lookup, network, send_request};

fn get_info() -> lnrpc::GetInfoRequest {
    lnrpc::GetInfoRequest {}
}

#[tokio::test]
async fn missing_macaroon_is_unauthenticated() {
    let net = network(&["n"]).await;
    let node = net.node("n");
    let pem = std::fs::read(node.tls_cert_path()).unwrap();
    let mut bare = LightningClient::new(pinned_tls_channel(&node.host(), &pem).unwrap());
    let err = bare.get_info(get_info()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

    // Garbage and duplicate values are refused too.
    let mut request = tonic::Request::new(get_info());
    request
        .metadata_mut()
        .insert("macaroon", "zz".parse().unwrap());
    assert_eq!(
        bare.get_info(request).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let admin = hex::encode(std::fs::read(node.admin_macaroon_path()).unwrap());
    let mut request = tonic::Request::new(get_info());
    request
        .metadata_mut()
        .append("macaroon", admin.parse().unwrap());
    request
        .metadata_mut()
        .append("macaroon", admin.parse().unwrap());
    assert_eq!(
        bare.get_info(request).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let mut request = tonic::Request::new(get_info());
    request
        .metadata_mut()
        .insert("macaroon", admin.parse().unwrap());
    bare.get_info(request).await.unwrap();
}

#[tokio::test]
async fn another_nodes_macaroon_is_unauthenticated() {
    let net = network(&["a", "b"]).await;
    let (a, b) = (net.node("a"), net.node("b"));
    let config = LndConfig {
        macaroon_path: b.admin_macaroon_path(),
        ..a.lnd_config()
    };
    let mut wrong = LndClient::connect(&config).await.unwrap();
    let err = wrong.lightning.get_info(get_info()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    let err = wrong
        .lightning
        .add_invoice(lnrpc::Invoice::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn invoice_macaroon_may_only_do_invoice_calls() {
    let net = network(&["a", "b"]).await;
    let (a, b) = (net.node("a"), net.node("b"));
    let mut limited = LndClient::connect(&a.invoice_lnd_config()).await.unwrap();
    // Invoice calls work.
    let own = add_invoice(&mut limited, 5, "via invoice.macaroon").await;
    lookup(&mut limited, &own.r_hash).await;
    // Paying is refused before anything happens.
    let foreign = add_invoice(&mut client(&b).await, 5, "").await;
    let err = limited
        .router
        .send_payment_v2(send_request(&foreign.payment_request, 10))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = limited
        .lightning
        .send_payment_sync(lnrpc::SendRequest {
            payment_request: foreign.payment_request,
            fee_limit: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(a.payment_count(), 0);
    // As with lnd's invoice.macaroon, node info and decoding need other permissions.
    assert_eq!(
        limited
            .lightning
            .get_info(get_info())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn plaintext_mode_serves_h2c() {
    let net = MockNetwork::builder()
        .node("n")
        .tls(false)
        .start()
        .await
        .unwrap();
    let node = net.node("n");
    assert_eq!(node.lnd_config().tls_cert_path, None);
    assert!(!node.tls_cert_path().exists());
    let info = client(&node)
        .await
        .lightning
        .get_info(get_info())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.alias, "n");
    // Macaroons are still required without TLS.
    let mut bare = LightningClient::new(lnd_client::plaintext_channel(&node.host()).unwrap());
    assert_eq!(
        bare.get_info(get_info()).await.unwrap_err().code(),
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn a_different_certificate_is_not_trusted() {
    let net = network(&["a", "b"]).await;
    let (a, b) = (net.node("a"), net.node("b"));
    let config = LndConfig {
        tls_cert_path: Some(b.tls_cert_path()),
        ..a.lnd_config()
    };
    let mut pinned_wrong = LndClient::connect(&config).await.unwrap();
    let err = pinned_wrong
        .lightning
        .get_info(get_info())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}
