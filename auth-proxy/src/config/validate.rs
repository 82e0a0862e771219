//! Validation: from the file's sections to the typed [`Config`], compiling every regex and naming the key of
//! every problem.

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;

use super::file;
use super::{
    AdminConfig, AuthenticatorConfig, Config, ConfigError, ConnectionLimits, DatabaseConfig,
    PostgresConfig, Secret, TlsSource, DEFAULT_ADMIN_LISTEN_ADDR, DEFAULT_LISTEN_ADDR,
    DEFAULT_PROMETHEUS_LISTEN_ADDR, DEFAULT_SQLITE_FILE, INVOICE_MACAROON_FILE,
};
use crate::service::{
    AuthLevel, CapabilityRule, DynamicPrice, RateLimitRule, ServiceConfig, UpstreamProtocol,
};

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

/// The default cap on unpaid tokens outstanding.
const DEFAULT_MAX_UNPAID_TOKENS: u64 = 100_000;

/// The default challenge budget of a client network: 10 a second, bursts of 100.
const DEFAULT_CHALLENGE_LIMIT: (u32, Duration, u32) = (10, Duration::from_secs(1), 100);

fn challenge_limit(
    raw: Option<&file::RateLimitSection>,
) -> Result<Option<RateLimitRule>, ConfigError> {
    let Some(raw) = raw else {
        let (requests, per, burst) = DEFAULT_CHALLENGE_LIMIT;
        return Ok(Some(RateLimitRule {
            path: None,
            requests,
            per,
            burst,
        }));
    };
    if raw.requests == Some(0) {
        return Ok(None);
    }
    if raw.pathregexp.is_some() {
        return Err(ConfigError::invalid(
            "challengelimits.pathregexp",
            "the challenge budget covers every path; set per-path limits in a service's ratelimits",
        ));
    }
    rate_limit("challengelimits", raw).map(Some)
}

/// Aperture's top-level `idletimeout` (Go's `http.Server.IdleTimeout`: how long a kept-alive connection may
/// wait for its next request) is the setting `connections.idletimeout` holds; both may be given if they agree.
fn idle_timeout(
    aperture: Option<&file::Scalar>,
    connections: &Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let ours = duration("connections.idletimeout", connections, default)?;
    let Some(value) = aperture else {
        return Ok(ours);
    };
    let theirs = match value {
        file::Scalar::Text(text) => service_kit::go_duration::parse(text.trim()),
        file::Scalar::Int(nanos) => u64::try_from(*nanos).ok().map(Duration::from_nanos),
        _ => None,
    }
    .ok_or_else(|| {
        ConfigError::invalid(
            "idletimeout",
            format!("{value} is not a duration (e.g. 2m)"),
        )
    })?;
    if theirs.is_zero() {
        return Err(ConfigError::invalid(
            "idletimeout",
            "0 (no idle limit) is not supported; give a duration",
        ));
    }
    if connections.is_some() && theirs != ours {
        return Err(ConfigError::invalid(
            "idletimeout",
            "disagrees with connections.idletimeout (the same setting); give one of them",
        ));
    }
    Ok(theirs)
}

/// The most serving threads `workers` may ask for.
const MAX_WORKERS: usize = 1024;

/// `workers`: one per core unless given.
fn workers(raw: Option<usize>) -> Result<usize, ConfigError> {
    match raw {
        None => Ok(std::thread::available_parallelism().map_or(1, usize::from)),
        Some(n) if (1..=MAX_WORKERS).contains(&n) => Ok(n),
        Some(_) => Err(ConfigError::invalid(
            "workers",
            format!("must be between 1 and {MAX_WORKERS}"),
        )),
    }
}

fn connection_limits(
    raw: &file::ConnectionsSection,
    aperture_idle_timeout: Option<&file::Scalar>,
) -> Result<ConnectionLimits, ConfigError> {
    let default = ConnectionLimits::default();
    let positive = |key: &str, value: Option<usize>, default: usize| match value {
        None => Ok(default),
        Some(0) => Err(ConfigError::invalid(key, "must be at least 1")),
        Some(n) => Ok(n),
    };
    let limits = ConnectionLimits {
        request_head_timeout: duration(
            "connections.requestheadtimeout",
            &raw.requestheadtimeout,
            default.request_head_timeout,
        )?,
        idle_timeout: idle_timeout(
            aperture_idle_timeout,
            &raw.idletimeout,
            default.idle_timeout,
        )?,
        body_timeout: duration(
            "connections.bodytimeout",
            &raw.bodytimeout,
            default.body_timeout,
        )?,
        max: positive("connections.max", raw.max, default.max)?,
        max_per_client: positive(
            "connections.maxperclient",
            raw.maxperclient,
            default.max_per_client,
        )?,
        max_header_bytes: positive(
            "connections.maxheaderbytes",
            raw.maxheaderbytes,
            default.max_header_bytes,
        )?,
    };
    // hyper needs room for at least one header line of its read buffer.
    if limits.max_header_bytes < 1024 {
        return Err(ConfigError::invalid(
            "connections.maxheaderbytes",
            "must be at least 1024",
        ));
    }
    Ok(limits)
}

