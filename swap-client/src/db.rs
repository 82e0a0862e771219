//! loopd's swap database: SQLite through sqlx, schema in `migrations/`.
//!
//! Every state change is written (the swap row and a `swap_updates` history
//! row, in one transaction) before it is announced, so that a restarted loopd
//! resumes every unfinished swap from where it was.

use std::path::Path;
use std::str::FromStr;

use l402::{PaymentHash, Preimage};
use proto::looprpc::{FailureReason, SwapState};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
// Only the constant column list is formatted into queries; values are bound.
use sqlx::{AssertSqlSafe, Row, SqlitePool};

use crate::swap::types::{LoopOutSwap, OutLimits, SwapCost};

/// Why the database failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite or the connection failed.
    #[error("swap database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("swap database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row holds a value that cannot be a swap.
    #[error("swap database: corrupt row: {0}")]
    Corrupt(String),
}

/// Pool size for a database file.
const MAX_CONNECTIONS: u32 = 4;

/// The swap database.
#[derive(Debug, Clone)]
pub struct SwapDb {
    pool: SqlitePool,
}

const COLUMNS: &str =
    "swap_hash, preimage, amount_sat, dest, label, swap_invoice, prepay_invoice, \
    swap_invoice_amt_sat, prepay_invoice_amt_sat, receiver_key, sender_key, expiry_height, \
    max_swap_fee, max_prepay_amt, max_swap_routing_fee, max_prepay_routing_fee, max_miner_fee, \
    server_message, initiation_time_ns, state, failure_reason, last_update_time_ns, \
    cost_server_sat, cost_onchain_sat, cost_offchain_sat";

