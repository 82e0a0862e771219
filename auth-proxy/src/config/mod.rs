//! Configuration: Aperture's YAML file, overridden by flags and environment, validated once into [`Config`].
//!
//! Precedence is flags > environment > file > defaults (the binary maps flags and `AUTH_PROXY_*` variables onto
//! [`Overrides`]). Every error names the offending key (`services[1].pathregexp`), and secrets (the PostgreSQL
//! password) are wrapped in [`Secret`] so they never reach a log line or a `Debug` print.

mod file;

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;

use crate::service::{AuthLevel, CapabilityRule, RateLimitRule, ServiceConfig, UpstreamProtocol};

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
            ConfigError::UnknownKey { key } | ConfigError::Invalid { key, .. } => Some(key),
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

/// The proxy's lnd, which creates the invoices.
#[derive(Debug, Clone)]
pub struct AuthenticatorConfig {
    /// `authenticator.disable`: no challenges at all, every request is forwarded unauthenticated.
    pub disable: bool,
    /// The chain network lnd runs on (informational, Aperture's key).
    pub network: String,
    /// How to reach lnd; `None` only when `disable` is set.
    pub lnd: Option<proto::lnd::LndConfig>,
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
        let mut raw = parsed.config;
        apply_overrides(&mut raw, overrides);
        let mut config = validate(raw)?;
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

/// Expands a leading `~/` the way Aperture (lnd's `CleanAndExpandPath`) does.
fn expand(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn duration(key: &str, value: &Option<String>, default: Duration) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => humantime::parse_duration(text).map_err(|e| ConfigError::invalid(key, e)),
    }
}

/// The base directory: `basedir` if given, else `~/.auth-proxy`.
pub fn base_dir(basedir: Option<&str>) -> PathBuf {
    match basedir {
        Some(dir) if !dir.is_empty() => expand(dir),
        _ => expand("~/.auth-proxy"),
    }
}

fn validate(raw: file::FileConfig) -> Result<Config, ConfigError> {
    let base_dir = base_dir(raw.basedir.as_deref());
    let listen_addr = raw
        .listenaddr
        .clone()
        .unwrap_or_else(|| DEFAULT_LISTEN_ADDR.into());
    if listen_addr.is_empty() {
        return Err(ConfigError::invalid("listenaddr", "must not be empty"));
    }
    let tls = match (
        raw.insecure.unwrap_or(false),
        &raw.tlscertpath,
        &raw.tlskeypath,
    ) {
        (true, _, _) => TlsSource::Insecure,
        (false, Some(cert), Some(key)) => TlsSource::Files {
            cert: expand(cert),
            key: expand(key),
        },
        (false, Some(_), None) => {
            return Err(ConfigError::invalid(
                "tlskeypath",
                "required with tlscertpath",
            ))
        }
        (false, None, Some(_)) => {
            return Err(ConfigError::invalid(
                "tlscertpath",
                "required with tlskeypath",
            ))
        }
        (false, None, None) => TlsSource::SelfSigned {
            cert: base_dir.join("tls.cert"),
            key: base_dir.join("tls.key"),
        },
    };
    let database = database(&raw, &base_dir)?;
    let authenticator = authenticator(&raw.authenticator)?;
    let services = raw
        .services
        .iter()
        .enumerate()
        .map(|(index, section)| service(index, section))
        .collect::<Result<Vec<_>, _>>()?;
    for (index, service) in services.iter().enumerate() {
        if services[..index]
            .iter()
            .any(|earlier| earlier.name == service.name)
        {
            return Err(ConfigError::invalid(
                format!("services[{index}].name"),
                "duplicate service name",
            ));
        }
    }
    let prometheus_listen_addr = raw.prometheus.enabled.unwrap_or(false).then(|| {
        raw.prometheus
            .listenaddr
            .clone()
            .unwrap_or_else(|| DEFAULT_PROMETHEUS_LISTEN_ADDR.into())
    });
    let admin = AdminConfig {
        enabled: raw.admin.enabled.unwrap_or(false),
        listen_addr: raw
            .admin
            .listenaddr
            .clone()
            .unwrap_or_else(|| DEFAULT_ADMIN_LISTEN_ADDR.into()),
        macaroon_path: raw
            .admin
            .macaroonpath
            .as_deref()
            .map(expand)
            .unwrap_or_else(|| base_dir.join("admin.macaroon")),
    };
    Ok(Config {
        listen_addr,
        tls,
        database,
        authenticator,
        services,
        prometheus_listen_addr,
        admin,
        strict_verify: raw.strictverify.unwrap_or(false),
        strict_verify_timeout: duration(
            "strictverifytimeout",
            &raw.strictverifytimeout,
            Duration::from_secs(3),
        )?,
        shutdown_grace: duration("shutdowngrace", &raw.shutdowngrace, Duration::from_secs(10))?,
        debug_level: raw.debuglevel.clone(),
        base_dir,
        ignored_aperture_keys: Vec::new(),
    })
}

