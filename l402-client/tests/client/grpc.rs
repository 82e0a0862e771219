//! The L402 client as a tower layer under a tonic client, against an in-test
//! gRPC server answering challenges the way Aperture does.

use l402_client::{L402Client, L402Layer, L402Service, TokenStore};
use proto::looprpc::swap_server_client::SwapServerClient;
use proto::looprpc::ServerLoopOutTermsRequest;
use tonic::transport::Channel;

use crate::support::L402Env;

fn client(
    env: &L402Env,
    max_cost_sat: u64,
) -> (SwapServerClient<L402Service<Channel>>, L402Client) {
    let l402 = env.l402(max_cost_sat);
    let channel = lnd_client::plaintext_channel(&env.server.addr.to_string()).unwrap();
    let service = tower::ServiceBuilder::new()
        .layer(L402Layer::new(l402.clone()))
        .service(channel);
    (SwapServerClient::new(service), l402)
}

async fn terms(client: &mut SwapServerClient<L402Service<Channel>>) -> Result<u64, tonic::Status> {
    let terms = client
        .loop_out_terms(ServerLoopOutTermsRequest::default())
        .await?
        .into_inner();
    Ok(terms.min_swap_amount)
}

#[tokio::test]
async fn first_call_pays_once_and_the_macaroon_metadata_is_accepted() {
    let env = L402Env::grpc(100).await;
    let (mut client, l402) = client(&env, 1000);
    assert_eq!(terms(&mut client).await.unwrap(), 250_000);
    assert_eq!(env.gate.challenges(), 1);
    assert_eq!(env.payer.payments(), 1);
    for _ in 0..3 {
        terms(&mut client).await.unwrap();
    }
    assert_eq!(env.gate.challenges(), 1);
    assert_eq!(env.payer.payments(), 1);
    let token = TokenStore::open(env.dir.path())
        .unwrap()
        .paid_token()
        .unwrap()
        .unwrap();
    let accepted = env.gate.accepted();
    assert_eq!(accepted.len(), 4);
    assert!(accepted.iter().all(|id| *id == token.token_id()));
    assert_eq!(l402.stats().challenges, 1);
}

#[tokio::test]
async fn over_priced_token_is_a_clear_status() {
    let env = L402Env::grpc(5000).await;
    let (mut client, _) = client(&env, 1000);
    let status = terms(&mut client).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status.message().contains("5000000 msat") && status.message().contains("1000000 msat"),
        "{}",
        status.message()
    );
    assert_eq!(env.payer.payments(), 0);
}

#[tokio::test]
async fn revoked_token_is_evicted_and_replaced_with_one_payment() {
    let env = L402Env::grpc(100).await;
    let (mut client, l402) = client(&env, 1000);
    terms(&mut client).await.unwrap();
    env.gate.revoke_all();
    terms(&mut client).await.unwrap();
    assert_eq!(env.payer.payments(), 2);
    assert_eq!(l402.stats().evictions, 1);
}

#[tokio::test]
async fn fifty_concurrent_first_calls_pay_exactly_once() {
    let env = L402Env::grpc(100).await;
    env.payer.set_latency(std::time::Duration::from_millis(100));
    let (client, _) = client(&env, 1000);
    let calls = (0..50).map(|_| {
        let mut client = client.clone();
        tokio::spawn(async move { terms(&mut client).await })
    });
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().unwrap(), 250_000);
    }
    assert_eq!(env.payer.payments(), 1);
}

#[tokio::test]
async fn a_challenge_in_the_trailers_is_met_too() {
    let env = L402Env::grpc_trailers(100).await;
    let (mut client, l402) = client(&env, 1000);
    for _ in 0..3 {
        assert_eq!(terms(&mut client).await.unwrap(), 250_000);
    }
    assert_eq!(env.payer.payments(), 1);
    assert_eq!(l402.stats().challenges, 1);
    assert_eq!(env.gate.accepted().len(), 3);
}
