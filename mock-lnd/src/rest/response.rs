//! REST answers as grpc-gateway writes them (`runtime.DefaultHTTPErrorHandler` and
//! `runtime.ForwardResponseStream` of grpc-gateway v2.16, lnd's version): a message as JSON with 200, a gRPC status as
//! `{"code": <int>, "message": "…", "details": []}` with the HTTP status of its code, and a
//! server stream as newline-delimited `{"result": <message>}` objects ending, on failure, with
//! `{"error": <status>}`.

use std::convert::Infallible;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::stream::{self, StreamExt as _};
use http::{header, HeaderValue, StatusCode};
use prost_reflect::DynamicMessage;
use serde_json::Value;
use tonic::codec::Streaming;
use tonic::{Code, Status};

use super::json::{status_json, to_json};

/// grpc-gateway's `HTTPStatusFromCode`.
pub(crate) fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        // nginx's "client closed request", which grpc-gateway uses.
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `value` as a JSON response with `status`.
fn json_response(status: StatusCode, value: &Value, newline: bool) -> Response {
    let mut body = value.to_string();
    if newline {
        body.push('\n');
    }
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A unary call's answer.
pub(crate) fn message(message: &DynamicMessage) -> Response {
    json_response(StatusCode::OK, &to_json(message), false)
}

/// A failed call (or a request that could not be made into one), with the HTTP status of its code.
pub(crate) fn error(status: &Status) -> Response {
    error_with_http_status(status, http_status(status.code()))
}

/// A failure answered with an HTTP status other than its code's (grpc-gateway's `HTTPStatusError`),
/// e.g. 413 for an oversized body. An `Unauthenticated` one carries its message in
/// `WWW-Authenticate`, as grpc-gateway's error handler sets it.
pub(crate) fn error_with_http_status(status: &Status, http_status: StatusCode) -> Response {
    let mut response = json_response(http_status, &status_json(status), false);
    if status.code() == Code::Unauthenticated {
        if let Ok(value) = HeaderValue::from_str(status.message()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

/// A server-streaming call's answer. Waits for the first message: a stream failing before it is
/// answered with its code's HTTP status and one `{"error": …}` line, as grpc-gateway does before it
/// has written its header; each later message is sent as soon as it arrives, and only while the
/// client reads (nothing is buffered beyond the message in hand).
pub(crate) async fn stream(call: Result<Streaming<DynamicMessage>, Status>) -> Response {
    let first = match call {
        Ok(mut messages) => match messages.message().await {
            Ok(Some(first)) => Lines::First(first, messages),
            Ok(None) => Lines::Done,
            Err(status) => return stream_error(&status),
        },
        Err(status) => return stream_error(&status),
    };
    let lines = stream::unfold(first, |state| async move {
        match state {
            Lines::First(message, rest) => Some((result_line(&message), Lines::Next(rest))),
            Lines::Next(mut rest) => match rest.message().await {
                Ok(Some(message)) => Some((result_line(&message), Lines::Next(rest))),
                Ok(None) => None,
                Err(status) => Some((error_line(&status), Lines::Done)),
            },
            Lines::Done => None,
        }
    });
    let body = Body::from_stream(lines.map(Ok::<_, Infallible>));
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Where a streamed answer is.
enum Lines {
    /// The first message is in hand.
    First(DynamicMessage, Streaming<DynamicMessage>),
    /// The next message is to be read.
    Next(Streaming<DynamicMessage>),
    /// The stream has ended (or failed, and said so).
    Done,
}

/// A stream that failed before its first message.
fn stream_error(status: &Status) -> Response {
    json_response(http_status(status.code()), &error_chunk(status), true)
}

fn result_line(message: &DynamicMessage) -> Bytes {
    line(&serde_json::json!({ "result": to_json(message) }))
}

fn error_line(status: &Status) -> Bytes {
    line(&error_chunk(status))
}

fn error_chunk(status: &Status) -> Value {
    serde_json::json!({ "error": status_json(status) })
}

fn line(value: &Value) -> Bytes {
    let mut line = value.to_string().into_bytes();
    line.push(b'\n');
    Bytes::from(line)
}
