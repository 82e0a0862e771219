//! Paths are read once, canonically: a dot segment cannot turn a free path into a paid one or one service's
//! path into another's, ambiguous encodings are refused, and the backend sees exactly the canonical path.
//!
//! Requests are sent with raw clients (a TCP socket for HTTP/1.1, hyper's h2 client with prior knowledge),
//! because ordinary clients resolve dot segments before sending.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TestEnv, TestProxy};

/// The status of `GET raw_path` sent byte for byte over HTTP/1.1, with an optional `Authorization`.
async fn http1_status(addr: SocketAddr, raw_path: &str, authorization: Option<&str>) -> u16 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let request =
        format!("GET {raw_path} HTTP/1.1\r\nHost: proxy.test\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let status = text.split(' ').nth(1).expect("a status line");
    status.parse().unwrap()
}

/// The status of `GET raw_path` over h2c, the `:path` pseudo-header exactly as given.
async fn h2_status(addr: SocketAddr, raw_path: &str, authorization: Option<&str>) -> u16 {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut request = http::Request::builder()
        .uri(format!("http://proxy.test{raw_path}"))
        .version(http::Version::HTTP_2);
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    status
}

/// Both protocols, the same answer.
async fn status(proxy: &TestProxy, raw_path: &str, authorization: Option<&str>) -> u16 {
    let one = http1_status(proxy.addr, raw_path, authorization).await;
    let two = h2_status(proxy.addr, raw_path, authorization).await;
    assert_eq!(one, two, "{raw_path}: HTTP/1.1 and h2 disagree");
    one
}

#[tokio::test]
async fn a_dot_segment_does_not_make_a_paid_path_free() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    // `/http/free…` is whitelisted; `/http/data` is paid.
    for raw in [
        "/http/free/../data",
        "/http/free/./../data",
        "/http/free/x/../../data",
    ] {
        assert_eq!(status(&proxy, raw, None).await, 402, "{raw}");
    }
    assert_eq!(env.http.count(), 0, "nothing reached the backend unpaid");
    // A free path stays free, and the backend sees its canonical form.
    assert_eq!(status(&proxy, "/http/x/../free/page", None).await, 200);
    let seen: Vec<String> = env.http.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(seen, ["/http/free/page", "/http/free/page"]);
}

#[tokio::test]
async fn ambiguous_paths_are_refused_before_routing() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    for raw in [
        "/http/free/%2e%2e/data",
        "/http/free/.%2E/data",
        "/http/free/..%2fdata",
        "/http/free%2F..%2Fdata",
        "/http/free/..%5Cdata",
        "/http/free%00",
        "/http/free/%zz",
    ] {
        assert_eq!(status(&proxy, raw, None).await, 400, "{raw}");
        assert_eq!(
            proxy.last_decision(raw).outcome,
            auth_proxy::Outcome::BadPath,
            "{raw}"
        );
    }
    assert_eq!(env.http.count(), 0);
}

#[tokio::test]
async fn a_token_for_one_service_does_not_reach_another_through_dot_segments() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let other = env
        .paid_http(&proxy, "/other/page")
        .await
        .to_authorization();
    let forwarded = env.http.count();
    assert_eq!(status(&proxy, "/other/page", Some(&other)).await, 200);
    // `/other/../http/data` is `/http/data`: service `http`, which this token does not pay for.
    assert_eq!(
        status(&proxy, "/other/../http/data", Some(&other)).await,
        402
    );
    let paths: Vec<String> = env.http.seen()[forwarded..]
        .iter()
        .map(|s| s.path.clone())
        .collect();
    assert_eq!(paths, ["/other/page", "/other/page"]);
}

#[tokio::test]
async fn unreserved_escapes_are_decoded_and_the_query_is_not_a_path() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    assert_eq!(status(&proxy, "/http/%66ree/a?x=%2e%2e", None).await, 200);
    let seen: Vec<String> = env.http.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(seen, ["/http/free/a", "/http/free/a"]);
}
