//! Satisfiers: per-condition checks of a caveat list, with Aperture's narrowing rule.
//!
//! For each satisfier, the caveats with its condition are taken in macaroon order. Every caveat after the
//! first must *narrow* the one before it ([`Satisfier::satisfy_previous`]), so a holder who attenuates a token
//! can only restrict it; then the last (most restrictive) one is checked against the request
//! ([`Satisfier::satisfy_final`]). A condition that appears in no caveat imposes no restriction (a token
//! without a `services` caveat is valid for every service), exactly as in Aperture's `VerifyCaveats`.
//!
//! Narrowing rules of the built-in satisfiers:
//! * `services`: each later list is a subset (by name) of the previous one.
//! * `<svc>_capabilities`: each later list is a subset of the previous one.
//! * `<svc>_valid_until`: each later time is not after the previous one.
//! * `preimage`: every value equals the credential's preimage.

use crate::caveat::{
    Caveat, COND_CAPABILITIES_SUFFIX, COND_PREIMAGE, COND_SERVICES, COND_VALID_UNTIL_SUFFIX,
};
use crate::types::Preimage;
use crate::verify_error::VerifyError;

/// Checks the caveats of one condition against a request.
pub trait Satisfier {
    /// The caveat condition this satisfier handles (`services`, `loop_valid_until`, …).
    fn condition(&self) -> &str;

    /// Checks that `current` only narrows `previous` (both have this satisfier's condition).
    fn satisfy_previous(&self, previous: &Caveat, current: &Caveat) -> Result<(), VerifyError>;

    /// Checks the last caveat of this condition against the request.
    fn satisfy_final(&self, last: &Caveat) -> Result<(), VerifyError>;
}

/// Runs every satisfier over the caveats of its condition (see the module docs); stops at the first failure.
pub fn verify_caveats<'a>(
    caveats: &[Caveat],
    satisfiers: impl IntoIterator<Item = &'a dyn Satisfier>,
) -> Result<(), VerifyError> {
    for satisfier in satisfiers {
        let mut last: Option<&Caveat> = None;
        for caveat in caveats {
            // Compare without allocating: conditions of typed caveats are derived from their fields.
            if !condition_is(caveat, satisfier.condition()) {
                continue;
            }
            if let Some(previous) = last {
                satisfier.satisfy_previous(previous, caveat)?;
            }
            last = Some(caveat);
        }
        if let Some(last) = last {
            satisfier.satisfy_final(last)?;
        }
    }
    Ok(())
}

fn condition_is(caveat: &Caveat, condition: &str) -> bool {
    let with_suffix = |service: &str, suffix: &str| condition.strip_suffix(suffix) == Some(service);
    match caveat {
        Caveat::Services(_) => condition == COND_SERVICES,
        Caveat::Preimage(_) => condition == COND_PREIMAGE,
        Caveat::Capabilities { service, .. } => with_suffix(service, COND_CAPABILITIES_SUFFIX),
        Caveat::ValidUntil { service, .. } => with_suffix(service, COND_VALID_UNTIL_SUFFIX),
        Caveat::Other { condition: c, .. } => c == condition,
    }
}

fn widened(caveat: &Caveat) -> VerifyError {
    VerifyError::CaveatWidened {
        condition: caveat.condition(),
    }
}

/// `services`: the target service must be listed; later lists must be subsets.
#[derive(Debug, Clone)]
pub struct ServicesSatisfier {
    target: String,
}

impl ServicesSatisfier {
    /// Requires the token to be valid for `target`.
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
        }
    }
}

impl Satisfier for ServicesSatisfier {
    fn condition(&self) -> &str {
        COND_SERVICES
    }

    fn satisfy_previous(&self, previous: &Caveat, current: &Caveat) -> Result<(), VerifyError> {
        match (previous, current) {
            (Caveat::Services(prev), Caveat::Services(cur))
                if cur
                    .iter()
                    .all(|c| prev.iter().any(|p| p.name() == c.name())) =>
            {
                Ok(())
            }
            _ => Err(widened(current)),
        }
    }

