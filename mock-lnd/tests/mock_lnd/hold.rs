//! Hold invoices: accepted → settled and accepted → canceled, seen by payee and payer.

use bitcoin_hashes::{sha256, Hash};
use proto::invoicesrpc::{AddHoldInvoiceRequest, CancelInvoiceMsg, SettleInvoiceMsg};
use proto::lnrpc::{self, invoice::InvoiceState, payment::PaymentStatus, PaymentFailureReason};
use proto::routerrpc::TrackPaymentRequest;

use crate::support::{
    client, lookup, network, next, reason, send_request, status, subscribe_all, subscribe_single,
};

struct Hold {
    preimage: [u8; 32],
    hash: Vec<u8>,
    payment_request: String,
}

impl Hold {
    /// `SendPaymentV2` of this invoice by `payer` (fee limit 100 sat).
    async fn pay(
        &self,
        payer: &mut lnd_client::LndClient,
    ) -> Result<tonic::Streaming<lnrpc::Payment>, tonic::Status> {
        payer
            .router
            .send_payment_v2(send_request(&self.payment_request, 100))
            .await
            .map(tonic::Response::into_inner)
    }

    /// `SettleInvoice` with this invoice's preimage, by its `payee`.
    async fn settle(&self, payee: &mut lnd_client::LndClient) -> Result<(), tonic::Status> {
        payee
            .invoices
            .settle_invoice(SettleInvoiceMsg {
                preimage: self.preimage.to_vec(),
            })
            .await
            .map(drop)
    }

    /// `CancelInvoice` of this invoice, by its `payee`.
    async fn cancel(&self, payee: &mut lnd_client::LndClient) -> Result<(), tonic::Status> {
        payee
            .invoices
            .cancel_invoice(CancelInvoiceMsg {
                payment_hash: self.hash.clone(),
            })
            .await
            .map(drop)
    }
}

