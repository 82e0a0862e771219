//! The L402 client as a tower layer for tonic clients.
//!
//! ```no_run
//! # use proto::looprpc::swap_server_client::SwapServerClient;
//! # use l402_client::{L402Client, L402Layer};
//! # fn example(l402_client: L402Client, tonic_channel: tonic::transport::Channel) {
//! let channel = tower::ServiceBuilder::new()
//!     .layer(L402Layer::new(l402_client))
//!     .service(tonic_channel);
//! let swap_server = SwapServerClient::new(channel);
//! # }
//! ```
//!
//! Every call carries `macaroon: <hex paid macaroon>` metadata once a token is
//! paid (what Loop sends). A challenge — gRPC status `Internal` (13) or
//! `Unknown` (2) whose message contains "payment required", with
//! `www-authenticate` values — is recognised in the response headers
//! (trailers-only response, what Aperture and our proxy send) or in the
//! trailers of an empty response; tonic's `Status::from_header_map` reads the
//! status. The client then acquires a token and the call is replayed once.
//!
//! To be replayable the request body is buffered; this suits unary and
//! server-streaming calls (every call of Loop's protocol). A response whose
//! status is not in its headers is held until its first frame arrives, to tell
//! a challenge in the trailers from data.

use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::StreamExt;
use http::{HeaderName, Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, BodyStream, StreamBody};
use tonic::body::Body;
use tonic::Status;
use tower::{Layer, Service, ServiceExt};

use crate::{L402Client, L402Error, PaidToken};

/// Boxed error of the layer's service; tonic finds a [`tonic::Status`] in it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// gRPC metadata carrying the paid macaroon (Loop's credential).
pub const MACAROON_METADATA: HeaderName = HeaderName::from_static("macaroon");

/// A tower layer adding L402 to a tonic channel.
#[derive(Debug, Clone)]
pub struct L402Layer {
    client: L402Client,
}

impl L402Layer {
    /// A layer using `client` (share one client per server).
    pub fn new(client: L402Client) -> Self {
        Self { client }
    }
}

impl<S> Layer<S> for L402Layer {
    type Service = L402Service<S>;

    fn layer(&self, inner: S) -> Self::Service {
        L402Service {
            inner,
            client: self.client.clone(),
        }
    }
}

/// The service built by [`L402Layer`].
#[derive(Debug, Clone)]
pub struct L402Service<S> {
    inner: S,
    client: L402Client,
}

impl<S, B> Service<Request<Body>> for L402Service<S>
where
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<Body>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The ready service goes into the future; the clone stays (tower's idiom).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let client = self.client.clone();
        Box::pin(call_with_l402(inner, client, request))
    }
}

async fn call_with_l402<S, B>(
    mut inner: S,
    client: L402Client,
    request: Request<Body>,
) -> Result<Response<Body>, BoxError>
where
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let replay = |token: Option<&PaidToken>| {
        let mut request = Request::new(Body::new(http_body_util::Full::new(body.clone())));
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = parts.uri.clone();
        *request.version_mut() = parts.version;
        *request.headers_mut() = parts.headers.clone();
        *request.extensions_mut() = parts.extensions.clone();
        if let Some(token) = token {
            request
                .headers_mut()
                .insert(MACAROON_METADATA, token.macaroon_metadata().clone());
        }
        request
    };

    let sent = client.current_token();
    // `inner` was made ready by our `poll_ready`.
    let response = inner
        .call(replay(sent.as_deref()))
        .await
        .map_err(Into::into)?;
    let challenges = match inspect(response).await? {
        Inspected::Passed(response) => return Ok(response),
        Inspected::Challenge(challenges) => challenges,
    };

    let token = client
        .handle_challenge(sent.as_deref(), challenges.iter().map(String::as_str))
        .await
        .map_err(|e| Box::new(e.to_status()) as BoxError)?;
    let response = inner
        .ready()
        .await
        .map_err(Into::into)?
        .call(replay(Some(&token)))
        .await
        .map_err(Into::into)?;
    match inspect(response).await? {
        Inspected::Passed(response) => Ok(response),
        Inspected::Challenge(_) => {
            client.note_challenge();
            Err(Box::new(
                L402Error::Rejected {
                    token_id: token.token_id().to_hex(),
                }
                .to_status(),
            ))
        }
    }
}

/// A response seen by the layer.
enum Inspected {
    /// Not a challenge: hand it to the caller.
    Passed(Response<Body>),
    /// A payment challenge, with its `www-authenticate` values.
    Challenge(Vec<String>),
}

/// The challenge values if `status` (decoded by tonic from `status_map`) is a payment challenge.
fn challenge_values(
    status: &Status,
    status_map: &http::HeaderMap,
    headers: Option<&http::HeaderMap>,
) -> Option<Vec<String>> {
    l402::grpc::challenge_values(status.code() as i32, status.message(), status_map, headers)
}

async fn inspect<B>(response: Response<B>) -> Result<Inspected, BoxError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    // Trailers-only response: the status is in the headers.
    if let Some(status) = Status::from_header_map(response.headers()) {
        if let Some(challenges) = challenge_values(&status, response.headers(), None) {
            return Ok(Inspected::Challenge(challenges));
        }
        return Ok(Inspected::Passed(response.map(Body::new)));
    }
    if response.status() != http::StatusCode::OK {
        return Ok(Inspected::Passed(response.map(Body::new)));
    }
    // The status may come in the trailers of an otherwise empty response.
    let (parts, body) = response.into_parts();
    let mut body = Box::pin(body);
    let first = match body.frame().await {
        None => {
            return Ok(Inspected::Passed(Response::from_parts(
                parts,
                Body::empty(),
            )))
        }
        Some(frame) => frame.map_err(Into::into)?,
    };
    if let Some(trailers) = first.trailers_ref() {
        let status = Status::from_header_map(trailers);
        let challenges =
            status.and_then(|status| challenge_values(&status, trailers, Some(&parts.headers)));
        if let Some(challenges) = challenges {
            return Ok(Inspected::Challenge(challenges));
        }
    }
    // Put the frame back in front of the rest of the body.
    let rest = BodyStream::new(body).map(|frame| frame.map_err(Into::<BoxError>::into));
    let stream =
        futures::stream::once(async move { Ok::<Frame<Bytes>, BoxError>(first) }).chain(rest);
    Ok(Inspected::Passed(Response::from_parts(
        parts,
        Body::new(StreamBody::new(stream)),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_map(code: &str, message: &str) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        map.insert("grpc-status", code.parse().unwrap());
        map.insert("grpc-message", message.parse().unwrap());
        map.append("www-authenticate", "L402 a".parse().unwrap());
        map
    }

    fn challenge_in(map: &http::HeaderMap) -> Option<Vec<String>> {
        let status = Status::from_header_map(map)?;
        challenge_values(&status, map, None)
    }

    #[test]
    fn tonic_decodes_the_percent_encoded_message_of_a_challenge() {
        let expected = Some(vec!["L402 a".to_owned()]);
        assert_eq!(
            challenge_in(&status_map("13", "payment%20required")),
            expected
        );
        assert_eq!(challenge_in(&status_map("2", "payment required")), expected);
        assert_eq!(challenge_in(&status_map("14", "payment%20required")), None);
        assert_eq!(challenge_in(&status_map("13", "internal%20error")), None);
    }
}
