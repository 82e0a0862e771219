//! Unpaid tokens: counted, capped (`maxunpaidtokens`) and swept once their invoice has expired.
//!
//! A challenge is free to ask for but costs an invoice at lnd and two rows in the database. Beyond the
//! per-network challenge budget, [`UnpaidTokens`] caps how many tokens may be outstanding at once (beyond it
//! challenges answer 503 with `Retry-After`), and [`spawn_sweeper`] deletes unpaid tokens whose invoice
//! expired long enough ago that it cannot be paid any more (see the store's `sweep` module). The count is the
//! database's (an index of the unpaid tokens, not a scan of every token), read before serving and again after
//! every sweep, plus what this proxy minted since; without a cap nothing is counted; with
//! several replicas each one sees the others' tokens at the next sweep. A token minted while the database is
//! being counted may be counted twice, never not at all: the cap errs on the safe side.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::{Store, StoreError};

/// Tokens deleted per statement: bounds each transaction.
const SWEEP_BATCH: u32 = 1000;
/// Batches per sweep: bounds each sweep; the rest waits for the next one.
const SWEEP_MAX_BATCHES: u32 = 100;

/// How many unpaid tokens are outstanding, and the cap.
#[derive(Debug)]
pub struct UnpaidTokens {
    count: AtomicU64,
    /// Every token this proxy minted (only grows): tells what a recount may have missed.
    minted: AtomicU64,
    max: Option<u64>,
}

impl UnpaidTokens {
    /// No token counted yet; `max` is `maxunpaidtokens` (`None`: no cap).
    pub fn new(max: Option<u64>) -> Self {
        Self {
            count: AtomicU64::new(0),
            minted: AtomicU64::new(0),
            max,
        }
    }

    /// Whether a new challenge would exceed the cap.
    pub fn at_cap(&self) -> bool {
        self.max
            .is_some_and(|max| self.count.load(Ordering::Relaxed) >= max)
    }

    /// Counts a token just minted.
    pub fn minted(&self) {
        self.minted.fetch_add(1, Ordering::SeqCst);
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    /// The number outstanding, as last counted.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Sets the count to the database's, plus the tokens minted while it was being read (which the
    /// database may or may not have included: counting them again errs on the safe side). Without a cap
    /// the count serves nothing, and the database is not asked.
    pub async fn recount(&self, store: &Store) -> Result<(), StoreError> {
        if self.max.is_none() {
            return Ok(());
        }
        let before = self.minted.load(Ordering::SeqCst);
        let counted = store.count_unpaid().await?;
        loop {
            let minted = self.minted.load(Ordering::SeqCst);
            self.count
                .store(counted + (minted - before), Ordering::SeqCst);
            // A mint between the load and the store would be lost: count again with it.
            if self.minted.load(Ordering::SeqCst) == minted {
                return Ok(());
            }
        }
    }
}

/// Sweeps every `interval` until `stop`: deletes unpaid tokens created more than twice
/// `invoice_expiry` ago, then recounts the unpaid ones into `unpaid`.
pub fn spawn_sweeper(
    store: Store,
    unpaid: Arc<UnpaidTokens>,
    invoice_expiry: Duration,
    stop: CancellationToken,
) {
    let interval = (invoice_expiry / 4).min(Duration::from_secs(60));
    tokio::spawn(async move {
        // The count was taken before serving: the first sweep comes one interval later.
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            sweep(&store, &unpaid, invoice_expiry).await;
        }
    });
}

/// One sweep; failures are logged and retried at the next one.
async fn sweep(store: &Store, unpaid: &UnpaidTokens, invoice_expiry: Duration) {
    let before = service_kit::clock::now_unix().saturating_sub(2 * invoice_expiry.as_secs()) as i64;
    let mut deleted = 0;
    for _ in 0..SWEEP_MAX_BATCHES {
        match store.delete_unpaid_before(before, SWEEP_BATCH).await {
            Ok(n) => {
                deleted += n;
                if n < u64::from(SWEEP_BATCH) {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot delete expired unpaid tokens; retrying later");
                return;
            }
        }
    }
    if deleted > 0 {
        tracing::info!(deleted, "deleted unpaid tokens whose invoice expired");
    }
    if let Err(error) = unpaid.recount(store).await {
        tracing::warn!(error = %error, "cannot count unpaid tokens");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_cap_counts_minted_tokens_and_a_recount_keeps_them() {
        let (store, _dir) = crate::store::tests::sqlite_store().await;
        let unpaid = UnpaidTokens::new(Some(2));
        assert!(!unpaid.at_cap());
        unpaid.minted();
        unpaid.minted();
        assert!(unpaid.at_cap());
        // The database holds none of them: a recount now starts from its count.
        unpaid.recount(&store).await.unwrap();
        assert_eq!(unpaid.count(), 0);
        unpaid.minted();
        assert_eq!(unpaid.count(), 1);
        assert!(!UnpaidTokens::new(None).at_cap());
    }

    #[tokio::test]
    async fn without_a_cap_the_database_is_not_counted() {
        let (store, _dir) = crate::store::tests::sqlite_store().await;
        store.close().await;
        // Counting would fail on the closed pool: only the capped counter tries.
        UnpaidTokens::new(None).recount(&store).await.unwrap();
        assert!(UnpaidTokens::new(Some(1)).recount(&store).await.is_err());
    }
}