fn database(raw: &file::FileConfig, base_dir: &Path) -> Result<DatabaseConfig, ConfigError> {
    match raw.dbbackend.as_deref().unwrap_or("sqlite") {
        "sqlite" => Ok(DatabaseConfig::Sqlite {
            path: raw
                .sqlite
                .dbfile
                .as_deref()
                .filter(|f| !f.is_empty())
                .map(expand)
                .unwrap_or_else(|| base_dir.join(DEFAULT_SQLITE_FILE)),
            skip_migrations: raw.sqlite.skipmigrations.unwrap_or(false),
        }),
        "postgres" => {
            let pg = &raw.postgres;
            let required = |key: &str, value: &Option<String>| {
                value.clone().filter(|v| !v.is_empty()).ok_or_else(|| {
                    ConfigError::invalid(
                        format!("postgres.{key}"),
                        "required with dbbackend: postgres",
                    )
                })
            };
            Ok(DatabaseConfig::Postgres(PostgresConfig {
                host: required("host", &pg.host)?,
                port: pg.port.unwrap_or(5432),
                user: required("user", &pg.user)?,
                password: Secret::new(pg.password.clone().unwrap_or_default()),
                dbname: required("dbname", &pg.dbname)?,
                max_connections: match pg.maxconnections {
                    Some(0) => {
                        return Err(ConfigError::invalid(
                            "postgres.maxconnections",
                            "must be positive",
                        ))
                    }
                    Some(n) => n,
                    None => 25,
                },
                require_ssl: pg.requiressl.unwrap_or(false),
                skip_migrations: pg.skipmigrations.unwrap_or(false),
            }))
        }
        other => Err(ConfigError::invalid(
            "dbbackend",
            format!("unsupported backend {other:?} (expected sqlite or postgres)"),
        )),
    }
}

fn authenticator(raw: &file::AuthenticatorSection) -> Result<AuthenticatorConfig, ConfigError> {
    let disable = raw.disable.unwrap_or(false);
    let network = raw.network.clone().unwrap_or_else(|| "mainnet".into());
    if ![
        "mainnet", "testnet", "testnet4", "regtest", "simnet", "signet",
    ]
    .contains(&network.as_str())
    {
        return Err(ConfigError::invalid(
            "authenticator.network",
            format!("unknown network {network:?}"),
        ));
    }
    if disable {
        return Ok(AuthenticatorConfig {
            disable,
            network,
            lnd: None,
        });
    }
    let host = raw
        .lndhost
        .clone()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            ConfigError::invalid(
                "authenticator.lndhost",
                "required unless authenticator.disable is set",
            )
        })?;
    let macdir = raw
        .macdir
        .as_deref()
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            ConfigError::invalid(
                "authenticator.macdir",
                "required unless authenticator.disable is set",
            )
        })?;
    // Aperture requires `tlspath`; we also allow leaving it out for a plaintext lnd (mock-lnd without TLS).
    let tls_cert_path = raw.tlspath.as_deref().filter(|p| !p.is_empty()).map(expand);
    Ok(AuthenticatorConfig {
        disable,
        network,
        lnd: Some(proto::lnd::LndConfig {
            host,
            tls_cert_path,
            macaroon_path: expand(macdir).join(INVOICE_MACAROON_FILE),
        }),
    })
}

