//! Real backends behind the proxy: an axum HTTP service and a tonic `looprpc.SwapServer`, both recording the
//! requests they receive so tests can check what was (and was not) forwarded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::any;
use axum::Router;
use proto::looprpc::swap_server_server::{SwapServer, SwapServerServer};
use proto::looprpc::*;
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

/// What a backend saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body_len: usize,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// The HTTP backend: answers every path with `hello <path>` and the body length (`…/slow` after 500 ms).
pub struct HttpBackend {
    pub addr: SocketAddr,
    seen: Log,
}

impl HttpBackend {
    pub async fn start() -> HttpBackend {
        let seen: Log = Arc::default();
        let app = Router::new()
            .fallback(any(handler))
            .with_state(seen.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        HttpBackend { addr, seen }
    }

    /// Requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests reached the backend.
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn handler(
    State(seen): State<Log>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> String {
    seen.lock().unwrap().push(Seen {
        path: uri.path().to_owned(),
        headers,
        body_len: body.len(),
    });
    // A deliberately slow endpoint (recorded on arrival), for the graceful-shutdown test.
    if uri.path().ends_with("/slow") {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    format!("hello {} ({} bytes)", uri.path(), body.len())
}

/// The gRPC backend: a small `SwapServer` recording every call's metadata.
pub struct GrpcBackend {
    pub addr: SocketAddr,
    seen: Log,
}

impl GrpcBackend {
    pub async fn start() -> GrpcBackend {
        let seen: Log = Arc::default();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = SwapServerServer::new(TestSwapServer { seen: seen.clone() });
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap()
        });
        GrpcBackend { addr, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

struct TestSwapServer {
    seen: Log,
}

impl TestSwapServer {
    fn record<T>(&self, method: &str, request: &Request<T>) {
        self.seen.lock().unwrap().push(Seen {
            path: format!("/looprpc.SwapServer/{method}"),
            headers: request.metadata().clone().into_headers(),
            body_len: 0,
        });
    }
}

#[tonic::async_trait]
impl SwapServer for TestSwapServer {
    async fn loop_out_terms(
        &self,
        request: Request<ServerLoopOutTermsRequest>,
    ) -> Result<Response<ServerLoopOutTerms>, Status> {
        self.record("LoopOutTerms", &request);
        Ok(Response::new(ServerLoopOutTerms {
            min_swap_amount: 250_000,
            max_swap_amount: 5_000_000,
            min_cltv_delta: 40,
            max_cltv_delta: 200,
        }))
    }

    async fn new_loop_out_swap(
        &self,
        request: Request<ServerLoopOutRequest>,
    ) -> Result<Response<ServerLoopOutResponse>, Status> {
        self.record("NewLoopOutSwap", &request);
        Err(Status::failed_precondition("test backend does not swap"))
    }

    async fn loop_out_push_preimage(
        &self,
        request: Request<ServerLoopOutPushPreimageRequest>,
    ) -> Result<Response<ServerLoopOutPushPreimageResponse>, Status> {
        self.record("LoopOutPushPreimage", &request);
        Ok(Response::new(ServerLoopOutPushPreimageResponse::default()))
    }

    async fn loop_out_quote(
        &self,
        request: Request<ServerLoopOutQuoteRequest>,
    ) -> Result<Response<ServerLoopOutQuote>, Status> {
        self.record("LoopOutQuote", &request);
        let amt = request.get_ref().amt;
        Ok(Response::new(ServerLoopOutQuote {
            swap_fee: (amt / 100) as i64,
            prepay_amt: 1_000,
            ..Default::default()
        }))
    }

    type SubscribeLoopOutUpdatesStream =
        tokio_stream::Iter<std::vec::IntoIter<Result<SubscribeLoopOutUpdatesResponse, Status>>>;

    async fn subscribe_loop_out_updates(
        &self,
        request: Request<SubscribeUpdatesRequest>,
    ) -> Result<Response<Self::SubscribeLoopOutUpdatesStream>, Status> {
        self.record("SubscribeLoopOutUpdates", &request);
        let updates = (0..3).map(|state| {
            Ok(SubscribeLoopOutUpdatesResponse {
                timestamp_ns: 1_000 + state,
                state: state as i32,
            })
        });
        Ok(Response::new(tokio_stream::iter(
            updates.collect::<Vec<_>>(),
        )))
    }

    async fn cancel_loop_out_swap(
        &self,
        request: Request<CancelLoopOutSwapRequest>,
    ) -> Result<Response<CancelLoopOutSwapResponse>, Status> {
        self.record("CancelLoopOutSwap", &request);
        Ok(Response::new(CancelLoopOutSwapResponse::default()))
    }

    async fn fetch_l402(
        &self,
        request: Request<FetchL402Request>,
    ) -> Result<Response<FetchL402Response>, Status> {
        self.record("FetchL402", &request);
        Ok(Response::new(FetchL402Response::default()))
    }
}
