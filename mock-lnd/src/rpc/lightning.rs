//! `lnrpc.Lightning`: node info, balances, invoices, decoding and the legacy `SendPaymentSync`.

use std::time::Duration;

use bitcoin_hashes::{sha256, Hash};
use proto::lnrpc::{
    self, fee_limit::Limit, lightning_server::Lightning, Amount, ChannelBalanceRequest,
    ChannelBalanceResponse, GetInfoRequest, GetInfoResponse, PayReq, PayReqString, SendRequest,
    SendResponse,
};
use rand::RngCore;
use tonic::{Request, Response, Status};

use super::convert::{invoice_to_proto, pay_req_to_proto, to_i64};
use super::{
    amount_msat, bytes32, invoice_fields, invoice_stream, FeeLimit, NodeContext, ResponseStream,
};
use crate::invoice;
use crate::ledger::{InvoiceQuery, InvoiceSecret, Payment, PaymentStatus};

/// The version string mock-lnd reports, shaped like lnd's.
pub const VERSION: &str = concat!("0.18.5-beta commit=mock-lnd-", env!("CARGO_PKG_VERSION"));
/// The simulated chain does not move: every node reports this height.
const BLOCK_HEIGHT: u32 = 1_000;
/// How long `SendPaymentSync` lets the router look for a route (lnd's default payment timeout).
const SEND_SYNC_TIMEOUT: Duration = Duration::from_secs(60);

/// The `Lightning` service of one node.
#[derive(Clone)]
pub struct LightningService {
    ctx: NodeContext,
}

