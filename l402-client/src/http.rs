//! The L402 client for HTTP APIs, wrapping a `reqwest::Client`.
//!
//! ```no_run
//! # use l402_client::{L402Client, L402HttpClient};
//! # async fn example(l402_client: L402Client, url: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let http = L402HttpClient::new(reqwest::Client::new(), l402_client);
//! let response = http.send(http.inner().get(url)).await?;
//! # Ok(()) }
//! ```
//!
//! Requests carry `Authorization: L402 <base64 macaroon>:<hex preimage>` once
//! a token is paid. A `402 Payment Required` answer with `WWW-Authenticate`
//! challenges makes the client acquire a token and replay the request once.
//! Requests with a streaming body cannot be replayed: they fail with
//! [`HttpError::NotReplayable`] if challenged.

use http::header::AUTHORIZATION;
use reqwest::{Request, RequestBuilder, Response};

use crate::{L402Client, L402Error, PaidToken};

/// Why an HTTP call through the L402 client failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The request could not be built or sent, or the answer not read.
    #[error("HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// No token could be acquired.
    #[error(transparent)]
    L402(#[from] L402Error),
    /// The request body is a stream and cannot be sent a second time.
    #[error("the request was challenged but its body is a stream and cannot be replayed")]
    NotReplayable,
}

/// A reqwest client that pays L402 challenges.
#[derive(Debug, Clone)]
pub struct L402HttpClient {
    http: reqwest::Client,
    l402: L402Client,
}

impl L402HttpClient {
    /// Wraps `http`, acquiring tokens with `l402`.
    pub fn new(http: reqwest::Client, l402: L402Client) -> Self {
        Self { http, l402 }
    }

    /// The wrapped reqwest client, to build requests with.
    pub fn inner(&self) -> &reqwest::Client {
        &self.http
    }

    /// The L402 client.
    pub fn l402(&self) -> &L402Client {
        &self.l402
    }

    /// Builds and sends `request` (see [`L402HttpClient::execute`]).
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, HttpError> {
        self.execute(request.build()?).await
    }

    /// Sends `request` with the current token; on a 402 challenge acquires a
    /// token and sends it once more.
    pub async fn execute(&self, request: Request) -> Result<Response, HttpError> {
        let replay = request.try_clone();
        let sent = self.l402.current_token();
        let response = self
            .http
            .execute(authorize(request, sent.as_deref()))
            .await?;
        let Some(values) = challenges(&response) else {
            return Ok(response);
        };
        let replay = replay.ok_or(HttpError::NotReplayable)?;
        let token = self
            .l402
            .handle_challenge(sent.as_deref(), values.iter().map(String::as_str))
            .await?;
        let response = self.http.execute(authorize(replay, Some(&token))).await?;
        if challenges(&response).is_some() {
            self.l402.note_challenge();
            return Err(L402Error::Rejected {
                token_id: token.token_id().to_hex(),
            }
            .into());
        }
        Ok(response)
    }
}

fn authorize(mut request: Request, token: Option<&PaidToken>) -> Request {
    if let Some(token) = token {
        request
            .headers_mut()
            .insert(AUTHORIZATION, token.authorization().clone());
    }
    request
}

/// The `WWW-Authenticate` values of a 402 answer.
fn challenges(response: &Response) -> Option<Vec<String>> {
    l402::http::challenge_values(response.status(), response.headers())
}
