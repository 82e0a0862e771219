//! `loop out` to SUCCESS through the real proxy and server; listings; errors.

use std::time::Duration;

use serde_json::Value;

use testkit::eventually;

use crate::support::{loopd_stack, PRICE_SAT};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `loop out` returns once the swap is started (as Loop's does): waits until every swap
/// loopd knows is `SUCCESS`.
async fn all_swaps_succeed(env: &testkit::stack::Stack) {
    let client = env.loop_client().await.unwrap();
    eventually(Duration::from_secs(20), "every swap SUCCESS", || {
        let mut client = client.clone();
        async move {
            client
                .list_swaps(proto::looprpc::ListSwapsRequest::default())
                .await
                .map(|list| {
                    list.into_inner()
                        .swaps
                        .iter()
                        .all(|s| s.state == proto::looprpc::SwapState::Success as i32)
                })
                .unwrap_or(false)
        }
    })
    .await;
}

/// Loop's lines after `LoopOut` returned, and nothing after them (no TTY: no progress).
fn assert_loops_initiated_lines(out: &str) {
    let start = out.find("Swap initiated\nID:             ").expect(out);
    let id = &out[start + "Swap initiated\nID:             ".len()..];
    let (id, rest) = id.split_once('\n').expect(out);
    assert_eq!(id.len(), 64, "{out}");
    assert_eq!(rest, "\nRun `loop monitor` to monitor progress.\n", "{out}");
}

#[tokio::test]
async fn first_loop_pays_for_the_token_and_a_repeat_loop_does_not() {
    let env = loopd_stack(1000, true).await;

    let (result, out) = env.loop_cli(&["out", "250000", "--force"]).await;
    result.unwrap_or_else(|e| panic!("loop out failed: {e}\n{out}"));
    assert_loops_initiated_lines(&out);
    assert!(
        out.starts_with(&format!("L402 token: paid {PRICE_SAT} sat")),
        "{out}"
    );
    all_swaps_succeed(&env).await;
    // The token payment, the prepay and the swap payment.
    assert_eq!(env.client_payments(), 3);

    let store = env.token_store().unwrap();
    let token = store.paid_token().unwrap().expect("paid token file");
    assert!(store.pending_token().unwrap().is_none());
    assert_eq!(token.amount_paid_msat, PRICE_SAT * 1000);
    let token_id = token.token_id().to_hex();

    // Repeat loop: asks for confirmation, no challenge, no token payment.
    let (result, out) = env
        .loop_cli_with_input(&["out", "--amt", "100000", "--fast"], "y\n")
        .await;
    result.unwrap_or_else(|e| panic!("repeat loop out failed: {e}\n{out}"));
    assert!(
        out.contains("Send off-chain:") && out.contains("CONTINUE SWAP? (y/n): "),
        "{out}"
    );
    assert!(!out.contains("L402 token: paid"), "{out}");
    assert_loops_initiated_lines(&out);
    all_swaps_succeed(&env).await;
    assert_eq!(
        env.client_payments(),
        5,
        "only the prepay and swap payments"
    );
    assert_eq!(
        env.proxy()
            .tokens(&Default::default())
            .await
            .unwrap()
            .tokens
            .len(),
        1,
        "one token minted"
    );

    // listswaps / swapinfo / listauth.
    let (result, out) = env.loop_cli(&["listswaps"]).await;
    result.unwrap();
    let list = json(&out);
    let swaps = list["swaps"].as_array().unwrap();
    assert_eq!(swaps.len(), 2);
    assert!(swaps
        .iter()
        .all(|s| s["state"] == "SUCCESS" && s["type"] == "LOOP_OUT"));
    assert_eq!(swaps[0]["amt"], "250000");
    let id = swaps[0]["id"].as_str().unwrap().to_owned();

    let (result, out) = env.loop_cli(&["swapinfo", &id]).await;
    result.unwrap();
    let info = json(&out);
    assert_eq!(info["id"], id.as_str());
    assert_eq!(info["state"], "SUCCESS");
    let cost_server: i64 = info["cost_server"].as_str().unwrap().parse().unwrap();
    assert!(cost_server > 0, "{out}");

    let (result, out) = env.loop_cli(&["listauth"]).await;
    result.unwrap();
    let tokens = json(&out);
    let tokens = tokens.as_array().unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["id"], token_id.as_str());
    assert_eq!(tokens[0]["amount_paid_msat"], PRICE_SAT * 1000);
    assert_eq!(tokens[0]["expired"], false);
    assert!(tokens[0]["file_name"]
        .as_str()
        .unwrap()
        .ends_with("l402.token"));

    // The server saw the same token for both swaps.
    for swap in swaps {
        let hash: swap_server::swap::Hash32 = swap["id"].as_str().unwrap().parse().unwrap();
        let status = env.swap_server().status(&hash).await.unwrap();
        assert_eq!(status.swap.token_id.as_deref(), Some(token_id.as_str()));
    }
}

