//! One task per running swap: the swap's lifecycle and its single writer.
//!
//! The actor watches both hold invoices on lnd (`SubscribeSingleInvoice`,
//! re-subscribing after failures), the swap's deadlines, and the commands
//! sent by the manager, and moves the swap through its states:
//!
//! ```text
//! INITIATED ──both invoices ACCEPTED──▶ HTLC_PUBLISHED ──confirmation delay──▶ HTLC_CONFIRMED
//!     │                                      │  preimage pushed: settle both ──▶ SUCCESS
//!     │ payment deadline: cancel both        │  HTLC expiry: settle prepay, cancel swap invoice
//!     ▼                                      ▼
//! FAILED_SWAP_DEADLINE                 TIMEOUT_PUBLISHED ──confirmation delay──▶ FAILED_TIMEOUT
//! INITIATED ──client cancels──▶ CLIENT_INVOICE_CANCEL / CLIENT_PREPAY_CANCEL
//! ```
//!
//! Every state is persisted before it is broadcast, and every lnd side effect
//! is idempotent, so after a crash the actor restarted from the stored record
//! simply carries on. A failed lnd call is retried after `lnd_retry`.

use std::sync::Arc;
use std::time::Duration;

use lnd_client::invoices::InvoiceEvent;
use proto::lnrpc::invoice::InvoiceState;
use proto::looprpc::{RoutePaymentType, ServerSwapState};
use rand::RngCore;
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::command::Command;
use crate::error::SwapError;
use crate::shared::Shared;
use crate::swap::{is_final, now_ns, Hash32, SwapRecord};

/// Which of the swap's two invoices an update is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Swap,
    Prepay,
}

struct Actor {
    shared: Arc<Shared>,
    swap: SwapRecord,
    swap_invoice: Option<InvoiceState>,
    prepay_invoice: Option<InvoiceState>,
    retry_at: Option<Instant>,
}

/// Drives `swap` until it reaches a final state or the server shuts down.
pub(crate) async fn run(
    shared: Arc<Shared>,
    swap: SwapRecord,
    mut commands: mpsc::Receiver<Command>,
) {
    let hash = swap.swap_hash;
    let watchers = shared.shutdown.child_token();
    let (invoice_tx, mut invoice_rx) = mpsc::channel(16);
    for (which, invoice_hash) in [(Which::Swap, hash), (Which::Prepay, swap.prepay_hash)] {
        shared.spawn(watch_invoice(
            shared.clone(),
            invoice_hash,
            which,
            invoice_tx.clone(),
            watchers.clone(),
        ));
    }
    drop(invoice_tx);
    tracing::debug!(swap_hash = %hash, state = ?swap.state, "swap actor started");
    let mut actor = Actor {
        shared: shared.clone(),
        swap,
        swap_invoice: None,
        prepay_invoice: None,
        retry_at: None,
    };
    loop {
        actor.advance().await;
        if is_final(actor.swap.state) {
            break;
        }
        let wake = actor.next_wake();
        tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            Some((which, state)) = invoice_rx.recv() => actor.on_invoice(which, state),
            Some(command) = commands.recv() => actor.handle(command).await,
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
    watchers.cancel();
    shared.remove_actor(&hash);
    // Commands that raced with the end of the actor still get an answer.
    commands.close();
    while let Some(command) = commands.recv().await {
        if is_final(actor.swap.state) {
            answer_finished(&actor.swap, command);
        } else {
            reply(command, Err(SwapError::ShuttingDown));
        }
    }
    tracing::debug!(swap_hash = %hash, state = ?actor.swap.state, "swap actor stopped");
}

fn reply(command: Command, result: Result<(), SwapError>) {
    let (Command::PushPreimage { reply, .. } | Command::Cancel { reply, .. }) = command;
    // The caller may have gone away; nothing to do then.
    let _ = reply.send(result);
}

/// Answers a command for a swap in a final state.
pub(crate) fn answer_finished(swap: &SwapRecord, command: Command) {
    let result = finished_result(swap, &command);
    reply(command, result);
}

/// What a command gets for a swap in a final state: success for an
/// idempotent repeat (preimage after success, cancel after cancel), else
/// `FailedPrecondition`.
pub(crate) fn finished_result(swap: &SwapRecord, command: &Command) -> Result<(), SwapError> {
    match (command, swap.state) {
        (Command::PushPreimage { .. }, ServerSwapState::ServerSuccess) => Ok(()),
        (Command::Cancel { .. }, ServerSwapState::ServerClientInvoiceCancel)
        | (Command::Cancel { .. }, ServerSwapState::ServerClientPrepayCancel) => {
            check_owner(swap, command)
        }
        _ => Err(SwapError::FailedPrecondition(format!(
            "swap {} is finished: {}",
            swap.swap_hash,
            swap.state.as_str_name()
        ))),
    }
}

/// A cancel must present the swap invoice's payment address (which only the
/// payer knows) and, when both are known, the L402 token that created the swap.
fn check_owner(swap: &SwapRecord, command: &Command) -> Result<(), SwapError> {
    let Command::Cancel {
        payment_addr,
        token_id,
        ..
    } = command
    else {
        return Ok(());
    };
    if !bool::from(
        payment_addr
            .as_slice()
            .ct_eq(swap.swap_payment_addr.as_slice()),
    ) {
        return Err(SwapError::PermissionDenied(
            "payment_address does not match the swap invoice".into(),
        ));
    }
    if let (Some(caller), Some(owner)) = (token_id, &swap.token_id) {
        if caller != owner {
            return Err(SwapError::PermissionDenied(
                "the swap belongs to another L402 token".into(),
            ));
        }
    }
    Ok(())
}

fn ns_after(base_ns: i64, delay: Duration) -> i64 {
    base_ns.saturating_add(i64::try_from(delay.as_nanos()).unwrap_or(i64::MAX))
}

fn random_txid() -> String {
    let mut txid = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut txid);
    hex::encode(txid)
}

