//! Typed first-party caveats: `services=<name>:<tier>[,…]`, `<svc>_capabilities=<list>`,
//! `<svc>_valid_until=<unix secs>`, `preimage=<hex>`, and pass-through of any other `key=value`.
//!
//! The wire form is Aperture's: `condition=value`, split on the first `=`. A caveat whose condition has one of
//! the known shapes but whose value does not parse is an error, never an "other" caveat, so a typo cannot turn
//! a restriction into something silently ignored.

use std::fmt;
use std::str::FromStr;

use crate::limits::{MAX_CAPABILITIES, MAX_CAVEAT_LEN, MAX_SERVICES};
use crate::types::{HexError, Preimage};

/// Condition of the services caveat.
pub const COND_SERVICES: &str = "services";
/// Suffix of a service's capabilities caveat condition (`loop_capabilities`).
pub const COND_CAPABILITIES_SUFFIX: &str = "_capabilities";
/// Suffix of a service's expiry caveat condition (`loop_valid_until`).
pub const COND_VALID_UNTIL_SUFFIX: &str = "_valid_until";
/// Condition of the caveat a client adds to carry the payment preimage in the `macaroon` metadata form.
pub const COND_PREIMAGE: &str = "preimage";

/// Error parsing or building a caveat.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaveatError {
    /// The caveat is not `condition=value`.
    #[error("caveat must be of the form \"condition=value\"")]
    MissingEquals,
    /// The caveat is not valid UTF-8.
    #[error("caveat is not valid UTF-8")]
    NotUtf8,
    /// The caveat is longer than [`MAX_CAVEAT_LEN`].
    #[error("caveat is {0} bytes, more than the limit of {MAX_CAVEAT_LEN}")]
    TooLong(usize),
    /// Empty condition, or a condition containing `=`.
    #[error("invalid caveat condition {0:?}")]
    InvalidCondition(String),
    /// A `services` value that is not a non-empty list of `name:tier`.
    #[error("invalid services caveat: {0}")]
    InvalidServices(String),
    /// A service name that is empty or contains one of `,:=`, whitespace or a control character.
    #[error("invalid service name {0:?}")]
    InvalidServiceName(String),
    /// A capabilities list with an empty or invalid entry, or too many entries.
    #[error("invalid capabilities caveat: {0}")]
    InvalidCapabilities(String),
    /// A `_valid_until` value that is not a decimal unix timestamp.
    #[error("invalid valid_until timestamp {0:?}")]
    InvalidTimestamp(String),
    /// A `preimage` value that is not 64 hex characters.
    #[error("invalid preimage caveat: {0}")]
    InvalidPreimage(#[from] HexError),
}

/// One service a token is valid for, as listed in the `services` caveat (Aperture's `l402.Service` without
/// the price, which is not part of the caveat).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    name: String,
    tier: u8,
}

impl Service {
    /// A service with this name and tier (Aperture's base tier is 0). The name must be non-empty and must not
    /// contain `,`, `:`, `=`, whitespace or control characters, so that the caveat round-trips.
    pub fn new(name: impl Into<String>, tier: u8) -> Result<Self, CaveatError> {
        let name = name.into();
        validate_service_name(&name)?;
        Ok(Self { name, tier })
    }

    /// The service name (matched against the proxy's configured service name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The service tier.
    pub fn tier(&self) -> u8 {
        self.tier
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.tier)
    }
}

fn validate_service_name(name: &str) -> Result<(), CaveatError> {
    let bad = |c: char| matches!(c, ',' | ':' | '=') || c.is_whitespace() || c.is_control();
    if name.is_empty() || name.chars().any(bad) {
        return Err(CaveatError::InvalidServiceName(name.to_owned()));
    }
    Ok(())
}

/// A first-party caveat, typed when its condition is one the protocol defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caveat {
    /// `services=<name>:<tier>[,…]`: the token is only valid for these services.
    Services(Vec<Service>),
    /// `<service>_capabilities=<a,b,…>`: the token only grants these capabilities of `service`
    /// (an empty list grants none).
    Capabilities {
        /// The service the capabilities belong to.
        service: String,
        /// The granted capabilities.
        capabilities: Vec<String>,
    },
    /// `<service>_valid_until=<unix secs>`: the token is valid for `service` strictly before this time.
    ValidUntil {
        /// The service whose access expires.
        service: String,
        /// Expiry, seconds since the Unix epoch.
        unix_secs: i64,
    },
    /// `preimage=<64 hex>`: the payment preimage, added by clients to the gRPC `macaroon` metadata form.
    Preimage(Preimage),
    /// Any other `condition=value`, passed through unchanged (Aperture's service constraints look like this).
    Other {
        /// The condition (before the first `=`).
        condition: String,
        /// The value (after the first `=`).
        value: String,
    },
}

