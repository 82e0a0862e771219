//! Per-call macaroon authentication, in front of every gRPC service of a server (lnd's way, which
//! loopd shares).
//!
//! Like lnd and loopd, each call must carry exactly one `macaroon` metadata value (hex of the binary
//! macaroon). It must verify against the server's root key and grant every permission the server's
//! [`PermissionTable`] lists for the called method. Failures answer `Unauthenticated` (missing,
//! malformed, wrong key, unsatisfied caveat) or `PermissionDenied` (valid macaroon without the needed
//! permission, e.g. lnd's `invoice.macaroon` calling `SendPaymentV2`), without reaching the service.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::body::Body;

use crate::macaroon::{MacaroonError, MacaroonService, Permission};

/// The permissions each gRPC method (`/package.Service/Method`) requires; an empty list for a
/// method the table does not know admits any valid macaroon (the router then answers
/// `Unimplemented` if it does not serve it either).
pub type PermissionTable = fn(&str) -> &'static [Permission];

/// Tower layer adding [`MacaroonAuth`] around a gRPC router.
#[derive(Clone, Debug)]
pub struct MacaroonAuthLayer {
    macaroons: Arc<MacaroonService>,
    permissions: PermissionTable,
}

impl MacaroonAuthLayer {
    /// Authenticates against `macaroons` (the server's root key) with `permissions` per method.
    pub fn new(macaroons: Arc<MacaroonService>, permissions: PermissionTable) -> Self {
        Self {
            macaroons,
            permissions,
        }
    }
}

impl<S> tower::Layer<S> for MacaroonAuthLayer {
    type Service = MacaroonAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MacaroonAuth {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service produced by [`MacaroonAuthLayer`].
#[derive(Clone, Debug)]
pub struct MacaroonAuth<S> {
    inner: S,
    layer: MacaroonAuthLayer,
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
        self.layer
            .macaroons
            .verify_hex(value, (self.layer.permissions)(request.uri().path()))
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
