//! The server's view of its lnd node: node info, hold invoices and invoice
//! subscriptions (lnd-client's [`InvoiceStates`]), with lnd's errors mapped to [`SwapError`].
//!
//! "lnd is down" (connection refused, timeouts, `Unavailable`) becomes
//! [`SwapError::LndUnavailable`]; anything else lnd answers becomes
//! [`SwapError::Lnd`] (or `AlreadyExists` for a duplicate invoice hash).

use std::future::Future;
use std::time::Duration;

use l402::PaymentHash;
use lnd_client::invoices::InvoiceStates;
use lnd_client::LndClient;
use proto::invoicesrpc::{AddHoldInvoiceRequest, CancelInvoiceMsg, SettleInvoiceMsg};
use proto::lnrpc::GetInfoRequest;
use service_kit::backoff::Reconnect;
use tokio::sync::OnceCell;
use tonic::{Code, Status};

use crate::error::SwapError;
use crate::swap::Hash32;

/// How long one unary lnd call may take before lnd is considered unavailable.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Static facts about the node, fetched once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's identity public key, hex.
    pub pubkey: String,
    /// The network lnd reports (`regtest`, …), empty if it reports none.
    pub network: String,
}

/// A hold invoice lnd created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldInvoice {
    /// BOLT 11 payment request.
    pub payment_request: String,
    /// The invoice's payment address (payment secret).
    pub payment_addr: Vec<u8>,
}

/// The server's lnd, with the node info cached after the first success.
#[derive(Debug)]
pub struct Lnd {
    client: LndClient,
    info: OnceCell<NodeInfo>,
}

/// Maps a gRPC status from lnd to a [`SwapError`].
pub fn map_status(status: &Status) -> SwapError {
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            SwapError::LndUnavailable(status.message().to_owned())
        }
        // A transport-level failure (e.g. connection reset) surfaces as Unknown.
        Code::Unknown if status.message().contains("transport") => {
            SwapError::LndUnavailable(status.message().to_owned())
        }
        Code::AlreadyExists => SwapError::AlreadyExists(status.message().to_owned()),
        _ => SwapError::Lnd(format!("{:?}: {}", status.code(), status.message())),
    }
}

async fn call<T>(
    fut: impl Future<Output = Result<tonic::Response<T>, Status>>,
) -> Result<T, SwapError> {
    match tokio::time::timeout(CALL_TIMEOUT, fut).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(map_status(&status)),
        Err(_) => Err(SwapError::LndUnavailable("call timed out".into())),
    }
}

impl Lnd {
    /// Wraps a (lazily connected) client.
    pub fn new(client: LndClient) -> Self {
        Self {
            client,
            info: OnceCell::new(),
        }
    }

    /// The node's pubkey and network (fetched once, then cached).
    pub async fn node_info(&self) -> Result<NodeInfo, SwapError> {
        self.info
            .get_or_try_init(|| async {
                let info = call(self.client.lightning.clone().get_info(GetInfoRequest {})).await?;
                Ok(NodeInfo {
                    pubkey: info.identity_pubkey,
                    network: info
                        .chains
                        .first()
                        .map(|c| c.network.clone())
                        .unwrap_or_default(),
                })
            })
            .await
            .cloned()
    }

    /// The node's current block height.
    pub async fn block_height(&self) -> Result<u32, SwapError> {
        let info = call(self.client.lightning.clone().get_info(GetInfoRequest {})).await?;
        Ok(info.block_height)
    }

    /// Creates a hold invoice for `hash` (whose preimage lnd does not know).
    pub async fn add_hold_invoice(
        &self,
        hash: &Hash32,
        value_sat: u64,
        memo: String,
        expiry_secs: i64,
    ) -> Result<HoldInvoice, SwapError> {
        let request = AddHoldInvoiceRequest {
            memo,
            hash: hash.as_bytes().to_vec(),
            value: i64::try_from(value_sat)
                .map_err(|_| SwapError::InvalidArgument("amount too large".into()))?,
            expiry: expiry_secs,
            ..Default::default()
        };
        let resp = call(self.client.invoices.clone().add_hold_invoice(request)).await?;
        Ok(HoldInvoice {
            payment_request: resp.payment_request,
            payment_addr: resp.payment_addr,
        })
    }

    /// Settles the accepted hold invoice whose hash is `sha256(preimage)`.
    pub async fn settle(&self, preimage: &[u8; 32]) -> Result<(), SwapError> {
        let msg = SettleInvoiceMsg {
            preimage: preimage.to_vec(),
        };
        call(self.client.invoices.clone().settle_invoice(msg)).await?;
        Ok(())
    }

    /// Cancels an open or accepted hold invoice (failing back an accepted HTLC).
    pub async fn cancel(&self, hash: &Hash32) -> Result<(), SwapError> {
        let msg = CancelInvoiceMsg {
            payment_hash: hash.as_bytes().to_vec(),
        };
        call(self.client.invoices.clone().cancel_invoice(msg)).await?;
        Ok(())
    }

    /// Follows the states of the invoice for `hash` (current state first) until it is settled or
    /// cancelled, subscribing again `retry` (plus jitter) after every failure.
    pub fn invoice_states(&self, hash: &Hash32, retry: Duration) -> InvoiceStates {
        let hash = PaymentHash::from_bytes(hash.0);
        InvoiceStates::spawn(self.client.clone(), hash, Reconnect::new(retry, retry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_statuses_map_to_lnd_unavailable() {
        for status in [
            Status::unavailable("tcp connect error"),
            Status::deadline_exceeded("slow"),
            Status::unknown("transport error"),
        ] {
            assert!(
                matches!(map_status(&status), SwapError::LndUnavailable(_)),
                "{status:?}"
            );
        }
        assert!(matches!(
            map_status(&Status::already_exists("dup")),
            SwapError::AlreadyExists(_)
        ));
        assert!(matches!(
            map_status(&Status::internal("boom")),
            SwapError::Lnd(_)
        ));
    }
}
