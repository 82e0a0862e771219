//! The in-memory root-key cache: a verified token costs no database round trip.
//!
//! Entries are either a root key or a revocation tombstone (so a revoked token presented again costs no
//! database read either). A generation counter, bumped by every revocation and flush, lets a reader that
//! fetched a key from the database refuse to cache it if a revocation raced with the read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use l402::{IdentifierHash, RootKey};

/// At most this many entries are kept; beyond it the cache is emptied and refills from the database.
const MAX_ENTRIES: usize = 200_000;

/// A cached answer.
#[derive(Debug, Clone)]
pub(crate) enum Cached {
    /// The token's root key.
    Key(RootKey),
    /// The token was revoked.
    Revoked,
}

/// Root keys by `sha256(identifier)`.
#[derive(Debug, Default)]
pub(crate) struct RootKeyCache {
    entries: RwLock<HashMap<IdentifierHash, Cached>>,
    generation: AtomicU64,
}

impl RootKeyCache {
    /// The cached answer, if any.
    pub fn get(&self, hash: &IdentifierHash) -> Option<Cached> {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .cloned()
    }

    /// The current generation, read before a database lookup.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Caches an answer unconditionally (keys we just minted, tombstones we just read).
    pub fn put(&self, hash: IdentifierHash, value: Cached) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, value);
    }

    /// Caches a key read from the database, unless a revocation or flush happened since `generation`.
    pub fn put_if_generation(&self, hash: IdentifierHash, value: Cached, generation: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        // Checked under the write lock: revoke() bumps the generation while holding it.
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, value);
    }

    /// Marks a token revoked (here or, via notification, on another proxy).
    pub fn revoke(&self, hash: IdentifierHash) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.insert(hash, Cached::Revoked);
    }

    /// Forgets everything (after missing notifications, the database is the truth again).
    pub fn flush(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }

    /// Number of cached entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_during_a_read_keeps_the_stale_key_out() {
        let cache = RootKeyCache::default();
        let hash = IdentifierHash::from_bytes([1; 32]);
        let before = cache.generation();
        cache.revoke(hash);
        cache.put_if_generation(hash, Cached::Key(RootKey::from_bytes([2; 32])), before);
        assert!(matches!(cache.get(&hash), Some(Cached::Revoked)));
    }

    #[test]
    fn flush_forgets_everything() {
        let cache = RootKeyCache::default();
        cache.put(
            IdentifierHash::from_bytes([1; 32]),
            Cached::Key(RootKey::from_bytes([2; 32])),
        );
        assert_eq!(cache.len(), 1);
        cache.flush();
        assert_eq!(cache.len(), 0);
    }
}
