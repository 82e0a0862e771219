//! `routerrpc.Router`: `SendPaymentV2` and `TrackPaymentV2`, streaming `lnrpc.Payment` updates.

use std::time::Duration;

use proto::lnrpc;
use proto::routerrpc::{router_server::Router, SendPaymentRequest, TrackPaymentRequest};
use secp256k1::PublicKey;
use tonic::{Request, Response, Status};

use super::{amount_msat, bytes32, payment_stream, FeeLimit, NodeContext, ResponseStream};
use crate::ledger::PaymentOrder;

/// The `Router` service of one node.
#[derive(Clone)]
pub struct RouterService {
    ctx: NodeContext,
}

impl RouterService {
    /// The service for the node in `ctx`.
    pub fn new(ctx: NodeContext) -> Self {
        Self { ctx }
    }

    /// Validates a `SendPaymentRequest` the way lnd's router does and turns it into an order.
    fn order(&self, request: &SendPaymentRequest) -> Result<PaymentOrder, Status> {
        if request.timeout_seconds <= 0 {
            return Err(Status::invalid_argument(
                "timeout_seconds must be specified",
            ));
        }
        let timeout = Duration::from_secs(request.timeout_seconds as u64);
        let fee_limit_msat = amount_msat(request.fee_limit_sat, request.fee_limit_msat)?;
        let amount = amount_msat(request.amt, request.amt_msat)?;
        if !request.payment_request.is_empty() {
            return self.ctx.invoice_order(
                &request.payment_request,
                amount,
                FeeLimit::Msat(fee_limit_msat),
                timeout,
            );
        }
        // A payment without invoice: destination, hash and amount given explicitly.
        let destination = PublicKey::from_slice(&request.dest)
            .map_err(|_| Status::invalid_argument("dest must be a 33-byte public key"))?;
        let hash = bytes32(&request.payment_hash, "payment_hash")?;
        if amount == 0 {
            return Err(Status::invalid_argument("amount must be greater than zero"));
        }
        Ok(PaymentOrder {
            destination,
            hash,
            amount_msat: amount,
            fee_limit_msat,
            payment_addr: None,
            payment_request: String::new(),
            timeout,
        })
    }
}

#[tonic::async_trait]
impl Router for RouterService {
    type SendPaymentV2Stream = ResponseStream<lnrpc::Payment>;

    async fn send_payment_v2(
        &self,
        request: Request<SendPaymentRequest>,
    ) -> Result<Response<Self::SendPaymentV2Stream>, Status> {
        let request = request.into_inner();
        let order = self.order(&request)?;
        let watch = self.ctx.ledger.start_payment(self.ctx.id, order)?;
        let first = (!request.no_inflight_updates).then_some(watch.initial);
        Ok(Response::new(payment_stream(first, watch.updates)))
    }

    type TrackPaymentV2Stream = ResponseStream<lnrpc::Payment>;

    async fn track_payment_v2(
        &self,
        request: Request<TrackPaymentRequest>,
    ) -> Result<Response<Self::TrackPaymentV2Stream>, Status> {
        let request = request.into_inner();
        let hash = bytes32(&request.payment_hash, "payment_hash")?;
        let updates = self
            .ctx
            .ledger
            .track_payment(self.ctx.id, &hash)
            .ok_or_else(|| Status::not_found("payment isn't initiated"))?;
        let current = updates.borrow().clone();
        let first = (!request.no_inflight_updates || current.is_final()).then_some(current);
        Ok(Response::new(payment_stream(first, updates)))
    }
}