impl SwapDb {
    /// Opens (creating it privately if needed, see [`service_kit::db`]) the SQLite file at `path` and
    /// migrates it.
    pub async fn open(path: &Path) -> Result<Self, DbError> {
        service_kit::db::prepare_sqlite_file(path).map_err(sqlx::Error::from)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(service_kit::db::SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        Self::with_options(options, MAX_CONNECTIONS).await
    }

    /// Opens a database from a sqlx URL (e.g. `sqlite::memory:`).
    pub async fn open_url(url: &str) -> Result<Self, DbError> {
        let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
        // Every connection to `:memory:` is a separate, empty database: keep one.
        let connections = if url.contains(":memory:") {
            1
        } else {
            MAX_CONNECTIONS
        };
        Self::with_options(options, connections).await
    }

    async fn with_options(
        options: SqliteConnectOptions,
        connections: u32,
    ) -> Result<Self, DbError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            // A single in-memory connection must never be closed as idle.
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Records a new swap and its first state.
    pub async fn insert(&self, swap: &LoopOutSwap) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO swaps ({COLUMNS}) VALUES \
             (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )))
        .bind(swap.id())
        .bind(swap.preimage.as_bytes().to_vec())
        .bind(to_i64(swap.amount_sat))
        .bind(&swap.dest)
        .bind(&swap.label)
        .bind(&swap.swap_invoice)
        .bind(&swap.prepay_invoice)
        .bind(to_i64(swap.swap_invoice_amt_sat))
        .bind(to_i64(swap.prepay_invoice_amt_sat))
        .bind(&swap.receiver_key)
        .bind(&swap.sender_key)
        .bind(swap.expiry_height)
        .bind(to_i64(swap.limits.max_swap_fee))
        .bind(to_i64(swap.limits.max_prepay_amt))
        .bind(to_i64(swap.limits.max_swap_routing_fee))
        .bind(to_i64(swap.limits.max_prepay_routing_fee))
        .bind(to_i64(swap.limits.max_miner_fee))
        .bind(&swap.server_message)
        .bind(swap.initiation_time_ns)
        .bind(swap.state as i32)
        .bind(swap.failure_reason as i32)
        .bind(swap.last_update_time_ns)
        .bind(swap.cost.server)
        .bind(swap.cost.onchain)
        .bind(swap.cost.offchain)
        .execute(&mut *tx)
        .await?;
        insert_update(&mut tx, swap).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the state, failure reason, costs and update time of `swap`.
    pub async fn update(&self, swap: &LoopOutSwap) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE swaps SET state = ?, failure_reason = ?, last_update_time_ns = ?, \
             cost_server_sat = ?, cost_onchain_sat = ?, cost_offchain_sat = ? WHERE swap_hash = ?",
        )
        .bind(swap.state as i32)
        .bind(swap.failure_reason as i32)
        .bind(swap.last_update_time_ns)
        .bind(swap.cost.server)
        .bind(swap.cost.onchain)
        .bind(swap.cost.offchain)
        .bind(swap.id())
        .execute(&mut *tx)
        .await?;
        insert_update(&mut tx, swap).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The swap with this hash.
    pub async fn get(&self, hash: &PaymentHash) -> Result<Option<LoopOutSwap>, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM swaps WHERE swap_hash = ?"
        )))
        .bind(hash.to_hex())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| from_row(&row)).transpose()
    }

    /// Every swap, oldest first.
    pub async fn list(&self) -> Result<Vec<LoopOutSwap>, DbError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM swaps ORDER BY initiation_time_ns, swap_hash"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The states a swap went through, oldest first.
    pub async fn history(&self, hash: &PaymentHash) -> Result<Vec<SwapState>, DbError> {
        let rows = sqlx::query("SELECT state FROM swap_updates WHERE swap_hash = ? ORDER BY id")
            .bind(hash.to_hex())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| swap_state(row.try_get("state")?))
            .collect()
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn insert_update(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    swap: &LoopOutSwap,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO swap_updates (swap_hash, state, update_time_ns) VALUES (?, ?, ?)")
        .bind(swap.id())
        .bind(swap.state as i32)
        .bind(swap.last_update_time_ns)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn from_row(row: &SqliteRow) -> Result<LoopOutSwap, DbError> {
    let hash: String = row.try_get("swap_hash")?;
    let preimage: Vec<u8> = row.try_get("preimage")?;
    let failure: i32 = row.try_get("failure_reason")?;
    Ok(LoopOutSwap {
        hash: hash
            .parse::<PaymentHash>()
            .map_err(|_| DbError::Corrupt(format!("swap hash {hash:?}")))?,
        preimage: Preimage::from_slice(&preimage)
            .map_err(|_| DbError::Corrupt(format!("preimage of swap {hash}")))?,
        amount_sat: to_u64(row.try_get("amount_sat")?),
        dest: row.try_get("dest")?,
        label: row.try_get("label")?,
        swap_invoice: row.try_get("swap_invoice")?,
        prepay_invoice: row.try_get("prepay_invoice")?,
        swap_invoice_amt_sat: to_u64(row.try_get("swap_invoice_amt_sat")?),
        prepay_invoice_amt_sat: to_u64(row.try_get("prepay_invoice_amt_sat")?),
        receiver_key: row.try_get("receiver_key")?,
        sender_key: row.try_get("sender_key")?,
        expiry_height: row.try_get("expiry_height")?,
        limits: OutLimits {
            max_swap_fee: to_u64(row.try_get("max_swap_fee")?),
            max_prepay_amt: to_u64(row.try_get("max_prepay_amt")?),
            max_swap_routing_fee: to_u64(row.try_get("max_swap_routing_fee")?),
            max_prepay_routing_fee: to_u64(row.try_get("max_prepay_routing_fee")?),
            max_miner_fee: to_u64(row.try_get("max_miner_fee")?),
        },
        server_message: row.try_get("server_message")?,
        initiation_time_ns: row.try_get("initiation_time_ns")?,
        state: swap_state(row.try_get("state")?)?,
        failure_reason: FailureReason::try_from(failure)
            .map_err(|_| DbError::Corrupt(format!("failure reason {failure}")))?,
        last_update_time_ns: row.try_get("last_update_time_ns")?,
        cost: SwapCost {
            server: row.try_get("cost_server_sat")?,
            onchain: row.try_get("cost_onchain_sat")?,
            offchain: row.try_get("cost_offchain_sat")?,
        },
    })
}

fn swap_state(value: i32) -> Result<SwapState, DbError> {
    SwapState::try_from(value).map_err(|_| DbError::Corrupt(format!("swap state {value}")))
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn swap(hash: u8, initiated_ns: i64) -> LoopOutSwap {
        LoopOutSwap {
            hash: PaymentHash::from_bytes([hash; 32]),
            preimage: Preimage::from_bytes([hash.wrapping_add(1); 32]),
            amount_sat: 250_000,
            dest: String::new(),
            label: "test".into(),
            swap_invoice: "lnbcrt1swap".into(),
            prepay_invoice: "lnbcrt1prepay".into(),
            swap_invoice_amt_sat: 249_600,
            prepay_invoice_amt_sat: 1_000,
            receiver_key: vec![2; 33],
            sender_key: vec![3; 33],
            expiry_height: 244,
            limits: OutLimits {
                max_swap_fee: 600,
                max_prepay_amt: 1_000,
                max_swap_routing_fee: 5_010,
                max_prepay_routing_fee: 30,
                max_miner_fee: 0,
            },
            server_message: String::new(),
            initiation_time_ns: initiated_ns,
            state: SwapState::Initiated,
            failure_reason: FailureReason::None,
            last_update_time_ns: initiated_ns,
            cost: SwapCost::default(),
        }
    }

    #[tokio::test]
    async fn swaps_and_their_history_round_trip() {
        let db = SwapDb::open_url("sqlite::memory:").await.unwrap();
        let mut first = swap(1, 10);
        db.insert(&first).await.unwrap();
        db.insert(&swap(2, 20)).await.unwrap();

        first.state = SwapState::HtlcPublished;
        first.last_update_time_ns = 11;
        db.update(&first).await.unwrap();
        first.state = SwapState::Success;
        first.cost = SwapCost {
            server: 600,
            onchain: 0,
            offchain: 2,
        };
        db.update(&first).await.unwrap();

        assert_eq!(
            db.get(&PaymentHash::from_bytes([1; 32])).await.unwrap(),
            Some(first.clone())
        );
        assert_eq!(
            db.get(&PaymentHash::from_bytes([9; 32])).await.unwrap(),
            None
        );
        let all = db.list().await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], first);
        assert_eq!(
            db.history(&PaymentHash::from_bytes([1; 32])).await.unwrap(),
            vec![
                SwapState::Initiated,
                SwapState::HtlcPublished,
                SwapState::Success
            ]
        );
        assert!(db.insert(&first).await.is_err(), "a swap hash is unique");
    }
}
