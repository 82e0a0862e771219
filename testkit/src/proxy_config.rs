//! The auth proxy's configuration for our stacks, written as an operator
//! writes it: Aperture's YAML keys.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The name of the protected gRPC service (`looprpc.*`).
pub const SERVICE_NAME: &str = "loop";
/// The name of the protected JSON-over-HTTP service (`/v1/loop/*`).
pub const HTTP_SERVICE_NAME: &str = "loophttp";

/// What differs between the proxies we start.
#[derive(Debug, Clone)]
pub struct ProxySetup {
    /// `listenaddr`.
    pub listen: String,
    /// TLS on the proxy's listener (`insecure: false`), with its certificate
    /// in `base_dir`.
    pub tls: bool,
    /// `basedir` (TLS certificate, SQLite file).
    pub base_dir: PathBuf,
    /// `host:port` of the proxy's lnd.
    pub lnd_host: String,
    /// The lnd node's directory (`tls.cert`, `invoice.macaroon`).
    pub lnd_dir: PathBuf,
    /// The protected swap server.
    pub backend: SocketAddr,
    /// The token price in satoshis.
    pub price_sat: u64,
    /// PostgreSQL instead of SQLite.
    pub postgres_url: Option<String>,
}

/// The YAML text of the configuration: the swap server's gRPC API and its
/// HTTP API, both behind L402 at the same price.
pub fn yaml(setup: &ProxySetup) -> String {
    let database = match &setup.postgres_url {
        None => format!(
            "dbbackend: sqlite\nsqlite:\n  dbfile: {}\n",
            setup.base_dir.join("auth-proxy.db").display()
        ),
        Some(url) => {
            crate::postgres::aperture_yaml(url, Some(crate::postgres::TEST_MAX_CONNECTIONS))
        }
    };
    format!(
        r#"listenaddr: "{listen}"
insecure: {insecure}
basedir: {base_dir}
{database}
authenticator:
  network: regtest
  lndhost: "{lnd_host}"
  tlspath: {tls_cert}
  macdir: {macdir}
services:
  - name: {SERVICE_NAME}
    hostregexp: ".*"
    pathregexp: "^/looprpc.*$"
    address: "{backend}"
    protocol: http
    price: {price}
    timeout: 86400
  - name: {HTTP_SERVICE_NAME}
    hostregexp: ".*"
    pathregexp: "^/v1/loop/.*$"
    address: "{backend}"
    protocol: http
    price: {price}
    timeout: 86400
"#,
        listen = setup.listen,
        insecure = !setup.tls,
        base_dir = setup.base_dir.display(),
        lnd_host = setup.lnd_host,
        tls_cert = setup.lnd_dir.join("tls.cert").display(),
        macdir = setup.lnd_dir.display(),
        backend = setup.backend,
        price = setup.price_sat,
    )
}
