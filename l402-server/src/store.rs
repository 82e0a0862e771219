//! Where minted root keys live: the [`RootKeyStore`] trait (insert by identifier hash, look up, revoke)
//! and [`MemoryStore`], an in-memory implementation for a single process.
//!
//! Deleting a root key revokes its token: no signature can be checked without it.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

use l402::{IdentifierHash, PaymentHash, RootKey, TokenId};

/// The store could not be reached or refused the operation (answered with 503: the client can do nothing).
#[derive(Debug, thiserror::Error)]
#[error("root-key store unavailable: {0}")]
pub struct StoreError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl StoreError {
    /// Wraps the store's own error.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        StoreError(error.into())
    }
}

/// A freshly minted token to remember, stored before its challenge is sent.
#[derive(Debug, Clone)]
pub struct NewRootKey {
    /// `sha256(identifier)`, the lookup key.
    pub identifier_hash: IdentifierHash,
    /// The secret root key.
    pub root_key: RootKey,
    /// The token id (how an operator names the token, e.g. to revoke it).
    pub token_id: TokenId,
    /// The invoice's payment hash.
    pub payment_hash: PaymentHash,
    /// The service the token was minted for.
    pub service: String,
    /// Its price in satoshis.
    pub price_sat: i64,
}

/// What a lookup found.
#[derive(Debug, Clone)]
pub enum RootKeyLookup {
    /// The token's root key.
    Found(RootKey),
    /// The token existed and was revoked.
    Revoked,
    /// No such token.
    Unknown,
}

/// Storage of root keys by identifier hash.
pub trait RootKeyStore: Send + Sync + 'static {
    /// Remembers a minted token's root key.
    fn insert(&self, token: &NewRootKey) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The root key stored under `hash`.
    fn root_key(
        &self,
        hash: &IdentifierHash,
    ) -> impl Future<Output = Result<RootKeyLookup, StoreError>> + Send;

    /// Revokes the token `token_id`; `false` if there was no such live token.
    fn revoke(&self, token_id: &TokenId) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Root keys in memory, shared by clones; lost when the process ends (every token then needs paying
/// again), so suited to a single process that can live with that.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Keys>>,
}

#[derive(Debug, Default)]
struct Keys {
    live: HashMap<IdentifierHash, RootKey>,
    by_token: HashMap<TokenId, IdentifierHash>,
    revoked: HashSet<IdentifierHash>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        // The maps are always consistent between statements: a poisoned lock holds valid data.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl RootKeyStore for MemoryStore {
    async fn insert(&self, token: &NewRootKey) -> Result<(), StoreError> {
        let mut keys = self.keys();
        keys.live
            .insert(token.identifier_hash, token.root_key.clone());
        keys.by_token.insert(token.token_id, token.identifier_hash);
        Ok(())
    }

    async fn root_key(&self, hash: &IdentifierHash) -> Result<RootKeyLookup, StoreError> {
        let keys = self.keys();
        Ok(match keys.live.get(hash) {
            Some(key) => RootKeyLookup::Found(key.clone()),
            None if keys.revoked.contains(hash) => RootKeyLookup::Revoked,
            None => RootKeyLookup::Unknown,
        })
    }

    async fn revoke(&self, token_id: &TokenId) -> Result<bool, StoreError> {
        let mut keys = self.keys();
        let Some(hash) = keys.by_token.remove(token_id) else {
            return Ok(false);
        };
        keys.live.remove(&hash);
        keys.revoked.insert(hash);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn insert_look_up_revoke() {
        let store = MemoryStore::new();
        let token = NewRootKey {
            identifier_hash: IdentifierHash::of(b"id"),
            root_key: RootKey::random(),
            token_id: TokenId::random(),
            payment_hash: PaymentHash::from_bytes([2; 32]),
            service: "jokes".into(),
            price_sat: 10,
        };
        store.insert(&token).await.unwrap();
        let found = store.root_key(&token.identifier_hash).await.unwrap();
        assert!(matches!(found, RootKeyLookup::Found(key) if key == token.root_key));
        assert!(store.revoke(&token.token_id).await.unwrap());
        assert!(!store.revoke(&token.token_id).await.unwrap());
        let gone = store.root_key(&token.identifier_hash).await.unwrap();
        assert!(matches!(gone, RootKeyLookup::Revoked));
        let unknown = store.root_key(&IdentifierHash::of(b"other")).await.unwrap();
        assert!(matches!(unknown, RootKeyLookup::Unknown));
    }
}