impl Caveat {
    /// `services=…` for these services (at least one, at most [`MAX_SERVICES`]).
    pub fn services(services: impl IntoIterator<Item = Service>) -> Result<Self, CaveatError> {
        let services: Vec<Service> = services.into_iter().collect();
        if services.is_empty() || services.len() > MAX_SERVICES {
            return Err(CaveatError::InvalidServices(format!(
                "need 1..={MAX_SERVICES} services, got {}",
                services.len()
            )));
        }
        Ok(Self::Services(services))
    }

    /// `<service>_capabilities=…`. Capabilities must be non-empty and must not contain `,` or whitespace.
    pub fn capabilities<I, S>(service: &str, capabilities: I) -> Result<Self, CaveatError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        validate_service_name(service)?;
        let capabilities: Vec<String> = capabilities.into_iter().map(Into::into).collect();
        validate_capabilities(&capabilities)?;
        Ok(Self::Capabilities {
            service: service.to_owned(),
            capabilities,
        })
    }

    /// `<service>_valid_until=<unix_secs>`.
    pub fn valid_until(service: &str, unix_secs: i64) -> Result<Self, CaveatError> {
        validate_service_name(service)?;
        Ok(Self::ValidUntil {
            service: service.to_owned(),
            unix_secs,
        })
    }

    /// `preimage=<hex>`.
    pub fn preimage(preimage: &Preimage) -> Self {
        Self::Preimage(preimage.clone())
    }

    /// A pass-through caveat; fails if `condition` has a known shape (use the typed constructors) or is invalid.
    pub fn other(condition: &str, value: &str) -> Result<Self, CaveatError> {
        match Self::parse_parts(condition, value)? {
            c @ Caveat::Other { .. } => Ok(c),
            _ => Err(CaveatError::InvalidCondition(condition.to_owned())),
        }
    }

    /// The condition string (the part before `=`).
    pub fn condition(&self) -> String {
        match self {
            Caveat::Services(_) => COND_SERVICES.to_owned(),
            Caveat::Capabilities { service, .. } => format!("{service}{COND_CAPABILITIES_SUFFIX}"),
            Caveat::ValidUntil { service, .. } => format!("{service}{COND_VALID_UNTIL_SUFFIX}"),
            Caveat::Preimage(_) => COND_PREIMAGE.to_owned(),
            Caveat::Other { condition, .. } => condition.clone(),
        }
    }

    /// Parses the raw caveat bytes carried in a macaroon.
    pub fn from_bytes(raw: &[u8]) -> Result<Self, CaveatError> {
        if raw.len() > MAX_CAVEAT_LEN {
            return Err(CaveatError::TooLong(raw.len()));
        }
        std::str::from_utf8(raw)
            .map_err(|_| CaveatError::NotUtf8)?
            .parse()
    }

    /// The wire form, `condition=value`.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    fn parse_parts(condition: &str, value: &str) -> Result<Self, CaveatError> {
        if condition.is_empty() || condition.contains('=') {
            return Err(CaveatError::InvalidCondition(condition.to_owned()));
        }
        if condition == COND_SERVICES {
            return parse_services(value).map(Caveat::Services);
        }
        if condition == COND_PREIMAGE {
            return Ok(Caveat::Preimage(Preimage::from_hex(value)?));
        }
        if let Some(service) = condition.strip_suffix(COND_CAPABILITIES_SUFFIX) {
            validate_service_name(service)?;
            let capabilities: Vec<String> = if value.is_empty() {
                Vec::new()
            } else {
                value.split(',').map(str::to_owned).collect()
            };
            validate_capabilities(&capabilities)?;
            return Ok(Caveat::Capabilities {
                service: service.to_owned(),
                capabilities,
            });
        }
        if let Some(service) = condition.strip_suffix(COND_VALID_UNTIL_SUFFIX) {
            validate_service_name(service)?;
            let unix_secs = parse_decimal_i64(value)
                .ok_or_else(|| CaveatError::InvalidTimestamp(value.to_owned()))?;
            return Ok(Caveat::ValidUntil {
                service: service.to_owned(),
                unix_secs,
            });
        }
        Ok(Caveat::Other {
            condition: condition.to_owned(),
            value: value.to_owned(),
        })
    }
}

/// Strict decimal: optional leading `-`, digits only (no `+`, no spaces), so the encoding round-trips.
fn parse_decimal_i64(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // No leading zeros and no "-0": the value must be the one canonical spelling of the number.
    if (digits.len() > 1 && digits.starts_with('0')) || s == "-0" {
        return None;
    }
    s.parse().ok()
}

