//! lnd's REST API (its grpc-gateway proxy) on a node's REST listener (`--rest NAME=HOST:PORT`).
//!
//! Like lnd's REST proxy, which calls lnd's own gRPC server, every endpoint calls the node's gRPC
//! stack in-process ([`call`]): the same macaroon check (the hex macaroon comes in the
//! `Grpc-Metadata-macaroon` header) and the same service code, so the two APIs cannot drift.
//! What is REST's own:
//! - [`endpoints`]: lnd's HTTP mapping of each served method;
//! - [`json`]: lnd's JSON form of the messages (grpc-gateway's `JSONPb` with lnd's options);
//! - [`response`]: grpc-gateway's answers, errors and streams;
//! - [`listener`]: TCP, TLS with the node's `tls.cert` (or plaintext), HTTP/1.1 and HTTP/2, limits.
//!
//! An unknown path is answered 404 `{"code": 5, "message": "Not Found", "details": []}` and a
//! known path with another method 501 `{"code": 12, "message": "Method Not Allowed", …}`, as
//! grpc-gateway v2.16's routing error handler does (lnd disables its POST-for-GET fallback).

mod call;
mod endpoints;
mod json;
pub(crate) mod listener;
mod response;

use axum::body::Body;
use axum::extract::{FromRequestParts as _, Path, Query, Request};
use axum::response::Response;
use axum::routing::on;
use axum::Router;
use http::StatusCode;
use http_body_util::BodyExt as _;
use prost_reflect::{DynamicMessage, MethodDescriptor};
use tonic::Status;

use crate::server::GrpcStack;
use call::Call;
use endpoints::{Endpoint, Input, ENDPOINTS};

pub use listener::{
    HANDSHAKE_TIMEOUT, MAX_CONNECTIONS, MAX_HEADER_BYTES, MAX_STREAMS_PER_CONNECTION,
};

/// The largest request body read, in bytes (lnd's requests are small JSON objects).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The REST API of the node whose gRPC stack is `stack`.
pub(crate) fn router(stack: GrpcStack) -> Router {
    let mut router = Router::new();
    for endpoint in &ENDPOINTS {
        let Some(method) = json::method(endpoint.grpc) else {
            // A unit test checks every endpoint against the proto crate.
            tracing::error!(
                method = endpoint.grpc,
                "REST endpoint without a gRPC method"
            );
            continue;
        };
        let stack = stack.clone();
        router = router.route(
            endpoint.path,
            on(endpoint.method, move |request: Request| {
                serve(stack.clone(), endpoint, method.clone(), request)
            }),
        );
    }
    router
        .fallback(|| async { routing_error(StatusCode::NOT_FOUND) })
        .method_not_allowed_fallback(|| async { routing_error(StatusCode::METHOD_NOT_ALLOWED) })
}

/// grpc-gateway's `DefaultRoutingErrorHandler`.
fn routing_error(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or_default();
    let status = match status {
        StatusCode::NOT_FOUND => Status::not_found(reason),
        _ => Status::unimplemented(reason),
    };
    response::error(&status)
}

/// Answers one request to `endpoint`, which calls `method`.
async fn serve(
    stack: GrpcStack,
    endpoint: &'static Endpoint,
    method: MethodDescriptor,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let message = match request_message(endpoint, &method, &mut parts, body).await {
        Ok(message) => message,
        Err(response) => return response,
    };
    let call = Call {
        stack,
        metadata: call::metadata(&parts.headers),
        method: method.clone(),
        message,
    };
    if method.is_server_streaming() {
        response::stream(call.server_streaming().await).await
    } else {
        match call.unary().await {
            Ok(message) => response::message(&message),
            Err(status) => response::error(&status),
        }
    }
}

/// The request message of `method`: path parameters, then the query or the body, as `endpoint`
/// takes them; a request that cannot be read is answered `InvalidArgument` (or 413).
async fn request_message(
    endpoint: &Endpoint,
    method: &MethodDescriptor,
    parts: &mut http::request::Parts,
    body: Body,
) -> Result<DynamicMessage, Response> {
    let invalid = |message: String| response::error(&Status::invalid_argument(message));
    let path = if endpoint.path.contains('{') {
        let Path(path) = Path::<Vec<(String, String)>>::from_request_parts(parts, &())
            .await
            .map_err(|rejection| invalid(rejection.body_text()))?;
        path
    } else {
        Vec::new()
    };
    let (query, body) = match endpoint.input {
        Input::Query => {
            let Query(query) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
                .map_err(|rejection| invalid(rejection.body_text()))?;
            (query, None)
        }
        Input::Body => (Vec::new(), Some(read_body(body).await?)),
    };
    json::request(&method.input(), body.as_deref(), &path, &query)
        .map_err(|status| response::error(&status))
}

/// The request body, at most [`MAX_BODY_BYTES`] of it (more is answered 413, code
/// `ResourceExhausted`).
async fn read_body(body: Body) -> Result<bytes::Bytes, Response> {
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            let status = Status::resource_exhausted(format!(
                "request body larger than {MAX_BODY_BYTES} bytes"
            ));
            Err(response::error_with_http_status(
                &status,
                StatusCode::PAYLOAD_TOO_LARGE,
            ))
        }
        Err(error) => Err(response::error(&Status::invalid_argument(format!(
            "cannot read the request body: {error}"
        )))),
    }
}
