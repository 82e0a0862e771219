//! What a token costs and buys: the service it is for, its tier, its price, the capabilities it grants and
//! how long it stays valid — and the caveats minted from that, in Aperture's order.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use l402::{Caveat, CaveatError, MintRequest, PaymentHash, Service};

/// A service's price list and token shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pricing {
    service: Service,
    price_sat: i64,
    capabilities: Vec<String>,
    constraints: Vec<(String, String)>,
    validity: Option<Duration>,
    required_capability: Option<String>,
}

impl Pricing {
    /// Tokens for `service` (tier 0) at `price_sat` satoshis, with no capabilities and no expiry.
    pub fn new(service: &str, price_sat: i64) -> Result<Self, CaveatError> {
        Ok(Pricing {
            service: Service::new(service, 0)?,
            price_sat,
            capabilities: Vec::new(),
            constraints: Vec::new(),
            validity: None,
            required_capability: None,
        })
    }

    /// Uses this tier in the `services` caveat.
    pub fn tier(mut self, tier: u8) -> Result<Self, CaveatError> {
        self.service = Service::new(self.service.name(), tier)?;
        Ok(self)
    }

    /// Grants these capabilities (the `<service>_capabilities` caveat).
    pub fn capabilities<I, S>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.capabilities = capabilities.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a `<key>=<value>` caveat, minted verbatim after the capabilities.
    pub fn constraint(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.constraints.push((key.into(), value.into()));
        self
    }

    /// Tokens expire this long after minting (the `<service>_valid_until` caveat).
    pub fn validity(mut self, validity: Duration) -> Self {
        self.validity = Some(validity);
        self
    }

    /// Requests are admitted only with a token granting `capability`.
    pub fn require_capability(mut self, capability: impl Into<String>) -> Self {
        self.required_capability = Some(capability.into());
        self
    }

    /// The service name.
    pub fn service(&self) -> &str {
        self.service.name()
    }

    /// The price of one token, in satoshis.
    pub fn price_sat(&self) -> i64 {
        self.price_sat
    }

    /// The capability requests must be granted, if any.
    pub fn required_capability(&self) -> Option<&str> {
        self.required_capability.as_deref()
    }

    /// The token for the invoice with `payment_hash`, minted at `now`: `services=<name>:<tier>`,
    /// `<name>_capabilities=…`, the constraints, then `<name>_valid_until=…` if tokens expire.
    pub fn mint_request(
        &self,
        payment_hash: PaymentHash,
        now: SystemTime,
    ) -> Result<MintRequest, CaveatError> {
        let name = self.service.name();
        let mut request = MintRequest::new(payment_hash)
            .service(self.service.clone())
            .capabilities(name, self.capabilities.iter().cloned());
        for (key, value) in &self.constraints {
            request = request.caveat(Caveat::other(key, value)?);
        }
        if let Some(validity) = self.validity {
            request = request.valid_until(name, unix_secs(now + validity));
        }
        Ok(request)
    }
}

fn unix_secs(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caveats_come_in_apertures_order() {
        let pricing = Pricing::new("jokes", 10)
            .unwrap()
            .capabilities(["read", "write"])
            .constraint("jokes_max_len", "140")
            .validity(Duration::from_secs(60));
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let caveats: Vec<String> = pricing
            .mint_request(PaymentHash::from_bytes([1; 32]), now)
            .unwrap()
            .caveats()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            caveats,
            [
                "services=jokes:0",
                "jokes_capabilities=read,write",
                "jokes_max_len=140",
                "jokes_valid_until=1700000060",
            ]
        );
    }
}
