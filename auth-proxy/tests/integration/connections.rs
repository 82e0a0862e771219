//! What a client can make the listener hold without paying is bounded: silent and idle connections are
//! closed, connections are capped in all and per client (the admin listener keeps serving), header blocks
//! have one limit in both protocols, and a broken or stalled request body is the client's error.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{http_client, TestEnv, TestProxy};

/// Short limits, so each test sees them act within a second.
const LIMITS: &str = "connections:\n  requestheadtimeout: 300ms\n  idletimeout: 300ms\n  bodytimeout: 300ms\n  maxperclient: 3\n  maxheaderbytes: 8192\n";

/// Whether the server closes `stream` within `within` (reads until EOF or an error).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    tokio::time::timeout(within, read).await.is_ok()
}

/// The raw HTTP/1.1 response to `request`, read until the server closes the connection.
async fn http1_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let env = TestEnv::start().await;
    let proxy = env.proxy_with(LIMITS).await;
    let mut silent = TcpStream::connect(proxy.addr).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(3)).await);
    // Half a request head is no better.
    let mut trickling = TcpStream::connect(proxy.addr).await.unwrap();
    trickling
        .write_all(b"GET /http/free HTTP/1.1\r\nHo")
        .await
        .unwrap();
    assert!(closed_within(&mut trickling, Duration::from_secs(3)).await);
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_after_its_last_request() {
    let env = TestEnv::start().await;
    let proxy = env.proxy_with(LIMITS).await;
    let stream = TcpStream::connect(proxy.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::get(format!("http://{}/http/free/a", proxy.addr))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let _ = response.into_body().collect().await;
    // The server ends the connection on its own once it has been idle.
    let ended = tokio::time::timeout(Duration::from_secs(3), connection).await;
    assert!(ended.is_ok(), "the idle h2 connection was kept open");
}

#[tokio::test]
async fn connections_per_client_are_capped_and_the_admin_listener_keeps_serving() {
    let env = TestEnv::start().await;
    // Long timeouts here: the open connections must stay open while the cap is tested.
    let proxy = env
        .proxy_with("connections:\n  maxperclient: 3\n  requestheadtimeout: 30s\n")
        .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(proxy.addr).await.unwrap());
    }
    // Make sure the proxy has counted them: a request on one of them is answered.
    held[0]
        .write_all(b"GET /http/free/x HTTP/1.1\r\nHost: p\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 12];
    held[0].read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200");
    let mut refused = TcpStream::connect(proxy.addr).await.unwrap();
    assert!(
        closed_within(&mut refused, Duration::from_secs(3)).await,
        "a fourth connection from the same client is closed at once"
    );
    let admin = http_client()
        .get(format!("http://{}/v1/tokens", proxy.admin_addr))
        .send()
        .await
        .expect("the admin listener answers");
    assert_eq!(admin.status(), 401, "without its macaroon, but it answers");
    // A place freed is a place to reuse, once the worker serving the closed connection has seen it close.
    drop(held.pop());
    crate::support::eventually(
        Duration::from_secs(10),
        "a new connection is served in the freed place",
        || async {
            let freed = http_client().get(proxy.url("/http/free/y")).send().await;
            freed.is_ok_and(|r| r.status() == 200)
        },
    )
    .await;
}

#[tokio::test]
async fn one_header_limit_for_both_protocols() {
    let env = TestEnv::start().await;
    let proxy: TestProxy = env.proxy_with(LIMITS).await;
    let big = "x".repeat(16 * 1024);
    let request = format!("GET /http/free/a HTTP/1.1\r\nHost: p\r\nX-Big: {big}\r\n\r\n");
    let response = http1_exchange(proxy.addr, request.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response:.60}");

    let stream = TcpStream::connect(proxy.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(format!("http://{}/http/free/a", proxy.addr))
        .header("x-big", &big)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let outcome = sender.send_request(request).await;
    assert!(
        outcome.as_ref().map_or(true, |r| r.status() == 431),
        "an oversized h2 header block must not be served: {outcome:?}"
    );
    assert_eq!(env.http.count(), 0);
}

#[tokio::test]
async fn a_malformed_chunked_body_is_a_client_error() {
    let env = TestEnv::start().await;
    let proxy = env.proxy_with(LIMITS).await;
    let request = b"POST /http/free/upload HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot hex\r\n0\r\n\r\n";
    let response = http1_exchange(proxy.addr, request).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response:.80}");
}

#[tokio::test]
async fn a_stalled_request_body_times_out() {
    let env = TestEnv::start().await;
    let proxy = env.proxy_with(LIMITS).await;
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    stream
        .write_all(
            b"POST /http/free/upload HTTP/1.1\r\nHost: p\r\nContent-Length: 100\r\n\r\nonly ten b",
        )
        .await
        .unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response:.80}");
}
