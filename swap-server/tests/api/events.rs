//! The operator's feed of every swap's updates (`--eventslisten`), as server-sent events.

use proto::looprpc::ServerSwapState;
use swap_server::swap::SwapUpdate;

use crate::helpers::{fast_timings, new_swap_request, TestEnv};

#[tokio::test]
async fn every_swaps_state_changes_stream_to_the_operator_as_json() -> anyhow::Result<()> {
    let mut env = TestEnv::start(fast_timings()).await?;
    let mut grpc = env.grpc().await?;
    let mut feed =
        testkit::sse::subscribe::<SwapUpdate>(reqwest::Client::new().get(env.events_url())).await;

    let (secret, request) = new_swap_request(250_000);
    let swap = grpc.new_loop_out_swap(request).await?.into_inner();
    let _swap_payment = env.pay(&swap.swap_invoice);
    let _prepay_payment = env.pay(&swap.prepay_invoice);

    // A new swap starts in SERVER_INITIATED without a change to announce; the first change is the HTLC.
    let published = feed.next_item().await;
    assert_eq!(published.swap_hash.to_string(), hex::encode(secret.hash));
    assert_eq!(published.state, ServerSwapState::ServerHtlcPublished);
    assert_eq!(published.seq, 1);
    let confirmed = feed.next_item().await;
    assert_eq!(confirmed.state, ServerSwapState::ServerHtlcConfirmed);
    assert!(confirmed.timestamp_ns > published.timestamp_ns);

    // Stopping the server ends the stream instead of waiting for it forever.
    env.stop_server().await?;
    assert_eq!(feed.next().await, None);
    Ok(())
}

#[test]
fn an_update_is_json_with_the_hash_in_hex_and_the_state_by_name() {
    let update = SwapUpdate {
        swap_hash: "ab".repeat(32).parse().unwrap(),
        seq: 2,
        state: ServerSwapState::ServerHtlcConfirmed,
        timestamp_ns: 7,
    };
    let json = serde_json::to_value(update).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "swap_hash": "ab".repeat(32),
            "seq": 2,
            "state": "SERVER_HTLC_CONFIRMED",
            "timestamp_ns": 7
        })
    );
    assert_eq!(serde_json::from_value::<SwapUpdate>(json).unwrap(), update);
    let unknown = serde_json::json!({"swap_hash": "ab".repeat(32), "seq": 0, "state": "NO_SUCH", "timestamp_ns": 0});
    assert!(serde_json::from_value::<SwapUpdate>(unknown).is_err());
}
