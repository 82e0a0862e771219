//! Forgetting tokens nobody paid for, and counting the ones outstanding.
//!
//! Every challenge writes a token row and a root key, so unpaid tokens would pile up forever. Once its
//! invoice has expired a token can no longer be paid, and some time after that (twice the invoice expiry
//! from its creation, so that a settlement our lnd reports late is still recorded) its rows are deleted.
//! Deleting is idempotent and done in bounded batches, so several replicas sharing one PostgreSQL can sweep
//! at the same time.

use sqlx::Row;

use super::{Store, StoreError};

/// The oldest unpaid tokens created before `$1`, at most `$2` of them, deleted; answers their identifier
/// hashes. Walks the unpaid index (`auth_proxy_tokens_unpaid`) from its old end.
const DELETE_OLDEST_UNPAID: &str = concat!(
    "DELETE FROM auth_proxy_tokens WHERE identifier_hash IN (",
    "SELECT identifier_hash FROM auth_proxy_tokens WHERE ",
    unpaid!(),
    " AND created_at < $1 ORDER BY created_at LIMIT $2) RETURNING identifier_hash"
);

/// How many tokens are unpaid: a count of the unpaid index.
const COUNT_UNPAID: &str = concat!("SELECT COUNT(*) FROM auth_proxy_tokens WHERE ", unpaid!());

impl Store {
    /// Deletes at most `batch` unpaid tokens created before `before` (Unix seconds), root keys included;
    /// returns how many tokens were deleted.
    pub async fn delete_unpaid_before(&self, before: i64, batch: u32) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The rows deleted name the root keys to delete: exactly those, whatever else changes meanwhile.
        let deleted = sqlx::query(DELETE_OLDEST_UNPAID)
            .bind(before)
            .bind(i64::from(batch))
            .fetch_all(&mut *tx)
            .await?;
        for row in &deleted {
            let hash: Vec<u8> = row.try_get(0)?;
            sqlx::query("DELETE FROM auth_proxy_root_keys WHERE identifier_hash = $1")
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let deleted = deleted.len() as u64;
        Ok(deleted)
    }

    /// How many tokens are unpaid (neither settled nor revoked).
    pub async fn count_unpaid(&self) -> Result<u64, StoreError> {
        let (count,): (i64,) = sqlx::query_as(COUNT_UNPAID).fetch_one(&self.pool).await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use l402::{IdentifierHash, PaymentHash, RootKey, TokenId};
    use sqlx::Row;

    use super::{COUNT_UNPAID, DELETE_OLDEST_UNPAID};
    use crate::store::tests::{on_both_databases, sqlite_store};
    use crate::store::{Backend, NewToken, RootKeyLookup, Store};

    /// The database's plan for `sql` (with `$1` and `$2` bound), one line per step. PostgreSQL is told to
    /// avoid whole-table scans, which it prefers on a table this small whatever the indexes.
    async fn plan(store: &Store, sql: &str) -> String {
        let mut tx = store.pool.begin().await.unwrap();
        let explain = match store.backend {
            Backend::Sqlite => "EXPLAIN QUERY PLAN",
            Backend::Postgres => {
                sqlx::query("SET LOCAL enable_seqscan = off")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                "EXPLAIN"
            }
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{explain} {sql}")))
            .bind(0_i64)
            .bind(1_i64)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        let lines: Vec<String> = rows
            .iter()
            .map(|row| row.try_get(row.len() - 1).unwrap())
            .collect();
        lines.join("\n")
    }

    /// Counting and sweeping unpaid tokens read the partial index of unpaid tokens, not the whole table:
    /// their cost follows the unpaid tokens, not every token ever sold.
    async fn unpaid_tokens_are_found_through_their_index(store: &Store) {
        for sql in [COUNT_UNPAID, DELETE_OLDEST_UNPAID] {
            let plan = plan(store, sql).await;
            assert!(plan.contains("auth_proxy_tokens_unpaid"), "{sql}:\n{plan}");
        }
    }

    on_both_databases!(unpaid_tokens_are_found_through_their_index);

    #[tokio::test]
    async fn only_old_unpaid_tokens_are_deleted_with_their_root_keys() {
        let (store, _dir) = sqlite_store().await;
        let token = |n: u8| NewToken {
            identifier_hash: IdentifierHash::from_bytes([n; 32]),
            root_key: RootKey::from_bytes([n; 32]),
            token_id: TokenId::from_bytes([n; 32]),
            payment_hash: PaymentHash::from_bytes([n; 32]),
            service: "svc".into(),
            price_sat: 1,
        };
        for n in 0..5 {
            store.insert(&token(n)).await.unwrap();
        }
        store.mark_settled(&token(0).payment_hash, 0).await.unwrap();
        store.revoke(&token(1).token_id).await.unwrap();
        assert_eq!(store.count_unpaid().await.unwrap(), 3);

        let now = service_kit::clock::now_unix() as i64;
        // Nothing is old enough yet.
        assert_eq!(store.delete_unpaid_before(now - 60, 100).await.unwrap(), 0);
        // In batches: two, then the last one.
        assert_eq!(store.delete_unpaid_before(now + 1, 2).await.unwrap(), 2);
        assert_eq!(store.delete_unpaid_before(now + 1, 2).await.unwrap(), 1);
        assert_eq!(store.delete_unpaid_before(now + 1, 2).await.unwrap(), 0);
        assert_eq!(store.count_unpaid().await.unwrap(), 0);
        // The paid token is kept, key and all (read from the database, not the cache).
        store.cache().flush();
        assert!(matches!(
            store.root_key(&token(0).identifier_hash).await.unwrap(),
            RootKeyLookup::Found(_)
        ));
        assert!(matches!(
            store.root_key(&token(3).identifier_hash).await.unwrap(),
            RootKeyLookup::Unknown
        ));
    }
}
