//! Deadlines: an unpaid swap fails and its invoices are cancelled; a
//! published HTLC without preimage is swept back and only the prepay is kept.

use std::time::Duration;

use proto::lnrpc::invoice::InvoiceState;
use proto::looprpc::ServerSwapState;
use swap_server::{Terms, Timings};

use crate::helpers::{fast_timings, new_swap_request, TestEnv, Updates};

#[tokio::test]
async fn unpaid_swap_fails_at_the_publication_deadline() -> anyhow::Result<()> {
    let timings = Timings {
        publication_grace: Duration::from_millis(300),
        ..fast_timings()
    };
    let env = TestEnv::start(timings).await?;
    let mut grpc = env.grpc().await?;
    let (secret, request) = new_swap_request(100_000);
    let swap = grpc.new_loop_out_swap(request).await?.into_inner();
    let prepay_hash = hex::decode(env.decode(&swap.prepay_invoice).await?.payment_hash)?;

    let mut updates = Updates::subscribe(&mut grpc, &secret.hash).await?;
    updates.wait_end().await?;
    assert_eq!(
        updates.seen.last(),
        Some(&ServerSwapState::ServerFailedSwapDeadline)
    );
    assert_eq!(
        env.history(&secret.hash).await?,
        [
            ServerSwapState::ServerInitiated,
            ServerSwapState::ServerFailedSwapDeadline
        ]
    );
    assert_eq!(
        env.server_invoice_state(&secret.hash).await?,
        InvoiceState::Canceled
    );
    assert_eq!(
        env.server_invoice_state(&prepay_hash).await?,
        InvoiceState::Canceled
    );

    // A payment after the deadline cannot go through.
    let late = env.pay(&swap.swap_invoice).await??;
    assert!(!late.succeeded);
    Ok(())
}

#[tokio::test]
async fn half_paid_swap_is_refunded_at_the_deadline() -> anyhow::Result<()> {
    let timings = Timings {
        publication_grace: Duration::from_millis(500),
        ..fast_timings()
    };
    let env = TestEnv::start(timings).await?;
    let mut grpc = env.grpc().await?;
    let (secret, request) = new_swap_request(100_000);
    let swap = grpc.new_loop_out_swap(request).await?.into_inner();
    let client_before = env.balance("client");

    // Only the prepay is paid: the server must not publish, and must give it back.
    let prepay = env.pay(&swap.prepay_invoice);
    let mut updates = Updates::subscribe(&mut grpc, &secret.hash).await?;
    updates.wait_end().await?;
    assert_eq!(
        updates.seen.last(),
        Some(&ServerSwapState::ServerFailedSwapDeadline)
    );
    let prepay = prepay.await??;
    assert!(!prepay.succeeded, "the held prepay is failed back");
    assert_eq!(env.balance("client"), client_before);
    Ok(())
}

#[tokio::test]
async fn htlc_without_preimage_is_swept_and_prepay_kept() -> anyhow::Result<()> {
    let timings = Timings {
        htlc_expiry: Duration::from_millis(400),
        ..fast_timings()
    };
    let env = TestEnv::start(timings).await?;
    let mut grpc = env.grpc().await?;
    let amt = 100_000;
    let (secret, request) = new_swap_request(amt);
    let swap = grpc.new_loop_out_swap(request).await?.into_inner();
    let client_before = env.balance("client");
    let server_before = env.balance("server");

    let swap_payment = env.pay(&swap.swap_invoice);
    let prepay_payment = env.pay(&swap.prepay_invoice);
    let mut updates = Updates::subscribe(&mut grpc, &secret.hash).await?;
    updates.wait_end().await?;
    assert_eq!(
        updates.seen.last(),
        Some(&ServerSwapState::ServerFailedTimeout)
    );
    assert_eq!(
        env.history(&secret.hash).await?,
        [
            ServerSwapState::ServerInitiated,
            ServerSwapState::ServerHtlcPublished,
            ServerSwapState::ServerHtlcConfirmed,
            ServerSwapState::ServerTimeoutPublished,
            ServerSwapState::ServerFailedTimeout,
        ]
    );
    let swap_payment = swap_payment.await??;
    let prepay_payment = prepay_payment.await??;
    assert!(!swap_payment.succeeded, "the swap payment is failed back");
    assert!(prepay_payment.succeeded, "the prepay is kept");

    let prepay_msat = Terms::default().prepay_amt_sat * 1_000;
    assert_eq!(env.balance("server") - server_before, prepay_msat);
    assert_eq!(
        client_before - env.balance("client"),
        prepay_msat + prepay_payment.fee_msat
    );

    // Too late for the preimage now.
    let status = grpc
        .loop_out_push_preimage(proto::looprpc::ServerLoopOutPushPreimageRequest {
            preimage: secret.preimage.to_vec(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    Ok(())
}
