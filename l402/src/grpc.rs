//! The gRPC binding of the challenge, both ends: the server answers HTTP `200` with a trailers-only
//! response (`grpc-status: 13`, `grpc-message: payment required`, the challenge headers), the client finds
//! such a status in response headers or trailers.
//!
//! Status codes are the plain numbers of gRPC's `Code` enum (what `tonic::Code` converts to and from). The
//! server's status headers are written here by hand because this crate is deliberately free of tonic (no
//! gRPC library in the pure protocol); reading them is left to the client's gRPC library (l402-client
//! decodes them with `tonic::Status::from_header_map`), which hands the code and message to
//! [`challenge_values`].

use ::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use ::http::{HeaderMap, Response};

use crate::challenge::{Challenge, ChallengeForm};
use crate::http::{append_challenge_in, header_strings, PAYMENT_REQUIRED_MESSAGE};

/// The header (or trailer) carrying the gRPC status code.
pub const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// The header (or trailer) carrying the percent-encoded gRPC status message.
pub const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
/// gRPC `UNKNOWN`: some grpc-go versions report a challenge with it.
pub const CODE_UNKNOWN: u16 = 2;
/// gRPC `INTERNAL`: the code Aperture sends with a payment challenge.
pub const CODE_INTERNAL: u16 = 13;

/// A trailers-only gRPC answer: HTTP `200`, `content-type: application/grpc`, `grpc-status: code` and
/// `grpc-message: message` (a message that is not header text becomes `error`), empty body.
pub fn status_response(code: u16, message: &str) -> Response<()> {
    let mut response = Response::new(());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(GRPC_STATUS, HeaderValue::from(code));
    headers.insert(
        GRPC_MESSAGE,
        HeaderValue::try_from(message).unwrap_or(HeaderValue::from_static("error")),
    );
    response
}

/// The server's challenge: status `INTERNAL`, `payment required` and both `WWW-Authenticate` lines.
pub fn challenge_response(challenge: &Challenge) -> Response<()> {
    challenge_response_in(challenge, ChallengeForm::Aperture)
}

/// [`challenge_response`] with the `WWW-Authenticate` values of `form`.
pub fn challenge_response_in(challenge: &Challenge, form: ChallengeForm) -> Response<()> {
    let mut response = status_response(CODE_INTERNAL, PAYMENT_REQUIRED_MESSAGE);
    append_challenge_in(response.headers_mut(), challenge, form);
    response
}

/// The client's side: the `WWW-Authenticate` values if the gRPC status `code` with the (percent-decoded)
/// `message`, read from `status_map` (response headers of a trailers-only response, or trailers), is a
/// challenge — `INTERNAL` or `UNKNOWN` whose message contains "payment required". Values are collected from
/// `status_map`, then from `headers` (the response headers when the status came in the trailers).
pub fn challenge_values(
    code: i32,
    message: &str,
    status_map: &HeaderMap,
    headers: Option<&HeaderMap>,
) -> Option<Vec<String>> {
    if code != i32::from(CODE_INTERNAL) && code != i32::from(CODE_UNKNOWN) {
        return None;
    }
    if !message
        .to_ascii_lowercase()
        .contains(PAYMENT_REQUIRED_MESSAGE)
    {
        return None;
    }
    let mut values = header_strings(status_map);
    values.extend(headers.into_iter().flat_map(header_strings));
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::WWW_AUTHENTICATE;

    #[test]
    fn recognises_challenges_only() {
        let mut headers = HeaderMap::new();
        headers.append(WWW_AUTHENTICATE, "LSAT a".parse().unwrap());
        headers.append(WWW_AUTHENTICATE, "L402 b".parse().unwrap());
        assert_eq!(
            challenge_values(13, "payment required", &headers, None),
            Some(vec!["LSAT a".to_owned(), "L402 b".to_owned()])
        );
        assert!(challenge_values(2, "Payment Required", &headers, None).is_some());
        assert!(challenge_values(14, "payment required", &headers, None).is_none());
        assert!(challenge_values(13, "internal error", &headers, None).is_none());
        let mut trailers = HeaderMap::new();
        trailers.append(WWW_AUTHENTICATE, "L402 c".parse().unwrap());
        assert_eq!(
            challenge_values(13, "payment required", &trailers, Some(&headers)),
            Some(vec![
                "L402 c".to_owned(),
                "LSAT a".to_owned(),
                "L402 b".to_owned()
            ])
        );
    }

    #[test]
    fn status_responses_are_trailers_only_with_http_200() {
        let response = status_response(14, "backend unavailable");
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(response.headers()["grpc-status"], "14");
        assert_eq!(response.headers()["content-type"], "application/grpc");
    }
}
