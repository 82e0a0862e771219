//! A backend service as configured: where it lives, what it costs, and which rules guard it.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use regex::Regex;

/// How the proxy talks to a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamProtocol {
    /// Plain HTTP/1.1, or h2c with prior knowledge for gRPC.
    Http,
    /// TLS (the service's `tlscertpath` pinned if given, otherwise WebPKI roots).
    Https,
}

impl UpstreamProtocol {
    /// The URI scheme.
    pub fn scheme(self) -> &'static str {
        match self {
            UpstreamProtocol::Http => "http",
            UpstreamProtocol::Https => "https",
        }
    }
}

/// Aperture's `auth:` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthLevel {
    /// Every request needs a paid token (`on`, `true` or empty).
    On,
    /// No authentication (`off`, `false`).
    Off,
    /// The first N requests per client network (IPv4 /24, IPv6 /48) are free (`freebie N`).
    Freebie(u32),
}

impl AuthLevel {
    /// Parses Aperture's spelling.
    pub fn parse(text: &str) -> Result<AuthLevel, String> {
        let lower = text.trim().to_ascii_lowercase();
        match lower.as_str() {
            "" | "on" | "true" => Ok(AuthLevel::On),
            "off" | "false" => Ok(AuthLevel::Off),
            _ => match lower.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["freebie", n] => n
                    .parse()
                    .map(AuthLevel::Freebie)
                    .map_err(|_| format!("bad freebie count {n:?}")),
                _ => Err(format!("{text:?} is not on, off or \"freebie N\"")),
            },
        }
    }
}

/// `capabilityrules` entry: requests whose path (gRPC: `/package.Service/Method`) matches need `capability`.
#[derive(Debug, Clone)]
pub struct CapabilityRule {
    /// Path pattern.
    pub path: Regex,
    /// The capability a token must carry in its `<service>_capabilities` caveat.
    pub capability: String,
}

/// `ratelimits` entry: a token bucket per client.
#[derive(Debug, Clone)]
pub struct RateLimitRule {
    /// Applies to matching paths; `None` = every path.
    pub path: Option<Regex>,
    /// Requests refilled per `per`.
    pub requests: u32,
    /// Refill window.
    pub per: Duration,
    /// Bucket size.
    pub burst: u32,
}

/// `dynamicprice` with `enabled: true`: prices come from a gRPC price server (Aperture's `pricesrpc.Prices`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicPrice {
    /// The price server's `host:port`.
    pub grpc_address: String,
    /// The certificate to pin (TLS); `None`: plaintext HTTP/2 (`insecure: true`).
    pub tls_cert_path: Option<std::path::PathBuf>,
}

/// One entry of `services:`, validated.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Name used in caveats (`services=<name>:0`); shared, since every request's log and metrics carry it.
    pub name: Arc<str>,
    /// Matched against the request's host (`:authority` for HTTP/2).
    pub host: Regex,
    /// Matched against the request path; `None` matches every path.
    pub path: Option<Regex>,
    /// Backend `host:port`, parsed once when the configuration is read.
    pub address: http::uri::Authority,
    /// Backend protocol.
    pub protocol: UpstreamProtocol,
    /// Backend certificate to pin (https).
    pub tls_cert_path: Option<std::path::PathBuf>,
    /// Authentication level.
    pub auth: AuthLevel,
    /// Headers always set on forwarded requests.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Token lifetime (`<name>_valid_until` caveat); `None` = no expiry.
    pub timeout: Option<Duration>,
    /// Capabilities granted at the base tier (comma list, may be empty).
    pub capabilities: String,
    /// Extra caveats `<name>_<key>=<value>` minted into every token.
    pub constraints: Vec<(String, String)>,
    /// Invoice amount in satoshis.
    pub price_sat: i64,
    /// Paths served without authentication.
    pub auth_whitelist: Vec<Regex>,
    /// Paths that answer 401 instead of creating an invoice when no valid token is presented.
    pub skip_invoice_paths: Vec<Regex>,
    /// Rate limits.
    pub rate_limits: Vec<RateLimitRule>,
    /// Capability requirements.
    pub capability_rules: Vec<CapabilityRule>,
    /// Prices from a price server instead of `price_sat`.
    pub dynamic_price: Option<DynamicPrice>,
}

impl ServiceConfig {
    /// Whether a request for `host` and `path` belongs to this service.
    pub fn matches(&self, host: &str, path: &str) -> bool {
        self.host.is_match(host) && self.path.as_ref().is_none_or(|p| p.is_match(path))
    }

    /// The authentication level for `path`: whitelisted paths are free.
    pub fn auth_level(&self, path: &str) -> AuthLevel {
        if self.auth_whitelist.iter().any(|p| p.is_match(path)) {
            AuthLevel::Off
        } else {
            self.auth
        }
    }

    /// The capability `path` needs: the first matching rule decides, as routing does.
    pub fn required_capability(&self, path: &str) -> Option<&str> {
        self.capability_rules
            .iter()
            .find(|r| r.path.is_match(path))
            .map(|r| r.capability.as_str())
    }

    /// The name tokens for `path` are minted for and checked against (Aperture's `ResourceName`): the
    /// service name, or with dynamic prices `<name><path>`, so that a token bought at one path's price
    /// is good for that path only.
    pub fn resource_name(&self, path: &str) -> Cow<'_, str> {
        match self.dynamic_price {
            Some(_) => Cow::Owned(format!("{}{path}", self.name)),
            None => Cow::Borrowed(&self.name),
        }
    }

    /// Whether `path` must not trigger invoice creation.
    pub fn skips_invoice(&self, path: &str) -> bool {
        self.skip_invoice_paths.iter().any(|p| p.is_match(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_levels_parse_like_aperture() {
        assert_eq!(AuthLevel::parse("").unwrap(), AuthLevel::On);
        assert_eq!(AuthLevel::parse("ON").unwrap(), AuthLevel::On);
        assert_eq!(AuthLevel::parse("true").unwrap(), AuthLevel::On);
        assert_eq!(AuthLevel::parse("off").unwrap(), AuthLevel::Off);
        assert_eq!(AuthLevel::parse("false").unwrap(), AuthLevel::Off);
        assert_eq!(
            AuthLevel::parse("freebie 5").unwrap(),
            AuthLevel::Freebie(5)
        );
        assert!(AuthLevel::parse("freebie").is_err());
        assert!(AuthLevel::parse("sometimes").is_err());
    }
}