impl Actor {
    fn on_invoice(&mut self, which: Which, state: InvoiceState) {
        tracing::debug!(swap_hash = %self.swap.swap_hash, invoice = ?which, state = ?state, "invoice update");
        match which {
            Which::Swap => self.swap_invoice = Some(state),
            Which::Prepay => self.prepay_invoice = Some(state),
        }
        // New information: act on it now rather than after a pending retry.
        self.retry_at = None;
    }

    /// Runs [`Actor::step`] unless a retry is pending; schedules a retry on failure.
    async fn advance(&mut self) {
        if self.retry_at.is_some_and(|at| Instant::now() < at) {
            return;
        }
        self.retry_at = None;
        if let Err(e) = self.step().await {
            tracing::warn!(swap_hash = %self.swap.swap_hash, state = ?self.swap.state, error = %e, "swap step failed, will retry");
            self.retry_at = Some(Instant::now() + self.shared.config.timings.lnd_retry);
        }
    }

    /// Performs every transition that is due now.
    async fn step(&mut self) -> Result<(), SwapError> {
        let timings = self.shared.config.timings.clone();
        loop {
            let now = now_ns();
            let published = self.swap.htlc_published_ns.unwrap_or(self.swap.state_ns);
            match self.swap.state {
                ServerSwapState::ServerInitiated => {
                    let accepted = |s: Option<InvoiceState>| s == Some(InvoiceState::Accepted);
                    let canceled = |s: Option<InvoiceState>| s == Some(InvoiceState::Canceled);
                    if accepted(self.swap_invoice) && accepted(self.prepay_invoice) {
                        let mut next = self.swap.clone();
                        next.htlc_txid = Some(random_txid());
                        next.htlc_published_ns = Some(now);
                        tracing::info!(swap_hash = %self.swap.swap_hash, htlc_txid = next.htlc_txid.as_deref().unwrap_or(""), "both invoices accepted: publishing htlc (simulated)");
                        self.commit(next, ServerSwapState::ServerHtlcPublished)
                            .await?;
                    } else if now >= self.swap.payment_deadline_ns {
                        tracing::info!(swap_hash = %self.swap.swap_hash, "payment deadline passed: cancelling invoices");
                        self.cancel_invoices().await?;
                        self.transition(ServerSwapState::ServerFailedSwapDeadline)
                            .await?;
                    } else if canceled(self.swap_invoice) || canceled(self.prepay_invoice) {
                        tracing::warn!(swap_hash = %self.swap.swap_hash, "an invoice was cancelled on lnd: failing swap");
                        self.cancel_invoices().await?;
                        self.transition(ServerSwapState::ServerUnexpectedFailure)
                            .await?;
                    } else {
                        return Ok(());
                    }
                }
                ServerSwapState::ServerHtlcPublished | ServerSwapState::ServerHtlcConfirmed => {
                    if let Some(preimage) = self.swap.preimage {
                        self.settle(Which::Swap, &preimage).await?;
                        let prepay_preimage = self.swap.prepay_preimage;
                        self.settle(Which::Prepay, &prepay_preimage).await?;
                        self.transition(ServerSwapState::ServerSuccess).await?;
                    } else if self.swap.state == ServerSwapState::ServerHtlcPublished
                        && now >= ns_after(published, timings.confirmation_delay)
                    {
                        self.transition(ServerSwapState::ServerHtlcConfirmed)
                            .await?;
                    } else if now >= ns_after(published, timings.htlc_expiry) {
                        tracing::info!(swap_hash = %self.swap.swap_hash, "htlc expired without preimage: sweeping (simulated), keeping prepay");
                        let prepay_preimage = self.swap.prepay_preimage;
                        self.settle(Which::Prepay, &prepay_preimage).await?;
                        self.cancel_invoice(Which::Swap).await?;
                        let mut next = self.swap.clone();
                        next.timeout_txid = Some(random_txid());
                        self.commit(next, ServerSwapState::ServerTimeoutPublished)
                            .await?;
                    } else {
                        return Ok(());
                    }
                }
                ServerSwapState::ServerTimeoutPublished
                    if now >= ns_after(self.swap.state_ns, timings.confirmation_delay) =>
                {
                    self.transition(ServerSwapState::ServerFailedTimeout)
                        .await?;
                }
                // Waiting for the sweep to confirm, or final.
                _ => return Ok(()),
            }
        }
    }

