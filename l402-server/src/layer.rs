//! The tower middleware for HTTP services (axum-compatible): every request needs a paid token.
//!
//! - No credential, or one that fails verification → a fresh token is minted (invoice created and root
//!   key stored first) and `402 Payment Required` is sent with the challenge ([`l402::http`]).
//! - A valid credential → the request goes to the inner service with a [`VerifiedToken`] in its
//!   extensions.
//! - The store or lnd unreachable → `503` with a short text body; the client can only retry later.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use futures::future::BoxFuture;
use http::{Request, Response, StatusCode};
use l402::TokenId;
use tower::{Layer, Service};

use crate::authenticate::{authenticate, AuthOutcome};
use crate::invoice::InvoiceSource;
use crate::mint::{issue, IssueError};
use crate::pricing::Pricing;
use crate::store::RootKeyStore;

/// The token a request was admitted with, in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The token id: the paying client's identity.
    pub token_id: TokenId,
}

struct Shared<K, I> {
    pricing: Pricing,
    store: K,
    invoices: I,
}

/// A tower layer charging for every request with L402.
pub struct L402Layer<K, I> {
    shared: Arc<Shared<K, I>>,
}

impl<K, I> Clone for L402Layer<K, I> {
    fn clone(&self) -> Self {
        L402Layer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<K, I> std::fmt::Debug for L402Layer<K, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L402Layer")
            .field("pricing", &self.shared.pricing)
            .finish_non_exhaustive()
    }
}

impl<K: RootKeyStore, I: InvoiceSource> L402Layer<K, I> {
    /// Tokens priced by `pricing`, root keys kept in `store`, invoices from `invoices`.
    pub fn new(pricing: Pricing, store: K, invoices: I) -> Self {
        L402Layer {
            shared: Arc::new(Shared {
                pricing,
                store,
                invoices,
            }),
        }
    }
}

impl<S, K, I> Layer<S> for L402Layer<K, I> {
    type Service = L402Service<S, K, I>;

    fn layer(&self, inner: S) -> Self::Service {
        L402Service {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service built by [`L402Layer`].
pub struct L402Service<S, K, I> {
    inner: S,
    shared: Arc<Shared<K, I>>,
}

impl<S: Clone, K, I> Clone for L402Service<S, K, I> {
    fn clone(&self) -> Self {
        L402Service {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: std::fmt::Debug, K, I> std::fmt::Debug for L402Service<S, K, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L402Service")
            .field("inner", &self.inner)
            .field("pricing", &self.shared.pricing)
            .finish_non_exhaustive()
    }
}

impl<S, K, I, ReqBody, ResBody> Service<Request<ReqBody>> for L402Service<S, K, I>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    K: RootKeyStore,
    I: InvoiceSource,
    ReqBody: Send + 'static,
    ResBody: From<String> + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The ready service goes into the future; the clone stays (tower's idiom).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let pricing = &shared.pricing;
            let now = SystemTime::now();
            let outcome = authenticate(
                request.headers(),
                &shared.store,
                pricing.service(),
                pricing.required_capability(),
                now,
            )
            .await;
            match outcome {
                AuthOutcome::Valid(credential) => {
                    request.extensions_mut().insert(VerifiedToken {
                        token_id: credential.token_id(),
                    });
                    return inner.call(request).await;
                }
                AuthOutcome::StoreUnavailable(error) => {
                    tracing::error!(%error, "root-key store unavailable");
                    return Ok(unavailable("token store unavailable"));
                }
                AuthOutcome::Missing => {}
                AuthOutcome::Rejected(rejection) => {
                    tracing::debug!(reason = rejection.reason, detail = %rejection.detail, "credential refused");
                }
            }
            Ok(
                match issue(pricing, &shared.invoices, &shared.store, now).await {
                    Ok(issued) => {
                        l402::http::challenge_response(&issued.challenge).map(ResBody::from)
                    }
                    Err(error) => {
                        tracing::error!(%error, service = pricing.service(), "cannot issue challenge");
                        unavailable(unavailable_message(&error))
                    }
                },
            )
        })
    }
}

/// What a client is told when no challenge could be issued (the same words as the auth proxy's).
pub fn unavailable_message(error: &IssueError) -> &'static str {
    match error {
        IssueError::Invoice(_) => "lightning node unavailable: cannot create invoice",
        IssueError::Store(_) => "token store unavailable: cannot issue payment challenge",
        IssueError::Mint(_) => "cannot issue payment challenge",
    }
}

fn unavailable<B: From<String>>(message: &str) -> Response<B> {
    l402::http::text_response(StatusCode::SERVICE_UNAVAILABLE, message).map(B::from)
}
