//! One task per swap: payments, server updates, preimage push, final state.

use std::sync::Arc;
use std::time::Duration;

use proto::looprpc::{
    FailureReason, ServerLoopOutPushPreimageRequest, ServerSwapState, SubscribeUpdatesRequest,
    SwapState,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{limits, Inner, LoopOutSwap, PROTOCOL_VERSION};
use l402::{PaymentHash, Preimage};
use lnd_client::{PaymentOutcome, PaymentSuccess};
use service_kit::backoff::Reconnect;

/// How long one payment attempt waits before it is tracked again.
const PAYMENT_WAIT: Duration = Duration::from_secs(60);
/// lnd's own timeout for a swap payment (a hold invoice stays in flight until settled).
pub(crate) const SWAP_PAYMENT_TIMEOUT: Duration = Duration::from_secs(3600);
/// First delay before retrying a failed call to lnd or the server.
const RETRY_MIN: Duration = Duration::from_millis(200);
/// Longest delay between retries.
const RETRY_MAX: Duration = Duration::from_secs(10);

/// The final outcome of one of the two payments.
enum Paid {
    Succeeded(PaymentSuccess),
    Failed(String),
}

/// Runs `swap` until it is final or loopd stops.
pub(super) async fn run(inner: Arc<Inner>, mut swap: LoopOutSwap) {
    let cancel = inner.cancel.child_token();
    let _stop_children = cancel.clone().drop_guard();
    let swap_id = swap.id();

    let prepay_hash = match limits::decode_invoice("prepay", &swap.prepay_invoice) {
        Ok((hash, _)) => hash,
        Err(e) => {
            warn!(swap_id, error = %e, "stored prepay invoice is invalid");
            return finish_failed(&inner, &mut swap, FailureReason::Offchain).await;
        }
    };
    let prepay = pay_until_final(
        &inner,
        &cancel,
        swap.prepay_invoice.clone(),
        prepay_hash,
        swap.limits.max_prepay_routing_fee,
    );
    let swap_payment = pay_until_final(
        &inner,
        &cancel,
        swap.swap_invoice.clone(),
        swap.hash,
        swap.limits.max_swap_routing_fee,
    );
    tokio::pin!(prepay, swap_payment);
    let mut server_states = follow_server(inner.clone(), cancel.clone(), swap.hash);

    let mut prepay_result: Option<PaymentSuccess> = None;
    let mut swap_result: Option<PaymentSuccess> = None;
    let mut pushing: Option<oneshot::Receiver<()>> = None;
    loop {
        if let (Some(swap_paid), Some(prepay_paid)) = (&swap_result, &prepay_result) {
            swap.cost.server = (swap.swap_invoice_amt_sat + swap.prepay_invoice_amt_sat) as i64
                - swap.amount_sat as i64;
            swap.cost.offchain =
                ((swap_paid.routing_fee_msat + prepay_paid.routing_fee_msat) / 1000) as i64;
            // Settling the swap invoice means the server has the preimage.
            if swap.state != SwapState::PreimageRevealed {
                transition(&inner, &mut swap, SwapState::PreimageRevealed).await;
            }
            transition(&inner, &mut swap, SwapState::Success).await;
            info!(
                swap_id,
                cost_server = swap.cost.server,
                cost_offchain = swap.cost.offchain,
                "loop out succeeded"
            );
            return;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            paid = &mut prepay, if prepay_result.is_none() => match paid {
                Some(Paid::Succeeded(success)) => prepay_result = Some(success),
                Some(Paid::Failed(reason)) => {
                    warn!(swap_id, %reason, "prepay payment failed");
                    return finish_failed(&inner, &mut swap, FailureReason::Offchain).await;
                }
                None => return,
            },
            paid = &mut swap_payment, if swap_result.is_none() => match paid {
                Some(Paid::Succeeded(success)) => swap_result = Some(success),
                Some(Paid::Failed(reason)) => {
                    warn!(swap_id, %reason, "swap payment failed");
                    return finish_failed(&inner, &mut swap, FailureReason::Offchain).await;
                }
                None => return,
            },
            pushed = async { pushing.as_mut().expect("guarded").await }, if pushing.is_some() => {
                pushing = None;
                if pushed.is_ok() && swap.state == SwapState::HtlcPublished {
                    transition(&inner, &mut swap, SwapState::PreimageRevealed).await;
                }
            }
            state = server_states.recv() => match state {
                Some(state) => {
                    if let Some(reason) = server_failure(state) {
                        warn!(swap_id, server_state = ?state, "server reports the swap failed");
                        return finish_failed(&inner, &mut swap, reason).await;
                    }
                    let published = matches!(
                        state,
                        ServerSwapState::ServerHtlcPublished
                            | ServerSwapState::ServerHtlcConfirmed
                            | ServerSwapState::ServerSuccess
                    );
                    if published && swap.state == SwapState::Initiated {
                        transition(&inner, &mut swap, SwapState::HtlcPublished).await;
                    }
                    if published && swap.state == SwapState::HtlcPublished && pushing.is_none() {
                        // "Sweeping" the simulated HTLC reveals the preimage; push
                        // it so the server can settle the swap invoice at once.
                        pushing = Some(push_preimage(
                            inner.clone(),
                            cancel.clone(),
                            swap_id.clone(),
                            swap.preimage.clone(),
                        ));
                    }
                }
                None => {
                    // The follower only stops when cancelled.
                    if cancel.is_cancelled() {
                        return;
                    }
                }
            },
        }
    }
}

/// Records a state change, then announces it.
async fn transition(inner: &Inner, swap: &mut LoopOutSwap, state: SwapState) {
    swap.state = state;
    swap.last_update_time_ns = service_kit::clock::now_unix_nanos();
    if let Err(e) = inner.db.update(swap).await {
        warn!(swap_id = %swap.id(), error = %e, "cannot record swap state");
    }
    info!(swap_id = %swap.id(), state = ?state, "swap state");
    let _ = inner.updates.send(swap.to_status());
}

async fn finish_failed(inner: &Inner, swap: &mut LoopOutSwap, reason: FailureReason) {
    swap.failure_reason = reason;
    transition(inner, swap, SwapState::Failed).await;
}

/// The client-side failure reason of a failed server state.
fn server_failure(state: ServerSwapState) -> Option<FailureReason> {
    use ServerSwapState as S;
    match state {
        S::ServerInitiated | S::ServerHtlcPublished | S::ServerSuccess | S::ServerHtlcConfirmed => {
            None
        }
        S::ServerFailedOffChainTimeout
        | S::ServerClientPrepayCancel
        | S::ServerClientInvoiceCancel => Some(FailureReason::Offchain),
        S::ServerFailedTimeout | S::ServerTimeoutPublished | S::ServerFailedSwapDeadline => {
            Some(FailureReason::Timeout)
        }
        S::ServerFailedInvalidHtlcAmount => Some(FailureReason::IncorrectAmount),
        _ => Some(FailureReason::Temporary),
    }
}

/// Pays `invoice` (or follows the earlier payment of it) until it is final;
/// `None` when cancelled.
async fn pay_until_final(
    inner: &Inner,
    cancel: &CancellationToken,
    invoice: String,
    hash: PaymentHash,
    max_fee_sat: u64,
) -> Option<Paid> {
    let mut retry = Reconnect::new(RETRY_MIN, RETRY_MAX);
    let mut sent = false;
    loop {
        let attempt = async {
            if sent {
                inner.payer.track(hash, PAYMENT_WAIT).await
            } else {
                inner
                    .payer
                    .pay(&invoice, hash, max_fee_sat, SWAP_PAYMENT_TIMEOUT)
                    .await
            }
        };
        let outcome = tokio::select! {
            _ = cancel.cancelled() => return None,
            outcome = attempt => outcome,
        };
        match outcome {
            Ok(PaymentOutcome::Succeeded(success)) => return Some(Paid::Succeeded(success)),
            Ok(PaymentOutcome::Failed { reason }) => return Some(Paid::Failed(reason)),
            // Sent and still in flight (a hold invoice waits for the preimage).
            Ok(PaymentOutcome::InFlight) => sent = true,
            // lnd does not know it (yet): send it.
            Ok(PaymentOutcome::NotFound) => sent = false,
            Err(e) => {
                warn!(payment_hash = %hash.to_hex(), error = %e, "payment call failed; retrying");
                if sleep_or_cancel(cancel, &mut retry).await {
                    return None;
                }
            }
        }
    }
}

/// Streams the server's states of a swap, resubscribing after errors.
fn follow_server(
    inner: Arc<Inner>,
    cancel: CancellationToken,
    hash: PaymentHash,
) -> mpsc::Receiver<ServerSwapState> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut retry = Reconnect::new(RETRY_MIN, RETRY_MAX);
        loop {
            let mut server = inner.server.clone();
            let subscribe = server.subscribe_loop_out_updates(SubscribeUpdatesRequest {
                protocol_version: PROTOCOL_VERSION as i32,
                swap_hash: hash.as_bytes().to_vec(),
            });
            let stream = tokio::select! {
                _ = cancel.cancelled() => return,
                result = subscribe => result,
            };
            match stream {
                Ok(response) => {
                    let mut stream = response.into_inner();
                    loop {
                        let message = tokio::select! {
                            _ = cancel.cancelled() => return,
                            message = stream.message() => message,
                        };
                        match message {
                            Ok(Some(update)) => {
                                retry.reset();
                                let state = ServerSwapState::try_from(update.state)
                                    .unwrap_or(ServerSwapState::ServerUnexpectedFailure);
                                if tx.send(state).await.is_err() {
                                    return;
                                }
                            }
                            Ok(None) => break,
                            Err(status) => {
                                warn!(swap_id = %hash.to_hex(), error = %status.message(), "swap update stream failed");
                                break;
                            }
                        }
                    }
                }
                Err(status) => {
                    warn!(swap_id = %hash.to_hex(), error = %status.message(), "cannot subscribe to swap updates");
                }
            }
            if sleep_or_cancel(&cancel, &mut retry).await {
                return;
            }
        }
    });
    rx
}

