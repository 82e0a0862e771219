//! Swap persistence with sqlx: SQLite (embedded default) or PostgreSQL,
//! chosen by the database URL, with the same portable migrations.
//!
//! Bytes are stored as hex `TEXT`, integers as `BIGINT`, so that one schema
//! and one set of queries (sqlx's `Any` driver, `$n` placeholders) serve both.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::swap::{state_from_i32, Hash32, SwapRecord, SwapUpdate};

/// The states of swaps that are still running (resumed on restart).
const UNFINISHED_STATES: [proto::looprpc::ServerSwapState; 4] = [
    proto::looprpc::ServerSwapState::ServerInitiated,
    proto::looprpc::ServerSwapState::ServerHtlcPublished,
    proto::looprpc::ServerSwapState::ServerHtlcConfirmed,
    proto::looprpc::ServerSwapState::ServerTimeoutPublished,
];

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database driver failed.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// Applying the migrations failed.
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row could not be decoded.
    #[error("corrupt swap row: {0}")]
    Corrupt(String),
    /// A swap with the same hash exists already.
    #[error("duplicate swap")]
    Duplicate,
}

impl StoreError {
    /// Whether the database cannot be reached (as opposed to a bad query).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Sqlx(
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Tls(_)
            )
        )
    }
}

/// The swap database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    /// Connects to `url` (see [`normalize_url`]) and applies the migrations.
    /// A SQLite file's directory is created if missing, like the file itself.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = service_kit::db::connect_any(url, 8, Duration::from_secs(10)).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Stores a new swap and its first history entry.
    pub async fn insert_swap(&self, swap: &SwapRecord) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let insert = sqlx::query(
            "INSERT INTO swaps (swap_hash, amount_sat, fee_sat, prepay_amt_sat, receiver_key, \
             sender_key, sender_secret, swap_invoice, swap_payment_addr, prepay_invoice, \
             prepay_hash, prepay_preimage, expiry_height, payment_deadline_ns, token_id, \
             user_agent, protocol_version, created_ns, state, state_seq, state_ns, htlc_txid, \
             htlc_published_ns, timeout_txid, preimage) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)",
        )
        .bind(swap.swap_hash.to_string())
        .bind(to_i64(swap.amount_sat))
        .bind(to_i64(swap.fee_sat))
        .bind(to_i64(swap.prepay_amt_sat))
        .bind(hex::encode(&swap.receiver_key))
        .bind(hex::encode(&swap.sender_key))
        .bind(hex::encode(swap.sender_secret))
        .bind(swap.swap_invoice.clone())
        .bind(hex::encode(&swap.swap_payment_addr))
        .bind(swap.prepay_invoice.clone())
        .bind(swap.prepay_hash.to_string())
        .bind(hex::encode(swap.prepay_preimage))
        .bind(swap.expiry_height)
        .bind(swap.payment_deadline_ns)
        .bind(swap.token_id.clone())
        .bind(swap.user_agent.clone())
        .bind(i64::from(swap.protocol_version))
        .bind(swap.created_ns);
        let inserted = bind_progress(insert, swap).execute(&mut *tx).await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Duplicate)
            }
            other => other?,
        };
        insert_update(&mut tx, &swap.current_update()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Saves the mutable fields of a swap; with `update`, also appends that
    /// entry to its history (in the same transaction).
    pub async fn save(
        &self,
        swap: &SwapRecord,
        update: Option<&SwapUpdate>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let update_query = sqlx::query(
            "UPDATE swaps SET state = $1, state_seq = $2, state_ns = $3, htlc_txid = $4, \
             htlc_published_ns = $5, timeout_txid = $6, preimage = $7 WHERE swap_hash = $8",
        );
        bind_progress(update_query, swap)
            .bind(swap.swap_hash.to_string())
            .execute(&mut *tx)
            .await?;
        if let Some(update) = update {
            insert_update(&mut tx, update).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The swap with this hash, if any.
    pub async fn get(&self, hash: &Hash32) -> Result<Option<SwapRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM swaps WHERE swap_hash = $1")
            .bind(hash.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode_swap).transpose()
    }

    /// Every swap that has not reached a final state, oldest first.
    pub async fn unfinished(&self) -> Result<Vec<SwapRecord>, StoreError> {
        let [a, b, c, d] = UNFINISHED_STATES.map(|s| i64::from(s as i32));
        let rows =
            sqlx::query("SELECT * FROM swaps WHERE state IN ($1, $2, $3, $4) ORDER BY created_ns")
                .bind(a)
                .bind(b)
                .bind(c)
                .bind(d)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(decode_swap).collect()
    }

    /// The full state history of a swap, in order.
    pub async fn updates(&self, hash: &Hash32) -> Result<Vec<SwapUpdate>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, state, timestamp_ns FROM swap_updates WHERE swap_hash = $1 ORDER BY seq",
        )
        .bind(hash.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SwapUpdate {
                    swap_hash: *hash,
                    seq: row.try_get("seq")?,
                    state: state_from_i32(to_i32(row.try_get("state")?)),
                    timestamp_ns: row.try_get("timestamp_ns")?,
                })
            })
            .collect()
    }
}

