//! The `looprpc.SwapClient` service: one method per RPC, errors mapped once
//! by [`SwapError::to_status`] / [`L402Error::to_status`].

use std::pin::Pin;

use futures::{Stream, StreamExt};
use proto::looprpc::list_swaps_filter::SwapTypeFilter;
use proto::looprpc::swap_client_server::SwapClient;
use proto::looprpc::*;
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::info;

use crate::config::DaemonConfig;
use crate::swap::{publication_deadline, LoopOutSwap, SwapError, SwapManager};
use l402_client::{L402Client, StoredToken};

/// How many finished swaps `Monitor` shows first (Loop's `completedSwapsCount`).
const MONITOR_COMPLETED: usize = 5;

pub(super) struct SwapClientService {
    config: DaemonConfig,
    l402: L402Client,
    swaps: SwapManager,
    stop: CancellationToken,
}

impl SwapClientService {
    pub(super) fn new(
        config: DaemonConfig,
        l402: L402Client,
        swaps: SwapManager,
        stop: CancellationToken,
    ) -> Self {
        Self {
            config,
            l402,
            swaps,
            stop,
        }
    }

    /// Every token file, then every corrupt one moved aside: an entry with only its file name
    /// (`storage_name`), marked expired, so that `loop listauth` shows the operator what needs a look
    /// (a corrupt pending token blocks buying until its backup is deleted).
    fn tokens(&self) -> Result<TokensResponse, Status> {
        let store = self.l402.store();
        let internal = |e: l402_client::StoreError| Status::internal(e.to_string());
        let mut tokens: Vec<L402Token> = store
            .all_tokens()
            .map_err(internal)?
            .iter()
            .map(rpc_token)
            .collect();
        tokens.extend(
            store
                .corrupt_files()
                .map_err(internal)?
                .into_iter()
                .map(|path| L402Token {
                    expired: true,
                    storage_name: path.display().to_string(),
                    ..L402Token::default()
                }),
        );
        Ok(TokensResponse { tokens })
    }
}

fn rpc_token(stored: &StoredToken) -> L402Token {
    let token = &stored.token;
    L402Token {
        base_macaroon: token.macaroon.as_bytes().to_vec(),
        payment_hash: token.payment_hash.as_bytes().to_vec(),
        payment_preimage: token
            .preimage
            .as_ref()
            .map(|p| p.as_bytes().to_vec())
            .unwrap_or_else(|| vec![0; 32]),
        amount_paid_msat: token.amount_paid_msat as i64,
        routing_fee_paid_msat: token.routing_fee_paid_msat as i64,
        time_created: service_kit::clock::unix_secs(token.created) as i64,
        expired: stored.rejected,
        storage_name: stored.path.display().to_string(),
        id: token.token_id().to_hex(),
    }
}

fn stats(swaps: &[LoopOutSwap]) -> LoopStats {
    let mut stats = LoopStats::default();
    for swap in swaps {
        match swap.state {
            SwapState::Success => {
                stats.success_count += 1;
                stats.sum_succeeded_amt += swap.amount_sat as i64;
            }
            SwapState::Failed => stats.fail_count += 1,
            _ => {
                stats.pending_count += 1;
                stats.sum_pending_amt += swap.amount_sat as i64;
            }
        }
    }
    stats
}

fn status(e: SwapError) -> Status {
    e.to_status()
}

type MonitorStream = Pin<Box<dyn Stream<Item = Result<SwapStatus, Status>> + Send>>;

#[tonic::async_trait]
impl SwapClient for SwapClientService {
    async fn loop_out(
        &self,
        request: Request<LoopOutRequest>,
    ) -> Result<Response<SwapResponse>, Status> {
        let request = request.into_inner();
        info!(amount_sat = request.amt, "LoopOut request");
        let swap = self.swaps.loop_out(request).await.map_err(status)?;
        Ok(Response::new(SwapResponse {
            id: swap.id(),
            htlc_address: String::new(),
            id_bytes: swap.hash.as_bytes().to_vec(),
            htlc_address_p2wsh: String::new(),
            server_message: swap.server_message.clone(),
            htlc_address_p2tr: String::new(),
        }))
    }

    type MonitorStream = MonitorStream;