    /// When the actor must look at the swap again, absent other events.
    fn next_wake(&self) -> Instant {
        let timings = &self.shared.config.timings;
        let published = self.swap.htlc_published_ns.unwrap_or(self.swap.state_ns);
        let due_ns = match self.swap.state {
            ServerSwapState::ServerInitiated => Some(self.swap.payment_deadline_ns),
            ServerSwapState::ServerHtlcPublished => Some(
                ns_after(published, timings.confirmation_delay)
                    .min(ns_after(published, timings.htlc_expiry)),
            ),
            ServerSwapState::ServerHtlcConfirmed => Some(ns_after(published, timings.htlc_expiry)),
            ServerSwapState::ServerTimeoutPublished => {
                Some(ns_after(self.swap.state_ns, timings.confirmation_delay))
            }
            _ => None,
        };
        let now = Instant::now();
        let mut wake = now + Duration::from_secs(3600);
        if let Some(due_ns) = due_ns {
            let wait = u64::try_from(due_ns.saturating_sub(now_ns())).unwrap_or(0);
            wake = wake.min(now + Duration::from_nanos(wait));
        }
        if let Some(retry) = self.retry_at {
            wake = wake.min(retry);
        }
        wake
    }

    async fn handle(&mut self, command: Command) {
        match self.swap.state {
            ServerSwapState::ServerInitiated => match command {
                Command::PushPreimage { .. } => reply(
                    command,
                    Err(SwapError::FailedPrecondition(
                        "the swap htlc is not published yet: pay both invoices first".into(),
                    )),
                ),
                Command::Cancel { route_type, .. } => {
                    let result = self.cancel_by_client(&command, route_type).await;
                    reply(command, result);
                }
            },
            ServerSwapState::ServerHtlcPublished | ServerSwapState::ServerHtlcConfirmed => {
                match command {
                    Command::PushPreimage { preimage, .. } => {
                        let result = self.push_preimage(preimage).await;
                        reply(command, result);
                    }
                    Command::Cancel { .. } => {
                        let result = check_owner(&self.swap, &command).and(Err(
                            SwapError::FailedPrecondition(
                                "the swap htlc is already published and cannot be cancelled".into(),
                            ),
                        ));
                        reply(command, result);
                    }
                }
            }
            _ => answer_finished(&self.swap, command),
        }
    }

    async fn cancel_by_client(
        &mut self,
        command: &Command,
        route_type: RoutePaymentType,
    ) -> Result<(), SwapError> {
        check_owner(&self.swap, command)?;
        self.cancel_invoices().await?;
        let state = if route_type == RoutePaymentType::PrepayRoute {
            ServerSwapState::ServerClientPrepayCancel
        } else {
            ServerSwapState::ServerClientInvoiceCancel
        };
        tracing::info!(swap_hash = %self.swap.swap_hash, route_type = ?route_type, "swap cancelled by client");
        self.transition(state).await
    }