#[tokio::test]
async fn json_output_and_declined_confirmation() {
    let env = loopd_stack(1000, true).await;
    let (result, out) = env.loop_cli_with_input(&["out", "250000"], "n\n").await;
    assert!(
        matches!(result, Err(swap_client::cli::CliError::Canceled)),
        "{out}"
    );
    // The quote needed the token; the swap itself was not started.
    assert_eq!(env.client_payments(), 1, "only the token was paid");
    let paid = out
        .find("L402 token: paid")
        .expect("token payment reported");
    assert!(paid < out.find("CONTINUE SWAP? (y/n): ").unwrap(), "{out}");
    let (result, out) = env.loop_cli(&["listswaps"]).await;
    result.unwrap();
    assert_eq!(json(&out)["swaps"].as_array().unwrap().len(), 0);

    let (result, out) = env.loop_cli(&["out", "250000", "--force", "--json"]).await;
    result.unwrap();
    let swap = json(&out);
    assert_eq!(swap["state"], "SUCCESS");
    assert_eq!(swap["amt"], "250000");
}

#[tokio::test]
async fn terms_quote_and_getinfo() {
    let env = loopd_stack(1000, true).await;
    let (result, out) = env.loop_cli(&["terms"]).await;
    result.unwrap();
    assert!(
        out.starts_with("Loop Out\n--------\nAmount: 10000 - 5000000\n"),
        "{out}"
    );

    let (result, out) = env.loop_cli(&["quote", "out", "250000"]).await;
    result.unwrap();
    assert!(
        out.starts_with("Send off-chain:                            250000 sat\n"),
        "{out}"
    );
    let (result, out) = env
        .loop_cli(&["quote", "out", "250000", "--verbose", "--conf_target", "6"])
        .await;
    result.unwrap();
    for line in [
        "Estimated on-chain fee:",
        "Loop service fee:",
        "No show penalty (prepay):",
        "Conf target:                                    6 block\n",
        "CLTV expiry delta:",
        "Publication deadline:                  ",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }

    let (result, out) = env.loop_cli(&["getinfo"]).await;
    result.unwrap();
    assert_eq!(json(&out)["network"], "regtest");
}

#[tokio::test]
async fn over_priced_token_is_refused_without_paying() {
    let env = loopd_stack(10, true).await;
    let (result, out) = env.loop_cli(&["out", "250000", "--force"]).await;
    let message = result.expect_err("must fail").to_string();
    assert!(
        message.contains("100000 msat") && message.contains("10000 msat"),
        "{message}\n{out}"
    );
    assert!(!message.contains('\n'));
    assert_eq!(env.client_payments(), 0);
    assert!(env.token_store().unwrap().all_tokens().unwrap().is_empty());
}

#[tokio::test]
async fn a_restarted_loopd_resumes_an_unfinished_swap() {
    let mut env = loopd_stack(1000, true).await;
    // Token first, so the swap's own payments are what is in flight.
    env.loop_cli(&["terms"]).await.0.unwrap();
    env.network()
        .set_payment_latency(Duration::from_millis(400));
    let mut client = env.loop_client().await.unwrap();
    let response = client
        .loop_out(proto::looprpc::LoopOutRequest {
            amt: 250_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    env.stop_loopd().await.expect("loopd ran without error");
    let id = hex::encode(&response.id_bytes);
    {
        let db = swap_client::db::SwapDb::open(&env.loopd_data_dir().join("loop_sqlite.db"))
            .await
            .unwrap();
        let swap = db
            .get(&l402::PaymentHash::from_slice(&response.id_bytes).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(!swap.is_final(), "the swap was interrupted: {swap:?}");
        db.close().await;
    }

    env.start_loopd().await.expect("loopd starts");
    let mut client = env.loop_client().await.unwrap();
    eventually(Duration::from_secs(20), "swap resumed to SUCCESS", || {
        let mut client = client.clone();
        let id = response.id_bytes.clone();
        async move {
            client
                .swap_info(proto::looprpc::SwapInfoRequest { id })
                .await
                .map(|s| s.into_inner().state == proto::looprpc::SwapState::Success as i32)
                .unwrap_or(false)
        }
    })
    .await;
    assert_eq!(
        env.client_payments(),
        3,
        "token, prepay and swap paid once each"
    );
    let (result, out) = env.loop_cli(&["swapinfo", &id]).await;
    result.unwrap();
    assert!(out.contains("\"SUCCESS\""));
    let _ = client
        .get_info(proto::looprpc::GetInfoRequest {})
        .await
        .unwrap();
}

#[tokio::test]
async fn errors_are_one_clear_line() {
    let env = loopd_stack(1000, true).await;
    // loopd not running.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = unused.local_addr().unwrap().to_string();
    drop(unused);
    let mut argv = env.loop_cli_flags(&addr);
    argv.push("terms".into());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let err = testkit::stack::run_loop_cli(&argv, "").await.0.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("cannot connect to loopd") && !message.contains('\n'),
        "{message}"
    );

    // lnd down: the token cannot be paid.
    env.network().node("client").set_offline(true).await;
    let (result, _) = env.loop_cli(&["out", "250000", "--force"]).await;
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("L402") && !message.contains('\n'),
        "{message}"
    );

    // Amount outside the terms.
    env.network().node("client").set_offline(false).await;
    let (result, _) = env.loop_cli(&["out", "5", "--force"]).await;
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("out of terms") && message.contains("10000"),
        "{message}"
    );

    // A payment timeout this loopd does not use is refused, not ignored.
    let (result, _) = env
        .loop_cli(&["out", "250000", "--force", "--payment_timeout", "1m"])
        .await;
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("payment_timeout 60s is not supported") && !message.contains('\n'),
        "{message}"
    );
    // The CLI's own checks, before any call (Loop's messages).
    let (result, _) = env
        .loop_cli(&["out", "250000", "--force", "--payment_timeout", "1500ms"])
        .await;
    assert_eq!(
        result.unwrap_err().to_string(),
        "payment timeout must be a whole number of seconds"
    );
}

