//! Helpers shared by the end-to-end tests.

use auth_proxy::Outcome;
use l402::Token;
use loop_demo::demo::{self, LoopReport, Narrator};
use proto::looprpc::{LoopOutRequest, SwapResponse};
use sha2::{Digest, Sha256};
use testkit::stack::{Stack, StackOptions};

/// What the proxy charges for a token in the loopd tests, satoshis.
pub const PRICE_SAT: u64 = 100;

/// The stack for the tests of loopd and the `loop` CLI: no payment latency,
/// the swap server's default confirmation delay, loopd paying at most
/// `max_cost_sat` per token; `tls: false` runs the proxy in plaintext and
/// loopd with `--server.notls`.
pub async fn loopd_stack(max_cost_sat: u64, tls: bool) -> Stack {
    testkit::init_test_logging();
    Stack::start(StackOptions {
        token_price_sat: PRICE_SAT,
        max_token_cost_sat: max_cost_sat,
        proxy_tls: tls,
        payment_latency: std::time::Duration::ZERO,
        confirmation_delay: swap_server::Timings::default().confirmation_delay,
        ..StackOptions::default()
    })
    .await
    .expect("the stack starts")
}

/// Plays one loop out silently and waits for the swap to finish.
pub async fn play(stack: &Stack, amount_sat: u64) -> LoopReport {
    demo::play_loop(stack.into(), amount_sat, Narrator::new(false))
        .await
        .expect("the loop out succeeds")
}

/// Calls `LoopOut` on loopd and returns its answer, without waiting for the swap.
pub async fn loop_out(stack: &Stack, amount_sat: i64) -> Result<SwapResponse, tonic::Status> {
    let mut client = stack.loop_client().await.expect("connect to loopd");
    client
        .loop_out(LoopOutRequest {
            amt: amount_sat,
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

/// How many of the proxy's recent decisions had this outcome.
pub fn decisions(stack: &Stack, outcome: Outcome) -> usize {
    stack
        .proxy()
        .decisions()
        .iter()
        .filter(|d| d.outcome == outcome)
        .count()
}

/// The paid token in loopd's `l402.token`, checked to be complete: it has a
/// preimage that hashes to the payment hash in its macaroon.
pub fn paid_token_file(stack: &Stack) -> Token {
    let bytes = std::fs::read(stack.loopd_data_dir().join("l402.token")).expect("l402.token");
    let token = Token::decode(&bytes).expect("a valid token file");
    let preimage = token
        .preimage
        .as_ref()
        .expect("the paid token has its preimage");
    assert_eq!(
        Sha256::digest(preimage.as_bytes()).as_slice(),
        token.payment_hash.as_bytes(),
        "sha256(preimage) == payment_hash"
    );
    token
}
