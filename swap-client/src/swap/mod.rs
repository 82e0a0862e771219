//! The client side of a loop out, and the manager that runs every swap.
//!
//! [`SwapManager::loop_out`] does what Loop's client does before a swap
//! exists: terms and quote from the server, Loop's fee limits, a fresh
//! preimage and `swap_hash = sha256(preimage)`, `NewLoopOutSwap`, then the
//! contract check ([`limits::validate_contract`]); only a valid contract is
//! recorded and started. Each swap then runs in its own task ([`runner`]):
//! pay the prepay and swap invoices, follow `SubscribeLoopOutUpdates`, push the
//! preimage once the server published the HTLC, and finish when the swap
//! payment settles. Every state is written to the database first, then
//! announced to `Monitor` subscribers. [`SwapManager::resume`] restarts the
//! unfinished swaps after a restart.

pub mod limits;
mod runner;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use l402::{PaymentHash, Preimage};
use lnd_client::LndClient;
use proto::looprpc::swap_server_client::SwapServerClient;
use proto::looprpc::{
    FailureReason, FetchL402Request, LoopOutRequest, OutQuoteResponse, OutTermsResponse,
    ProtocolVersion, ServerLoopOutQuoteRequest, ServerLoopOutRequest, ServerLoopOutTermsRequest,
    SwapState, SwapStatus,
};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::Channel;
use tracing::{info, warn};

use crate::db::{DbError, SwapDb};
use l402_client::L402Service;
use lnd_client::LndPayer;

pub use self::limits::ContractError;
pub use self::types::{is_final, LoopOutSwap, OutLimits, SwapCost};

/// The swap server client loopd uses: a tonic client behind the L402 layer.
pub type ServerClient = SwapServerClient<L402Service<Channel>>;

/// Protocol version loopd announces (it pushes preimages).
pub const PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion::PreimagePushLoopOut;
/// Loop's default sweep confirmation target.
pub const DEFAULT_SWEEP_CONF_TARGET: i32 = 9;
/// How long a non-`--fast` swap lets the server wait before publishing (Loop's 30 min).
pub const DEFAULT_SWAP_WAIT_TIME: Duration = Duration::from_secs(30 * 60);
/// The HTLC expiry delta loopd asks for, clamped to the server's terms.
pub const DEFAULT_HTLC_EXPIRY_DELTA: i32 = 144;
/// The user agent sent to the server.
pub const USER_AGENT: &str = concat!("loopd-rs/", env!("CARGO_PKG_VERSION"));

/// Why a swap call failed.
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    /// A call to the swap server (through the L402 proxy) failed.
    #[error("swap server {call}: {}", status.message())]
    Server {
        /// The server RPC.
        call: &'static str,
        /// The status it failed with (L402 errors included).
        status: tonic::Status,
    },
    /// A call to our lnd failed.
    #[error("lnd {call}: {}", status.message())]
    Lnd {
        /// The lnd RPC.
        call: &'static str,
        /// The status it failed with.
        status: tonic::Status,
    },
    /// The amount is outside the server's terms.
    #[error(
        "swap amount {amount_sat} sat is outside the server's terms ({min_sat} to {max_sat} sat)"
    )]
    AmountOutOfTerms {
        /// Requested amount.
        amount_sat: u64,
        /// Minimum of the terms.
        min_sat: u64,
        /// Maximum of the terms.
        max_sat: u64,
    },
    /// The quoted fee is above the caller's maximum.
    #[error("quoted swap fee of {fee_sat} sat exceeds the maximum of {max_sat} sat")]
    QuoteTooHigh {
        /// Quoted fee.
        fee_sat: u64,
        /// The caller's limit.
        max_sat: u64,
    },
    /// The server's contract failed validation; nothing was paid.
    #[error("swap refused: {0}")]
    Refused(#[from] ContractError),
    /// The request is invalid.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No swap has this id.
    #[error("swap {0} not found")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl SwapError {
    /// The gRPC status loopd answers with.
    pub fn to_status(&self) -> tonic::Status {
        use tonic::Code;
        let code = match self {
            Self::Server { status, .. } | Self::Lnd { status, .. } => status.code(),
            Self::AmountOutOfTerms { .. } | Self::InvalidRequest(_) => Code::InvalidArgument,
            Self::QuoteTooHigh { .. } | Self::Refused(_) => Code::FailedPrecondition,
            Self::NotFound(_) => Code::NotFound,
            Self::Db(_) => Code::Internal,
        };
        tonic::Status::new(code, self.to_string())
    }

    fn server(call: &'static str) -> impl FnOnce(tonic::Status) -> Self {
        move |status| Self::Server { call, status }
    }
}

/// Runs loop outs; cheap to clone.
#[derive(Clone)]
pub struct SwapManager {
    inner: Arc<Inner>,
}