impl LightningService {
    /// The service for the node in `ctx`.
    pub fn new(ctx: NodeContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl Lightning for LightningService {
    async fn get_info(
        &self,
        _request: Request<GetInfoRequest>,
    ) -> Result<Response<GetInfoResponse>, Status> {
        let ledger = &self.ctx.ledger;
        let meta = ledger.meta(self.ctx.id);
        let peers = u32::try_from(ledger.node_count() - 1).unwrap_or(u32::MAX);
        let block_hash = sha256::Hash::hash(format!("mock-lnd block {BLOCK_HEIGHT}").as_bytes());
        Ok(Response::new(GetInfoResponse {
            identity_pubkey: meta.pubkey.to_string(),
            alias: meta.name.clone(),
            num_active_channels: peers,
            num_peers: peers,
            block_height: BLOCK_HEIGHT,
            block_hash: block_hash.to_string(),
            synced_to_chain: true,
            version: VERSION.to_owned(),
            chains: vec![lnrpc::Chain {
                chain: "bitcoin".into(),
                network: self.ctx.network.clone(),
            }],
            synced_to_graph: true,
        }))
    }

    async fn channel_balance(
        &self,
        _request: Request<ChannelBalanceRequest>,
    ) -> Result<Response<ChannelBalanceResponse>, Status> {
        let (local, remote) = self
            .ctx
            .ledger
            .channel_balance(self.ctx.id, self.ctx.capacity_msat);
        let amount = |msat: u64| {
            Some(Amount {
                sat: msat / 1000,
                msat,
            })
        };
        Ok(Response::new(ChannelBalanceResponse {
            balance: to_i64(local / 1000),
            local_balance: amount(local),
            remote_balance: amount(remote),
        }))
    }

    async fn add_invoice(
        &self,
        request: Request<lnrpc::Invoice>,
    ) -> Result<Response<lnrpc::AddInvoiceResponse>, Status> {
        let request = request.into_inner();
        let preimage = match request.r_preimage.len() {
            0 => {
                let mut preimage = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut preimage);
                preimage
            }
            _ => bytes32(&request.r_preimage, "r_preimage")?,
        };
        let fields = invoice_fields!(request);
        let added = self
            .ctx
            .add_invoice(fields, InvoiceSecret::Preimage(preimage))?;
        Ok(Response::new(lnrpc::AddInvoiceResponse {
            r_hash: added.hash.to_vec(),
            payment_request: added.payment_request,
            add_index: added.add_index,
            payment_addr: added.payment_addr.to_vec(),
        }))
    }

    async fn lookup_invoice(
        &self,
        request: Request<lnrpc::PaymentHash>,
    ) -> Result<Response<lnrpc::Invoice>, Status> {
        let request = request.into_inner();
        let hash = if !request.r_hash.is_empty() {
            bytes32(&request.r_hash, "r_hash")?
        } else if !request.r_hash_str.is_empty() {
            let bytes = hex::decode(&request.r_hash_str)
                .map_err(|_| Status::invalid_argument("r_hash_str is not hex"))?;
            bytes32(&bytes, "r_hash_str")?
        } else {
            return Err(Status::invalid_argument(
                "either r_hash or r_hash_str must be set",
            ));
        };
        self.ctx
            .ledger
            .lookup_invoice(self.ctx.id, &hash)
            .map(|invoice| Response::new(invoice_to_proto(&invoice)))
            .ok_or_else(|| Status::not_found("there are no existing invoices"))
    }

    async fn list_invoices(
        &self,
        request: Request<lnrpc::ListInvoiceRequest>,
    ) -> Result<Response<lnrpc::ListInvoiceResponse>, Status> {
        let request = request.into_inner();
        let query = InvoiceQuery {
            index_offset: request.index_offset,
            max_invoices: request.num_max_invoices,
            pending_only: request.pending_only,
            reversed: request.reversed,
        };
        let invoices: Vec<lnrpc::Invoice> = self
            .ctx
            .ledger
            .list_invoices(self.ctx.id, &query)
            .iter()
            .map(invoice_to_proto)
            .collect();
        Ok(Response::new(lnrpc::ListInvoiceResponse {
            first_index_offset: invoices.first().map(|i| i.add_index).unwrap_or(0),
            last_index_offset: invoices.last().map(|i| i.add_index).unwrap_or(0),
            invoices,
        }))
    }

    type SubscribeInvoicesStream = ResponseStream<lnrpc::Invoice>;

    async fn subscribe_invoices(
        &self,
        request: Request<lnrpc::InvoiceSubscription>,
    ) -> Result<Response<Self::SubscribeInvoicesStream>, Status> {
        let request = request.into_inner();
        let rx = self.ctx.ledger.subscribe_invoices(
            self.ctx.id,
            request.add_index,
            request.settle_index,
        );
        Ok(Response::new(invoice_stream(rx)))
    }

    async fn decode_pay_req(
        &self,
        request: Request<PayReqString>,
    ) -> Result<Response<PayReq>, Status> {
        let bolt11 =
            invoice::parse_invoice(&request.get_ref().pay_req, self.ctx.ledger.currency.clone())?;
        Ok(Response::new(pay_req_to_proto(&bolt11)))
    }

    async fn send_payment_sync(
        &self,
        request: Request<SendRequest>,
    ) -> Result<Response<SendResponse>, Status> {
        let request = request.into_inner();
        if request.payment_request.is_empty() {
            return Err(Status::invalid_argument("payment_request must be set"));
        }
        let fee_limit = match request.fee_limit.and_then(|f| f.limit) {
            None => FeeLimit::WholeAmount,
            Some(Limit::Fixed(sat)) => FeeLimit::Msat(amount_msat(sat, 0)?),
            Some(Limit::FixedMsat(msat)) => FeeLimit::Msat(amount_msat(0, msat)?),
            Some(Limit::Percent(percent)) => {
                FeeLimit::Percent(u64::try_from(percent).map_err(|_| {
                    Status::invalid_argument("fee limit percent cannot be negative")
                })?)
            }
        };
        let order =
            self.ctx
                .invoice_order(&request.payment_request, 0, fee_limit, SEND_SYNC_TIMEOUT)?;
        let hash = order.hash;
        let mut watch = self.ctx.ledger.start_payment(self.ctx.id, order)?;
        let status = watch
            .updates
            .wait_for(Payment::is_final)
            .await
            .map_err(|_| Status::unavailable("node shutting down"))?
            .status;
        let response = match status {
            PaymentStatus::Succeeded { preimage, .. } => SendResponse {
                payment_error: String::new(),
                payment_preimage: preimage.to_vec(),
                payment_hash: hash.to_vec(),
            },
            PaymentStatus::Failed(reason) => SendResponse {
                payment_error: format!("payment failed: {}", reason.short_name()),
                payment_preimage: Vec::new(),
                payment_hash: hash.to_vec(),
            },
            PaymentStatus::InFlight => unreachable!("waited for a final state"),
        };
        Ok(Response::new(response))
    }
}
