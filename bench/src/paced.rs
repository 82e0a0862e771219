//! Latency below saturation: gRPC unary calls (`looprpc.SwapServer/LoopOutTerms`) sent open-loop at a fixed
//! rate, each call's latency counted from the moment it was released.
//!
//! Open-loop means a call is sent when the schedule says so, whether or not earlier calls have been
//! answered: a slow answer cannot hold back the calls behind it and so hide its own cost (the "coordinated
//! omission" of a closed-loop generator, where only a finished call frees the slot for the next). h2load's
//! `--rps` is of that kind, and it also releases its calls in bursts on a 10 ms timer: with 32 streams its
//! latencies measured how fast a burst drains, which is the saturating rate again, not what a call costs.
//!
//! Here a thread of its own keeps the schedule: it sleeps 50 µs at a time (a thread's sleep is precise to
//! tens of microseconds; the async runtime's timer only to a millisecond) and releases the calls that fell
//! due meanwhile, one or two at this rate. The calls go out on one HTTP/2 connection through hyper's bare
//! client on a single-threaded runtime: a generator sharing the machine with what it measures should cost as
//! little as it can. Each call is h2load's: a POST of an empty request message, answered 200 with
//! `grpc-status: 0`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use crate::load::Run;

/// The schedule's sleep between releases.
const STEP: Duration = Duration::from_micros(50);

/// The body of every call.
const EMPTY_MESSAGE: Bytes = Bytes::from_static(&crate::grpc::EMPTY_REQUEST);

/// One paced run: its rate and outcome, and every completed call's latency.
#[derive(Debug)]
pub struct PacedRun {
    /// Calls completed, their rate, and how many did not succeed.
    pub run: Run,
    /// Every completed call's latency, from the instant it was released.
    pub latencies: Vec<Duration>,
}

/// Calls `LoopOutTerms` at `addr` (h2c) `rate` times a second for `duration`, sending `extra_headers`
/// (`Name: value` lines, as wrk and h2load take them) with every call. Runs on a thread of its own, so it
/// may be called from anywhere.
pub fn grpc(
    addr: SocketAddr,
    extra_headers: &[String],
    rate: u64,
    duration: Duration,
) -> anyhow::Result<PacedRun> {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/grpc"));
    headers.insert("te", HeaderValue::from_static("trailers"));
    for line in extra_headers {
        // The line is not quoted in the errors: it may carry a credential.
        let (name, value) = line
            .split_once(':')
            .context("a header line is not `Name: value`")?;
        let name = HeaderName::try_from(name.trim()).context("a header name is invalid")?;
        let value = HeaderValue::try_from(value.trim()).context("a header value is invalid")?;
        headers.append(name, value);
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("starting the paced client's runtime")?
                    .block_on(drive(addr, headers, rate.max(1), duration))
            })
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the paced client panicked")))
    })
}

/// Connects, releases the calls on the schedule of [`release`] and waits for every answer.
async fn drive(
    addr: SocketAddr,
    headers: HeaderMap,
    rate: u64,
    duration: Duration,
) -> anyhow::Result<PacedRun> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .with_context(|| format!("HTTP/2 handshake with {addr}"))?;
    tokio::spawn(connection);
    let uri: Uri = format!("http://{addr}/looprpc.SwapServer/LoopOutTerms").parse()?;
    let (releases, mut released) = tokio::sync::mpsc::unbounded_channel();
    let schedule = std::thread::spawn(move || release(&releases, rate, duration));
    let mut calls = JoinSet::new();
    let mut sent = 0u64;
    while let Some(at) = released.recv().await {
        let mut request = Request::post(uri.clone()).body(Full::new(EMPTY_MESSAGE))?;
        *request.headers_mut() = headers.clone();
        let sender = sender.clone();
        calls.spawn(async move {
            let succeeded = call(sender, request).await;
            (succeeded, at.elapsed())
        });
        sent += 1;
    }
    schedule
        .join()
        .map_err(|_| anyhow::anyhow!("the schedule's thread panicked"))?;
    let mut latencies = Vec::with_capacity(sent as usize);
    let mut failed = 0;
    while let Some(call) = calls.join_next().await {
        let (succeeded, latency) = call.context("a paced call's task failed")?;
        failed += u64::from(!succeeded);
        latencies.push(latency);
    }
    let requests = latencies.len() as u64;
    Ok(PacedRun {
        run: Run {
            rate: requests as f64 / duration.as_secs_f64(),
            non_success: failed,
            requests,
        },
        latencies,
    })
}