/// The base directory: `basedir` if given, else `~/.auth-proxy`.
pub fn base_dir(basedir: Option<&str>) -> PathBuf {
    match basedir {
        Some(dir) if !dir.is_empty() => expand(dir),
        _ => expand("~/.auth-proxy"),
    }
}

pub(super) fn validate(raw: file::FileConfig) -> Result<Config, ConfigError> {
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
        connections: connection_limits(&raw.connections, raw.idletimeout.as_ref())?,
        workers: workers(raw.workers)?,
        challenge_limit: challenge_limit(raw.challengelimits.as_ref())?,
        max_unpaid_tokens: match raw.maxunpaidtokens {
            None => Some(DEFAULT_MAX_UNPAID_TOKENS),
            Some(0) => None,
            Some(n) => Some(n),
        },
        invoice_expiry: match duration(
            "invoiceexpiry",
            &raw.invoiceexpiry,
            l402_server::DEFAULT_INVOICE_EXPIRY,
        )? {
            expiry if expiry < Duration::from_secs(60) => {
                return Err(ConfigError::invalid("invoiceexpiry", "must be at least 1m"))
            }
            expiry => expiry,
        },
        blocklist: raw
            .blocklist
            .iter()
            .enumerate()
            .map(|(i, ip)| {
                ip.trim().parse().map_err(|_| {
                    ConfigError::invalid(
                        format!("blocklist[{i}]"),
                        format!("{ip:?} is not an IP address"),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        challenge_form: match raw.challengeform.as_deref() {
            None => l402::ChallengeForm::default(),
            Some(name) => name
                .parse()
                .map_err(|e| ConfigError::invalid("challengeform", e))?,
        },
        server_name: raw
            .servername
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned),
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
    let network = match raw.network.as_deref() {
        None => l402::Network::Mainnet,
        Some(name) => name
            .parse()
            .map_err(|e: l402::UnknownNetwork| ConfigError::invalid("authenticator.network", e))?,
    };
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
        lnd: Some(lnd_client::LndConfig {
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
        .as_deref()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ConfigError::invalid(key("address"), "required"))?;
    let address = http::uri::Authority::try_from(address).map_err(|_| {
        ConfigError::invalid(key("address"), "must be host:port (no scheme, no path)")
    })?;
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
        name: name.into(),
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
        dynamic_price: dynamic_price(&key("dynamicprice"), &raw.dynamicprice)?,
    })
}

/// The largest `dynamicprice.usagetailbytes` Aperture accepts.
const MAX_USAGE_TAIL_BYTES: i64 = 1 << 20;

/// A service's `dynamicprice` section. Disabled, it has no effect (as in Aperture), but its values are still
/// checked the way Aperture's `pricer.Config.Validate` checks them.
fn dynamic_price(
    key: &str,
    raw: &file::DynamicPriceSection,
) -> Result<Option<DynamicPrice>, ConfigError> {
    let enabled = raw.enabled.unwrap_or(false);
    if raw.metered.unwrap_or(false) {
        return Err(ConfigError::invalid(
            format!("{key}.metered"),
            if enabled {
                "metered prepaid balances are not supported by auth-proxy"
            } else {
                "requires dynamicprice.enabled"
            },
        ));
    }
    if let Some(bytes) = raw.usagetailbytes {
        if !(0..=MAX_USAGE_TAIL_BYTES).contains(&bytes) {
            return Err(ConfigError::invalid(
                format!("{key}.usagetailbytes"),
                format!("must be between 0 and {MAX_USAGE_TAIL_BYTES}"),
            ));
        }
    }
    if !enabled {
        return Ok(None);
    }
    let grpc_address = raw
        .grpcaddress
        .clone()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            ConfigError::invalid(
                format!("{key}.grpcaddress"),
                "required with dynamicprice.enabled",
            )
        })?;
    let tls_cert_path = match raw.insecure.unwrap_or(false) {
        true => None,
        false => Some(
            raw.tlscertpath
                .as_deref()
                .filter(|p| !p.is_empty())
                .map(expand)
                .ok_or_else(|| {
                    ConfigError::invalid(
                        format!("{key}.tlscertpath"),
                        "required with dynamicprice.enabled unless dynamicprice.insecure is set",
                    )
                })?,
        ),
    };
    Ok(Some(DynamicPrice {
        grpc_address,
        tls_cert_path,
    }))
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
