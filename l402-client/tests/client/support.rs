//! Test doubles for the L402 client: invoices, a payer, challenge servers.
//! Token files a crashed client leaves behind come from [`testkit::tokens`].

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use bitcoin_hashes::Hash;
use futures::future::BoxFuture;
use l402::{
    verify_with_lookup, Challenge, Credential, MintRequest, PaymentHash, RequestContext, RootKey,
    Service, TokenId,
};
use l402_client::{
    L402Client, L402Config, Payer, PayerError, PaymentOutcome, PaymentSuccess, TokenStore,
};
use lightning_invoice::{Currency, InvoiceBuilder, PaymentSecret};
use proto::looprpc::swap_server_server::{SwapServer, SwapServerServer};
use proto::looprpc::*;
use secp256k1::{Secp256k1, SecretKey};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

/// Routing fee the fake payer charges per payment.
pub const FEE_MSAT: u64 = 1_000;

/// Creates invoices whose preimages it remembers (the "payee").
pub struct Invoicer {
    key: SecretKey,
    preimages: Mutex<HashMap<[u8; 32], [u8; 32]>>,
}

impl Invoicer {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            key: SecretKey::from_slice(&[0x42; 32]).unwrap(),
            preimages: Mutex::new(HashMap::new()),
        })
    }

    /// A regtest invoice of `amount_msat` and its payment hash.
    pub fn invoice(&self, amount_msat: u64) -> (String, PaymentHash) {
        let preimage: [u8; 32] = rand::random();
        let hash = bitcoin_hashes::sha256::Hash::hash(&preimage).to_byte_array();
        self.preimages.lock().unwrap().insert(hash, preimage);
        let secp = Secp256k1::new();
        let invoice = InvoiceBuilder::new(Currency::Regtest)
            .description("L402".into())
            .payment_hash(bitcoin_hashes::sha256::Hash::from_byte_array(hash))
            .payment_secret(PaymentSecret(rand::random()))
            .current_timestamp()
            .min_final_cltv_expiry_delta(144)
            .amount_milli_satoshis(amount_msat)
            .build_signed(|m| secp.sign_ecdsa_recoverable(m, &self.key))
            .unwrap();
        (invoice.to_string(), PaymentHash(hash))
    }

    fn preimage(&self, hash: &[u8; 32]) -> Option<[u8; 32]> {
        self.preimages.lock().unwrap().get(hash).copied()
    }
}

/// A [`Payer`] settling invoices of an [`Invoicer`], with failure injection.
pub struct FakePayer {
    invoicer: Arc<Invoicer>,
    payments: AtomicUsize,
    fail_next: AtomicUsize,
    latency: Mutex<Duration>,
    settled: Mutex<HashMap<[u8; 32], PaymentSuccess>>,
    failed: Mutex<HashSet<[u8; 32]>>,
    in_flight: Mutex<HashMap<[u8; 32], (tokio::time::Instant, PaymentSuccess)>>,
}

