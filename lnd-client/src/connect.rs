//! Connecting to an lnd node (real or mock) the way lnd's own clients do.
//!
//! lnd authenticates in two layers: TLS with the node's self-signed
//! `tls.cert` (pinned, see [`crate::pinned`]) and a macaroon sent as the gRPC
//! metadata value `macaroon: <hex>` on every call. [`LndClient::connect`]
//! reads both files and returns typed clients for the three services we use.
//! Connections are lazy: building a client never fails because the node is
//! down; the first call does, with gRPC status `Unavailable`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Request, Status};

use proto::invoicesrpc::invoices_client::InvoicesClient;
use proto::lnrpc::lightning_client::LightningClient;
use proto::routerrpc::router_client::RouterClient;

use crate::pinned::{pinned_client_config, BadCertificate};

/// How long establishing a TCP + TLS connection may take before a call fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where an lnd node is and how to authenticate to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LndConfig {
    /// `host:port` of the node's gRPC listener.
    pub host: String,
    /// The node's `tls.cert`; `None` connects in plaintext (mock-lnd `--no-tls`).
    pub tls_cert_path: Option<PathBuf>,
    /// The macaroon to present, e.g. `admin.macaroon` or `invoice.macaroon`.
    pub macaroon_path: PathBuf,
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LndConnectError {
    /// A file (certificate or macaroon) could not be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The certificate file holds no usable PEM certificate.
    #[error(transparent)]
    BadCertificate(#[from] BadCertificate),
    /// The host is not a valid `host:port`.
    #[error("invalid lnd address {0:?}")]
    BadHost(String),
}

/// Adds `macaroon: <hex>` to every outgoing call.
#[derive(Clone)]
pub struct MacaroonInterceptor {
    macaroon: MetadataValue<Ascii>,
}

impl MacaroonInterceptor {
    /// An interceptor presenting `macaroon` (the raw bytes of a macaroon file).
    pub fn new(macaroon: &[u8]) -> Self {
        let hex = hex::encode(macaroon);
        Self {
            macaroon: hex.parse().expect("hex is valid ASCII metadata"),
        }
    }
}

impl std::fmt::Debug for MacaroonInterceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The macaroon is a bearer credential: never print it.
        f.write_str("MacaroonInterceptor(..)")
    }
}

impl tonic::service::Interceptor for MacaroonInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("macaroon", self.macaroon.clone());
        Ok(request)
    }
}

/// A channel to lnd that authenticates every call with a macaroon.
pub type LndChannel = InterceptedService<Channel, MacaroonInterceptor>;

/// Typed clients for the lnd services this project uses, sharing one connection.
#[derive(Debug, Clone)]
pub struct LndClient {
    /// `lnrpc.Lightning`: node info, invoices, `SendPaymentSync`.
    pub lightning: LightningClient<LndChannel>,
    /// `routerrpc.Router`: `SendPaymentV2`, `TrackPaymentV2`.
    pub router: RouterClient<LndChannel>,
    /// `invoicesrpc.Invoices`: hold invoices.
    pub invoices: InvoicesClient<LndChannel>,
}

impl LndClient {
    /// Builds clients for the node described by `config`.
    ///
    /// Reads the certificate and macaroon now (so a wrong path is reported at
    /// start-up) but connects lazily.
    pub async fn connect(config: &LndConfig) -> Result<Self, LndConnectError> {
        Self::connect_lazy(config)
    }

    /// Same as [`LndClient::connect`], for callers outside an async context.
    pub fn connect_lazy(config: &LndConfig) -> Result<Self, LndConnectError> {
        let macaroon = read_file(&config.macaroon_path)?;
        let channel = match &config.tls_cert_path {
            Some(cert_path) => {
                let pem = read_file(cert_path)?;
                pinned_tls_channel(&config.host, &pem)?
            }
            None => plaintext_channel(&config.host)?,
        };
        let channel = InterceptedService::new(channel, MacaroonInterceptor::new(&macaroon));
        Ok(Self {
            lightning: LightningClient::new(channel.clone()),
            router: RouterClient::new(channel.clone()),
            invoices: InvoicesClient::new(channel),
        })
    }
}

/// A lazy plaintext (h2c) gRPC channel to `host` (`host:port` or a URI).
pub fn plaintext_channel(host: &str) -> Result<Channel, LndConnectError> {
    Ok(endpoint(host)?.connect_lazy())
}

