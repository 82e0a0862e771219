//! The L402 client for HTTP APIs: a [`reqwest_middleware::Middleware`], and a reqwest client built on it.
//!
//! ```no_run
//! # use l402_client::{L402Client, L402Middleware};
//! # async fn example(l402_client: L402Client, url: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(L402Middleware::new(l402_client))
//!     .build();
//! let response = http.get(url).send().await?;
//! # Ok(()) }
//! ```
//!
//! Requests carry `Authorization: L402 <base64 macaroon>:<hex preimage>` once a token is paid. A
//! `402 Payment Required` answer with `WWW-Authenticate` challenges makes the middleware acquire a token
//! through [`L402Client::handle_challenge`] and replay the request once.
//!
//! A request whose body is a stream cannot be replayed ([`reqwest::Request::try_clone`] fails). When such a
//! request is challenged, nothing is paid and the call fails with [`HttpError::NotReplayable`]; buffer the
//! body to make it payable. The middleware's own failures are [`HttpError`]s inside
//! [`reqwest_middleware::Error::Middleware`]; [`HttpError::from`] gets them back, and [`L402HttpClient`]
//! returns them directly.

use async_trait::async_trait;
use http::header::AUTHORIZATION;
use http::Extensions;
use reqwest::{Request, RequestBuilder, Response};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};

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
    /// Another middleware of the chain failed.
    #[error(transparent)]
    Middleware(reqwest_middleware::Error),
}

impl From<reqwest_middleware::Error> for HttpError {
    /// The [`HttpError`] raised by [`L402Middleware`], or reqwest's error, or another middleware's.
    fn from(error: reqwest_middleware::Error) -> Self {
        match error {
            reqwest_middleware::Error::Reqwest(error) => HttpError::Http(error),
            reqwest_middleware::Error::Middleware(error) => error
                .downcast::<HttpError>()
                .unwrap_or_else(|other| HttpError::Middleware(other.into())),
        }
    }
}

/// A reqwest middleware that pays L402 challenges with an [`L402Client`] and retries once.
#[derive(Debug, Clone)]
pub struct L402Middleware {
    l402: L402Client,
}

impl L402Middleware {
    /// A middleware acquiring tokens with `l402` (share one client per server).
    pub fn new(l402: L402Client) -> Self {
        Self { l402 }
    }
}

#[async_trait]
impl Middleware for L402Middleware {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let fail = |error: HttpError| reqwest_middleware::Error::middleware(error);
        let replay = request.try_clone();
        let sent = self.l402.current_token();
        let response = next
            .clone()
            .run(authorize(request, sent.as_deref()), extensions)
            .await?;
        let Some(values) = challenges(&response) else {
            return Ok(response);
        };
        let replay = replay.ok_or_else(|| fail(HttpError::NotReplayable))?;
        let token = self
            .l402
            .handle_challenge(sent.as_deref(), values.iter().map(String::as_str))
            .await
            .map_err(|e| fail(e.into()))?;
        let response = next
            .run(authorize(replay, Some(&token)), extensions)
            .await?;
        if challenges(&response).is_some() {
            self.l402.note_challenge();
            return Err(fail(
                L402Error::Rejected {
                    token_id: token.token_id().to_hex(),
                }
                .into(),
            ));
        }
        Ok(response)
    }
}

/// A reqwest client with [`L402Middleware`], returning [`HttpError`]s.
#[derive(Debug, Clone)]
pub struct L402HttpClient {
    http: reqwest::Client,
    with_l402: ClientWithMiddleware,
    l402: L402Client,
}

impl L402HttpClient {
    /// Wraps `http`, acquiring tokens with `l402`.
    pub fn new(http: reqwest::Client, l402: L402Client) -> Self {
        let with_l402 = ClientBuilder::new(http.clone())
            .with(L402Middleware::new(l402.clone()))
            .build();
        Self {
            http,
            with_l402,
            l402,
        }
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

    /// Sends `request` through [`L402Middleware`]: with the current token, and on a 402 challenge once
    /// more with a newly acquired one.
    pub async fn execute(&self, request: Request) -> Result<Response, HttpError> {
        Ok(self.with_l402.execute(request).await?)
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