    async fn push_preimage(&mut self, preimage: [u8; 32]) -> Result<(), SwapError> {
        if self.swap.preimage.is_none() {
            let mut next = self.swap.clone();
            next.preimage = Some(preimage);
            self.shared.store.save(&next, None).await?;
            self.swap = next;
            tracing::info!(swap_hash = %self.swap.swap_hash, "preimage received");
        }
        self.retry_at = None;
        let result = self.step().await;
        if let Err(e) = &result {
            tracing::warn!(swap_hash = %self.swap.swap_hash, error = %e, "settling failed, will retry");
            self.retry_at = Some(Instant::now() + self.shared.config.timings.lnd_retry);
        }
        result
    }

    fn invoice(&self, which: Which) -> (Hash32, Option<InvoiceState>) {
        match which {
            Which::Swap => (self.swap.swap_hash, self.swap_invoice),
            Which::Prepay => (self.swap.prepay_hash, self.prepay_invoice),
        }
    }

    fn set_invoice(&mut self, which: Which, state: InvoiceState) {
        match which {
            Which::Swap => self.swap_invoice = Some(state),
            Which::Prepay => self.prepay_invoice = Some(state),
        }
    }

    /// Settles one hold invoice; already settled counts as done.
    async fn settle(&mut self, which: Which, preimage: &[u8; 32]) -> Result<(), SwapError> {
        if self.invoice(which).1 == Some(InvoiceState::Settled) {
            return Ok(());
        }
        self.shared.lnd.settle(preimage).await?;
        self.set_invoice(which, InvoiceState::Settled);
        Ok(())
    }

    /// Cancels one hold invoice; lnd refusing (already cancelled, or never
    /// existed) counts as done, only an unreachable lnd is retried.
    async fn cancel_invoice(&mut self, which: Which) -> Result<(), SwapError> {
        let (hash, state) = self.invoice(which);
        if state == Some(InvoiceState::Canceled) {
            return Ok(());
        }
        match self.shared.lnd.cancel(&hash).await {
            Ok(()) => {}
            Err(e @ SwapError::LndUnavailable(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(swap_hash = %self.swap.swap_hash, invoice = ?which, error = %e, "lnd refused to cancel invoice")
            }
        }
        self.set_invoice(which, InvoiceState::Canceled);
        Ok(())
    }

    async fn cancel_invoices(&mut self) -> Result<(), SwapError> {
        self.cancel_invoice(Which::Swap).await?;
        self.cancel_invoice(Which::Prepay).await
    }

    async fn transition(&mut self, state: ServerSwapState) -> Result<(), SwapError> {
        self.commit(self.swap.clone(), state).await
    }

    /// Persists `next` in `state` as the swap's new current state, then broadcasts it.
    async fn commit(
        &mut self,
        mut next: SwapRecord,
        state: ServerSwapState,
    ) -> Result<(), SwapError> {
        next.state = state;
        next.state_seq = self.swap.state_seq + 1;
        // Strictly increasing timestamps even if the clock stalls.
        next.state_ns = now_ns().max(self.swap.state_ns + 1);
        let update = next.current_update();
        self.shared.store.save(&next, Some(&update)).await?;
        self.swap = next;
        tracing::info!(swap_hash = %self.swap.swap_hash, state = state.as_str_name(), "swap state changed");
        // No subscriber is fine.
        let _ = self.shared.updates.send(update);
        Ok(())
    }
}

/// Follows one invoice on lnd (re-subscribing after lnd failures) and forwards its states to the actor,
/// until the invoice is settled or cancelled, the actor is gone, or `stop` fires.
async fn watch_invoice(
    shared: Arc<Shared>,
    hash: Hash32,
    which: Which,
    tx: mpsc::Sender<(Which, InvoiceState)>,
    stop: CancellationToken,
) {
    let mut states = shared
        .lnd
        .invoice_states(&hash, shared.config.timings.lnd_retry);
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            event = states.next() => event,
        };
        match event {
            None => return,
            Some(InvoiceEvent::Update(state)) => {
                if tx.send((which, state)).await.is_err() {
                    return;
                }
            }
            Some(InvoiceEvent::Subscribed) => {}
            Some(InvoiceEvent::Failed(error)) => {
                tracing::debug!(hash = %hash, error = %error, "invoice subscription failed, re-subscribing")
            }
        }
    }
}
