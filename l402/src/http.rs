//! The HTTP binding of the challenge, both ends: the server writes `402 Payment Required` with the two
//! `WWW-Authenticate` lines (Aperture's byte-exact form), the client finds them in a response.
//!
//! Pure: these functions build and read [`http`] values; sending them is the caller's business.

use ::http::header::{HeaderValue, CONTENT_TYPE, WWW_AUTHENTICATE};
use ::http::{HeaderMap, Response, StatusCode};

use crate::challenge::{Challenge, ChallengeForm};

/// The message of every payment challenge (the HTTP body without its newline, the gRPC `grpc-message`).
pub const PAYMENT_REQUIRED_MESSAGE: &str = "payment required";

/// The two `WWW-Authenticate` values of `challenge`, `LSAT` first (old Loop clients read only the first).
pub fn www_authenticate(challenge: &Challenge) -> [HeaderValue; 2] {
    challenge
        .header_values()
        .map(|value| HeaderValue::try_from(value).expect("base64 and bolt11 are valid header text"))
}

/// The `WWW-Authenticate` values of `challenge` in `form` ([`ChallengeForm`]), in order.
pub fn www_authenticate_in(challenge: &Challenge, form: ChallengeForm) -> Vec<HeaderValue> {
    challenge
        .header_values_in(form)
        .into_iter()
        .map(|value| HeaderValue::try_from(value).expect("base64 and bolt11 are valid header text"))
        .collect()
}

/// A plain-text answer as Go's `http.Error` writes it (Aperture's wire format): `status`, `text/plain`,
/// `X-Content-Type-Options: nosniff` and `message` plus a newline as the body.
pub fn text_response(status: StatusCode, message: &str) -> Response<String> {
    let mut response = Response::new(format!("{message}\n"));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The server's challenge: `402`, body `payment required\n` and both `WWW-Authenticate` lines.
pub fn challenge_response(challenge: &Challenge) -> Response<String> {
    let mut response = text_response(StatusCode::PAYMENT_REQUIRED, PAYMENT_REQUIRED_MESSAGE);
    append_challenge(response.headers_mut(), challenge);
    response
}

/// [`challenge_response`] with the `WWW-Authenticate` values of `form`.
pub fn challenge_response_in(challenge: &Challenge, form: ChallengeForm) -> Response<String> {
    let mut response = text_response(StatusCode::PAYMENT_REQUIRED, PAYMENT_REQUIRED_MESSAGE);
    append_challenge_in(response.headers_mut(), challenge, form);
    response
}

/// Appends the two `WWW-Authenticate` lines of `challenge` to `headers`.
pub fn append_challenge(headers: &mut HeaderMap, challenge: &Challenge) {
    append_challenge_in(headers, challenge, ChallengeForm::Aperture);
}

/// Appends the `WWW-Authenticate` lines of `challenge` in `form` to `headers`.
pub fn append_challenge_in(headers: &mut HeaderMap, challenge: &Challenge, form: ChallengeForm) {
    for value in www_authenticate_in(challenge, form) {
        headers.append(WWW_AUTHENTICATE, value);
    }
}

/// The client's side: the `WWW-Authenticate` values if the response is a challenge (status `402` with at
/// least one such header), to pass to [`Challenge::from_header_values`].
pub fn challenge_values(status: StatusCode, headers: &HeaderMap) -> Option<Vec<String>> {
    if status != StatusCode::PAYMENT_REQUIRED {
        return None;
    }
    let values = header_strings(headers);
    (!values.is_empty()).then_some(values)
}

/// Every `WWW-Authenticate` value of `headers` that is text, in order.
pub(crate) fn header_strings(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}
