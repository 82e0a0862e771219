//! The full loop out over gRPC: terms, quote, swap, payments, publication,
//! preimage, success, and the money moved as a real loop out moves it.

use proto::lnrpc::invoice::InvoiceState;
use proto::looprpc::{
    ServerLoopOutPushPreimageRequest, ServerLoopOutQuoteRequest, ServerLoopOutTermsRequest,
    ServerSwapState,
};
use swap_server::Terms;

use crate::helpers::{fast_timings, new_swap_request, Db, TestEnv, Updates};

pub async fn full_loop_out(db: Db) -> anyhow::Result<()> {
    let env = TestEnv::start_with(fast_timings(), db).await?;
    let mut grpc = env.grpc().await?;
    let terms = Terms::default();

    let served_terms = grpc
        .loop_out_terms(ServerLoopOutTermsRequest::default())
        .await?
        .into_inner();
    assert_eq!(served_terms.min_swap_amount, terms.min_swap_amount);
    assert_eq!(served_terms.max_swap_amount, terms.max_swap_amount);

    let amt = 250_000;
    let quote = grpc
        .loop_out_quote(ServerLoopOutQuoteRequest {
            amt,
            ..Default::default()
        })
        .await?
        .into_inner();
    let fee = terms.swap_fee(amt);
    assert_eq!(quote.swap_fee, i64::try_from(fee)?);
    assert_eq!(quote.prepay_amt, terms.prepay_amt_sat);
    assert_eq!(
        quote.swap_payment_dest,
        env.net.node("server").pubkey().to_string()
    );

    let (secret, request) = new_swap_request(amt);
    let swap = grpc.new_loop_out_swap(request).await?.into_inner();
    assert_eq!(swap.server_message, "simulated loop server");
    secp256k1::PublicKey::from_slice(&swap.sender_key)?;

    // What Loop's client checks: the swap invoice is locked to our hash and
    // swap invoice + prepay - amount is the quoted fee.
    let swap_invoice = env.decode(&swap.swap_invoice).await?;
    let prepay_invoice = env.decode(&swap.prepay_invoice).await?;
    assert_eq!(swap_invoice.payment_hash, hex::encode(&secret.hash));
    assert_ne!(prepay_invoice.payment_hash, swap_invoice.payment_hash);
    assert_eq!(
        prepay_invoice.num_satoshis,
        i64::try_from(terms.prepay_amt_sat)?
    );
    let total_sat = u64::try_from(swap_invoice.num_satoshis + prepay_invoice.num_satoshis)?;
    assert_eq!(total_sat, amt + fee);
    assert_eq!(swap_invoice.destination, quote.swap_payment_dest);

    let mut updates = Updates::subscribe(&mut grpc, &secret.hash).await?;
    updates.wait_for(ServerSwapState::ServerInitiated).await?;

    let client_before = env.balance("client");
    let server_before = env.balance("server");
    let swap_payment = env.pay(&swap.swap_invoice);
    let prepay_payment = env.pay(&swap.prepay_invoice);

    updates
        .wait_for(ServerSwapState::ServerHtlcPublished)
        .await?;
    updates
        .wait_for(ServerSwapState::ServerHtlcConfirmed)
        .await?;
    // The HTLCs are held, not settled, until the preimage is known.
    env.wait_invoice_state(&secret.hash, InvoiceState::Accepted)
        .await?;

    grpc.loop_out_push_preimage(ServerLoopOutPushPreimageRequest {
        preimage: secret.preimage.to_vec(),
        ..Default::default()
    })
    .await?;
    updates.wait_for(ServerSwapState::ServerSuccess).await?;
    updates.wait_end().await?;
    assert_eq!(
        updates.seen,
        [
            ServerSwapState::ServerInitiated,
            ServerSwapState::ServerHtlcPublished,
            ServerSwapState::ServerHtlcConfirmed,
            ServerSwapState::ServerSuccess,
        ]
    );
    assert!(
        updates.timestamps.windows(2).all(|w| w[0] < w[1]),
        "{:?}",
        updates.timestamps
    );

    let swap_payment = swap_payment.await??;
    let prepay_payment = prepay_payment.await??;
    assert!(swap_payment.succeeded && prepay_payment.succeeded);
    let routing_fees = swap_payment.fee_msat + prepay_payment.fee_msat;
    assert!(routing_fees > 0, "the mock network charges routing fees");
    assert_eq!(
        client_before - env.balance("client"),
        (amt + fee) * 1_000 + routing_fees,
        "the client pays amount + fee + routing fees"
    );
    assert_eq!(
        env.balance("server") - server_before,
        (amt + fee) * 1_000,
        "the server receives amount + fee"
    );

    // Pushing the same preimage again is harmless.
    grpc.loop_out_push_preimage(ServerLoopOutPushPreimageRequest {
        preimage: secret.preimage.to_vec(),
        ..Default::default()
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn loop_out_succeeds_and_moves_balances() -> anyhow::Result<()> {
    full_loop_out(Db::Sqlite).await
}

#[tokio::test]
async fn early_preimage_is_refused_until_the_htlc_is_published() -> anyhow::Result<()> {
    let env = TestEnv::start(fast_timings()).await?;
    let mut grpc = env.grpc().await?;
    let (secret, request) = new_swap_request(100_000);
    grpc.new_loop_out_swap(request).await?;
    let status = grpc
        .loop_out_push_preimage(ServerLoopOutPushPreimageRequest {
            preimage: secret.preimage.to_vec(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");

    let unknown = grpc
        .loop_out_push_preimage(ServerLoopOutPushPreimageRequest {
            preimage: vec![7; 32],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound, "{unknown:?}");
    Ok(())
}
