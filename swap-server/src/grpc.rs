//! The gRPC front end: `looprpc.SwapServer` on top of [`SwapManager`].

use std::pin::Pin;

use futures::{Stream, StreamExt};
use proto::looprpc::swap_server_server::{SwapServer, SwapServerServer};
use proto::looprpc::{
    CancelLoopOutSwapRequest, CancelLoopOutSwapResponse, FetchL402Request, FetchL402Response,
    ServerLoopOutPushPreimageRequest, ServerLoopOutPushPreimageResponse, ServerLoopOutQuote,
    ServerLoopOutQuoteRequest, ServerLoopOutRequest, ServerLoopOutResponse, ServerLoopOutTerms,
    ServerLoopOutTermsRequest, SubscribeLoopOutUpdatesResponse, SubscribeUpdatesRequest,
};
use tonic::{Request, Response, Status};

use crate::error::SwapError;
use crate::manager::SwapManager;
use crate::swap::{Hash32, SwapUpdate};
use crate::token::token_id_from_headers;

/// The `looprpc.SwapServer` implementation.
#[derive(Debug, Clone)]
pub struct GrpcService {
    manager: SwapManager,
}

impl GrpcService {
    /// Wraps the manager.
    pub fn new(manager: SwapManager) -> Self {
        Self { manager }
    }

    /// The tonic service, ready to be routed.
    pub fn into_server(self) -> SwapServerServer<Self> {
        SwapServerServer::new(self)
    }
}

fn token_id<T>(request: &Request<T>) -> Option<String> {
    token_id_from_headers(&request.metadata().clone().into_headers())
}

/// The wire form of an update.
pub fn update_message(update: &SwapUpdate) -> SubscribeLoopOutUpdatesResponse {
    SubscribeLoopOutUpdatesResponse {
        timestamp_ns: update.timestamp_ns,
        state: update.state as i32,
    }
}

type UpdateResultStream =
    Pin<Box<dyn Stream<Item = Result<SubscribeLoopOutUpdatesResponse, Status>> + Send>>;

#[tonic::async_trait]
impl SwapServer for GrpcService {
    #[tracing::instrument(skip_all)]
    async fn loop_out_terms(
        &self,
        _request: Request<ServerLoopOutTermsRequest>,
    ) -> Result<Response<ServerLoopOutTerms>, Status> {
        Ok(Response::new(self.manager.terms()))
    }

    #[tracing::instrument(skip_all, fields(amt = request.get_ref().amt))]
    async fn loop_out_quote(
        &self,
        request: Request<ServerLoopOutQuoteRequest>,
    ) -> Result<Response<ServerLoopOutQuote>, Status> {
        Ok(Response::new(self.manager.quote(request.get_ref()).await?))
    }

    #[tracing::instrument(skip_all, fields(amt = request.get_ref().amt))]
    async fn new_loop_out_swap(
        &self,
        request: Request<ServerLoopOutRequest>,
    ) -> Result<Response<ServerLoopOutResponse>, Status> {
        let token_id = token_id(&request);
        let response = self
            .manager
            .new_swap(request.into_inner(), token_id)
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn loop_out_push_preimage(
        &self,
        request: Request<ServerLoopOutPushPreimageRequest>,
    ) -> Result<Response<ServerLoopOutPushPreimageResponse>, Status> {
        self.manager
            .push_preimage(&request.get_ref().preimage)
            .await?;
        Ok(Response::new(ServerLoopOutPushPreimageResponse {}))
    }

    type SubscribeLoopOutUpdatesStream = UpdateResultStream;

    #[tracing::instrument(skip_all)]
    async fn subscribe_loop_out_updates(
        &self,
        request: Request<SubscribeUpdatesRequest>,
    ) -> Result<Response<Self::SubscribeLoopOutUpdatesStream>, Status> {
        let hash = Hash32::from_slice(&request.get_ref().swap_hash, "swap_hash")
            .map_err(SwapError::from)?;
        let updates = self.manager.subscribe(hash).await?;
        let stream: UpdateResultStream = Box::pin(updates.map(|u| Ok(update_message(&u))));
        Ok(Response::new(stream))
    }

    #[tracing::instrument(skip_all)]
    async fn cancel_loop_out_swap(
        &self,
        request: Request<CancelLoopOutSwapRequest>,
    ) -> Result<Response<CancelLoopOutSwapResponse>, Status> {
        let token_id = token_id(&request);
        self.manager.cancel(request.into_inner(), token_id).await?;
        Ok(Response::new(CancelLoopOutSwapResponse {}))
    }

    /// Nothing to do: reaching the server through the proxy is the point (the client now holds a token).
    async fn fetch_l402(
        &self,
        _request: Request<FetchL402Request>,
    ) -> Result<Response<FetchL402Response>, Status> {
        Ok(Response::new(FetchL402Response {}))
    }
}