struct Inner {
    db: SwapDb,
    server: ServerClient,
    lnd: LndClient,
    payer: LndPayer,
    updates: broadcast::Sender<SwapStatus>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl SwapManager {
    /// A manager using this database, server client and lnd.
    pub fn new(db: SwapDb, server: ServerClient, lnd: LndClient) -> Self {
        let (updates, _) = broadcast::channel(256);
        Self {
            inner: Arc::new(Inner {
                payer: LndPayer::new(&lnd),
                db,
                server,
                lnd,
                updates,
                cancel: CancellationToken::new(),
                tasks: TaskTracker::new(),
            }),
        }
    }

    /// The database.
    pub fn db(&self) -> &SwapDb {
        &self.inner.db
    }

    /// The server client (shared L402 layer).
    pub fn server(&self) -> ServerClient {
        self.inner.server.clone()
    }

    /// Every swap update from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SwapStatus> {
        self.inner.updates.subscribe()
    }

    /// Calls the server's `FetchL402`, which is never free: through the proxy, it makes the L402 client
    /// obtain a token now rather than at the first swap.
    pub async fn fetch_l402(&self) -> Result<(), SwapError> {
        self.server()
            .fetch_l402(FetchL402Request {})
            .await
            .map_err(SwapError::server("FetchL402"))?;
        Ok(())
    }

    /// The server's loop-out terms.
    pub async fn terms(&self) -> Result<OutTermsResponse, SwapError> {
        let terms = self
            .server()
            .loop_out_terms(ServerLoopOutTermsRequest {
                protocol_version: PROTOCOL_VERSION as i32,
                user_agent: USER_AGENT.into(),
            })
            .await
            .map_err(SwapError::server("LoopOutTerms"))?
            .into_inner();
        Ok(OutTermsResponse {
            min_swap_amount: terms.min_swap_amount as i64,
            max_swap_amount: terms.max_swap_amount as i64,
            min_cltv_delta: terms.min_cltv_delta,
            max_cltv_delta: terms.max_cltv_delta,
        })
    }

    /// A quote for a loop out of `amount_sat`.
    pub async fn quote(
        &self,
        amount_sat: u64,
        conf_target: i32,
        deadline_unix: u64,
    ) -> Result<OutQuoteResponse, SwapError> {
        if amount_sat == 0 {
            return Err(SwapError::InvalidRequest("amount must be positive".into()));
        }
        let quote = self
            .server()
            .loop_out_quote(ServerLoopOutQuoteRequest {
                amt: amount_sat,
                swap_publication_deadline: deadline_unix as i64,
                protocol_version: PROTOCOL_VERSION as i32,
                expiry: 0,
                user_agent: USER_AGENT.into(),
            })
            .await
            .map_err(SwapError::server("LoopOutQuote"))?
            .into_inner();
        Ok(OutQuoteResponse {
            swap_fee_sat: quote.swap_fee,
            prepay_amt_sat: quote.prepay_amt as i64,
            // The chain is simulated: sweeping the HTLC costs no miner fee.
            htlc_sweep_fee_sat: 0,
            swap_payment_dest: hex::decode(&quote.swap_payment_dest).unwrap_or_default(),
            cltv_delta: DEFAULT_HTLC_EXPIRY_DELTA,
            conf_target: if conf_target > 0 {
                conf_target
            } else {
                DEFAULT_SWEEP_CONF_TARGET
            },
        })
    }

    /// Starts a loop out: everything up to a validated, recorded contract; the
    /// payments and the rest run in the background.
    pub async fn loop_out(&self, request: LoopOutRequest) -> Result<LoopOutSwap, SwapError> {
        let amount_sat = u64::try_from(request.amt)
            .ok()
            .filter(|a| *a > 0)
            .ok_or_else(|| SwapError::InvalidRequest(format!("invalid amount {}", request.amt)))?;
        check_payment_timeout(request.payment_timeout)?;
        let terms = self.terms().await?;
        let (min_sat, max_sat) = (terms.min_swap_amount as u64, terms.max_swap_amount as u64);
        if amount_sat < min_sat || amount_sat > max_sat {
            return Err(SwapError::AmountOutOfTerms {
                amount_sat,
                min_sat,
                max_sat,
            });
        }
        let deadline = if request.swap_publication_deadline > 0 {
            request.swap_publication_deadline
        } else {
            publication_deadline(true)
        };
        let quote = self
            .quote(amount_sat, request.sweep_conf_target, deadline)
            .await?;
        let limits = limits::request_limits(&request, &quote);
        let quoted_fee = u64::try_from(quote.swap_fee_sat).unwrap_or(0);
        if quoted_fee > limits.max_swap_fee {
            return Err(SwapError::QuoteTooHigh {
                fee_sat: quoted_fee,
                max_sat: limits.max_swap_fee,
            });
        }

        let preimage = Preimage::random();
        let hash = preimage.hash();
        let receiver_key = secp256k1::Keypair::new_global(&mut rand::thread_rng())
            .public_key()
            .serialize()
            .to_vec();
        let height = self
            .inner
            .lnd
            .lightning
            .clone()
            .get_info(proto::lnrpc::GetInfoRequest {})
            .await
            .map_err(|status| SwapError::Lnd {
                call: "GetInfo",
                status,
            })?
            .into_inner()
            .block_height as i32;
        let delta = DEFAULT_HTLC_EXPIRY_DELTA
            .min(terms.max_cltv_delta.max(terms.min_cltv_delta))
            .max(terms.min_cltv_delta);
        let contract = self
            .server()
            .new_loop_out_swap(ServerLoopOutRequest {
                receiver_key: receiver_key.clone(),
                swap_hash: hash.as_bytes().to_vec(),
                amt: amount_sat,
                swap_publication_deadline: deadline as i64,
                protocol_version: PROTOCOL_VERSION as i32,
                expiry: height + delta,
                user_agent: USER_AGENT.into(),
            })
            .await
            .map_err(SwapError::server("NewLoopOutSwap"))?
            .into_inner();
        let validated = limits::validate_contract(
            &hash,
            amount_sat,
            &limits,
            &contract.swap_invoice,
            &contract.prepay_invoice,
        )
        .inspect_err(
            |e| warn!(swap_id = %hash.to_hex(), error = %e, "refusing the server's swap contract"),
        )?;

        let now = service_kit::clock::now_unix_nanos();
        let swap = LoopOutSwap {
            hash,
            preimage,
            amount_sat,
            dest: request.dest,
            label: request.label,
            swap_invoice: contract.swap_invoice,
            prepay_invoice: contract.prepay_invoice,
            swap_invoice_amt_sat: validated.swap_invoice_amt_sat,
            prepay_invoice_amt_sat: validated.prepay_invoice_amt_sat,
            receiver_key,
            sender_key: contract.sender_key,
            expiry_height: height + delta,
            limits,
            server_message: contract.server_message,
            initiation_time_ns: now,
            state: SwapState::Initiated,
            failure_reason: FailureReason::None,
            last_update_time_ns: now,
            cost: SwapCost::default(),
        };
        self.inner.db.insert(&swap).await?;
        info!(swap_id = %swap.id(), amount_sat, "loop out initiated");
        let _ = self.inner.updates.send(swap.to_status());
        self.spawn(swap.clone());
        Ok(swap)
    }

