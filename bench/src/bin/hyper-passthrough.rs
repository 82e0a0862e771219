//! `hyper-passthrough LISTEN HTTP_BACKEND GRPC_BACKEND`: the benchmark's measure of the HTTP stack itself.
//!
//! A reverse proxy built from the same parts as auth-proxy and shaped the same way, doing nothing else: no
//! L402, no routing table, no limits, no logging, no metrics. hyper's server (HTTP/1.1 and h2c) on one
//! single-threaded runtime per core, connections handed out by an acceptor in turn, each worker with its own
//! hyper-util pools to the backends (HTTP/1.1 to `HTTP_BACKEND`, h2c to `GRPC_BACKEND` for paths under
//! `/looprpc`), mimalloc as the allocator. Whatever auth-proxy cannot do faster than this, no work of its
//! own could buy back: `proxy-bench` measures it beside auth-proxy as the stack's ceiling on the machine.
//!
//! A benchmark tool, not a proxy to deploy: it forwards anything to anyone.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::uri::{Authority, Scheme};
use http::{header, Request, Response, StatusCode, Uri, Version};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::sync::mpsc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The body of every answer: the backend's, or nothing when it could not be reached.
type Body = UnsyncBoxBody<Bytes, hyper::Error>;

/// One worker's pools to the two backends.
struct Backends {
    http: (Authority, Client<HttpConnector, Incoming>),
    grpc: (Authority, Client<HttpConnector, Incoming>),
}

impl Backends {
    fn new(http: Authority, grpc: Authority) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new());
        Backends {
            http: (http, client.build(tcp.clone())),
            grpc: (grpc, client.clone().http2_only(true).build(tcp)),
        }
    }

    /// Sends `request` to its backend and hands back the answer, or a bare 502.
    async fn forward(&self, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
        let grpc = request.uri().path().starts_with("/looprpc");
        let ((authority, client), version) = if grpc {
            (&self.grpc, Version::HTTP_2)
        } else {
            (&self.http, Version::HTTP_11)
        };
        let (mut parts, body) = request.into_parts();
        let mut uri = std::mem::take(&mut parts.uri).into_parts();
        uri.scheme = Some(Scheme::HTTP);
        uri.authority = Some(authority.clone());
        parts.uri = Uri::from_parts(uri).expect("scheme, authority and path make a URI");
        parts.version = version;
        // The client's Host names this proxy; the backend's comes from the URI.
        parts.headers.remove(header::HOST);
        Ok(
            match client.request(Request::from_parts(parts, body)).await {
                Ok(response) => response.map(BodyExt::boxed_unsync),
                Err(_) => {
                    let empty = Empty::new().map_err(|never| match never {}).boxed_unsync();
                    let mut response = Response::new(empty);
                    *response.status_mut() = StatusCode::BAD_GATEWAY;
                    response
                }
            },
        )
    }
}

/// Starts a worker thread serving the connections sent to the returned channel.
fn worker(
    index: usize,
    http: Authority,
    grpc: Authority,
) -> mpsc::UnboundedSender<std::net::TcpStream> {
    let (send, mut connections) = mpsc::unbounded_channel::<std::net::TcpStream>();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a worker runtime");
    std::thread::Builder::new()
        .name(format!("passthrough-worker-{index}"))
        .spawn(move || {
            runtime.block_on(async move {
                let backends = Arc::new(Backends::new(http, grpc));
                let server = auto::Builder::new(TokioExecutor::new());
                while let Some(stream) = connections.recv().await {
                    let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
                        continue;
                    };
                    let backends = Arc::clone(&backends);
                    let server = server.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            let backends = Arc::clone(&backends);
                            async move { backends.forward(request).await }
                        });
                        // A connection's end, clean or not, is nothing to report here.
                        let _ = server.serve_connection(TokioIo::new(stream), service).await;
                    });
                }
            });
        })
        .expect("a worker thread");
    send
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, http, grpc] = args.as_slice() else {
        eprintln!("usage: hyper-passthrough LISTEN HTTP_BACKEND GRPC_BACKEND");
        std::process::exit(2);
    };
    let listen: SocketAddr = listen.parse().expect("LISTEN is an address and port");
    let http: Authority = http.parse().expect("HTTP_BACKEND is host:port");
    let grpc: Authority = grpc.parse().expect("GRPC_BACKEND is host:port");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let workers: Vec<_> = (0..cores)
        .map(|index| worker(index, http.clone(), grpc.clone()))
        .collect();
    let listener = std::net::TcpListener::bind(listen).expect("LISTEN can be bound");
    for (stream, worker) in listener.incoming().zip(workers.iter().cycle()) {
        let Ok(stream) = stream else { continue };
        if stream.set_nodelay(true).is_ok() && stream.set_nonblocking(true).is_ok() {
            // A worker only stops with the process.
            let _ = worker.send(stream);
        }
    }
}
