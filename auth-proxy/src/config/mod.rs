//! Configuration: Aperture's YAML file, overridden by flags and environment, validated once into [`Config`].
//!
//! Precedence is flags > environment > file > defaults (the binary maps flags and `AUTH_PROXY_*` variables onto
//! [`Overrides`]). Every error names the offending key (`services[1].pathregexp`), and secrets (the PostgreSQL
//! password) are wrapped in [`Secret`] so they never reach a log line or a `Debug` print.

mod file;
#[cfg(test)]
mod tests;
mod unsupported;
mod validate;

pub use validate::base_dir;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::service::ServiceConfig;

/// Default main listener, as Aperture's sample config (`localhost:8081`).
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8081";
/// Default admin API listener (loopback only).
pub const DEFAULT_ADMIN_LISTEN_ADDR: &str = "127.0.0.1:8082";
/// Default Prometheus listener.
pub const DEFAULT_PROMETHEUS_LISTEN_ADDR: &str = "127.0.0.1:9000";
/// The SQLite file name inside the base directory (Aperture's name).
pub const DEFAULT_SQLITE_FILE: &str = "aperture.db";
/// The macaroon Aperture reads from `authenticator.macdir`.
pub const INVOICE_MACAROON_FILE: &str = "invoice.macaroon";

/// A configuration problem, always naming the key it is about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key this proxy (and Aperture) does not know.
    #[error("unknown config key `{key}`")]
    UnknownKey {
        /// Dotted path of the key, e.g. `services[0].pricee`.
        key: String,
    },
    /// An Aperture key set to a value whose feature this proxy does not implement.
    #[error("config key `{key}` is not supported by auth-proxy: {reason}")]
    Unsupported {
        /// Dotted path of the key.
        key: String,
        /// What is not implemented, and what to do instead.
        reason: String,
    },
    /// A key with a value that cannot be used.
    #[error("invalid config key `{key}`: {reason}")]
    Invalid {
        /// Dotted path of the key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    fn invalid(key: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            reason: reason.to_string(),
        }
    }

    /// The key the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::UnknownKey { key }
            | ConfigError::Unsupported { key, .. }
            | ConfigError::Invalid { key, .. } => Some(key),
        }
    }
}

/// A value that must never be printed (passwords).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"****\"")
    }
}

/// Values given on the command line or in the environment; each replaces the file's value when set.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `listenaddr`.
    pub listen_addr: Option<String>,
    /// `insecure`.
    pub insecure: Option<bool>,
    /// `basedir`.
    pub base_dir: Option<String>,
    /// `dbbackend`.
    pub db_backend: Option<String>,
    /// `sqlite.dbfile`.
    pub sqlite_dbfile: Option<String>,
    /// `postgres.host`.
    pub postgres_host: Option<String>,
    /// `postgres.port`.
    pub postgres_port: Option<u16>,
    /// `postgres.user`.
    pub postgres_user: Option<String>,
    /// `postgres.password`.
    pub postgres_password: Option<Secret>,
    /// `postgres.dbname`.
    pub postgres_dbname: Option<String>,
    /// `authenticator.lndhost`.
    pub lnd_host: Option<String>,
    /// `authenticator.tlspath`.
    pub lnd_tls_path: Option<String>,
    /// `authenticator.macdir`.
    pub lnd_mac_dir: Option<String>,
    /// `authenticator.network`.
    pub network: Option<String>,
    /// `authenticator.disable`.
    pub auth_disable: Option<bool>,
    /// `prometheus.enabled`.
    pub prometheus_enabled: Option<bool>,
    /// `prometheus.listenaddr`.
    pub prometheus_listen_addr: Option<String>,
    /// `admin.enabled`.
    pub admin_enabled: Option<bool>,
    /// `admin.listenaddr`.
    pub admin_listen_addr: Option<String>,
    /// `strictverify`.
    pub strict_verify: Option<bool>,
}