/// Forwards everything written to a channel (for a command that never ends).
struct ChannelWriter(tokio::sync::mpsc::UnboundedSender<String>);

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.send(String::from_utf8_lossy(buf).into_owned());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn next_output(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("monitor output in time")
        .expect("monitor running")
}

#[tokio::test]
async fn monitor_shows_every_state_of_a_swap() {
    let env = loopd_stack(1000, true).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let loop_dir = env.loop_dir().display().to_string();
    let args = <swap_client::cli::LoopArgs as clap::Parser>::try_parse_from([
        "loop",
        "--rpcserver",
        &env.loopd_addr().to_string(),
        "--loopdir",
        &loop_dir,
        "-n",
        "regtest",
        "monitor",
    ])
    .unwrap();
    let mut out = ChannelWriter(tx);
    let mut input = std::io::empty();
    let monitor = swap_client::cli::run(
        args,
        swap_client::cli::Io {
            out: &mut out,
            input: &mut input,
            tty: false,
        },
    );
    let drive = async {
        let mut seen = String::new();
        // The note comes first, once the stream is open.
        while !seen.contains("Note:") {
            seen.push_str(&next_output(&mut rx).await);
        }
        env.loop_cli(&["out", "250000", "--force"]).await.0.unwrap();
        while !seen.contains("LOOP_OUT SUCCESS") {
            seen.push_str(&next_output(&mut rx).await);
        }
        seen
    };
    let seen = tokio::select! {
        seen = drive => seen,
        ended = monitor => panic!("monitor ended: {ended:?}"),
    };
    for state in ["INITIATED", "HTLC_PUBLISHED", "PREIMAGE_REVEALED"] {
        assert!(
            seen.contains(&format!("LOOP_OUT {state} 0.00250000 BTC")),
            "{seen}"
        );
    }
    assert!(
        seen.contains("(cost: server 600, onchain 0, offchain"),
        "{seen}"
    );
}

#[tokio::test]
async fn a_contract_outside_the_limits_is_refused_and_nothing_is_paid() {
    let env = loopd_stack(1000, true).await;
    let mut client = env.loop_client().await.unwrap();
    let status = client
        .loop_out(proto::looprpc::LoopOutRequest {
            amt: 250_000,
            // The server's prepay is 1000 sat.
            max_prepay_amt: 999,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status
            .message()
            .contains("swap refused: prepay amount of 1000 sat exceeds the maximum of 999 sat"),
        "{}",
        status.message()
    );
    assert_eq!(env.client_payments(), 1, "only the token");
    let (result, out) = env.loop_cli(&["listswaps"]).await;
    result.unwrap();
    assert_eq!(json(&out)["swaps"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn loop_out_through_a_plaintext_proxy_with_server_notls() {
    let env = loopd_stack(1000, false).await;
    let (result, out) = env.loop_cli(&["out", "250000", "--force"]).await;
    result.unwrap_or_else(|e| panic!("loop out failed: {e}\n{out}"));
    assert_loops_initiated_lines(&out);
    all_swaps_succeed(&env).await;
    assert_eq!(env.client_payments(), 3);
}

#[tokio::test]
async fn on_a_terminal_loop_out_follows_the_swap_after_loops_lines() {
    let env = loopd_stack(1000, true).await;
    let mut argv = env.loop_cli_flags(&env.loopd_addr().to_string());
    argv.extend(["out", "250000", "--force"].map(str::to_owned));
    let args = <swap_client::cli::LoopArgs as clap::Parser>::try_parse_from(&argv).unwrap();
    let mut out = Vec::new();
    let mut input = std::io::empty();
    swap_client::cli::run(
        args,
        swap_client::cli::Io {
            out: &mut out,
            input: &mut input,
            tty: true,
        },
    )
    .await
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let lines = out.find("Swap initiated\nID:             ").expect(&out);
    let monitor = out
        .find("\nRun `loop monitor` to monitor progress.\n")
        .expect(&out);
    let success = out.find(" SUCCESS (cost: server 600").expect(&out);
    assert!(lines < monitor && monitor < success, "{out}");
    assert!(
        !out.contains("..."),
        "steps are the spinner's, not lines: {out}"
    );
}
