//! The auth proxy's configuration for our stacks, written as an operator
//! writes it: Aperture's YAML keys.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::stack::SERVICE_NAME;

/// What differs between the proxies we start.
#[derive(Debug, Clone)]
pub struct ProxySetup {
    /// `listenaddr`.
    pub listen: String,
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

/// The YAML text of the configuration.
pub fn yaml(setup: &ProxySetup) -> String {
    let database = match &setup.postgres_url {
        None => format!(
            "dbbackend: sqlite\nsqlite:\n  dbfile: {}\n",
            setup.base_dir.join("auth-proxy.db").display()
        ),
        Some(url) => postgres_section(url),
    };
    format!(
        r#"listenaddr: "{listen}"
insecure: false
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
"#,
        listen = setup.listen,
        base_dir = setup.base_dir.display(),
        lnd_host = setup.lnd_host,
        tls_cert = setup.lnd_dir.join("tls.cert").display(),
        macdir = setup.lnd_dir.display(),
        backend = setup.backend,
        price = setup.price_sat,
    )
}

/// The `postgres:` section for a URL such as `postgres://user:pw@host:port/db`.
fn postgres_section(url: &str) -> String {
    let url = reqwest::Url::parse(url).expect("a valid PostgreSQL URL");
    format!(
        "dbbackend: postgres\npostgres:\n  host: {}\n  port: {}\n  user: {}\n  password: \"{}\"\n  dbname: {}\n  requiressl: false\n",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432),
        url.username(),
        url.password().unwrap_or(""),
        url.path().trim_start_matches('/'),
    )
}
