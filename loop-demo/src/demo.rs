//! Plays the sequence of docs/FLOW.md on the [`Programs`] and reports what happened.
//!
//! A loop is played the way a user does it — `LoopOut` on loopd, then waiting
//! for the swap to finish — while the demo watches from the outside: the
//! proxy's decisions as they are made (challenge minted, token accepted), the
//! client's token store and L402 counters, and the balances of the three
//! simulated lnd nodes. Nothing is faked for the narration; every line is
//! something one of the programs did.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use auth_proxy::{Decision, Outcome};
use proto::looprpc::{LoopOutRequest, SwapInfoRequest, SwapState};
use serde::Serialize;
use tokio::sync::broadcast;

use testkit::stack::LoopdClient;
use testkit::wait;

use crate::programs::ProgramsRef;

/// How long a swap may take to reach a final state.
const SWAP_TIMEOUT: Duration = Duration::from_secs(60);

/// What one `loop out` did, as `loop-demo --json` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct LoopReport {
    /// The amount looped out, in satoshis.
    pub amount_sat: u64,
    /// Whether the proxy answered with a payment challenge (402).
    pub challenged: bool,
    /// What the token cost in this loop (0 when an existing token was reused).
    pub token_cost_sat: u64,
    /// Routing fee paid for the token in this loop.
    pub routing_fee_sat: u64,
    /// Time until the swap was initiated (what the user waits for `loop out`).
    pub elapsed_ms: u64,
    /// Time until the swap reached its final state.
    pub swap_elapsed_ms: u64,
    /// The swap's id (its hash, hex).
    pub swap_id: String,
    /// The swap's final state as Loop names it (`SUCCESS`, `FAILED`, …).
    pub swap_state: String,
    /// The L402 token used (its token id, hex).
    pub token_id: String,
    /// Invoices the proxy's node created during this loop (token invoices).
    pub proxy_invoices: usize,
    /// Requests the proxy forwarded to the swap server during this loop.
    pub forwarded_requests: usize,
}

/// The two loops of the demo, as one JSON object.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// The first loop: no token yet, so a 402 and a payment.
    pub first_loop: LoopReport,
    /// The repeat loop: the stored token is reused.
    pub repeat_loop: LoopReport,
    /// Balances (sat) of the three nodes after both loops.
    pub balances_sat: Balances,
    /// Whether the sum of all balances is unchanged (nothing created or lost).
    pub balances_conserved: bool,
}

/// Channel balances of the three simulated nodes, in satoshis.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Balances {
    /// loopd's node.
    pub client: u64,
    /// The auth proxy's node (earns the token price).
    pub proxy: u64,
    /// The swap server's node (earns swap fee and prepay).
    pub server: u64,
}

/// Prints the story as it happens, with timings; silent in JSON mode.
#[derive(Debug, Clone, Copy)]
pub struct Narrator {
    enabled: bool,
}

impl Narrator {
    /// A narrator that prints (`true`) or stays silent.
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    /// Prints a line as is.
    pub fn say(&self, line: impl AsRef<str>) {
        if self.enabled {
            println!("{}", line.as_ref());
        }
    }

    /// Prints a step with the time elapsed since `start`.
    pub fn step(&self, start: Instant, line: impl AsRef<str>) {
        if self.enabled {
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            println!("  {ms:>8.1} ms  {}", line.as_ref());
        }
    }
}

/// Plays a first loop and a repeat loop and reports both.
pub async fn play(
    programs: ProgramsRef<'_>,
    first_amount_sat: u64,
    repeat_amount_sat: u64,
    narrator: Narrator,
) -> anyhow::Result<DemoReport> {
    let total_before = programs.total_balance_msat().await?;
    narrator.say(format!(
        "First loop: the client has no L402 token yet.\n$ loop out {first_amount_sat}"
    ));
    let first_loop = play_loop(programs, first_amount_sat, narrator).await?;
    narrator.say(format!(
        "\nRepeat loop: the stored token is reused.\n$ loop out {repeat_amount_sat}"
    ));
    let repeat_loop = play_loop(programs, repeat_amount_sat, narrator).await?;
    let balances_sat = programs.balances().await?;
    Ok(DemoReport {
        first_loop,
        repeat_loop,
        balances_sat,
        balances_conserved: programs.total_balance_msat().await? == total_before,
    })
}