async fn add_hold(node: &mut lnd_client::LndClient, seed: u8, sat: i64) -> Hold {
    let preimage = [seed; 32];
    let hash = sha256::Hash::hash(&preimage).to_byte_array().to_vec();
    let response = node
        .invoices
        .add_hold_invoice(AddHoldInvoiceRequest {
            memo: "swap".into(),
            hash: hash.clone(),
            value: sat,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.add_index, 1);
    Hold {
        preimage,
        hash,
        payment_request: response.payment_request,
    }
}

#[tokio::test]
async fn hold_invoice_accept_then_settle() {
    let net = network(&["client", "server"]).await;
    let (payer, payee) = (net.node("client"), net.node("server"));
    let (mut c, mut s) = (client(&payer).await, client(&payee).await);
    let total = net.total_balance_msat();
    let payer_before = payer.balance_msat();
    let payee_before = payee.balance_msat();
    let hold = add_hold(&mut s, 1, 50_000).await;

    let mut single = subscribe_single(&mut s, &hold.hash).await;
    assert_eq!(next(&mut single).await.state(), InvoiceState::Open);
    let mut all = subscribe_all(&mut s, 0, 0).await;

    let mut payment = hold.pay(&mut c).await.unwrap();
    assert_eq!(status(&next(&mut payment).await), PaymentStatus::InFlight);
    let accepted = next(&mut single).await;
    assert_eq!(
        (accepted.state(), accepted.amt_paid_sat),
        (InvoiceState::Accepted, 50_000)
    );
    assert!(accepted.r_preimage.is_empty());
    // The payer's money is locked; the payee has not received it yet; nothing is lost.
    assert_eq!(payer.balance_msat(), payer_before - 50_000_000 - 1_050);
    assert_eq!(payee.balance_msat(), payee_before);
    assert_eq!(net.total_balance_msat(), total);

    // While held, tracking shows IN_FLIGHT and a second attempt is refused.
    let mut track = c
        .router
        .track_payment_v2(TrackPaymentRequest {
            payment_hash: hold.hash.clone(),
            no_inflight_updates: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status(&next(&mut track).await), PaymentStatus::InFlight);
    let again = hold.pay(&mut c).await.unwrap_err();
    assert_eq!(again.code(), tonic::Code::AlreadyExists);

    hold.settle(&mut s).await.unwrap();
    let settled = next(&mut single).await;
    assert_eq!(
        (settled.state(), settled.r_preimage.as_slice()),
        (InvoiceState::Settled, &hold.preimage[..])
    );
    let settled_all = next(&mut all).await;
    assert_eq!(
        (settled_all.state(), settled_all.settle_index),
        (InvoiceState::Settled, 1)
    );
    let done = next(&mut payment).await;
    assert_eq!(status(&done), PaymentStatus::Succeeded);
    assert_eq!(done.payment_preimage, hex::encode(hold.preimage));
    assert_eq!(done.fee_msat, 1_050);
    let tracked = next(&mut track).await;
    assert_eq!(status(&tracked), PaymentStatus::Succeeded);
    assert_eq!(payee.balance_msat(), payee_before + 50_000_000);
    assert_eq!(net.total_balance_msat(), total);
    // Settling twice is harmless, as in lnd.
    hold.settle(&mut s).await.unwrap();
}

#[tokio::test]
async fn hold_invoice_accept_then_cancel_refunds_the_payer() {
    let net = network(&["client", "server"]).await;
    let (payer, payee) = (net.node("client"), net.node("server"));
    let (mut c, mut s) = (client(&payer).await, client(&payee).await);
    let (payer_before, payee_before) = (payer.balance_msat(), payee.balance_msat());
    let hold = add_hold(&mut s, 2, 20_000).await;
    let mut single = subscribe_single(&mut s, &hold.hash).await;
    assert_eq!(next(&mut single).await.state(), InvoiceState::Open);

    let mut payment = hold.pay(&mut c).await.unwrap();
    assert_eq!(status(&next(&mut payment).await), PaymentStatus::InFlight);
    assert_eq!(next(&mut single).await.state(), InvoiceState::Accepted);
    // Settling with a wrong preimage finds no invoice.
    let wrong = s
        .invoices
        .settle_invoice(SettleInvoiceMsg {
            preimage: vec![9; 32],
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), tonic::Code::NotFound);

    hold.cancel(&mut s).await.unwrap();
    assert_eq!(next(&mut single).await.state(), InvoiceState::Canceled);
    let failed = next(&mut payment).await;
    assert_eq!(
        (status(&failed), reason(&failed)),
        (
            PaymentStatus::Failed,
            PaymentFailureReason::FailureReasonIncorrectPaymentDetails
        )
    );
    assert_eq!(
        (payer.balance_msat(), payee.balance_msat()),
        (payer_before, payee_before)
    );
    let settle = hold.settle(&mut s).await.unwrap_err();
    assert_eq!(settle.code(), tonic::Code::FailedPrecondition);
}

#[tokio::test]
async fn settling_an_open_hold_invoice_is_refused_and_cancel_of_open_works() {
    let net = network(&["server"]).await;
    let mut s = client(&net.node("server")).await;
    let hold = add_hold(&mut s, 3, 1).await;
    let err = hold.settle(&mut s).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    hold.cancel(&mut s).await.unwrap();
    let invoice = lookup(&mut s, &hold.hash).await;
    assert_eq!(invoice.state(), InvoiceState::Canceled);
}

#[tokio::test]
async fn single_subscription_before_the_invoice_exists_sees_it_added() {
    let net = network(&["server"]).await;
    let node = net.node("server");
    let mut s = client(&node).await;
    let hash = sha256::Hash::hash(&[4u8; 32]).to_byte_array().to_vec();
    let mut single = subscribe_single(&mut s, &hash).await;
    assert_eq!(node.invoice_count(), 0);
    add_hold(&mut s, 4, 1).await;
    let event = next(&mut single).await;
    assert_eq!((event.state(), event.r_hash), (InvoiceState::Open, hash));
}