/// Sends one call and reads its answer to the end: whether it succeeded (HTTP 200 and `grpc-status: 0`,
/// in the trailers or, for an answer without a message, in the headers).
async fn call(mut sender: SendRequest<Full<Bytes>>, request: Request<Full<Bytes>>) -> bool {
    let Ok(response) = sender.send_request(request).await else {
        return false;
    };
    let (head, body) = response.into_parts();
    let Ok(body) = body.collect().await else {
        return false;
    };
    let grpc_status = body
        .trailers()
        .and_then(|trailers| trailers.get("grpc-status"))
        .or_else(|| head.headers.get("grpc-status"));
    head.status == http::StatusCode::OK && grpc_status.is_some_and(|status| status == "0")
}

/// The schedule: sends the instant each call is released, `rate` a second for `duration` (so
/// `rate × duration` calls in all), waking every [`STEP`] to release whatever fell due meanwhile.
fn release(releases: &UnboundedSender<std::time::Instant>, rate: u64, duration: Duration) {
    let start = std::time::Instant::now();
    let mut sent = 0u64;
    loop {
        let now = std::time::Instant::now();
        let elapsed = (now - start).min(duration);
        let due = (elapsed.as_secs_f64() * rate as f64).round() as u64;
        for _ in sent..due {
            if releases.send(now).is_err() {
                return;
            }
        }
        sent = due;
        if elapsed == duration {
            return;
        }
        std::thread::sleep(STEP);
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::Response;
    use http_body_util::{Empty, StreamBody};
    use hyper::body::{Frame, Incoming};
    use hyper::service::service_fn;
    use tokio::net::TcpListener;

    use super::*;

    /// A gRPC server in miniature: answers every call 200 with `grpc-status: 0` in the trailers when it
    /// carries `authorization: L402 ok`, else 200 with `grpc-status: 16` (unauthenticated) in the headers.
    async fn server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let answer = service_fn(|request: Request<Incoming>| async move {
                    let admitted = request
                        .headers()
                        .get("authorization")
                        .is_some_and(|v| v == "L402 ok");
                    let response = if admitted {
                        let mut trailers = HeaderMap::new();
                        trailers.insert("grpc-status", HeaderValue::from_static("0"));
                        let frames = [Frame::data(EMPTY_MESSAGE), Frame::trailers(trailers)];
                        let body =
                            StreamBody::new(futures::stream::iter(frames.map(Ok::<_, Infallible>)));
                        Response::new(body.boxed())
                    } else {
                        let mut response =
                            Response::new(Empty::new().map_err(|e| match e {}).boxed());
                        response
                            .headers_mut()
                            .insert("grpc-status", HeaderValue::from_static("16"));
                        response
                    };
                    Ok::<_, Infallible>(response)
                });
                tokio::spawn(
                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), answer),
                );
            }
        });
        addr
    }

    #[tokio::test]
    async fn calls_at_the_rate_and_counts_what_failed() {
        let addr = server().await;
        let duration = Duration::from_millis(200);
        let admitted = tokio::task::spawn_blocking(move || {
            grpc(addr, &["authorization: L402 ok".to_owned()], 2000, duration)
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(admitted.run.requests, 400, "2000 a second for 0.2 s");
        assert_eq!(admitted.run.non_success, 0);
        assert_eq!(admitted.latencies.len(), 400);
        assert!((admitted.run.rate - 2000.0).abs() < 1e-6);

        let refused = tokio::task::spawn_blocking(move || grpc(addr, &[], 2000, duration))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((refused.run.requests, refused.run.non_success), (400, 400));
    }

    #[test]
    fn the_schedule_releases_every_call_due_in_order() {
        let (releases, mut released) = tokio::sync::mpsc::unbounded_channel();
        release(&releases, 10_000, Duration::from_millis(30));
        let mut instants = Vec::new();
        while let Ok(at) = released.try_recv() {
            instants.push(at);
        }
        assert_eq!(instants.len(), 300);
        assert!(instants.windows(2).all(|pair| pair[0] <= pair[1]));
    }
}