fn parse_services(value: &str) -> Result<Vec<Service>, CaveatError> {
    if value.is_empty() {
        return Err(CaveatError::InvalidServices("no services".into()));
    }
    let mut services = Vec::new();
    for raw in value.split(',') {
        if services.len() == MAX_SERVICES {
            return Err(CaveatError::InvalidServices(format!(
                "more than {MAX_SERVICES} services"
            )));
        }
        let (name, tier) = raw
            .split_once(':')
            .ok_or_else(|| CaveatError::InvalidServices(format!("{raw:?} is not name:tier")))?;
        let tier: u8 = match parse_decimal_i64(tier).map(u8::try_from) {
            Some(Ok(t)) => t,
            _ => {
                return Err(CaveatError::InvalidServices(format!(
                    "invalid tier {tier:?}"
                )))
            }
        };
        services.push(Service::new(name, tier)?);
    }
    Ok(services)
}

fn validate_capabilities(capabilities: &[String]) -> Result<(), CaveatError> {
    if capabilities.len() > MAX_CAPABILITIES {
        return Err(CaveatError::InvalidCapabilities(format!(
            "more than {MAX_CAPABILITIES} capabilities"
        )));
    }
    for c in capabilities {
        if c.is_empty() || c.contains(',') || c.chars().any(char::is_whitespace) {
            return Err(CaveatError::InvalidCapabilities(format!(
                "invalid capability {c:?}"
            )));
        }
    }
    Ok(())
}

impl fmt::Display for Caveat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.condition())?;
        f.write_str("=")?;
        match self {
            Caveat::Services(services) => {
                for (i, s) in services.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{s}")?;
                }
                Ok(())
            }
            Caveat::Capabilities { capabilities, .. } => f.write_str(&capabilities.join(",")),
            Caveat::ValidUntil { unix_secs, .. } => write!(f, "{unix_secs}"),
            Caveat::Preimage(p) => f.write_str(&p.to_hex()),
            Caveat::Other { value, .. } => f.write_str(value),
        }
    }
}

impl FromStr for Caveat {
    type Err = CaveatError;

    fn from_str(s: &str) -> Result<Self, CaveatError> {
        if s.len() > MAX_CAVEAT_LEN {
            return Err(CaveatError::TooLong(s.len()));
        }
        let (condition, value) = s.split_once('=').ok_or(CaveatError::MissingEquals)?;
        Self::parse_parts(condition, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(s: &str) -> Caveat {
        let c: Caveat = s.parse().unwrap();
        assert_eq!(c.to_string(), s);
        c
    }

    #[test]
    fn typed_caveats_round_trip() {
        assert_eq!(
            rt("services=loop:0,pool:2"),
            Caveat::Services(vec![
                Service::new("loop", 0).unwrap(),
                Service::new("pool", 2).unwrap()
            ])
        );
        assert_eq!(
            rt("loop_capabilities="),
            Caveat::capabilities("loop", Vec::<String>::new()).unwrap()
        );
        assert_eq!(
            rt("loop_capabilities=add,subtract"),
            Caveat::capabilities("loop", ["add", "subtract"]).unwrap()
        );
        assert_eq!(
            rt("loop_valid_until=1700000000"),
            Caveat::valid_until("loop", 1_700_000_000).unwrap()
        );
        assert!(matches!(
            rt("loop_max_amount=5"),
            Caveat::Other { ref condition, ref value } if condition == "loop_max_amount" && value == "5"
        ));
        assert!(matches!(rt("a=b=c"), Caveat::Other { ref value, .. } if value == "b=c"));
        assert!(matches!(
            rt(&format!("preimage={}", "ab".repeat(32))),
            Caveat::Preimage(_)
        ));
    }

    #[test]
    fn known_shapes_with_bad_values_are_errors() {
        for bad in [
            "services=",
            "services=loop",
            "services=loop:x",
            "services=loop:256",
            "services=:0",
            "services=loop:0,",
            "loop_valid_until=soon",
            "loop_valid_until=+5",
            "loop_valid_until=-0",
            "loop_valid_until=007",
            "lo\u{0}op_valid_until=1",
            "loop_valid_until=",
            "loop_capabilities=a,,b",
            "_capabilities=a",
            "preimage=00",
            "novalue",
            "=x",
        ] {
            assert!(bad.parse::<Caveat>().is_err(), "{bad} should not parse");
        }
        assert!(Caveat::other("services", "loop:0").is_err());
        assert!(Caveat::from_bytes(&[0xff, b'=', b'1']).is_err());
    }
}
