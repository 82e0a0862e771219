//! The configuration file as written: Aperture's YAML keys, parsed without losing track of keys we do not know.
//!
//! Every struct here mirrors a section of Aperture's `aperture.yaml` (plus a few keys of our own, marked
//! "extension"). Keys that Aperture knows but this proxy does not implement are accepted with a warning so an
//! Aperture user's file keeps working, unless they switch on a feature we do not have (`unsupported.rs` refuses
//! those); any other key is an error that names it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;

/// The whole file. Field names are Aperture's YAML keys.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct FileConfig {
    pub listenaddr: Option<String>,
    pub insecure: Option<bool>,
    pub basedir: Option<String>,
    pub dbbackend: Option<String>,
    pub sqlite: SqliteSection,
    pub postgres: PostgresSection,
    pub authenticator: AuthenticatorSection,
    pub services: Vec<ServiceSection>,
    pub prometheus: PrometheusSection,
    pub admin: AdminSection,
    pub strictverify: Option<bool>,
    pub debuglevel: Option<String>,
    pub blocklist: Vec<String>,
    /// The host name clients use; a SAN of the generated certificate (Aperture's key).
    pub servername: Option<String>,
    /// How long a connection may sit without a request (Aperture's key, a Go duration); the same setting as
    /// `connections.idletimeout`.
    pub idletimeout: Option<Scalar>,
    /// Extension: PEM certificate to serve instead of the generated self-signed one.
    pub tlscertpath: Option<String>,
    /// Extension: PEM private key matching `tlscertpath`.
    pub tlskeypath: Option<String>,
    /// Extension: how long in-flight requests may run after shutdown starts (e.g. `10s`).
    pub shutdowngrace: Option<String>,
    /// Extension: how long a strict verification waits for lnd to report the invoice settled (e.g. `3s`).
    pub strictverifytimeout: Option<String>,
    /// Extension: what one client connection may hold (timeouts, counts, header size).
    pub connections: ConnectionsSection,
    /// Extension: how many threads serve the main listener's connections (default: one per core).
    pub workers: Option<usize>,
    /// Extension: how many challenges one client network may ask for (`requests: 0` turns it off).
    pub challengelimits: Option<RateLimitSection>,
    /// Extension: the most unpaid tokens outstanding (`0`: no cap).
    pub maxunpaidtokens: Option<u64>,
    /// Extension: how long a token's invoice stays payable (e.g. `1h`); unpaid tokens are forgotten after.
    pub invoiceexpiry: Option<String>,
    /// Extension: which `WWW-Authenticate` values a challenge carries (`aperture`, `spec`, `both`).
    pub challengeform: Option<String>,
}

/// Extension: the `connections:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ConnectionsSection {
    pub requestheadtimeout: Option<String>,
    pub idletimeout: Option<String>,
    pub bodytimeout: Option<String>,
    pub max: Option<usize>,
    pub maxperclient: Option<usize>,
    pub maxheaderbytes: Option<usize>,
}

/// `sqlite:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SqliteSection {
    pub dbfile: Option<String>,
    pub skipmigrations: Option<bool>,
}

/// `postgres:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PostgresSection {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub dbname: Option<String>,
    pub maxconnections: Option<u32>,
    #[serde(alias = "requireSSL")]
    pub requiressl: Option<bool>,
    pub skipmigrations: Option<bool>,
}

/// `authenticator:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AuthenticatorSection {
    pub network: Option<String>,
    pub disable: Option<bool>,
    pub lndhost: Option<String>,
    pub tlspath: Option<String>,
    pub macdir: Option<String>,
}

/// `prometheus:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PrometheusSection {
    pub enabled: Option<bool>,
    pub listenaddr: Option<String>,
}

/// `admin:` section (Aperture has `enabled` and `macaroonpath`; `listenaddr` is an extension).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AdminSection {
    pub enabled: Option<bool>,
    pub listenaddr: Option<String>,
    pub macaroonpath: Option<String>,
}

/// One entry of `services:`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ServiceSection {
    pub name: Option<String>,
    pub hostregexp: Option<String>,
    pub pathregexp: Option<String>,
    pub address: Option<String>,
    pub protocol: Option<String>,
    pub tlscertpath: Option<String>,
    pub auth: Option<Scalar>,
    pub headers: BTreeMap<String, String>,
    pub timeout: Option<i64>,
    pub capabilities: Option<String>,
    pub constraints: BTreeMap<String, Scalar>,
    pub price: Option<i64>,
    pub authwhitelistpaths: Vec<String>,
    pub authskipinvoicecreationpaths: Vec<String>,
    pub ratelimits: Vec<RateLimitSection>,
    /// Extension: which capability a path (or gRPC method) needs.
    pub capabilityrules: Vec<CapabilityRuleSection>,
    /// Prices asked from a gRPC price server (Aperture's `pricesrpc.Prices`) instead of `price`.
    pub dynamicprice: DynamicPriceSection,
}

/// A service's `dynamicprice:` section (Aperture's `pricer.Config`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DynamicPriceSection {
    pub enabled: Option<bool>,
    pub grpcaddress: Option<String>,
    pub insecure: Option<bool>,
    pub tlscertpath: Option<String>,
    /// Aperture's prepaid-balance metering; refused when true (not implemented).
    pub metered: Option<bool>,
    /// Aperture's capture size for metering reports; only range-checked, as Aperture does.
    pub usagetailbytes: Option<i64>,
}

