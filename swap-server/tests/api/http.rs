//! The JSON routes answer what the gRPC service answers, with the same errors
//! mapped to HTTP statuses.

use proto::lnrpc::invoice::InvoiceState;
use proto::looprpc::{ServerLoopOutQuoteRequest, ServerLoopOutTermsRequest, ServerSwapState};
use reqwest::{Client, StatusCode};
use serde_json::json;
use swap_server::error::ErrorBody;
use swap_server::http::{NewSwapResponseJson, QuoteJson, StatusJson, TermsJson, UpdateJson};

use crate::helpers::{fast_timings, new_swap_json, new_swap_request, within, TestEnv};

async fn error_of(response: reqwest::Response, status: StatusCode) -> anyhow::Result<ErrorBody> {
    assert_eq!(response.status(), status);
    Ok(response.json().await?)
}

#[tokio::test]
async fn terms_and_quote_match_grpc() -> anyhow::Result<()> {
    let env = TestEnv::start(fast_timings()).await?;
    let mut grpc = env.grpc().await?;
    let http = Client::new();
    let base = env.http_url();

    let terms: TermsJson = http
        .get(format!("{base}/v1/loop/out/terms"))
        .send()
        .await?
        .json()
        .await?;
    let grpc_terms = grpc
        .loop_out_terms(ServerLoopOutTermsRequest::default())
        .await?
        .into_inner();
    assert_eq!(
        terms,
        TermsJson {
            min_swap_amount: grpc_terms.min_swap_amount,
            max_swap_amount: grpc_terms.max_swap_amount,
            min_cltv_delta: grpc_terms.min_cltv_delta,
            max_cltv_delta: grpc_terms.max_cltv_delta,
        }
    );

    let quote: QuoteJson = http
        .get(format!("{base}/v1/loop/out/quote/250000"))
        .send()
        .await?
        .json()
        .await?;
    let grpc_quote = grpc
        .loop_out_quote(ServerLoopOutQuoteRequest {
            amt: 250_000,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(quote.swap_fee, grpc_quote.swap_fee);
    assert_eq!(quote.prepay_amt, grpc_quote.prepay_amt);
    assert_eq!(quote.swap_payment_dest, grpc_quote.swap_payment_dest);

    // Same refusal, same message.
    let status = grpc
        .loop_out_quote(ServerLoopOutQuoteRequest {
            amt: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    let body = error_of(
        http.get(format!("{base}/v1/loop/out/quote/1"))
            .send()
            .await?,
        StatusCode::BAD_REQUEST,
    )
    .await?;
    assert_eq!(body.code, "invalid_argument");
    assert_eq!(body.message, status.message());
    let body = error_of(
        http.get(format!("{base}/v1/loop/out/quote/lots"))
            .send()
            .await?,
        StatusCode::BAD_REQUEST,
    )
    .await?;
    assert!(body.message.contains("lots"), "{}", body.message);

    let body = error_of(
        http.get(format!("{base}/v1/nope")).send().await?,
        StatusCode::NOT_FOUND,
    )
    .await?;
    assert_eq!(body.code, "not_found");
    Ok(())
}

#[tokio::test]
async fn loop_out_over_http() -> anyhow::Result<()> {
    let env = TestEnv::start(fast_timings()).await?;
    let http = Client::new();
    let base = env.http_url();
    let amt = 150_000;
    let (secret, request) = new_swap_request(amt);
    let body = new_swap_json(&request);
    let response = http
        .post(format!("{base}/v1/loop/out"))
        .json(&body)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let swap: NewSwapResponseJson = response.json().await?;
    assert_eq!(hex::decode(&swap.sender_key)?.len(), 33);
    assert_eq!(swap.server_message, "simulated loop server");
    let decoded = env.decode(&swap.swap_invoice).await?;
    assert_eq!(decoded.payment_hash, hex::encode(&secret.hash));

    // Duplicate: 409, like gRPC's AlreadyExists.
    let dup = http
        .post(format!("{base}/v1/loop/out"))
        .json(&body)
        .send()
        .await?;
    assert_eq!(
        error_of(dup, StatusCode::CONFLICT).await?.code,
        "already_exists"
    );
    // Malformed JSON and fields: 400.
    let bad = http
        .post(format!("{base}/v1/loop/out"))
        .body("{")
        .send()
        .await?;
    assert_eq!(
        error_of(bad, StatusCode::BAD_REQUEST).await?.code,
        "invalid_argument"
    );

    let hash_hex = hex::encode(&secret.hash);
    let status: StatusJson = http
        .get(format!("{base}/v1/loop/out/{hash_hex}"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(status.state, "SERVER_INITIATED");
    assert_eq!(status.amt, amt);
    assert_eq!(status.swap_invoice, swap.swap_invoice);
    let unknown = http
        .get(format!("{base}/v1/loop/out/{}", "ab".repeat(32)))
        .send()
        .await?;
    assert_eq!(
        error_of(unknown, StatusCode::NOT_FOUND).await?.code,
        "not_found"
    );
    let malformed = http.get(format!("{base}/v1/loop/out/xyz")).send().await?;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

    // The NDJSON update stream, current state first.
    let mut stream = http
        .get(format!("{base}/v1/loop/out/{hash_hex}/updates"))
        .send()
        .await?;
    assert_eq!(stream.headers()["content-type"], "application/x-ndjson");
    let swap_payment = env.pay(&swap.swap_invoice);
    let prepay_payment = env.pay(&swap.prepay_invoice);
    let mut buffer = Vec::new();
    let mut states = Vec::new();
    within("HTLC published over HTTP", async {
        while !states.contains(&"SERVER_HTLC_PUBLISHED".to_owned()) {
            let chunk = stream
                .chunk()
                .await?
                .ok_or_else(|| anyhow::anyhow!("stream ended"))?;
            buffer.extend_from_slice(&chunk);
            while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=end).collect();
                let update: UpdateJson = serde_json::from_slice(&line)?;
                states.push(update.state);
            }
        }
        anyhow::Ok(())
    })
    .await??;
    assert_eq!(states[..2], ["SERVER_INITIATED", "SERVER_HTLC_PUBLISHED"]);

    // A wrong preimage is not found; the right one completes the swap.
    let wrong = http
        .post(format!("{base}/v1/loop/out/preimage"))
        .json(&json!({"preimage": "11".repeat(32)}))
        .send()
        .await?;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    let pushed = http
        .post(format!("{base}/v1/loop/out/preimage"))
        .json(&json!({"preimage": hex::encode(secret.preimage)}))
        .send()
        .await?;
    assert_eq!(pushed.status(), StatusCode::OK);
    assert!(swap_payment.await??.succeeded);
    assert!(prepay_payment.await??.succeeded);
    let status: StatusJson = http
        .get(format!("{base}/v1/loop/out/{hash_hex}"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(status.state, "SERVER_SUCCESS");
    assert!(status.htlc_txid.is_some_and(|t| t.len() == 64));

    // gRPC sees the same final state.
    let mut grpc = env.grpc().await?;
    let mut updates = crate::helpers::Updates::subscribe(&mut grpc, &secret.hash).await?;
    updates.wait_end().await?;
    assert_eq!(updates.seen, [ServerSwapState::ServerSuccess]);
    Ok(())
}

#[tokio::test]
async fn cancel_over_http() -> anyhow::Result<()> {
    let env = TestEnv::start(fast_timings()).await?;
    let http = Client::new();
    let base = env.http_url();
    let (secret, request) = new_swap_request(100_000);
    let swap: NewSwapResponseJson = http
        .post(format!("{base}/v1/loop/out"))
        .json(&new_swap_json(&request))
        .send()
        .await?
        .json()
        .await?;
    let payment_addr = hex::encode(env.decode(&swap.swap_invoice).await?.payment_addr);
    let url = format!("{base}/v1/loop/out/{}/cancel", hex::encode(&secret.hash));

    let wrong = http
        .post(&url)
        .json(&json!({"payment_address": "00".repeat(32)}))
        .send()
        .await?;
    assert_eq!(
        error_of(wrong, StatusCode::FORBIDDEN).await?.code,
        "permission_denied"
    );
    let bad_route = http
        .post(&url)
        .json(&json!({"payment_address": payment_addr, "route_type": "SIDEWAYS"}))
        .send()
        .await?;
    assert_eq!(bad_route.status(), StatusCode::BAD_REQUEST);
    let ok = http
        .post(&url)
        .json(&json!({"payment_address": payment_addr, "route_type": "PREPAY_ROUTE"}))
        .send()
        .await?;
    assert_eq!(ok.status(), StatusCode::OK);
    let status: StatusJson = http
        .get(format!("{base}/v1/loop/out/{}", hex::encode(&secret.hash)))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(status.state, "SERVER_CLIENT_PREPAY_CANCEL");
    assert_eq!(
        env.server_invoice_state(&secret.hash).await?,
        InvoiceState::Canceled
    );
    Ok(())
}
