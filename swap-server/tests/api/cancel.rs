//! `CancelLoopOutSwap`: only the payer (who knows the swap invoice's payment
//! address, and holds the same L402 token) may cancel, and only before the
//! HTLC is published.

use proto::lnrpc::invoice::InvoiceState;
use proto::looprpc::{
    cancel_loop_out_swap_request::CancelInfo, CancelLoopOutSwapRequest, RouteCancel,
    RoutePaymentType, ServerSwapState,
};
use tonic::Code;

use crate::helpers::{fast_timings, new_swap_request, TestEnv, Updates};

/// Test vector B of docs/PROTOCOL.md as a forwarded credential (token id 201f1e…01).
const L402_B: &str = "L402 AgEEbHNhdAJCAABjDc0pZsQzZpESVEi7sltP9BKknHMtssirwbhYG9cQ3SAfHh0cGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwIBAAIPc2VydmljZXM9bG9vcDowAAISbG9vcF9jYXBhYmlsaXRpZXM9AAIbbG9vcF92YWxpZF91bnRpbD0xNzAwMDAwMDAwAAAGIE4NjUqYEroD6mCWManYOtZIJPd82w8zQXls6f4w/vWd:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// A different, well-formed credential: the same macaroon with another token id.
fn other_token() -> String {
    use base64::Engine;
    let b64 = L402_B
        .trim_start_matches("L402 ")
        .split(':')
        .next()
        .unwrap();
    let mut mac = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    // Identifier starts after 0x02, location field (01 04 "lsat"), 02 42: token id is its last 32 bytes.
    let token_id_end = 1 + 6 + 2 + 66;
    mac[token_id_end - 1] ^= 0xff;
    format!(
        "L402 {}:{}",
        base64::engine::general_purpose::STANDARD.encode(mac),
        "00".repeat(32)
    )
}

fn with_auth<T>(message: T, authorization: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", authorization.parse().unwrap());
    request
}

#[tokio::test]
async fn client_cancels_before_publication() -> anyhow::Result<()> {
    let env = TestEnv::start(fast_timings()).await?;
    let mut grpc = env.grpc().await?;
    let (secret, request) = new_swap_request(100_000);
    let swap = grpc
        .new_loop_out_swap(with_auth(request, L402_B))
        .await?
        .into_inner();
    let payment_addr = env.decode(&swap.swap_invoice).await?.payment_addr;
    assert_eq!(payment_addr.len(), 32);
    let prepay = env.pay(&swap.prepay_invoice);
    let prepay_hash = hex::decode(env.decode(&swap.prepay_invoice).await?.payment_hash)?;
    env.wait_invoice_state(&prepay_hash, InvoiceState::Accepted)
        .await?;

    let cancel = |payment_address: Vec<u8>| CancelLoopOutSwapRequest {
        swap_hash: secret.hash.clone(),
        payment_address,
        cancel_info: Some(CancelInfo::RouteCancel(RouteCancel {
            route_type: RoutePaymentType::InvoiceRoute as i32,
            ..Default::default()
        })),
        ..Default::default()
    };

    // Wrong payment address, or another token: refused.
    let status = grpc
        .cancel_loop_out_swap(with_auth(cancel(vec![0; 32]), L402_B))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = grpc
        .cancel_loop_out_swap(with_auth(cancel(payment_addr.clone()), &other_token()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    grpc.cancel_loop_out_swap(with_auth(cancel(payment_addr.clone()), L402_B))
        .await?;
    let mut updates = Updates::subscribe(&mut grpc, &secret.hash).await?;
    updates.wait_end().await?;
    assert_eq!(updates.seen, [ServerSwapState::ServerClientInvoiceCancel]);
    assert_eq!(
        env.server_invoice_state(&secret.hash).await?,
        InvoiceState::Canceled
    );
    assert!(!prepay.await??.succeeded, "the held prepay is failed back");

    // Cancelling again is idempotent; a preimage is now refused.
    grpc.cancel_loop_out_swap(cancel(payment_addr)).await?;
    let status = grpc
        .loop_out_push_preimage(proto::looprpc::ServerLoopOutPushPreimageRequest {
            preimage: secret.preimage.to_vec(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    Ok(())
}

#[tokio::test]
async fn published_swap_cannot_be_cancelled() -> anyhow::Result<()> {
    let env = TestEnv::start(fast_timings()).await?;
    let mut grpc = env.grpc().await?;
    let (secret, request) = new_swap_request(100_000);
    let swap = grpc.new_loop_out_swap(request).await?.into_inner();
    let payment_addr = env.decode(&swap.swap_invoice).await?.payment_addr;
    let _swap_payment = env.pay(&swap.swap_invoice);
    let _prepay = env.pay(&swap.prepay_invoice);
    let mut updates = Updates::subscribe(&mut grpc, &secret.hash).await?;
    updates
        .wait_for(ServerSwapState::ServerHtlcPublished)
        .await?;
    let status = grpc
        .cancel_loop_out_swap(CancelLoopOutSwapRequest {
            swap_hash: secret.hash.clone(),
            payment_address: payment_addr,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    Ok(())
}