async fn insert_update(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    update: &SwapUpdate,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO swap_updates (swap_hash, seq, state, timestamp_ns) VALUES ($1, $2, $3, $4)",
    )
    .bind(update.swap_hash.to_string())
    .bind(update.seq)
    .bind(i64::from(update.state as i32))
    .bind(update.timestamp_ns)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds the fields that change during a swap's life, in the order both the
/// INSERT and the UPDATE list them: state, state_seq, state_ns, htlc_txid,
/// htlc_published_ns, timeout_txid, preimage.
fn bind_progress<'q>(query: AnyQuery<'q>, swap: &SwapRecord) -> AnyQuery<'q> {
    query
        .bind(i64::from(swap.state as i32))
        .bind(swap.state_seq)
        .bind(swap.state_ns)
        .bind(swap.htlc_txid.clone())
        .bind(swap.htlc_published_ns)
        .bind(swap.timeout_txid.clone())
        .bind(swap.preimage.map(hex::encode))
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn to_u64(value: i64, column: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {column}")))
}

fn hex_column(row: &AnyRow, column: &str) -> Result<Vec<u8>, StoreError> {
    let text: String = row.try_get(column)?;
    hex::decode(text).map_err(|_| StoreError::Corrupt(format!("{column} is not hex")))
}

fn array_column(row: &AnyRow, column: &str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(hex_column(row, column)?)
        .map_err(|_| StoreError::Corrupt(format!("{column} is not 32 bytes")))
}

fn hash_column(row: &AnyRow, column: &str) -> Result<Hash32, StoreError> {
    array_column(row, column).map(Hash32)
}

fn decode_swap(row: &AnyRow) -> Result<SwapRecord, StoreError> {
    let preimage: Option<String> = row.try_get("preimage")?;
    let preimage = preimage
        .map(|text| {
            hex::decode(text)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| StoreError::Corrupt("preimage is not 32 hex bytes".into()))
        })
        .transpose()?;
    let swap_hash: String = row.try_get("swap_hash")?;
    Ok(SwapRecord {
        swap_hash: Hash32::from_str(&swap_hash)
            .map_err(|_| StoreError::Corrupt("swap_hash".into()))?,
        amount_sat: to_u64(row.try_get("amount_sat")?, "amount_sat")?,
        fee_sat: to_u64(row.try_get("fee_sat")?, "fee_sat")?,
        prepay_amt_sat: to_u64(row.try_get("prepay_amt_sat")?, "prepay_amt_sat")?,
        receiver_key: hex_column(row, "receiver_key")?,
        sender_key: hex_column(row, "sender_key")?,
        sender_secret: array_column(row, "sender_secret")?,
        swap_invoice: row.try_get("swap_invoice")?,
        swap_payment_addr: hex_column(row, "swap_payment_addr")?,
        prepay_invoice: row.try_get("prepay_invoice")?,
        prepay_hash: hash_column(row, "prepay_hash")?,
        prepay_preimage: array_column(row, "prepay_preimage")?,
        expiry_height: row.try_get("expiry_height")?,
        payment_deadline_ns: row.try_get("payment_deadline_ns")?,
        token_id: row.try_get("token_id")?,
        user_agent: row.try_get("user_agent")?,
        protocol_version: to_i32(row.try_get("protocol_version")?),
        state: state_from_i32(to_i32(row.try_get("state")?)),
        state_seq: row.try_get("state_seq")?,
        state_ns: row.try_get("state_ns")?,
        htlc_txid: row.try_get("htlc_txid")?,
        htlc_published_ns: row.try_get("htlc_published_ns")?,
        timeout_txid: row.try_get("timeout_txid")?,
        preimage,
        created_ns: row.try_get("created_ns")?,
    })
}
