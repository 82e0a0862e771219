//! Per-call macaroon authentication, in front of every gRPC service of a node.
//!
//! Like lnd, each call must carry exactly one `macaroon` metadata value (hex of the binary
//! macaroon). It must verify against the node's root key and grant the permission lnd requires for
//! the called method ([`crate::macaroon::required_permission`]). Failures answer `Unauthenticated`
//! (missing, malformed, wrong key, unsatisfied caveat) or `PermissionDenied` (valid macaroon without
//! the needed permission, e.g. `invoice.macaroon` calling `SendPaymentV2`), without reaching the
//! service.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::body::Body;

use crate::macaroon::{required_permission, MacaroonError, MacaroonService};

/// Tower layer adding [`MacaroonAuth`] around a node's gRPC router.
#[derive(Clone, Debug)]
pub struct MacaroonAuthLayer {
    macaroons: Arc<MacaroonService>,
}

impl MacaroonAuthLayer {
    /// Authenticates against `macaroons` (the node's root key).
    pub fn new(macaroons: Arc<MacaroonService>) -> Self {
        Self { macaroons }
    }
}

impl<S> tower::Layer<S> for MacaroonAuthLayer {
    type Service = MacaroonAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MacaroonAuth {
            inner,
            macaroons: self.macaroons.clone(),
        }
    }
}

/// The service produced by [`MacaroonAuthLayer`].
#[derive(Clone, Debug)]
pub struct MacaroonAuth<S> {
    inner: S,
    macaroons: Arc<MacaroonService>,
}

impl<S> MacaroonAuth<S> {
    fn check<B>(&self, request: &http::Request<B>) -> Result<(), MacaroonError> {
        let values: Vec<_> = request.headers().get_all("macaroon").iter().collect();
        let [value] = values.as_slice() else {
            return Err(MacaroonError::Count(values.len()));
        };
        let value = value
            .to_str()
            .map_err(|_| MacaroonError::Malformed("not ASCII".into()))?;
        self.macaroons
            .verify_hex(value, required_permission(request.uri().path()))
    }
}

impl<S, B> tower::Service<http::Request<B>> for MacaroonAuth<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match self.check(&request) {
            Ok(()) => Box::pin(self.inner.call(request)),
            Err(error) => {
                tracing::warn!(path = %request.uri().path(), error = %error, "call rejected");
                let status: tonic::Status = error.into();
                Box::pin(futures::future::ready(Ok(status.into_http())))
            }
        }
    }
}