impl FakePayer {
    pub fn new(invoicer: Arc<Invoicer>) -> Arc<Self> {
        Arc::new(Self {
            invoicer,
            payments: AtomicUsize::new(0),
            fail_next: AtomicUsize::new(0),
            latency: Mutex::new(Duration::ZERO),
            settled: Mutex::new(HashMap::new()),
            failed: Mutex::new(HashSet::new()),
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    /// Payments sent so far.
    pub fn payments(&self) -> usize {
        self.payments.load(Ordering::SeqCst)
    }

    /// The next `n` payments fail with NO_ROUTE.
    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Each payment takes this long.
    pub fn set_latency(&self, latency: Duration) {
        *self.latency.lock().unwrap() = latency;
    }

    async fn send(&self, hash: [u8; 32], timeout: Duration) -> Result<PaymentOutcome, PayerError> {
        if let Some(done) = self.settled.lock().unwrap().get(&hash) {
            return Ok(PaymentOutcome::Succeeded(done.clone()));
        }
        if self.in_flight.lock().unwrap().contains_key(&hash) {
            return self.follow(hash, timeout).await;
        }
        self.payments.fetch_add(1, Ordering::SeqCst);
        let latency = *self.latency.lock().unwrap();
        if latency > timeout {
            // Still in flight when the caller stops waiting; settles later.
            let preimage = l402::Preimage::from_bytes(self.invoicer.preimage(&hash).unwrap());
            let success = PaymentSuccess {
                preimage,
                amount_paid_msat: 0,
                routing_fee_msat: FEE_MSAT,
            };
            let settle_at = tokio::time::Instant::now() + latency;
            self.in_flight
                .lock()
                .unwrap()
                .insert(hash, (settle_at, success));
            return self.follow(hash, timeout).await;
        }
        tokio::time::sleep(latency).await;
        let failing = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            self.failed.lock().unwrap().insert(hash);
            return Ok(PaymentOutcome::Failed {
                reason: "FAILURE_REASON_NO_ROUTE".into(),
            });
        }
        let preimage = self
            .invoicer
            .preimage(&hash)
            .map(l402::Preimage::from_bytes)
            .ok_or_else(|| PayerError::InvalidPayment("unknown invoice".into()))?;
        let success = PaymentSuccess {
            preimage,
            amount_paid_msat: 0,
            routing_fee_msat: FEE_MSAT,
        };
        self.settled.lock().unwrap().insert(hash, success.clone());
        Ok(PaymentOutcome::Succeeded(success))
    }

    /// Waits (at most `timeout`) for an in-flight payment to settle.
    async fn follow(
        &self,
        hash: [u8; 32],
        timeout: Duration,
    ) -> Result<PaymentOutcome, PayerError> {
        let Some((settle_at, success)) = self.in_flight.lock().unwrap().get(&hash).cloned() else {
            return Ok(PaymentOutcome::NotFound);
        };
        let deadline = tokio::time::Instant::now() + timeout;
        tokio::time::sleep_until(settle_at.min(deadline)).await;
        if tokio::time::Instant::now() < settle_at {
            return Ok(PaymentOutcome::InFlight);
        }
        self.in_flight.lock().unwrap().remove(&hash);
        self.settled.lock().unwrap().insert(hash, success.clone());
        Ok(PaymentOutcome::Succeeded(success))
    }
}

impl Payer for FakePayer {
    fn pay<'a>(
        &'a self,
        invoice: &'a str,
        payment_hash: l402::PaymentHash,
        _max_fee_sat: u64,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<PaymentOutcome, PayerError>> {
        let amount_msat = invoice
            .parse::<lightning_invoice::Bolt11Invoice>()
            .ok()
            .and_then(|i| i.amount_milli_satoshis())
            .unwrap_or(0);
        Box::pin(async move {
            let outcome = self.send(payment_hash.0, timeout).await?;
            Ok(match outcome {
                PaymentOutcome::Succeeded(mut s) => {
                    s.amount_paid_msat = amount_msat;
                    PaymentOutcome::Succeeded(s)
                }
                other => other,
            })
        })
    }

    fn track(
        &self,
        payment_hash: l402::PaymentHash,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<PaymentOutcome, PayerError>> {
        let payment_hash = payment_hash.0;
        Box::pin(async move {
            if let Some(done) = self.settled.lock().unwrap().get(&payment_hash) {
                return Ok(PaymentOutcome::Succeeded(done.clone()));
            }
            if self.in_flight.lock().unwrap().contains_key(&payment_hash) {
                return self.follow(payment_hash, timeout).await;
            }
            if self.failed.lock().unwrap().contains(&payment_hash) {
                return Ok(PaymentOutcome::Failed {
                    reason: "FAILURE_REASON_NO_ROUTE".into(),
                });
            }
            Ok(PaymentOutcome::NotFound)
        })
    }
}

/// The server side of L402: mints challenges, verifies credentials.
pub struct Gate {
    pub invoicer: Arc<Invoicer>,
    price_sat: AtomicU64,
    root_keys: Mutex<HashMap<String, RootKey>>,
    challenges: AtomicUsize,
    accepted: Mutex<Vec<TokenId>>,
    reject_all: std::sync::atomic::AtomicBool,
}

impl Gate {
    pub fn new(price_sat: u64) -> Arc<Self> {
        Arc::new(Self {
            invoicer: Invoicer::new(),
            price_sat: AtomicU64::new(price_sat),
            root_keys: Mutex::new(HashMap::new()),
            challenges: AtomicUsize::new(0),
            accepted: Mutex::new(Vec::new()),
            reject_all: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Challenges issued so far.
    pub fn challenges(&self) -> usize {
        self.challenges.load(Ordering::SeqCst)
    }

    /// Token ids of every accepted request, in order.
    pub fn accepted(&self) -> Vec<TokenId> {
        self.accepted.lock().unwrap().clone()
    }

    /// From now on, rejects every credential (challenges every request).
    pub fn reject_all(&self) {
        self.reject_all.store(true, Ordering::SeqCst);
    }

    /// Forgets every root key: every token issued so far is revoked.
    pub fn revoke_all(&self) {
        self.root_keys.lock().unwrap().clear();
    }

    /// A fresh challenge's two `WWW-Authenticate` values (LSAT, then L402).
    pub fn challenge(&self) -> [String; 2] {
        self.challenges.fetch_add(1, Ordering::SeqCst);
        let price = self.price_sat.load(Ordering::SeqCst);
        let (invoice, hash) = self.invoicer.invoice(price * 1000);
        let minted = MintRequest::new(hash)
            .service(Service::new("loop", 0).unwrap())
            .mint()
            .unwrap();
        self.root_keys
            .lock()
            .unwrap()
            .insert(minted.identifier_hash.to_hex(), minted.root_key.clone());
        Challenge::new(minted.macaroon, &invoice)
            .unwrap()
            .header_values()
    }

    /// The token id of a valid credential in `headers`.
    pub fn authorize(&self, headers: &HeaderMap) -> Option<TokenId> {
        if self.reject_all.load(Ordering::SeqCst) {
            return None;
        }
        let credential = Credential::from_headers(headers).ok()?;
        let keys = self.root_keys.lock().unwrap();
        let verified = verify_with_lookup(
            &credential,
            |h| keys.get(&h.to_hex()).cloned(),
            &RequestContext::new("loop", SystemTime::now()),
        )
        .ok()?;
        drop(keys);
        self.accepted.lock().unwrap().push(verified.token_id());
        Some(verified.token_id())
    }
}

/// A running server; stops on drop.
pub struct Running {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

/// Serves `app` on an ephemeral port until the returned handle is dropped.
async fn serve(app: axum::Router) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running { addr, _stop: stop }
}

/// An HTTP API behind L402: `/hello` (any method) answers `hello <token id>`.
pub async fn http_server(gate: Arc<Gate>) -> Running {
    let app = axum::Router::new().route(
        "/hello",
        axum::routing::any(move |headers: HeaderMap| {
            let gate = gate.clone();
            async move {
                match gate.authorize(&headers) {
                    Some(id) => (StatusCode::OK, format!("hello {id}")).into_response(),
                    None => {
                        let mut response =
                            (StatusCode::PAYMENT_REQUIRED, "payment required\n").into_response();
                        for value in gate.challenge() {
                            response
                                .headers_mut()
                                .append("www-authenticate", value.parse().unwrap());
                        }
                        response
                    }
                }
            }
        }),
    );
    serve(app).await
}

/// A `looprpc.SwapServer` whose `LoopOutTerms` is behind L402 (the other
/// methods answer Unimplemented once authorised).
struct TermsOnly;

#[tonic::async_trait]
impl SwapServer for TermsOnly {
    async fn loop_out_terms(
        &self,
        _: Request<ServerLoopOutTermsRequest>,
    ) -> Result<Response<ServerLoopOutTerms>, Status> {
        Ok(Response::new(ServerLoopOutTerms {
            min_swap_amount: 250_000,
            max_swap_amount: 5_000_000,
            min_cltv_delta: 20,
            max_cltv_delta: 200,
        }))
    }

    async fn new_loop_out_swap(
        &self,
        _: Request<ServerLoopOutRequest>,
    ) -> Result<Response<ServerLoopOutResponse>, Status> {
        Err(Status::unimplemented("not in this test server"))
    }

    async fn loop_out_push_preimage(
        &self,
        _: Request<ServerLoopOutPushPreimageRequest>,
    ) -> Result<Response<ServerLoopOutPushPreimageResponse>, Status> {
        Err(Status::unimplemented("not in this test server"))
    }

    async fn loop_out_quote(
        &self,
        _: Request<ServerLoopOutQuoteRequest>,
    ) -> Result<Response<ServerLoopOutQuote>, Status> {
        Err(Status::unimplemented("not in this test server"))
    }

    type SubscribeLoopOutUpdatesStream = Pin<
        Box<dyn futures::Stream<Item = Result<SubscribeLoopOutUpdatesResponse, Status>> + Send>,
    >;

    async fn subscribe_loop_out_updates(
        &self,
        _: Request<SubscribeUpdatesRequest>,
    ) -> Result<Response<Self::SubscribeLoopOutUpdatesStream>, Status> {
        Err(Status::unimplemented("not in this test server"))
    }

    async fn cancel_loop_out_swap(
        &self,
        _: Request<CancelLoopOutSwapRequest>,
    ) -> Result<Response<CancelLoopOutSwapResponse>, Status> {
        Err(Status::unimplemented("not in this test server"))
    }

    async fn fetch_l402(
        &self,
        _: Request<FetchL402Request>,
    ) -> Result<Response<FetchL402Response>, Status> {
        Err(Status::unimplemented("not in this test server"))
    }
}

/// A gRPC server answering challenges the way Aperture does: a trailers-only
/// response with status Internal, "payment required" and `www-authenticate`.
pub async fn grpc_server(gate: Arc<Gate>) -> Running {
    let interceptor = move |request: Request<()>| {
        let headers = request.metadata().clone().into_headers();
        if gate.authorize(&headers).is_some() {
            return Ok(request);
        }
        let mut metadata = tonic::metadata::MetadataMap::new();
        for value in gate.challenge() {
            metadata.append("www-authenticate", value.parse().unwrap());
        }
        Err(Status::with_metadata(
            tonic::Code::Internal,
            "payment required",
            metadata,
        ))
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(SwapServerServer::with_interceptor(TermsOnly, interceptor))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async {
                    let _ = stopped.await;
                },
            )
            .await
            .unwrap();
    });
    Running { addr, _stop: stop }
}

/// A gRPC server that sends its challenge in the *trailers* of a regular
/// (headers, then trailers) response instead of a trailers-only one.
pub async fn grpc_server_trailers(gate: Arc<Gate>) -> Running {
    let grpc = tonic::service::Routes::new(SwapServerServer::new(TermsOnly)).into_axum_router();
    let app = grpc.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let gate = gate.clone();
            async move {
                if gate.authorize(request.headers()).is_some() {
                    return next.run(request).await;
                }
                let mut trailers = HeaderMap::new();
                trailers.insert("grpc-status", "13".parse().unwrap());
                trailers.insert("grpc-message", "payment%20required".parse().unwrap());
                for value in gate.challenge() {
                    trailers.append("www-authenticate", value.parse().unwrap());
                }
                let frames = futures::stream::iter([Ok::<_, std::convert::Infallible>(
                    http_body::Frame::trailers(trailers),
                )]);
                axum::response::Response::builder()
                    .header("content-type", "application/grpc")
                    .body(axum::body::Body::new(http_body_util::StreamBody::new(
                        frames,
                    )))
                    .unwrap()
            }
        },
    ));
    serve(app).await
}

/// What the L402 client tests share: a gate, a payer, a token directory and
/// a server (HTTP or gRPC) in front of the gate.
pub struct L402Env {
    pub gate: Arc<Gate>,
    pub payer: Arc<FakePayer>,
    pub server: Running,
    pub dir: tempfile::TempDir,
}

impl L402Env {
    /// The HTTP API (`GET /hello`) behind a gate charging `price_sat`.
    pub async fn http(price_sat: u64) -> Self {
        let gate = Gate::new(price_sat);
        let server = http_server(gate.clone()).await;
        Self::with(gate, server)
    }

    /// The gRPC server sending challenges in trailers, behind a gate charging `price_sat`.
    pub async fn grpc_trailers(price_sat: u64) -> Self {
        let gate = Gate::new(price_sat);
        let server = grpc_server_trailers(gate.clone()).await;
        Self::with(gate, server)
    }

    /// The gRPC server behind a gate charging `price_sat`.
    pub async fn grpc(price_sat: u64) -> Self {
        let gate = Gate::new(price_sat);
        let server = grpc_server(gate.clone()).await;
        Self::with(gate, server)
    }

    fn with(gate: Arc<Gate>, server: Running) -> Self {
        Self {
            payer: FakePayer::new(gate.invoicer.clone()),
            gate,
            server,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// An L402 client (a new "process") on the shared token directory.
    pub fn l402(&self, max_cost_sat: u64) -> L402Client {
        self.l402_with(L402Config {
            max_cost_sat,
            ..L402Config::default()
        })
    }

    /// An L402 client with this configuration.
    pub fn l402_with(&self, config: L402Config) -> L402Client {
        L402Client::new(self.store(), self.payer.clone(), config).unwrap()
    }

    /// The token store.
    pub fn store(&self) -> TokenStore {
        TokenStore::open(self.dir.path()).unwrap()
    }
}
