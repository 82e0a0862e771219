//! Restarts: a swap interrupted at any point resumes from the database and
//! completes; nothing is lost.

use proto::lnrpc::invoice::InvoiceState;
use proto::looprpc::{ServerLoopOutPushPreimageRequest, ServerSwapState};

use crate::helpers::{fast_timings, new_swap_request, Db, TestEnv, Updates};

pub async fn restart_mid_swap(db: Db) -> anyhow::Result<()> {
    let mut env = TestEnv::start_with(fast_timings(), db).await?;
    let mut grpc = env.grpc().await?;
    let amt = 120_000;
    let (secret, request) = new_swap_request(amt);
    let swap = grpc.new_loop_out_swap(request).await?.into_inner();
    let prepay_hash = hex::decode(env.decode(&swap.prepay_invoice).await?.payment_hash)?;
    let server_before = env.balance("server");

    // The server goes down; meanwhile the client pays both invoices.
    env.stop_server().await?;
    let swap_payment = env.pay(&swap.swap_invoice);
    let prepay_payment = env.pay(&swap.prepay_invoice);
    env.wait_invoice_state(&secret.hash, InvoiceState::Accepted)
        .await?;
    env.wait_invoice_state(&prepay_hash, InvoiceState::Accepted)
        .await?;

    // Back up: it re-subscribes to the invoices, sees them accepted, publishes.
    env.start_server().await?;
    let mut grpc = env.grpc().await?;
    let mut updates = Updates::subscribe(&mut grpc, &secret.hash).await?;
    updates
        .wait_for(ServerSwapState::ServerHtlcPublished)
        .await?;
    assert_eq!(
        updates.seen.first(),
        Some(&ServerSwapState::ServerInitiated)
    );

    // Down again with the HTLC published; up again, the preimage completes it.
    env.stop_server().await?;
    env.start_server().await?;
    let mut grpc = env.grpc().await?;
    let mut updates = Updates::subscribe(&mut grpc, &secret.hash).await?;
    grpc.loop_out_push_preimage(ServerLoopOutPushPreimageRequest {
        preimage: secret.preimage.to_vec(),
        ..Default::default()
    })
    .await?;
    updates.wait_for(ServerSwapState::ServerSuccess).await?;
    assert!(swap_payment.await??.succeeded);
    assert!(prepay_payment.await??.succeeded);
    let fee = swap_server::Terms::default().swap_fee(amt);
    assert_eq!(env.balance("server") - server_before, (amt + fee) * 1_000);
    // Whether the simulated confirmation came before the preimage depends on timing.
    let history = env.history(&secret.hash).await?;
    assert_eq!(
        history[..2],
        [
            ServerSwapState::ServerInitiated,
            ServerSwapState::ServerHtlcPublished
        ]
    );
    assert_eq!(history.last(), Some(&ServerSwapState::ServerSuccess));
    Ok(())
}

#[tokio::test]
async fn restart_mid_swap_resumes_and_completes() -> anyhow::Result<()> {
    restart_mid_swap(Db::Sqlite).await
}

#[tokio::test]
async fn settling_resumes_when_lnd_comes_back() -> anyhow::Result<()> {
    let env = TestEnv::start(fast_timings()).await?;
    let mut grpc = env.grpc().await?;
    let (secret, request) = new_swap_request(100_000);
    let swap = grpc.new_loop_out_swap(request).await?.into_inner();
    let swap_payment = env.pay(&swap.swap_invoice);
    let prepay_payment = env.pay(&swap.prepay_invoice);
    let mut updates = Updates::subscribe(&mut grpc, &secret.hash).await?;
    updates
        .wait_for(ServerSwapState::ServerHtlcPublished)
        .await?;

    // lnd goes down: the preimage is taken but cannot be settled yet.
    let server_node = env.net.node("server");
    server_node.set_offline(true).await;
    let status = grpc
        .loop_out_push_preimage(ServerLoopOutPushPreimageRequest {
            preimage: secret.preimage.to_vec(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");

    // Back online: the server settles on its own, without a second push.
    server_node.set_offline(false).await;
    updates.wait_for(ServerSwapState::ServerSuccess).await?;
    assert!(swap_payment.await??.succeeded);
    assert!(prepay_payment.await??.succeeded);
    Ok(())
}
