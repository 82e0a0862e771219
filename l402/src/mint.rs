//! Minting new tokens on the server side: [`MintRequest`] builds the identifier, root key and Aperture's
//! caveats (`services`, then `<svc>_capabilities`, then extra caveats, then `<svc>_valid_until`).

use std::fmt;

use crate::caveat::{Caveat, CaveatError};
use crate::identifier::Identifier;
use crate::macaroon::{Macaroon, MacaroonError};
use crate::types::{IdentifierHash, PaymentHash, RootKey, TokenId};

/// Mints a macaroon with `root_key` for `identifier` with these caveats (see [`Macaroon::mint`]).
pub fn mint(
    root_key: &RootKey,
    identifier: &Identifier,
    caveats: &[Caveat],
) -> Result<Macaroon, MacaroonError> {
    Macaroon::mint(root_key, identifier, caveats)
}

/// Builder for a new token. Token id and root key are random unless set (set them only in tests).
#[derive(Clone)]
pub struct MintRequest {
    payment_hash: PaymentHash,
    token_id: Option<TokenId>,
    root_key: Option<RootKey>,
    services: Vec<crate::caveat::Service>,
    capabilities: Vec<(String, Vec<String>)>,
    extra: Vec<Caveat>,
    valid_until: Vec<(String, i64)>,
}

impl fmt::Debug for MintRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintRequest")
            .field("payment_hash", &self.payment_hash)
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

/// A freshly minted token: store `root_key` under `identifier_hash`, send `macaroon` in the challenge.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The macaroon to put in the challenge.
    pub macaroon: Macaroon,
    /// The token's secret root key.
    pub root_key: RootKey,
    /// `sha256(identifier)`, the key to store the root key under.
    pub identifier_hash: IdentifierHash,
}

impl MintRequest {
    /// A token paid for by the invoice with this payment hash.
    pub fn new(payment_hash: PaymentHash) -> Self {
        Self {
            payment_hash,
            token_id: None,
            root_key: None,
            services: Vec::new(),
            capabilities: Vec::new(),
            extra: Vec::new(),
            valid_until: Vec::new(),
        }
    }

    /// Uses this token id instead of a random one.
    pub fn token_id(mut self, token_id: TokenId) -> Self {
        self.token_id = Some(token_id);
        self
    }

    /// Uses this root key instead of a random one.
    pub fn root_key(mut self, root_key: RootKey) -> Self {
        self.root_key = Some(root_key);
        self
    }

    /// Adds a service to the `services` caveat.
    pub fn service(mut self, service: crate::caveat::Service) -> Self {
        self.services.push(service);
        self
    }

    /// Adds a `<service>_capabilities` caveat (validated when minting).
    pub fn capabilities<I, S>(mut self, service: &str, capabilities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let caps = capabilities.into_iter().map(Into::into).collect();
        self.capabilities.push((service.to_owned(), caps));
        self
    }

    /// Adds a `<service>_valid_until` caveat.
    pub fn valid_until(mut self, service: &str, unix_secs: i64) -> Self {
        self.valid_until.push((service.to_owned(), unix_secs));
        self
    }

    /// Adds any other caveat (placed after the capabilities, before the expiries).
    pub fn caveat(mut self, caveat: Caveat) -> Self {
        self.extra.push(caveat);
        self
    }

    /// The caveats in minting order.
    pub fn caveats(&self) -> Result<Vec<Caveat>, CaveatError> {
        let mut out = Vec::new();
        if !self.services.is_empty() {
            out.push(Caveat::services(self.services.iter().cloned())?);
        }
        for (service, caps) in &self.capabilities {
            out.push(Caveat::capabilities(service, caps.iter().cloned())?);
        }
        out.extend(self.extra.iter().cloned());
        for (service, unix_secs) in &self.valid_until {
            out.push(Caveat::valid_until(service, *unix_secs)?);
        }
        Ok(out)
    }

    /// Mints the token.
    pub fn mint(self) -> Result<Minted, MacaroonError> {
        let caveats = self.caveats()?;
        let identifier = Identifier::new(
            self.payment_hash,
            self.token_id.unwrap_or_else(TokenId::random),
        );
        let root_key = self.root_key.unwrap_or_else(RootKey::random);
        let macaroon = Macaroon::mint(&root_key, &identifier, &caveats)?;
        Ok(Minted {
            macaroon,
            root_key,
            identifier_hash: identifier.hash(),
        })
    }
}
