//! The commands the manager sends to a running swap's actor.

use proto::looprpc::RoutePaymentType;
use tokio::sync::oneshot;

use crate::error::SwapError;

/// A request from the manager to a running swap.
#[derive(Debug)]
pub(crate) enum Command {
    /// The client revealed the preimage.
    PushPreimage {
        preimage: [u8; 32],
        reply: oneshot::Sender<Result<(), SwapError>>,
    },
    /// The client abandons the swap.
    Cancel {
        payment_addr: Vec<u8>,
        route_type: RoutePaymentType,
        token_id: Option<String>,
        reply: oneshot::Sender<Result<(), SwapError>>,
    },
}