    fn satisfy_final(&self, last: &Caveat) -> Result<(), VerifyError> {
        match last {
            Caveat::Services(list) if list.iter().any(|s| s.name() == self.target) => Ok(()),
            _ => Err(VerifyError::WrongService {
                service: self.target.clone(),
            }),
        }
    }
}

/// `<service>_capabilities`: later lists must be subsets; the required capability (if any) must be listed in
/// the last one. A token with no capabilities caveat for the service is not restricted.
#[derive(Debug, Clone)]
pub struct CapabilitiesSatisfier {
    condition: String,
    required: Option<String>,
}

impl CapabilitiesSatisfier {
    /// Checks `<service>_capabilities` caveats, requiring `required` if it is `Some`.
    pub fn new(service: &str, required: Option<&str>) -> Self {
        Self {
            condition: format!("{service}{COND_CAPABILITIES_SUFFIX}"),
            required: required.map(str::to_owned),
        }
    }
}

impl Satisfier for CapabilitiesSatisfier {
    fn condition(&self) -> &str {
        &self.condition
    }

    fn satisfy_previous(&self, previous: &Caveat, current: &Caveat) -> Result<(), VerifyError> {
        match (previous, current) {
            (
                Caveat::Capabilities {
                    capabilities: prev, ..
                },
                Caveat::Capabilities {
                    capabilities: cur, ..
                },
            ) if cur.iter().all(|c| prev.contains(c)) => Ok(()),
            _ => Err(widened(current)),
        }
    }

    fn satisfy_final(&self, last: &Caveat) -> Result<(), VerifyError> {
        let Some(required) = &self.required else {
            return Ok(());
        };
        match last {
            Caveat::Capabilities { capabilities, .. } if capabilities.contains(required) => Ok(()),
            _ => Err(VerifyError::MissingCapability {
                capability: required.clone(),
            }),
        }
    }
}

/// `<service>_valid_until`: later times may not be later; the request time must be strictly before the last.
#[derive(Debug, Clone)]
pub struct ValidUntilSatisfier {
    condition: String,
    now_unix_secs: i64,
}

impl ValidUntilSatisfier {
    /// Checks `<service>_valid_until` caveats at time `now_unix_secs`.
    pub fn new(service: &str, now_unix_secs: i64) -> Self {
        Self {
            condition: format!("{service}{COND_VALID_UNTIL_SUFFIX}"),
            now_unix_secs,
        }
    }
}

impl Satisfier for ValidUntilSatisfier {
    fn condition(&self) -> &str {
        &self.condition
    }

    fn satisfy_previous(&self, previous: &Caveat, current: &Caveat) -> Result<(), VerifyError> {
        match (previous, current) {
            (
                Caveat::ValidUntil {
                    unix_secs: prev, ..
                },
                Caveat::ValidUntil { unix_secs: cur, .. },
            ) if cur <= prev => Ok(()),
            _ => Err(widened(current)),
        }
    }

    fn satisfy_final(&self, last: &Caveat) -> Result<(), VerifyError> {
        match last {
            Caveat::ValidUntil { unix_secs, .. } if self.now_unix_secs < *unix_secs => Ok(()),
            Caveat::ValidUntil { unix_secs, .. } => Err(VerifyError::Expired {
                valid_until: *unix_secs,
            }),
            _ => Err(widened(last)),
        }
    }
}

/// `preimage`: every `preimage` caveat must carry the credential's preimage.
#[derive(Debug, Clone)]
pub struct PreimageSatisfier {
    preimage: Preimage,
}

impl PreimageSatisfier {
    /// Requires `preimage=` caveats to equal `preimage`.
    pub fn new(preimage: Preimage) -> Self {
        Self { preimage }
    }

