//! Phase 3b, forward: send the admitted request to the service's backend and stream the answer back.
//!
//! Bodies are never buffered: the client's request body is handed to the backend as it arrives, and the
//! backend's response body — including HTTP/2 trailers, where gRPC puts `grpc-status` — flows back frame by
//! frame, so streaming RPCs and large uploads work. gRPC goes over HTTP/2 (h2c with prior knowledge on
//! `protocol: http`, ALPN `h2` on `https`); other requests over HTTP/1.1.

use std::net::IpAddr;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONNECTION, HOST, TE};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Request, Response, Uri, Version};
use hyper::body::Incoming;

use crate::body::ClientBody;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::service::{ServiceConfig, UpstreamProtocol};

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), never forwarded.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "transfer-encoding",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
];

/// `X-Forwarded-For`, parsed once (`http` has no constant for it).
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Client credential headers (`macaroon`, `grpc-metadata-macaroon`, the spec's `token`); the backend only ever
/// sees the verified `Authorization: L402 …`.
const CREDENTIAL_HEADERS: [&str; 3] = l402::credential::CREDENTIAL_METADATA_HEADERS;

/// Why a backend client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamSetupError {
    /// The service's `tlscertpath` cannot be read or holds no certificate.
    #[error("service {service}: backend certificate {path}: {reason}")]
    Certificate {
        /// Service name.
        service: String,
        /// The certificate file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, ClientBody>;

/// Connection pools to one service's backend.
#[derive(Clone)]
pub struct Upstream {
    /// The request URI's scheme and authority, parsed once: every forwarded URI is built from them and the
    /// client's path and query without allocating.
    scheme: Scheme,
    authority: Authority,
    headers: Arc<[(HeaderName, HeaderValue)]>,
    http1: HttpsClient,
    http2: HttpsClient,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("scheme", &self.scheme)
            .field("address", &self.authority)
            .finish()
    }
}

fn tls_config(service: &ServiceConfig) -> Result<Option<rustls::ClientConfig>, UpstreamSetupError> {
    let Some(path) = &service.tls_cert_path else {
        return Ok(None);
    };
    let error = |reason: String| UpstreamSetupError::Certificate {
        service: service.name.to_string(),
        path: path.clone(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let mut config = lnd_client::pinned_client_config(&pem).map_err(|e| error(e.to_string()))?;
    // hyper-rustls sets ALPN itself, per client.
    config.alpn_protocols.clear();
    Ok(Some(config))
}

/// One worker's connection pools to every service's backend, in the order of the configured services
/// (the pipeline's routes). Each worker has its own, so that a backend connection is only ever used by the
/// thread that opened it (`workers`).
#[derive(Debug, Default)]
pub struct Backends(Vec<Upstream>);

impl Backends {
    /// Pools for each of `services`, in order.
    pub fn new(services: &[ServiceConfig]) -> Result<Backends, UpstreamSetupError> {
        services
            .iter()
            .map(Upstream::new)
            .collect::<Result<_, _>>()
            .map(Backends)
    }

    /// The pools of the `index`th service.
    pub fn service(&self, index: usize) -> &Upstream {
        &self.0[index]
    }
}

impl Upstream {
    /// Builds the HTTP/1.1 and HTTP/2 pools for `service`. A configured `tlscertpath` is pinned (like an lnd
    /// certificate); otherwise https backends are checked against the WebPKI roots.
    pub fn new(service: &ServiceConfig) -> Result<Upstream, UpstreamSetupError> {
        let tls = tls_config(service)?;
        let builder = || {
            let builder = HttpsConnectorBuilder::new();
            match &tls {
                Some(config) => builder.with_tls_config(config.clone()),
                None => builder
                    .with_provider_and_webpki_roots(Arc::new(
                        rustls::crypto::ring::default_provider(),
                    ))
                    .expect("ring supports the default protocol versions"),
            }
            .https_or_http()
        };
        // Without TCP_NODELAY, small gRPC frames wait for delayed ACKs (~40 ms a call).
        let tcp = || {
            let mut tcp = HttpConnector::new();
            tcp.set_nodelay(true);
            tcp.enforce_http(false);
            tcp
        };
        let http1 = Client::builder(TokioExecutor::new())
            .build(builder().enable_http1().wrap_connector(tcp()));
        let http2 = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build(builder().enable_http2().wrap_connector(tcp()));
        let scheme = match service.protocol {
            UpstreamProtocol::Http => Scheme::HTTP,
            UpstreamProtocol::Https => Scheme::HTTPS,
        };
        Ok(Upstream {
            scheme,
            authority: service.address.clone(),
            headers: service.headers.clone().into(),
            http1,
            http2,
        })
    }

    /// Forwards `request`. `authorization` is the verified credential (if any) to present to the backend.
    pub async fn forward(
        &self,
        request: Request<ClientBody>,
        grpc: bool,
        client_ip: IpAddr,
        authorization: Option<HeaderValue>,
    ) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
        let request = self.prepare(request, grpc, client_ip, authorization);
        let mut response = if grpc {
            self.http2.request(request).await?
        } else {
            self.http1.request(request).await?
        };
        strip_hop_by_hop(response.headers_mut());
        Ok(response)
    }

    fn prepare(
        &self,
        request: Request<ClientBody>,
        grpc: bool,
        client_ip: IpAddr,
        authorization: Option<HeaderValue>,
    ) -> Request<ClientBody> {
        let (mut parts, body) = request.into_parts();
        let mut uri = std::mem::take(&mut parts.uri).into_parts();
        uri.scheme = Some(self.scheme.clone());
        uri.authority = Some(self.authority.clone());
        if uri.path_and_query.is_none() {
            uri.path_and_query = Some(PathAndQuery::from_static("/"));
        }
        // Scheme, authority and a path: always a valid absolute URI.
        parts.uri = Uri::from_parts(uri).expect("scheme, authority and path make a URI");
        parts.version = if grpc {
            Version::HTTP_2
        } else {
            Version::HTTP_11
        };
        rewrite_headers(
            &mut parts.headers,
            grpc,
            client_ip,
            authorization,
            &self.headers,
        );
        Request::from_parts(parts, body)
    }
}

/// Whether any of the header names in `headers` is one of `names` (lower case). One pass over the few
/// names a message has, instead of a hash lookup for each name to remove when none is there (the usual case).
fn has_any(headers: &HeaderMap, names: &[&str]) -> bool {
    headers.keys().any(|name| names.contains(&name.as_str()))
}

/// Removes hop-by-hop headers, including those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Only the names that are there (a gRPC request has just `te`), each removed by its parsed name: removing
    // every listed name by its text would parse and look up all nine. No allocation when there are none.
    let present: Vec<HeaderName> = headers
        .keys()
        .filter(|name| HOP_BY_HOP.contains(&name.as_str()))
        .cloned()
        .collect();
    // `connection` is itself hop-by-hop: without any, nothing is named either.
    if present.is_empty() {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::try_from(name.trim()).ok())
        .collect();
    for name in named.into_iter().chain(present) {
        headers.remove(name);
    }
}

/// The request headers the backend sees: no hop-by-hop headers, no client credentials, the verified
/// `Authorization` if any, `X-Forwarded-For` extended with the client, and the service's configured headers.
fn rewrite_headers(
    headers: &mut HeaderMap,
    grpc: bool,
    client_ip: IpAddr,
    authorization: Option<HeaderValue>,
    configured: &[(HeaderName, HeaderValue)],
) {
    let wants_trailers = headers.get_all(TE).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("trailers"))
    });
    strip_hop_by_hop(headers);
    // gRPC servers may insist on `te: trailers`, the one TE value that is end-to-end.
    if grpc || wants_trailers {
        headers.insert(TE, HeaderValue::from_static("trailers"));
    }
    // The client's Host names the proxy; the backend's authority comes from the request URI.
    headers.remove(HOST);
    if has_any(headers, &CREDENTIAL_HEADERS) {
        for name in CREDENTIAL_HEADERS {
            headers.remove(name);
        }
    }
    match authorization {
        Some(value) => {
            headers.insert(AUTHORIZATION, value);
        }
        None => strip_l402_authorization(headers),
    }
    let forwarded_for = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prior) if !prior.trim().is_empty() => format!("{prior}, {client_ip}"),
        _ => client_ip.to_string(),
    };
    if let Ok(value) = HeaderValue::try_from(forwarded_for) {
        headers.insert(X_FORWARDED_FOR, value);
    }
    for (name, value) in configured {
        headers.insert(name, value.clone());
    }
}