    async fn monitor(
        &self,
        _: Request<MonitorRequest>,
    ) -> Result<Response<Self::MonitorStream>, Status> {
        // Subscribe before reading the snapshot so no update falls in between.
        let updates = self.swaps.subscribe();
        let all = self.swaps.list().await.map_err(status)?;
        let (mut done, pending): (Vec<_>, Vec<_>) = all.into_iter().partition(|s| s.is_final());
        done.sort_by_key(|s| std::cmp::Reverse(s.last_update_time_ns));
        done.truncate(MONITOR_COMPLETED);
        let snapshot: Vec<_> = pending
            .iter()
            .chain(done.iter())
            .map(|s| Ok(s.to_status()))
            .collect();
        let live = BroadcastStream::new(updates)
            .filter_map(|update| futures::future::ready(update.ok().map(Ok)));
        let stream = futures::stream::iter(snapshot)
            .chain(live)
            .take_until(self.stop.clone().cancelled_owned());
        Ok(Response::new(Box::pin(stream)))
    }

    async fn list_swaps(
        &self,
        request: Request<ListSwapsRequest>,
    ) -> Result<Response<ListSwapsResponse>, Status> {
        let request = request.into_inner();
        let filter = request.list_swap_filter.unwrap_or_default();
        let swaps = if filter.swap_type == SwapTypeFilter::LoopIn as i32 {
            Vec::new()
        } else {
            self.swaps.list().await.map_err(status)?
        };
        let mut swaps: Vec<SwapStatus> = swaps
            .iter()
            .filter(|s| !filter.pending_only || !s.is_final())
            .map(LoopOutSwap::to_status)
            .collect();
        if request.max_swaps > 0 {
            swaps.truncate(request.max_swaps as usize);
        }
        Ok(Response::new(ListSwapsResponse {
            swaps,
            next_start_time: 0,
        }))
    }

    async fn swap_info(
        &self,
        request: Request<SwapInfoRequest>,
    ) -> Result<Response<SwapStatus>, Status> {
        let swap = self
            .swaps
            .swap(&request.into_inner().id)
            .await
            .map_err(status)?;
        Ok(Response::new(swap.to_status()))
    }

    async fn loop_out_terms(
        &self,
        _: Request<TermsRequest>,
    ) -> Result<Response<OutTermsResponse>, Status> {
        Ok(Response::new(self.swaps.terms().await.map_err(status)?))
    }

    async fn loop_out_quote(
        &self,
        request: Request<QuoteRequest>,
    ) -> Result<Response<OutQuoteResponse>, Status> {
        let request = request.into_inner();
        let amount = u64::try_from(request.amt)
            .map_err(|_| Status::invalid_argument(format!("invalid amount {}", request.amt)))?;
        let deadline = match (request.fast, request.swap_publication_deadline) {
            (fast, 0) | (fast @ true, _) => publication_deadline(fast),
            (false, deadline) => deadline,
        };
        let quote = self
            .swaps
            .quote(amount, request.conf_target, deadline)
            .await
            .map_err(status)?;
        Ok(Response::new(quote))
    }

    async fn get_l402_tokens(
        &self,
        _: Request<TokensRequest>,
    ) -> Result<Response<TokensResponse>, Status> {
        Ok(Response::new(self.tokens()?))
    }

    async fn get_lsat_tokens(
        &self,
        _: Request<TokensRequest>,
    ) -> Result<Response<TokensResponse>, Status> {
        Ok(Response::new(self.tokens()?))
    }

    async fn fetch_l402_token(
        &self,
        _: Request<FetchL402TokenRequest>,
    ) -> Result<Response<FetchL402TokenResponse>, Status> {
        // A paid token (or a pending one that turns out paid) is enough, as in Loop.
        if self
            .l402
            .resume_pending()
            .await
            .map_err(|e| e.to_status())?
            .is_none()
        {
            // FetchL402 is never free: the proxy's challenge makes the client buy a token.
            self.swaps.fetch_l402().await.map_err(status)?;
        }
        if self.l402.current_token().is_none() {
            return Err(Status::failed_precondition(
                "the swap server did not ask for an L402 token; none was fetched",
            ));
        }
        Ok(Response::new(FetchL402TokenResponse {}))
    }

    async fn get_info(
        &self,
        _: Request<GetInfoRequest>,
    ) -> Result<Response<GetInfoResponse>, Status> {
        let swaps = self.swaps.list().await.map_err(status)?;
        Ok(Response::new(GetInfoResponse {
            version: env!("CARGO_PKG_VERSION").into(),
            network: self.config.network.to_string(),
            rpc_listen: self.config.rpc_listen.clone(),
            rest_listen: String::new(),
            macaroon_path: String::new(),
            tls_cert_path: String::new(),
            loop_out_stats: Some(stats(&swaps)),
            loop_in_stats: Some(LoopStats::default()),
            commit_hash: String::new(),
        }))
    }
}
