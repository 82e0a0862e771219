//! Responses the proxy writes itself (challenges, errors, preflights), in HTTP and gRPC form, and the CORS
//! headers Aperture adds.
//!
//! A gRPC client gets HTTP 200 with a trailers-only response (`grpc-status` in the headers, empty body),
//! because gRPC clients reject other HTTP statuses; an HTTP client gets the status code and a short
//! `text/plain` body ending in a newline, as Go's `http.Error` writes it (Aperture's wire format).

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, CACHE_CONTROL, RETRY_AFTER,
};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use l402::Challenge;
use tonic::Code;

/// The `Retry-After` of a 503, in seconds.
const RETRY_UNAVAILABLE_SECS: u64 = 5;

/// The body type of every response the proxy sends (backend bodies are streamed through unchanged).
pub type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// A body with these bytes.
pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> ProxyBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// Aperture's list-valued CORS headers and the entries the proxy adds to each, written as one value. The names
/// are `http`'s constants: a name given as text would be parsed again on every response.
const CORS_LISTS: [(HeaderName, &str); 3] = [
    (ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"),
    (
        ACCESS_CONTROL_EXPOSE_HEADERS,
        "WWW-Authenticate, Payment-Receipt",
    ),
    (
        ACCESS_CONTROL_ALLOW_HEADERS,
        "Content-Type, Authorization, Grpc-Metadata-macaroon, WWW-Authenticate, Payment-Receipt",
    ),
];

/// Adds Aperture's CORS headers: `Access-Control-Allow-Origin: *` replaces any value, the list-valued ones are
/// merged with what a backend already sent (case-insensitively, backend entries first).
pub fn add_cors(headers: &mut HeaderMap) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    for (field, ours) in CORS_LISTS {
        if headers.contains_key(&field) {
            merge_list(headers, field, ours);
        } else {
            // The usual case: nothing to merge, nothing to build.
            headers.insert(field, HeaderValue::from_static(ours));
        }
    }
}

fn merge_list(headers: &mut HeaderMap, field: HeaderName, ours: &str) {
    let mut merged: Vec<String> = Vec::new();
    let existing: Vec<String> = headers
        .get_all(&field)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    let entries = existing
        .iter()
        .map(String::as_str)
        .chain([ours])
        .flat_map(|line| line.split(','));
    for entry in entries.map(str::trim).filter(|e| !e.is_empty()) {
        if !merged.iter().any(|m| m.eq_ignore_ascii_case(entry)) {
            merged.push(entry.to_owned());
        }
    }
    if let Ok(value) = HeaderValue::try_from(merged.join(", ")) {
        headers.insert(field, value);
    }
}

/// A response the proxy decided on: status and message, in the client's protocol (l402's wire forms).
fn direct(
    grpc: bool,
    status: StatusCode,
    code: Code,
    message: &str,
    headers: HeaderMap,
) -> Response<ProxyBody> {
    let response = if grpc {
        l402::grpc::status_response(code as u16, message).map(|()| empty())
    } else {
        l402::http::text_response(status, message).map(full)
    };
    with_headers(response, headers)
}

fn with_headers(mut response: Response<ProxyBody>, headers: HeaderMap) -> Response<ProxyBody> {
    for (name, value) in headers.iter() {
        response.headers_mut().append(name, value.clone());
    }
    response
}

/// The L402 challenge (docs/PROTOCOL.md, written by `l402::http` / `l402::grpc`): HTTP 402 `payment required\n`,
/// or gRPC status 13 `payment required`, with the `WWW-Authenticate` values of `form` in order (by default
/// Aperture's two: LSAT, then L402), plus CORS and `Cache-Control: no-store`.
pub fn payment_required(
    grpc: bool,
    challenge: &Challenge,
    form: l402::ChallengeForm,
) -> Response<ProxyBody> {
    let response = if grpc {
        l402::grpc::challenge_response_in(challenge, form).map(|()| empty())
    } else {
        l402::http::challenge_response_in(challenge, form).map(full)
    };
    let mut headers = HeaderMap::new();
    add_cors(&mut headers);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    with_headers(response, headers)
}

/// An error answer with CORS headers.
pub fn error(grpc: bool, status: StatusCode, code: Code, message: &str) -> Response<ProxyBody> {
    let mut headers = HeaderMap::new();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        // lnd, the database or a backend is away: say when trying again makes sense.
        headers.insert(RETRY_AFTER, HeaderValue::from(RETRY_UNAVAILABLE_SECS));
    }
    add_cors(&mut headers);
    direct(grpc, status, code, message, headers)
}

/// 429 (gRPC: RESOURCE_EXHAUSTED) with `Retry-After` in whole seconds, at least 1.
pub fn rate_limited(grpc: bool, retry_after_secs: u64) -> Response<ProxyBody> {
    let mut headers = HeaderMap::new();
    headers.insert(RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
    add_cors(&mut headers);
    direct(
        grpc,
        StatusCode::TOO_MANY_REQUESTS,
        Code::ResourceExhausted,
        "rate limit exceeded",
        headers,
    )
}

/// The answer to a CORS preflight (`OPTIONS`): 200 with CORS headers and no body, as Aperture does.
pub fn preflight() -> Response<ProxyBody> {
    let mut response = Response::new(empty());
    add_cors(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_lists_merge_with_the_backends_entries() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "access-control-expose-headers",
            HeaderValue::from_static("X-Request-Id, www-authenticate"),
        );
        headers.insert(
            "access-control-allow-origin",
            HeaderValue::from_static("https://a.example"),
        );
        add_cors(&mut headers);
        assert_eq!(
            headers["access-control-expose-headers"],
            "X-Request-Id, www-authenticate, Payment-Receipt"
        );
        assert_eq!(headers["access-control-allow-origin"], "*");
    }

    #[test]
    fn grpc_errors_are_trailers_only_with_status_200() {
        let response = error(
            true,
            StatusCode::BAD_GATEWAY,
            Code::Unavailable,
            "backend unavailable",
        );
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["grpc-status"], "14");
        assert_eq!(response.headers()["content-type"], "application/grpc");
    }

    #[test]
    fn rate_limit_retry_after_is_at_least_one_second() {
        let response = rate_limited(false, 0);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "1");
    }
}
