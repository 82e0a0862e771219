//! When the proxy answers before the request body has ended (here a gRPC challenge, sent as soon as the
//! headers show no token), the client's HTTP/2 stream ends normally once the client has sent the rest:
//! the proxy reads and discards it instead of resetting the stream, which some clients (curl 7.88) take for
//! an empty reply. The discarding is bounded in bytes and in time, after which the stream is reset as before.

use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use auth_proxy::body::DISCARD_MAX_BYTES;
use bytes::Bytes;
use h2::client::SendRequest;
use h2::{Reason, SendStream};
use tokio::net::TcpStream;

use crate::support::{TestEnv, TestProxy};

/// An empty gRPC message: no compression flag, length 0.
const EMPTY_MESSAGE: &[u8] = &[0, 0, 0, 0, 0];

/// An HTTP/2 (h2c) connection to the proxy, driven by a task of its own.
async fn connect(proxy: &TestProxy) -> SendRequest<Bytes> {
    let tcp = TcpStream::connect(proxy.addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    client.ready().await.unwrap()
}

/// The gRPC call every test makes: unpaid, so answered with a challenge as soon as its headers are read.
const CALL: &str = "/looprpc.SwapServer/LoopOutTerms";

/// A POST of [`CALL`] whose body stays open; returns the answer's headers and the stream to send the body on.
async fn post_with_open_body(
    client: &mut SendRequest<Bytes>,
    proxy: &TestProxy,
) -> (http::response::Parts, SendStream<Bytes>) {
    let request = http::Request::post(proxy.url(CALL))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, body) = client.send_request(request, false).unwrap();
    let (parts, _) = response.await.unwrap().into_parts();
    (parts, body)
}

/// Whether the proxy has reset `stream`, as known once the answer to a later request on the same connection
/// has arrived: the proxy's frames arrive in order, so a reset sent before that answer has been seen.
async fn reset_so_far(
    client: &mut SendRequest<Bytes>,
    proxy: &TestProxy,
    stream: &mut SendStream<Bytes>,
) -> Option<Reason> {
    let later = http::Request::get(proxy.url("/nowhere")).body(()).unwrap();
    let (answer, _) = client.send_request(later, true).unwrap();
    assert_eq!(answer.await.unwrap().status(), 404);
    match poll_fn(|cx| Poll::Ready(stream.poll_reset(cx))).await {
        Poll::Ready(reason) => Some(reason.unwrap()),
        Poll::Pending => None,
    }
}

/// Waits for the proxy to reset `stream` (bounded by a generous guard).
async fn reset_within(stream: &mut SendStream<Bytes>, guard: Duration) -> Reason {
    tokio::time::timeout(guard, poll_fn(|cx| stream.poll_reset(cx)))
        .await
        .expect("the proxy never reset the stream")
        .unwrap()
}

#[tokio::test]
async fn a_challenge_sent_before_the_body_ends_leaves_the_stream_open_for_the_rest() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let mut client = connect(&proxy).await;

    let (answer, mut body) = post_with_open_body(&mut client, &proxy).await;
    assert_eq!(answer.headers["grpc-status"], "13", "{answer:?}");
    assert_eq!(reset_so_far(&mut client, &proxy, &mut body).await, None);

    // The rest of the body is taken, and the connection goes on serving.
    body.send_data(Bytes::from_static(EMPTY_MESSAGE), true)
        .unwrap();
    let (again, _) = post_with_open_body(&mut client, &proxy).await;
    assert_eq!(again.headers["grpc-status"], "13");
}

#[tokio::test]
async fn the_rest_of_a_body_is_discarded_only_up_to_its_bound() {
    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let mut client = connect(&proxy).await;

    // More than the proxy discards: the stream is reset once the bound is passed.
    let (_, mut large) = post_with_open_body(&mut client, &proxy).await;
    large
        .send_data(Bytes::from(vec![0; DISCARD_MAX_BYTES + 1]), false)
        .unwrap();
    assert_eq!(
        reset_within(&mut large, Duration::from_secs(5)).await,
        Reason::NO_ERROR
    );

    // A body that never ends: reset once the discarding time is over.
    let (_, mut endless) = post_with_open_body(&mut client, &proxy).await;
    assert_eq!(
        reset_within(&mut endless, Duration::from_secs(5)).await,
        Reason::NO_ERROR
    );
}