/// One entry of a service's `ratelimits:`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RateLimitSection {
    pub pathregexp: Option<String>,
    pub requests: Option<i64>,
    pub per: Option<String>,
    pub burst: Option<i64>,
}

/// One entry of a service's `capabilityrules:` (extension).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CapabilityRuleSection {
    pub pathregexp: Option<String>,
    pub capability: Option<String>,
}

/// A YAML scalar that Aperture reads as a string (`auth: off`, `auth: true`, `valid_until: 1682483169`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Text(s) => f.write_str(s),
        }
    }
}

/// Aperture keys this proxy accepts but does not implement (`[]` stands for any list index).
const APERTURE_KEYS_IGNORED: &[&str] = &[
    "staticroot",
    "servestatic",
    "autocert",
    "profile",
    "readtimeout",
    "writetimeout",
    "wspinginterval",
    "wspongwait",
    "configfile",
    // We resume the invoice subscription from the stored settle index instead of listing every invoice.
    "invoicebatchsize",
    "etcd",
    "tor",
    "hashmail",
    "logging",
    "authenticator.passphrase",
    "authenticator.mailboxaddress",
    "authenticator.devserver",
    "authenticator.enablempp",
    "authenticator.mpprealm",
    "authenticator.enablesessions",
    "authenticator.sessiondepositmultiplier",
    "authenticator.sessionidletimeout",
    "authenticator.wavelengthgateway",
    "authenticator.wavelengthmacaroonpath",
    "admin.corsorigin",
    "services[].rewrite",
    "services[].authscheme",
];

/// The result of reading a file: the parsed sections and the Aperture keys that will have no effect.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub config: FileConfig,
    pub ignored_aperture_keys: Vec<String>,
}

/// Parses YAML text. Unknown keys and values of the wrong type are errors naming the key.
pub(crate) fn parse(text: &str) -> Result<Parsed, ConfigError> {
    let mut ignored = Vec::new();
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(deserializer, &mut track);
    let result: Result<Option<FileConfig>, _> =
        serde_ignored::deserialize(tracked, |path| ignored.push(key_of(&path)));
    let config = match result {
        Ok(config) => config.unwrap_or_default(),
        Err(err) => {
            let key = track.path().to_string();
            return Err(ConfigError::Invalid {
                key: if key == "." { "<file>".into() } else { key },
                reason: err.to_string(),
            });
        }
    };
    let mut ignored_aperture_keys = Vec::new();
    for key in ignored {
        if is_ignored_aperture_key(&key) {
            ignored_aperture_keys.push(key);
        } else {
            return Err(ConfigError::UnknownKey { key });
        }
    }
    Ok(Parsed {
        config,
        ignored_aperture_keys,
    })
}

/// `services[0].dynamicprice` matches the pattern `services[].dynamicprice`, and so does any key below it.
fn is_ignored_aperture_key(key: &str) -> bool {
    let pattern = strip_indices(key);
    APERTURE_KEYS_IGNORED
        .iter()
        .any(|known| pattern == *known || pattern.starts_with(&format!("{known}.")))
}

fn strip_indices(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut in_index = false;
    for c in key.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// Formats a serde_ignored path as `services[0].name`.
fn key_of(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", key_of(parent)),
        Path::Map { parent, key } => {
            let parent = key_of(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => key_of(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_top_level_key_is_named() {
        let err = parse("listenaddr: 'x'\nlistenadr: 'y'\n").unwrap_err();
        assert!(
            matches!(err, ConfigError::UnknownKey { ref key } if key == "listenadr"),
            "{err}"
        );
    }

    #[test]
    fn unknown_nested_key_is_named_with_its_index() {
        let err = parse("services:\n  - name: a\n  - name: b\n    pricee: 3\n").unwrap_err();
        assert!(
            matches!(err, ConfigError::UnknownKey { ref key } if key == "services[1].pricee"),
            "{err}"
        );
    }

    #[test]
    fn aperture_keys_we_do_not_implement_are_reported_not_fatal() {
        let parsed = parse(
            "servestatic: false\ntor:\n  control: x\nservices:\n  - name: a\n    rewrite:\n      prefix: /x\n",
        )
        .unwrap();
        assert_eq!(
            parsed.ignored_aperture_keys,
            vec!["servestatic", "tor", "services[0].rewrite"]
        );
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = parse("services:\n  - name: a\n    price: lots\n").unwrap_err();
        assert!(
            matches!(err, ConfigError::Invalid { ref key, .. } if key == "services[0].price"),
            "{err}"
        );
    }

    #[test]
    fn auth_accepts_yaml_booleans_and_words() {
        let parsed =
            parse("services:\n  - auth: true\n  - auth: off\n  - auth: freebie 3\n").unwrap();
        let auths: Vec<String> = parsed
            .config
            .services
            .iter()
            .map(|s| s.auth.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(auths, ["true", "off", "freebie 3"]);
    }

    #[test]
    fn empty_file_is_an_empty_config() {
        let parsed = parse("").unwrap();
        assert!(parsed.config.services.is_empty());
    }
}