/// Pushes the preimage to the server in its own task, retrying until it is
/// accepted; the receiver fires once it was (and never if cancelled).
fn push_preimage(
    inner: Arc<Inner>,
    cancel: CancellationToken,
    swap_id: String,
    preimage: Preimage,
) -> oneshot::Receiver<()> {
    let (done, pushed) = oneshot::channel();
    tokio::spawn(async move {
        let mut retry = Reconnect::new(RETRY_MIN, RETRY_MAX);
        loop {
            let mut server = inner.server.clone();
            let push = server.loop_out_push_preimage(ServerLoopOutPushPreimageRequest {
                protocol_version: PROTOCOL_VERSION as i32,
                preimage: preimage.as_bytes().to_vec(),
            });
            let result = tokio::select! {
                _ = cancel.cancelled() => return,
                result = push => result,
            };
            match result {
                Ok(_) => {
                    info!(swap_id, "preimage pushed to the server");
                    let _ = done.send(());
                    return;
                }
                Err(status) => {
                    warn!(swap_id, error = %status.message(), "preimage push failed; retrying");
                    if sleep_or_cancel(&cancel, &mut retry).await {
                        return;
                    }
                }
            }
        }
    });
    pushed
}

/// Waits for the next retry delay (doubling up to [`RETRY_MAX`]); `true` if cancelled.
async fn sleep_or_cancel(cancel: &CancellationToken, retry: &mut Reconnect) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => true,
        _ = tokio::time::sleep(retry.next_delay()) => false,
    }
}