/// Removes `Authorization: L402/LSAT …` values (unverified credentials) and keeps any other scheme. A value
/// that is not plain text is removed too: its scheme cannot be told, and a lenient backend might read it as L402.
fn strip_l402_authorization(headers: &mut HeaderMap) {
    let keep: Vec<HeaderValue> = headers
        .get_all(AUTHORIZATION)
        .iter()
        .filter(|v| {
            let Ok(text) = v.to_str() else {
                return false;
            };
            let scheme = text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            scheme != "L402" && scheme != "LSAT"
        })
        .cloned()
        .collect();
    headers.remove(AUTHORIZATION);
    for value in keep {
        headers.append(AUTHORIZATION, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_removed() {
        let mut h = headers(&[
            ("connection", "keep-alive, x-private"),
            ("x-private", "1"),
            ("keep-alive", "timeout=5"),
            ("upgrade", "websocket"),
            ("x-kept", "yes"),
        ]);
        rewrite_headers(&mut h, false, "10.0.0.9".parse().unwrap(), None, &[]);
        assert!(
            h.get("x-private").is_none()
                && h.get("keep-alive").is_none()
                && h.get("upgrade").is_none()
        );
        assert_eq!(h["x-kept"], "yes");
        assert!(h.get("te").is_none());
    }

    #[test]
    fn only_the_verified_credential_is_forwarded() {
        let mut h = headers(&[
            ("authorization", "LSAT abc:def"),
            ("macaroon", "0201"),
            ("grpc-metadata-macaroon", "0201"),
            ("token", "0201"),
            ("host", "proxy.example"),
        ]);
        rewrite_headers(
            &mut h,
            true,
            "10.0.0.9".parse().unwrap(),
            Some(HeaderValue::from_static("L402 x:y")),
            &[],
        );
        assert_eq!(
            h.get_all("authorization").iter().collect::<Vec<_>>(),
            ["L402 x:y"]
        );
        assert!(
            h.get("macaroon").is_none()
                && h.get("grpc-metadata-macaroon").is_none()
                && h.get("token").is_none()
                && h.get("host").is_none()
        );
        assert_eq!(h["te"], "trailers");
    }

    #[test]
    fn unverified_l402_credentials_are_dropped_but_other_schemes_kept() {
        let mut h = headers(&[
            ("authorization", "L402 abc:def"),
            ("authorization", "Bearer t"),
        ]);
        rewrite_headers(&mut h, false, "10.0.0.9".parse().unwrap(), None, &[]);
        assert_eq!(
            h.get_all("authorization").iter().collect::<Vec<_>>(),
            ["Bearer t"]
        );
        // Not text (obs-text byte): the scheme cannot be told, so it is not forwarded either.
        let mut h = HeaderMap::new();
        h.append(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"L402 abc:def\xff").unwrap(),
        );
        h.append(AUTHORIZATION, HeaderValue::from_static("Basic dTpw"));
        rewrite_headers(&mut h, false, "10.0.0.9".parse().unwrap(), None, &[]);
        assert_eq!(
            h.get_all("authorization").iter().collect::<Vec<_>>(),
            ["Basic dTpw"]
        );
    }

    #[test]
    fn a_request_without_hop_by_hop_or_credential_headers_keeps_its_own() {
        let mut h = headers(&[
            ("accept", "*/*"),
            ("user-agent", "wrk"),
            ("x-request-id", "7"),
        ]);
        rewrite_headers(&mut h, false, "10.0.0.9".parse().unwrap(), None, &[]);
        assert_eq!(h.len(), 4, "{h:?}");
        assert_eq!(h["accept"], "*/*");
        assert_eq!(h["user-agent"], "wrk");
        assert_eq!(h["x-request-id"], "7");
        assert_eq!(h["x-forwarded-for"], "10.0.0.9");
        // Only a named header among them: still removed, because `connection` names it.
        let mut h = headers(&[("connection", "x-request-id"), ("x-request-id", "7")]);
        strip_hop_by_hop(&mut h);
        assert!(h.is_empty(), "{h:?}");
    }

    #[test]
    fn forwarded_for_is_appended() {
        let mut h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        rewrite_headers(&mut h, false, "10.0.0.9".parse().unwrap(), None, &[]);
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 10.0.0.9");
        let mut h = HeaderMap::new();
        rewrite_headers(&mut h, false, "::1".parse().unwrap(), None, &[]);
        assert_eq!(h["x-forwarded-for"], "::1");
    }

    #[test]
    fn configured_headers_replace_the_clients() {
        let mut h = headers(&[("x-api-key", "client")]);
        let configured = [(
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static("configured"),
        )];
        rewrite_headers(
            &mut h,
            false,
            "10.0.0.9".parse().unwrap(),
            None,
            &configured,
        );
        assert_eq!(h["x-api-key"], "configured");
    }
}