/// Where the proxy's TLS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// Plaintext: HTTP/1.1 and h2c (`insecure: true`).
    Insecure,
    /// A self-signed certificate generated (once) into these files.
    SelfSigned {
        /// `<basedir>/tls.cert`.
        cert: PathBuf,
        /// `<basedir>/tls.key`.
        key: PathBuf,
    },
    /// An operator-provided certificate and key.
    Files {
        /// PEM certificate chain.
        cert: PathBuf,
        /// PEM private key.
        key: PathBuf,
    },
}

/// Which database holds root keys and token records.
#[derive(Debug, Clone)]
pub enum DatabaseConfig {
    /// An embedded SQLite file.
    Sqlite {
        /// The database file (created if missing).
        path: PathBuf,
        /// Do not run migrations at start-up.
        skip_migrations: bool,
    },
    /// A PostgreSQL server, possibly shared by several proxies.
    Postgres(PostgresConfig),
}

/// Connection settings for PostgreSQL (Aperture's `postgres:` section).
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// Server host name.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// Password (never printed).
    pub password: Secret,
    /// Database name.
    pub dbname: String,
    /// Pool size.
    pub max_connections: u32,
    /// `sslmode=require` instead of `disable`.
    pub require_ssl: bool,
    /// Do not run migrations at start-up.
    pub skip_migrations: bool,
}

/// Bounds on what unauthenticated clients can make the main listener hold (the `connections:` section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From accept (TLS handshake included) to the first complete request head; for HTTP/1.1 also the
    /// longest wait for the next request on a kept-alive connection (`requestheadtimeout`, 10 s).
    pub request_head_timeout: Duration,
    /// An HTTP/2 connection with no request in progress for this long is closed (`idletimeout`, 2 min).
    pub idle_timeout: Duration,
    /// The longest wait between two pieces of a request body (`bodytimeout`, 30 s).
    pub body_timeout: Duration,
    /// Open connections on the main listener (`max`, 10,000).
    pub max: usize,
    /// Open connections from one client address (`maxperclient`, 256).
    pub max_per_client: usize,
    /// The largest request header block, either protocol: HTTP/1.1 answers 431, HTTP/2 resets the
    /// stream (`maxheaderbytes`, 16 KiB).
    pub max_header_bytes: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            request_head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            body_timeout: Duration::from_secs(30),
            max: 10_000,
            max_per_client: 256,
            max_header_bytes: 16 * 1024,
        }
    }
}

/// The proxy's lnd, which creates the invoices.
#[derive(Debug, Clone)]
pub struct AuthenticatorConfig {
    /// `authenticator.disable`: no challenges at all, every request is forwarded unauthenticated.
    pub disable: bool,
    /// The chain network lnd runs on (informational, Aperture's key).
    pub network: l402::Network,
    /// How to reach lnd; `None` only when `disable` is set.
    pub lnd: Option<lnd_client::LndConfig>,
}

/// The admin API (token listing and revocation).
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// Serve it at all.
    pub enabled: bool,
    /// Where (loopback by default).
    pub listen_addr: String,
    /// Where the admin macaroon is written.
    pub macaroon_path: PathBuf,
}