/// A lazy gRPC channel over TLS to `host` (`host:port` or a URI) that trusts
/// exactly the certificate(s) in `cert_pem` — for lnd, or any gRPC server with
/// a self-signed certificate such as the auth proxy.
pub fn pinned_tls_channel(host: &str, cert_pem: &[u8]) -> Result<Channel, LndConnectError> {
    // The pinned verifier ignores the name, but SNI needs one; lnd's certs
    // always include "localhost".
    tls_channel(host, pinned_client_config(cert_pem)?, true)
}

/// A lazy gRPC channel over TLS to `host` that verifies the server the way a browser does: a chain
/// to one of the WebPKI roots (Mozilla's, from `webpki-roots`) and a certificate for `host`'s name.
/// This is how loopd reaches a public Loop server such as `swap.lightning.today:11010`; a
/// self-signed certificate is refused.
pub fn webpki_tls_channel(host: &str) -> Result<Channel, LndConnectError> {
    tls_channel(host, webpki_client_config()?, false)
}

/// A rustls client configuration trusting the WebPKI roots, checking host names, offering `h2`.
pub fn webpki_client_config() -> Result<rustls::ClientConfig, BadCertificate> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| BadCertificate(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// A lazy channel whose connections are TLS with `config`. The server name sent (and, for a
/// verifier that checks it, verified) is `host`'s; `localhost_fallback` uses `localhost` when
/// `host` is not a valid name.
fn tls_channel(
    host: &str,
    config: rustls::ClientConfig,
    localhost_fallback: bool,
) -> Result<Channel, LndConnectError> {
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config));
    let endpoint = endpoint(host)?;
    let authority = endpoint
        .uri()
        .authority()
        .ok_or_else(|| LndConnectError::BadHost(host.to_owned()))?
        .clone();
    let name = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let server_name = match rustls::pki_types::ServerName::try_from(name.to_owned()) {
        Ok(name) => name,
        Err(_) if localhost_fallback => {
            rustls::pki_types::ServerName::try_from("localhost").expect("valid")
        }
        Err(_) => return Err(LndConnectError::BadHost(host.to_owned())),
    };
    let connector = tower::service_fn(move |uri: Uri| {
        let tls = tls.clone();
        let server_name = server_name.clone();
        async move {
            let authority = uri
                .authority()
                .ok_or_else(|| std::io::Error::other("URI without authority"))?;
            let port = authority.port_u16().unwrap_or(443);
            let host = authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']');
            let tcp = tokio::net::TcpStream::connect((host, port)).await?;
            tcp.set_nodelay(true)?;
            let stream = tls.connect(server_name, tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }
    });
    Ok(endpoint.connect_with_connector_lazy(connector))
}

/// An endpoint for `host`. The scheme is always `http`: TLS, when used, is
/// done by our own connector so that the certificate can be pinned.
fn endpoint(host: &str) -> Result<Endpoint, LndConnectError> {
    let authority = host
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    Endpoint::from_shared(format!("http://{authority}"))
        .map(|e| {
            e.connect_timeout(CONNECT_TIMEOUT)
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
        })
        .map_err(|_| LndConnectError::BadHost(host.to_owned()))
}

fn read_file(path: &Path) -> Result<Vec<u8>, LndConnectError> {
    std::fs::read(path).map_err(|source| LndConnectError::ReadFile {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Handshakes with a loopback server presenting a fresh self-signed certificate for
    /// `localhost`, trusting the server the way `config` says.
    async fn handshake(config: impl FnOnce(&[u8]) -> rustls::ClientConfig) -> std::io::Result<()> {
        let identity = service_kit::tls::self_signed("test server", &[]).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(
            service_kit::tls::server_config(&identity, &[b"h2"]).unwrap(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            // The server's side of a refused handshake fails too; only the client's matters.
            let _ = acceptor.accept(tcp).await;
        });
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config(&identity.cert_pem)));
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let result = connector.connect(name, tcp).await.map(drop);
        server.abort();
        result
    }

    #[tokio::test]
    async fn a_self_signed_server_is_refused_by_webpki_and_accepted_when_pinned() {
        let refused = handshake(|_| webpki_client_config().unwrap()).await;
        let error = refused.expect_err("WebPKI roots do not trust a self-signed certificate");
        assert!(
            error.to_string().contains("certificate"),
            "unexpected error: {error}"
        );
        handshake(|pem| pinned_client_config(pem).unwrap())
            .await
            .expect("the pinned certificate is trusted");
    }

    #[tokio::test]
    async fn a_webpki_channel_needs_a_host_name() {
        assert!(matches!(
            webpki_tls_channel("not a host"),
            Err(LndConnectError::BadHost(_))
        ));
    }
}
