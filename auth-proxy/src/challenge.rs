//! Phase 3a, challenge: l402-server's minting step — an invoice from our lnd, a macaroon minted from the
//! service's [`Pricing`], its root key stored in our database, then the challenge to send.

use std::time::SystemTime;

use l402_server::{IssueError, Issued, Pricing};

use crate::lnd::Invoices;
use crate::service::ServiceConfig;
use crate::store::Store;

/// Issues challenges.
#[derive(Debug, Clone)]
pub struct Challenger {
    invoices: Invoices,
    store: Store,
}

impl Challenger {
    /// A challenger creating invoices with `invoices` and storing root keys in `store`.
    pub fn new(invoices: Invoices, store: Store) -> Self {
        Challenger { invoices, store }
    }

    /// Mints a challenge for `service` at `path`, for an invoice of `price_sat` (the configured price, or the
    /// price server's). `valid_until` is computed now, at mint time.
    pub async fn issue(
        &self,
        service: &ServiceConfig,
        path: &str,
        price_sat: i64,
    ) -> Result<Issued, IssueError> {
        let pricing = pricing(service, path, price_sat)?;
        l402_server::issue(&pricing, &self.invoices, &self.store, SystemTime::now()).await
    }
}

/// The token shape of `service` for `path`: its resource name (the service name, or `<name><path>` with
/// dynamic prices, as Aperture's `ResourceName`), tier 0, `price_sat`, capabilities, constraints
/// (`<key>=<value>`, verbatim as Aperture mints them) and timeout.
fn pricing(service: &ServiceConfig, path: &str, price_sat: i64) -> Result<Pricing, IssueError> {
    let mut pricing = Pricing::new(&service.resource_name(path), price_sat)?
        .capabilities(service.capabilities.split(',').filter(|c| !c.is_empty()));
    for (key, value) in &service.constraints {
        pricing = pricing.constraint(key, value);
    }
    if let Some(timeout) = service.timeout {
        pricing = pricing.validity(timeout);
    }
    Ok(pricing)
}