    /// Restarts every unfinished swap (after a restart of loopd); returns how many.
    pub async fn resume(&self) -> Result<usize, SwapError> {
        let unfinished: Vec<_> = self
            .inner
            .db
            .list()
            .await?
            .into_iter()
            .filter(|s| !s.is_final())
            .collect();
        for swap in &unfinished {
            info!(swap_id = %swap.id(), state = ?swap.state, "resuming swap");
            self.spawn(swap.clone());
        }
        Ok(unfinished.len())
    }

    /// One swap by id (hex or raw bytes).
    pub async fn swap(&self, id: &[u8]) -> Result<LoopOutSwap, SwapError> {
        let hash = parse_swap_id(id)?;
        self.inner
            .db
            .get(&hash)
            .await?
            .ok_or_else(|| SwapError::NotFound(hash.to_hex()))
    }

    /// Every swap, oldest first.
    pub async fn list(&self) -> Result<Vec<LoopOutSwap>, SwapError> {
        Ok(self.inner.db.list().await?)
    }

    /// Stops every swap task (their state is in the database) and waits for them.
    pub async fn shutdown(&self) {
        self.inner.cancel.cancel();
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    fn spawn(&self, swap: LoopOutSwap) {
        let inner = self.inner.clone();
        self.inner.tasks.spawn(runner::run(inner, swap));
    }
}

/// A swap id as sent by clients: 32 raw bytes, or 64 hex characters.
pub fn parse_swap_id(id: &[u8]) -> Result<PaymentHash, SwapError> {
    if let Ok(hash) = PaymentHash::from_slice(id) {
        return Ok(hash);
    }
    std::str::from_utf8(id)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| {
            SwapError::InvalidRequest("a swap id is 32 bytes (64 hex characters)".into())
        })
}

/// `LoopOutRequest.payment_timeout` (seconds, 0: the default): this loopd pays with a fixed
/// per-attempt timeout of one hour (Loop's default), so any other value is refused rather
/// than ignored.
pub fn check_payment_timeout(secs: u32) -> Result<(), SwapError> {
    if secs == 0 || u64::from(secs) == runner::SWAP_PAYMENT_TIMEOUT.as_secs() {
        return Ok(());
    }
    Err(SwapError::InvalidRequest(format!(
        "payment_timeout {secs}s is not supported: this loopd uses {}s per payment attempt",
        runner::SWAP_PAYMENT_TIMEOUT.as_secs()
    )))
}

/// The publication deadline Loop asks the server for: now for a fast swap, else
/// [`DEFAULT_SWAP_WAIT_TIME`] from now (the server may batch the HTLC until then).
pub fn publication_deadline(fast: bool) -> u64 {
    let now = service_kit::clock::now_unix();
    if fast {
        now
    } else {
        now + DEFAULT_SWAP_WAIT_TIME.as_secs()
    }
}

#[cfg(test)]
mod payment_timeout_tests {
    use super::*;

    #[test]
    fn only_the_payment_timeout_loopd_uses_is_accepted() {
        assert!(check_payment_timeout(0).is_ok());
        assert!(check_payment_timeout(3600).is_ok());
        let e = check_payment_timeout(60).unwrap_err().to_string();
        assert!(e.contains("payment_timeout 60s is not supported"), "{e}");
    }
}