fn regex(key: &str, pattern: &str) -> Result<Regex, ConfigError> {
    Regex::new(pattern).map_err(|e| ConfigError::invalid(key, e))
}

fn service(index: usize, raw: &file::ServiceSection) -> Result<ServiceConfig, ConfigError> {
    let key = |name: &str| format!("services[{index}].{name}");
    let name = raw
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ConfigError::invalid(key("name"), "required"))?;
    if name.contains([',', ':', '=', ' ']) {
        return Err(ConfigError::invalid(
            key("name"),
            "must not contain ',', ':', '=' or spaces (it goes into caveats)",
        ));
    }
    let address = raw
        .address
        .clone()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ConfigError::invalid(key("address"), "required"))?;
    let protocol = match raw.protocol.as_deref().unwrap_or("http") {
        "http" => UpstreamProtocol::Http,
        "https" => UpstreamProtocol::Https,
        other => {
            return Err(ConfigError::invalid(
                key("protocol"),
                format!("{other:?} is not http or https"),
            ))
        }
    };
    let host = regex(&key("hostregexp"), raw.hostregexp.as_deref().unwrap_or(""))?;
    let path = raw
        .pathregexp
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| regex(&key("pathregexp"), p))
        .transpose()?;
    let auth = match &raw.auth {
        None => AuthLevel::On,
        Some(value) => AuthLevel::parse(&value.to_string())
            .map_err(|e| ConfigError::invalid(key("auth"), e))?,
    };
    let price = match raw.price.unwrap_or(0) {
        // Aperture: a price of 0 means the default price of 1 sat.
        0 => 1,
        p if p < 0 => return Err(ConfigError::invalid(key("price"), "must not be negative")),
        p if p > 2_100_000_000_000_000 => {
            return Err(ConfigError::invalid(
                key("price"),
                "exceeds the maximum price",
            ))
        }
        p => p,
    };
    let timeout = match raw.timeout.unwrap_or(0) {
        t if t < 0 => return Err(ConfigError::invalid(key("timeout"), "must not be negative")),
        0 => None,
        t => Some(Duration::from_secs(t as u64)),
    };
    let list = |field: &str, patterns: &[String]| {
        patterns
            .iter()
            .enumerate()
            .map(|(i, p)| regex(&format!("{}[{i}]", key(field)), p))
            .collect::<Result<Vec<_>, _>>()
    };
    let rate_limits = raw
        .ratelimits
        .iter()
        .enumerate()
        .map(|(i, rl)| rate_limit(&format!("{}[{i}]", key("ratelimits")), rl))
        .collect::<Result<Vec<_>, _>>()?;
    let capability_rules = raw
        .capabilityrules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let rule_key = format!("{}[{i}]", key("capabilityrules"));
            let capability = rule
                .capability
                .clone()
                .filter(|c| !c.is_empty() && !c.contains(','))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        format!("{rule_key}.capability"),
                        "required, one capability name",
                    )
                })?;
            let pattern = rule.pathregexp.as_deref().ok_or_else(|| {
                ConfigError::invalid(format!("{rule_key}.pathregexp"), "required")
            })?;
            Ok(CapabilityRule {
                path: regex(&format!("{rule_key}.pathregexp"), pattern)?,
                capability,
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let tls_cert_path = raw
        .tlscertpath
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(expand);
    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        let header_key = format!("{}.{name}", key("headers"));
        let name = http::HeaderName::try_from(name.as_str())
            .map_err(|e| ConfigError::invalid(&header_key, e))?;
        if value.starts_with("!file") || value.contains("${") {
            return Err(ConfigError::invalid(
                &header_key,
                "file and environment references are not supported",
            ));
        }
        let value = http::HeaderValue::try_from(value.as_str())
            .map_err(|e| ConfigError::invalid(&header_key, e))?;
        headers.push((name, value));
    }
    Ok(ServiceConfig {
        name,
        host,
        path,
        address,
        protocol,
        tls_cert_path,
        auth,
        headers,
        timeout,
        capabilities: raw
            .capabilities
            .clone()
            .unwrap_or_default()
            .replace(' ', ""),
        constraints: raw
            .constraints
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        price_sat: price,
        auth_whitelist: list("authwhitelistpaths", &raw.authwhitelistpaths)?,
        skip_invoice_paths: list(
            "authskipinvoicecreationpaths",
            &raw.authskipinvoicecreationpaths,
        )?,
        rate_limits,
        capability_rules,
    })
}

