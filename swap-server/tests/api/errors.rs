//! Refusals: duplicate hash, out-of-terms amounts and expiries, malformed
//! fields, unknown swaps, and lnd being down.

use proto::looprpc::{ServerLoopOutQuoteRequest, SubscribeUpdatesRequest};
use swap_server::Terms;
use tonic::Code;

use crate::helpers::{fast_timings, new_swap_json, new_swap_request, TestEnv};

#[tokio::test]
async fn duplicate_swap_hash_is_already_exists() -> anyhow::Result<()> {
    let env = TestEnv::start(fast_timings()).await?;
    let mut grpc = env.grpc().await?;
    let (_, request) = new_swap_request(100_000);
    grpc.new_loop_out_swap(request.clone()).await?;
    let status = grpc.new_loop_out_swap(request).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    // The refused request created nothing more on lnd: two invoices in all.
    assert_eq!(env.net.node("server").invoice_count(), 2);
    Ok(())
}

#[tokio::test]
async fn out_of_terms_amount_names_the_limits() -> anyhow::Result<()> {
    let env = TestEnv::start(fast_timings()).await?;
    let mut grpc = env.grpc().await?;
    let terms = Terms::default();
    for amt in [terms.min_swap_amount - 1, terms.max_swap_amount + 1] {
        let (_, request) = new_swap_request(amt);
        let status = grpc.new_loop_out_swap(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let expected = format!(
            "between {} and {} sat",
            terms.min_swap_amount, terms.max_swap_amount
        );
        assert!(status.message().contains(&expected), "{}", status.message());

        let status = grpc
            .loop_out_quote(ServerLoopOutQuoteRequest {
                amt,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }
    assert_eq!(env.net.node("server").invoice_count(), 0);
    Ok(())
}

#[tokio::test]
async fn malformed_requests_are_invalid_argument() -> anyhow::Result<()> {
    let env = TestEnv::start(fast_timings()).await?;
    let mut grpc = env.grpc().await?;
    let terms = Terms::default();

    let (_, mut short_hash) = new_swap_request(100_000);
    short_hash.swap_hash.truncate(31);
    let status = grpc.new_loop_out_swap(short_hash).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("swap_hash must be 32 bytes"),
        "{}",
        status.message()
    );

    let (_, mut bad_key) = new_swap_request(100_000);
    bad_key.receiver_key = vec![2; 10];
    let status = grpc.new_loop_out_swap(bad_key).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    // The mock's chain is at height 1000: an expiry too close is refused.
    let (_, mut near_expiry) = new_swap_request(100_000);
    near_expiry.expiry = 1_000 + terms.min_cltv_delta - 1;
    let status = grpc.new_loop_out_swap(near_expiry).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("cltv delta"),
        "{}",
        status.message()
    );
    Ok(())
}

#[tokio::test]
async fn unknown_swap_is_not_found() -> anyhow::Result<()> {
    let env = TestEnv::start(fast_timings()).await?;
    let mut grpc = env.grpc().await?;
    let status = grpc
        .subscribe_loop_out_updates(SubscribeUpdatesRequest {
            swap_hash: vec![1; 32],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    Ok(())
}

#[tokio::test]
async fn lnd_down_is_unavailable_and_recovers() -> anyhow::Result<()> {
    let env = TestEnv::start(fast_timings()).await?;
    let mut grpc = env.grpc().await?;
    let server_node = env.net.node("server");
    server_node.set_offline(true).await;

    let status = grpc
        .loop_out_quote(ServerLoopOutQuoteRequest {
            amt: 100_000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let (_, request) = new_swap_request(100_000);
    let status = grpc.new_loop_out_swap(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");

    let response = reqwest::Client::new()
        .post(format!("{}/v1/loop/out", env.http_url()))
        .json(&new_swap_json(&request))
        .send()
        .await?;
    assert_eq!(response.status(), 503);
    let body: swap_server::error::ErrorBody = response.json().await?;
    assert_eq!(body.code, "unavailable");

    // Terms need no lnd.
    grpc.loop_out_terms(proto::looprpc::ServerLoopOutTermsRequest::default())
        .await?;

    server_node.set_offline(false).await;
    crate::helpers::eventually("lnd back", || {
        let mut grpc = grpc.clone();
        let request = request.clone();
        async move { grpc.new_loop_out_swap(request).await.ok() }
    })
    .await?;
    Ok(())
}
