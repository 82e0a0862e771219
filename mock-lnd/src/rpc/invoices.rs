//! `invoicesrpc.Invoices`: hold invoices (add, settle, cancel) and single-invoice subscriptions.

use proto::invoicesrpc::{
    invoices_server::Invoices, AddHoldInvoiceRequest, AddHoldInvoiceResp, CancelInvoiceMsg,
    CancelInvoiceResp, SettleInvoiceMsg, SettleInvoiceResp, SubscribeSingleInvoiceRequest,
};
use proto::lnrpc;
use tonic::{Request, Response, Status};

use super::{bytes32, invoice_fields, invoice_stream, NodeContext, ResponseStream};
use crate::ledger::InvoiceSecret;

/// The `Invoices` service of one node.
#[derive(Clone)]
pub struct InvoicesService {
    ctx: NodeContext,
}

impl InvoicesService {
    /// The service for the node in `ctx`.
    pub fn new(ctx: NodeContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl Invoices for InvoicesService {
    type SubscribeSingleInvoiceStream = ResponseStream<lnrpc::Invoice>;

    async fn subscribe_single_invoice(
        &self,
        request: Request<SubscribeSingleInvoiceRequest>,
    ) -> Result<Response<Self::SubscribeSingleInvoiceStream>, Status> {
        let hash = bytes32(&request.get_ref().r_hash, "r_hash")?;
        let rx = self.ctx.ledger.subscribe_single_invoice(self.ctx.id, hash);
        Ok(Response::new(invoice_stream(rx)))
    }

    async fn cancel_invoice(
        &self,
        request: Request<CancelInvoiceMsg>,
    ) -> Result<Response<CancelInvoiceResp>, Status> {
        let hash = bytes32(&request.get_ref().payment_hash, "payment_hash")?;
        self.ctx.ledger.cancel_invoice(self.ctx.id, hash)?;
        Ok(Response::new(CancelInvoiceResp {}))
    }

    async fn add_hold_invoice(
        &self,
        request: Request<AddHoldInvoiceRequest>,
    ) -> Result<Response<AddHoldInvoiceResp>, Status> {
        let request = request.into_inner();
        let hash = bytes32(&request.hash, "hash")?;
        let fields = invoice_fields!(request);
        let added = self
            .ctx
            .add_invoice(fields, InvoiceSecret::HoldHash(hash))?;
        Ok(Response::new(AddHoldInvoiceResp {
            payment_request: added.payment_request,
            add_index: added.add_index,
            payment_addr: added.payment_addr.to_vec(),
        }))
    }

    async fn settle_invoice(
        &self,
        request: Request<SettleInvoiceMsg>,
    ) -> Result<Response<SettleInvoiceResp>, Status> {
        let preimage = bytes32(&request.get_ref().preimage, "preimage")?;
        self.ctx.ledger.settle_invoice(self.ctx.id, preimage)?;
        Ok(Response::new(SettleInvoiceResp {}))
    }
}