fn rate_limit(key: &str, raw: &file::RateLimitSection) -> Result<RateLimitRule, ConfigError> {
    let requests = match raw.requests {
        Some(n) if n > 0 => n as u32,
        _ => {
            return Err(ConfigError::invalid(
                format!("{key}.requests"),
                "must be provided and positive",
            ))
        }
    };
    let per = match raw.per.as_deref().map(humantime::parse_duration) {
        Some(Ok(d)) if !d.is_zero() => d,
        Some(Err(e)) => return Err(ConfigError::invalid(format!("{key}.per"), e)),
        _ => {
            return Err(ConfigError::invalid(
                format!("{key}.per"),
                "must be provided and positive",
            ))
        }
    };
    let burst = match raw.burst {
        None | Some(0) => requests,
        Some(n) if n > 0 => n as u32,
        Some(_) => {
            return Err(ConfigError::invalid(
                format!("{key}.burst"),
                "must be positive",
            ))
        }
    };
    let path = raw
        .pathregexp
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| regex(&format!("{key}.pathregexp"), p))
        .transpose()?;
    Ok(RateLimitRule {
        path,
        requests,
        per,
        burst,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "
authenticator:
  lndhost: 127.0.0.1:10010
  tlspath: /tmp/lnd/tls.cert
  macdir: /tmp/lnd
basedir: /tmp/ap
services:
  - name: loop
    hostregexp: '.*'
    pathregexp: '^/looprpc.*$'
    address: 127.0.0.1:11009
    protocol: http
";

    #[test]
    fn defaults_follow_aperture() {
        let config = Config::from_yaml(MINIMAL, &Overrides::default()).unwrap();
        assert_eq!(config.listen_addr, DEFAULT_LISTEN_ADDR);
        assert_eq!(config.services[0].price_sat, 1, "price 0 means 1 sat");
        assert_eq!(config.services[0].auth, AuthLevel::On);
        assert!(
            matches!(config.database, DatabaseConfig::Sqlite { ref path, .. } if path == Path::new("/tmp/ap/aperture.db"))
        );
        assert_eq!(
            config.tls,
            TlsSource::SelfSigned {
                cert: "/tmp/ap/tls.cert".into(),
                key: "/tmp/ap/tls.key".into()
            }
        );
        let lnd = config.authenticator.lnd.unwrap();
        assert_eq!(lnd.macaroon_path, Path::new("/tmp/lnd/invoice.macaroon"));
    }

    #[test]
    fn overrides_beat_the_file() {
        let overrides = Overrides {
            listen_addr: Some("127.0.0.1:1".into()),
            insecure: Some(true),
            lnd_host: Some("10.0.0.1:1".into()),
            ..Overrides::default()
        };
        let config = Config::from_yaml(MINIMAL, &overrides).unwrap();
        assert_eq!(config.listen_addr, "127.0.0.1:1");
        assert_eq!(config.tls, TlsSource::Insecure);
        assert_eq!(config.authenticator.lnd.unwrap().host, "10.0.0.1:1");
    }

    #[test]
    fn bad_regex_names_its_key() {
        let text = MINIMAL.replace("'^/looprpc.*$'", "'^/(unclosed'");
        let err = Config::from_yaml(&text, &Overrides::default()).unwrap_err();
        assert_eq!(err.key(), Some("services[0].pathregexp"));
    }

    #[test]
    fn missing_lnd_host_is_reported() {
        let err = Config::from_yaml("services: []\n", &Overrides::default()).unwrap_err();
        assert_eq!(err.key(), Some("authenticator.lndhost"));
    }

    #[test]
    fn postgres_password_is_never_printed() {
        let text = format!(
            "{MINIMAL}dbbackend: postgres\npostgres:\n  host: db\n  user: u\n  password: hunter2\n  dbname: d\n  requireSSL: true\n"
        );
        let config = Config::from_yaml(&text, &Overrides::default()).unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(
            matches!(config.database, DatabaseConfig::Postgres(ref pg) if pg.require_ssl && pg.port == 5432)
        );
    }

    #[test]
    fn rate_limits_and_capability_rules_are_validated() {
        let text = format!("{MINIMAL}    ratelimits:\n      - requests: 0\n        per: 1s\n");
        let err = Config::from_yaml(&text, &Overrides::default()).unwrap_err();
        assert_eq!(err.key(), Some("services[0].ratelimits[0].requests"));
        let text = format!("{MINIMAL}    capabilityrules:\n      - pathregexp: '^/x'\n");
        let err = Config::from_yaml(&text, &Overrides::default()).unwrap_err();
        assert_eq!(err.key(), Some("services[0].capabilityrules[0].capability"));
    }

    #[test]
    fn the_sample_config_is_valid_and_fully_supported() {
        let config = Config::from_yaml(
            include_str!("../../sample-conf.yaml"),
            &Overrides::default(),
        )
        .unwrap();
        assert!(
            config.ignored_aperture_keys.is_empty(),
            "{:?}",
            config.ignored_aperture_keys
        );
        assert_eq!(config.services[0].price_sat, 1000);
        assert_eq!(
            config.services[0].required_capability("/looprpc.SwapServer/NewLoopOutSwap"),
            Some("loop_out")
        );
        assert_eq!(
            config.services[0].required_capability("/looprpc.SwapServer/LoopOutQuote"),
            None
        );
    }

    #[test]
    fn an_aperture_file_works_and_its_unsupported_keys_are_reported() {
        let text = "
listenaddr: 'localhost:8081'
staticroot: './static'
servestatic: false
debuglevel: debug
autocert: false
servername: aperture.example.com
insecure: true
strictverify: false
invoicebatchsize: 100000
idletimeout: 2m
authenticator:
  network: simnet
  disable: false
  lndhost: 'localhost:10009'
  tlspath: '/path/to/lnd/tls.cert'
  macdir: '/path/to/lnd/data/chain/bitcoin/simnet'
blocklist: ['1.1.1.1']
dbbackend: sqlite
sqlite:
  dbfile: '/path/to/.aperture/aperture.db'
  skipmigrations: false
etcd:
  host: 'localhost:2379'
services:
  - name: service1
    hostregexp: '^service1.com$'
    pathregexp: '^/.*$'
    address: '127.0.0.1:10009'
    protocol: https
    tlscertpath: 'path-to-optional-tls-cert/tls.cert'
    capabilities: 'add,subtract'
    constraints:
      'valid_until': 1682483169
    timeout: 31557600
    price: 0
    authwhitelistpaths: ['^/freebieservice.*$']
    authskipinvoicecreationpaths: ['^/streamingservice.*$']
    ratelimits:
      - pathregexp: '^/looprpc.SwapServer/LoopOutTerms.*$'
        requests: 5
        per: 1s
        burst: 100
    dynamicprice:
      enabled: false
prometheus:
  enabled: true
  listenaddr: 'localhost:9000'
";
        let config = Config::from_yaml(text, &Overrides::default()).unwrap();
        assert_eq!(
            config.ignored_aperture_keys,
            [
                "staticroot",
                "servestatic",
                "autocert",
                "servername",
                "invoicebatchsize",
                "idletimeout",
                "blocklist",
                "etcd",
                "services[0].dynamicprice"
            ]
        );
        assert_eq!(config.debug_level.as_deref(), Some("debug"));
        let service = &config.services[0];
        assert_eq!(
            service.constraints,
            [("valid_until".to_owned(), "1682483169".to_owned())]
        );
        assert_eq!(
            (service.price_sat, service.protocol),
            (1, UpstreamProtocol::Https)
        );
        assert!(service.matches("service1.com", "/anything"));
        assert!(!service.matches("service2.com", "/anything"));
        assert_eq!(
            config.prometheus_listen_addr.as_deref(),
            Some("localhost:9000")
        );
    }

    #[test]
    fn unknown_backend_is_named() {
        let err = Config::from_yaml(
            &format!("{MINIMAL}dbbackend: etcd\n"),
            &Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(err.key(), Some("dbbackend"));
    }
}