    fn check(&self, caveat: &Caveat) -> Result<(), VerifyError> {
        match caveat {
            Caveat::Preimage(p) if *p == self.preimage => Ok(()),
            _ => Err(VerifyError::PreimageMismatch),
        }
    }
}

impl Satisfier for PreimageSatisfier {
    fn condition(&self) -> &str {
        COND_PREIMAGE
    }

    fn satisfy_previous(&self, previous: &Caveat, current: &Caveat) -> Result<(), VerifyError> {
        self.check(previous)?;
        self.check(current)
    }

    fn satisfy_final(&self, last: &Caveat) -> Result<(), VerifyError> {
        self.check(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caveats(list: &[&str]) -> Vec<Caveat> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn run(list: &[&str], s: &dyn Satisfier) -> Result<(), VerifyError> {
        verify_caveats(&caveats(list), [s])
    }

    #[test]
    fn services_narrowing_and_target() {
        let s = ServicesSatisfier::new("loop");
        assert!(run(&["services=loop:0"], &s).is_ok());
        assert!(run(&[], &s).is_ok());
        assert!(run(&["services=loop:0,pool:0", "services=loop:0"], &s).is_ok());
        assert_eq!(
            run(&["services=pool:0"], &s),
            Err(VerifyError::WrongService {
                service: "loop".into()
            })
        );
        assert!(matches!(
            run(&["services=loop:0", "services=loop:0,pool:0"], &s),
            Err(VerifyError::CaveatWidened { .. })
        ));
        assert!(matches!(
            run(&["services=loop:0,pool:0", "services=pool:0"], &s),
            Err(VerifyError::WrongService { .. })
        ));
    }

    #[test]
    fn valid_until_narrowing_and_expiry() {
        let s = ValidUntilSatisfier::new("loop", 100);
        assert!(run(&["loop_valid_until=101"], &s).is_ok());
        assert_eq!(
            run(&["loop_valid_until=100"], &s),
            Err(VerifyError::Expired { valid_until: 100 })
        );
        assert!(run(&["loop_valid_until=200", "loop_valid_until=150"], &s).is_ok());
        assert!(matches!(
            run(&["loop_valid_until=150", "loop_valid_until=200"], &s),
            Err(VerifyError::CaveatWidened { .. })
        ));
        // Another service's expiry is not this request's business.
        assert!(run(&["pool_valid_until=1"], &s).is_ok());
    }

    #[test]
    fn capabilities_enforced() {
        let need = CapabilitiesSatisfier::new("loop", Some("out"));
        let none = CapabilitiesSatisfier::new("loop", None);
        assert!(run(&["loop_capabilities=in,out"], &need).is_ok());
        assert!(run(&[], &need).is_ok());
        assert!(run(&["loop_capabilities="], &none).is_ok());
        assert_eq!(
            run(&["loop_capabilities="], &need),
            Err(VerifyError::MissingCapability {
                capability: "out".into()
            })
        );
        assert!(matches!(
            run(&["loop_capabilities=in,out", "loop_capabilities=in"], &need),
            Err(VerifyError::MissingCapability { .. })
        ));
        assert!(matches!(
            run(&["loop_capabilities=in", "loop_capabilities=in,out"], &none),
            Err(VerifyError::CaveatWidened { .. })
        ));
    }

    #[test]
    fn preimage_caveats_must_match() {
        let p = Preimage::from_bytes([1; 32]);
        let s = PreimageSatisfier::new(p.clone());
        let good = format!("preimage={}", p.to_hex());
        let bad = format!("preimage={}", "02".repeat(32));
        assert!(run(&[&good], &s).is_ok());
        assert!(run(&[&good, &good], &s).is_ok());
        assert_eq!(run(&[&bad], &s), Err(VerifyError::PreimageMismatch));
        assert_eq!(run(&[&bad, &good], &s), Err(VerifyError::PreimageMismatch));
    }
}