/// Plays one `loop out` of `amount_sat` and waits for the swap to finish.
pub async fn play_loop(
    programs: ProgramsRef<'_>,
    amount_sat: u64,
    narrator: Narrator,
) -> anyhow::Result<LoopReport> {
    let mut client = programs.loop_client().await?;
    let l402 = programs.l402();
    let stats_before = l402.stats();
    let proxy_invoices_before = programs.proxy_invoice_count().await?;
    let decisions = programs.decisions();
    let start = Instant::now();
    let forwarded = Arc::new(AtomicUsize::new(0));
    let watcher = tokio::spawn(narrate_decisions(
        decisions,
        l402.clone(),
        stats_before.payments,
        forwarded.clone(),
        start,
        narrator,
    ));

    narrator.step(start, "user → loopd: LoopOut");
    let response = client
        .loop_out(LoopOutRequest {
            amt: i64::try_from(amount_sat)?,
            ..Default::default()
        })
        .await
        .map_err(|status| anyhow::anyhow!("loop out failed: {}", status.message()))?
        .into_inner();
    let elapsed = start.elapsed();
    let swap_id = hex::encode(&response.id_bytes);
    narrator.step(
        start,
        format!("loopd → user: swap {} initiated", short(&swap_id)),
    );

    let final_state = follow_swap(&mut client, &response.id_bytes, start, narrator).await?;
    let swap_elapsed = start.elapsed();
    // The watcher only ends when its feed closes; the loop is over, stop it.
    watcher.abort();

    let stats_after = l402.stats();
    let challenged = stats_after.challenges > stats_before.challenges;
    let paid = stats_after.payments > stats_before.payments;
    let token = l402
        .store()
        .paid_token()?
        .context("no paid token after the loop")?;
    let (token_cost_sat, routing_fee_sat) = if paid {
        (
            token.amount_paid_msat / 1000,
            token.routing_fee_paid_msat.div_ceil(1000),
        )
    } else {
        (0, 0)
    };
    Ok(LoopReport {
        amount_sat,
        challenged,
        token_cost_sat,
        routing_fee_sat,
        elapsed_ms: u64::try_from(elapsed.as_millis())?,
        swap_elapsed_ms: u64::try_from(swap_elapsed.as_millis())?,
        swap_id,
        swap_state: final_state.as_str_name().to_owned(),
        token_id: token.token_id().to_string(),
        proxy_invoices: programs.proxy_invoice_count().await? - proxy_invoices_before,
        forwarded_requests: forwarded.load(Ordering::SeqCst),
    })
}

/// Polls the swap until it reaches a final state, narrating each new state.
async fn follow_swap(
    client: &mut LoopdClient,
    id: &[u8],
    start: Instant,
    narrator: Narrator,
) -> anyhow::Result<SwapState> {
    // The last state seen (a Mutex, not a Cell: the page plays loops on other tasks).
    let last = std::sync::Mutex::new(None);
    let final_state = wait::until("the swap to finish", SWAP_TIMEOUT, || {
        let mut client = client.clone();
        let request = SwapInfoRequest { id: id.to_vec() };
        let last = &last;
        async move {
            let status = client.swap_info(request).await.ok()?.into_inner();
            let state = status.state();
            let previous = last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .replace(state);
            if previous != Some(state) {
                narrator.step(start, format!("swap state: {}", state.as_str_name()));
            }
            matches!(state, SwapState::Success | SwapState::Failed).then_some(state)
        }
    })
    .await?;
    if final_state != SwapState::Success {
        bail!("the swap ended in state {}", final_state.as_str_name());
    }
    Ok(final_state)
}

/// Narrates the proxy's decisions as they happen and counts the requests it
/// forwarded.
async fn narrate_decisions(
    mut decisions: broadcast::Receiver<Decision>,
    l402: l402_client::L402Client,
    payments_before: u64,
    forwarded: Arc<AtomicUsize>,
    start: Instant,
    narrator: Narrator,
) {
    let mut paid_narrated = false;
    while let Ok(decision) = decisions.recv().await {
        let method = decision.path.rsplit('/').next().unwrap_or("").to_owned();
        match decision.outcome {
            Outcome::Challenged => narrator.step(
                start,
                format!(
                    "auth-proxy: {method} without a valid token ({}) → invoice from its lnd, macaroon for token {} → 402 Payment Required",
                    decision.reason.as_deref().unwrap_or("missing"),
                    short(decision.token_id.as_deref().unwrap_or("?")),
                ),
            ),
            Outcome::Accepted => {
                if !paid_narrated {
                    if let Some(token) = l402.current_token() {
                        let token = token.token();
                        if l402.stats().payments > payments_before {
                            narrator.step(
                                start,
                                format!(
                                    "loopd: paid {} sat (+{} msat routing fee) through its lnd, got the preimage, stored l402.token",
                                    token.amount_paid_msat / 1000,
                                    token.routing_fee_paid_msat
                                ),
                            );
                        }
                    }
                    paid_narrated = true;
                }
                forwarded.fetch_add(1, Ordering::SeqCst);
                narrator.step(
                    start,
                    format!(
                        "auth-proxy: {method} with token {} → verified → forwarded to swap-server ({:.1} ms)",
                        short(decision.token_id.as_deref().unwrap_or("?")),
                        decision.elapsed.as_secs_f64() * 1000.0
                    ),
                );
            }
            other => narrator.step(
                start,
                format!(
                    "auth-proxy: {method}: {} ({})",
                    other.as_str(),
                    decision.detail.as_deref().unwrap_or("")
                ),
            ),
        }
    }
}

/// The first 8 hex characters of an id, enough to tell tokens apart.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

impl DemoReport {
    /// The closing summary of the narration: one line per loop, then the balances.
    pub fn summary(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "\nSummary");
        for (name, lp) in [
            ("first loop", &self.first_loop),
            ("repeat loop", &self.repeat_loop),
        ] {
            let _ = writeln!(
            out,
            "  {name:<12} {:>7} sat  challenged: {:<5}  token cost: {} sat (+{} sat fee)  initiated in {} ms, {} after {} ms  token {}",
            lp.amount_sat,
            lp.challenged,
            lp.token_cost_sat,
            lp.routing_fee_sat,
            lp.elapsed_ms,
            lp.swap_state,
            lp.swap_elapsed_ms,
            &lp.token_id[..8],
        );
        }
        let b = self.balances_sat;
        let _ = writeln!(
            out,
            "  balances: client {} sat, proxy {} sat, server {} sat — total {}",
            b.client,
            b.proxy,
            b.server,
            if self.balances_conserved {
                "conserved"
            } else {
                "NOT conserved"
            }
        );
        out
    }
}