/// The validated configuration of one proxy.
#[derive(Debug, Clone)]
pub struct Config {
    /// Main listener address (`listenaddr`).
    pub listen_addr: String,
    /// TLS of the main listener.
    pub tls: TlsSource,
    /// Directory for generated files (`basedir`).
    pub base_dir: PathBuf,
    /// Storage backend.
    pub database: DatabaseConfig,
    /// The proxy's lnd.
    pub authenticator: AuthenticatorConfig,
    /// Backends, matched in order.
    pub services: Vec<ServiceConfig>,
    /// Prometheus listener, if enabled.
    pub prometheus_listen_addr: Option<String>,
    /// Admin API.
    pub admin: AdminConfig,
    /// Require the invoice to be settled at our lnd, not just a valid preimage.
    pub strict_verify: bool,
    /// How long a strict verification waits for the settlement to be reported.
    pub strict_verify_timeout: Duration,
    /// How long in-flight requests may continue after shutdown starts.
    pub shutdown_grace: Duration,
    /// What one client connection may hold.
    pub connections: ConnectionLimits,
    /// Threads serving the main listener's connections (`workers`, default: one per core).
    pub workers: usize,
    /// Challenges one client network (IPv4 /24, IPv6 /48) may ask for; `None`: unlimited.
    pub challenge_limit: Option<crate::service::RateLimitRule>,
    /// The most unpaid tokens outstanding before challenges answer 503; `None`: no cap.
    pub max_unpaid_tokens: Option<u64>,
    /// How long a token's invoice stays payable; unpaid tokens are deleted some time after.
    pub invoice_expiry: Duration,
    /// Which `WWW-Authenticate` values a challenge carries (`challengeform`, default `aperture`).
    pub challenge_form: l402::ChallengeForm,
    /// The host name clients reach the proxy by (Aperture's `servername`); the generated certificate covers it.
    pub server_name: Option<String>,
    /// Client addresses refused outright with 403 (Aperture's `blocklist`).
    pub blocklist: Vec<std::net::IpAddr>,
    /// Log level from the file (`debuglevel`), used by the binary when `RUST_LOG` is not set.
    pub debug_level: Option<String>,
    /// Aperture keys present in the file that have no effect here (reported at start-up).
    pub ignored_aperture_keys: Vec<String>,
}

impl Config {
    /// Reads and validates a YAML file, applying `overrides` on top.
    pub fn from_file(path: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_yaml(&text, overrides)
    }

    /// Validates YAML text, applying `overrides` on top.
    pub fn from_yaml(text: &str, overrides: &Overrides) -> Result<Config, ConfigError> {
        let parsed = file::parse(text)?;
        unsupported::check(text)?;
        let mut raw = parsed.config;
        apply_overrides(&mut raw, overrides);
        let mut config = validate::validate(raw)?;
        config.ignored_aperture_keys = parsed.ignored_aperture_keys;
        Ok(config)
    }
}

fn apply_overrides(raw: &mut file::FileConfig, o: &Overrides) {
    fn set<T: Clone>(target: &mut Option<T>, value: &Option<T>) {
        if value.is_some() {
            target.clone_from(value);
        }
    }
    set(&mut raw.listenaddr, &o.listen_addr);
    set(&mut raw.insecure, &o.insecure);
    set(&mut raw.basedir, &o.base_dir);
    set(&mut raw.dbbackend, &o.db_backend);
    set(&mut raw.sqlite.dbfile, &o.sqlite_dbfile);
    set(&mut raw.postgres.host, &o.postgres_host);
    set(&mut raw.postgres.port, &o.postgres_port);
    set(&mut raw.postgres.user, &o.postgres_user);
    set(
        &mut raw.postgres.password,
        &o.postgres_password.as_ref().map(|s| s.expose().to_owned()),
    );
    set(&mut raw.postgres.dbname, &o.postgres_dbname);
    set(&mut raw.authenticator.lndhost, &o.lnd_host);
    set(&mut raw.authenticator.tlspath, &o.lnd_tls_path);
    set(&mut raw.authenticator.macdir, &o.lnd_mac_dir);
    set(&mut raw.authenticator.network, &o.network);
    set(&mut raw.authenticator.disable, &o.auth_disable);
    set(&mut raw.prometheus.enabled, &o.prometheus_enabled);
    set(&mut raw.prometheus.listenaddr, &o.prometheus_listen_addr);
    set(&mut raw.admin.enabled, &o.admin_enabled);
    set(&mut raw.admin.listenaddr, &o.admin_listen_addr);
    set(&mut raw.strictverify, &o.strict_verify);
}
