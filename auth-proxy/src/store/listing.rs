//! Listing token records a page at a time, for the admin API.
//!
//! A listing is bounded whatever the table holds: at most [`MAX_PAGE`] records per call, newest first,
//! continued with the cursor of the previous page (keyset pagination on `(created_at, token_id)`, so a
//! page costs the same at any depth and tokens minted meanwhile never shift it). Filters narrow it to one
//! service and one [`TokenStatus`].

use std::fmt;
use std::str::FromStr;

use super::{record, Store, StoreError, TokenRecord};

/// The most records one page holds.
pub const MAX_PAGE: u32 = 1000;
/// The page size when none is asked for.
pub const DEFAULT_PAGE: u32 = 100;

/// Where a token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// Not yet seen settled, not revoked.
    Unpaid,
    /// Settled at our lnd, not revoked.
    Paid,
    /// Revoked.
    Revoked,
}

impl FromStr for TokenStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "unpaid" => Ok(TokenStatus::Unpaid),
            "paid" => Ok(TokenStatus::Paid),
            "revoked" => Ok(TokenStatus::Revoked),
            other => Err(format!(
                "unknown status {other:?} (expected paid, unpaid or revoked)"
            )),
        }
    }
}

/// Where the previous page ended: the last record's `created_at` and token id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    created_at: i64,
    token_id: String,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.created_at, self.token_id)
    }
}

impl FromStr for Cursor {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let invalid = || format!("invalid cursor {text:?}");
        let (created_at, token_id) = text.split_once('.').ok_or_else(invalid)?;
        let token_id: l402::TokenId = token_id.parse().map_err(|_| invalid())?;
        Ok(Cursor {
            created_at: created_at.parse().map_err(|_| invalid())?,
            token_id: token_id.to_hex(),
        })
    }
}

/// Which records to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenQuery {
    /// Page size, at most [`MAX_PAGE`].
    pub limit: u32,
    /// Continue after this record.
    pub after: Option<Cursor>,
    /// Only tokens in this state.
    pub status: Option<TokenStatus>,
    /// Only tokens of this service.
    pub service: Option<String>,
}

impl Default for TokenQuery {
    fn default() -> Self {
        Self {
            limit: DEFAULT_PAGE,
            after: None,
            status: None,
            service: None,
        }
    }
}

/// One page of records and the cursor of the next one (`None`: this was the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPage {
    /// The records, newest first.
    pub tokens: Vec<TokenRecord>,
    /// Pass as [`TokenQuery::after`] for the next page.
    pub next: Option<Cursor>,
}

impl Store {
    /// One page of token records.
    pub async fn tokens(&self, query: &TokenQuery) -> Result<TokenPage, StoreError> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        let mut conditions = Vec::new();
        let mut next_placeholder = 1;
        let mut placeholder = || {
            let p = format!("${next_placeholder}");
            next_placeholder += 1;
            p
        };
        if query.after.is_some() {
            let (c1, c2, t) = (placeholder(), placeholder(), placeholder());
            conditions.push(format!(
                "(created_at < {c1} OR (created_at = {c2} AND token_id > {t}))"
            ));
        }
        match query.status {
            Some(TokenStatus::Unpaid) => conditions.push(unpaid!().to_owned()),
            Some(TokenStatus::Paid) => {
                conditions.push("settled_at IS NOT NULL AND revoked_at IS NULL".to_owned())
            }
            Some(TokenStatus::Revoked) => conditions.push("revoked_at IS NOT NULL".to_owned()),
            None => {}
        }
        if query.service.is_some() {
            conditions.push(format!("service = {}", placeholder()));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        // One more row than asked tells whether another page follows.
        let sql = format!(
            "SELECT token_id, payment_hash, service, price_sat, created_at, settled_at, revoked_at \
             FROM auth_proxy_tokens {filter} ORDER BY created_at DESC, token_id LIMIT {}",
            limit + 1
        );
        let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(after) = &query.after {
            statement = statement
                .bind(after.created_at)
                .bind(after.created_at)
                .bind(after.token_id.clone());
        }
        if let Some(service) = &query.service {
            statement = statement.bind(service.clone());
        }
        let rows = statement.fetch_all(&self.pool).await?;
        let mut tokens = rows.iter().map(record).collect::<Result<Vec<_>, _>>()?;
        let next = if tokens.len() > limit as usize {
            tokens.truncate(limit as usize);
            tokens.last().map(|last| Cursor {
                created_at: last.created_at,
                token_id: last.token_id.clone(),
            })
        } else {
            None
        };
        Ok(TokenPage { tokens, next })
    }
}

#[cfg(test)]
mod tests {
    use l402::{IdentifierHash, PaymentHash, RootKey, TokenId};

    use super::*;
    use crate::store::tests::sqlite_store;
    use crate::store::NewToken;

    /// 25 tokens: services `a` and `b` alternating, the first ten paid, every fifth revoked.
    async fn filled_store() -> (Store, tempfile::TempDir) {
        let (store, dir) = sqlite_store().await;
        for n in 0..25u8 {
            let token = NewToken {
                identifier_hash: IdentifierHash::from_bytes([n; 32]),
                root_key: RootKey::from_bytes([n; 32]),
                token_id: TokenId::from_bytes([n; 32]),
                payment_hash: PaymentHash::from_bytes([n; 32]),
                service: if n % 2 == 0 { "a" } else { "b" }.into(),
                price_sat: 1,
            };
            store.insert(&token).await.unwrap();
            if n < 10 {
                store.mark_settled(&token.payment_hash, 0).await.unwrap();
            }
            if n % 5 == 0 {
                store.revoke(&token.token_id).await.unwrap();
            }
        }
        (store, dir)
    }

    #[tokio::test]
    async fn pages_cover_every_record_once_and_filters_narrow_them() {
        let (store, _dir) = filled_store().await;
        let mut seen = Vec::new();
        let mut query = TokenQuery {
            limit: 7,
            ..TokenQuery::default()
        };
        loop {
            let page = store.tokens(&query).await.unwrap();
            assert!(page.tokens.len() <= 7);
            seen.extend(page.tokens.into_iter().map(|t| t.token_id));
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (25, 25));

        let count = |status, service: Option<&str>| {
            let query = TokenQuery {
                limit: MAX_PAGE,
                status,
                service: service.map(str::to_owned),
                ..TokenQuery::default()
            };
            let store = store.clone();
            async move { store.tokens(&query).await.unwrap().tokens.len() }
        };
        assert_eq!(count(Some(TokenStatus::Revoked), None).await, 5);
        assert_eq!(count(Some(TokenStatus::Paid), None).await, 8);
        assert_eq!(count(Some(TokenStatus::Unpaid), None).await, 12);
        assert_eq!(count(None, Some("a")).await, 13);
        assert_eq!(count(Some(TokenStatus::Paid), Some("b")).await, 4);
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = "ab".repeat(32);
        let cursor: Cursor = format!("1700000000.{id}").parse().unwrap();
        assert_eq!(cursor.to_string(), format!("1700000000.{id}"));
        for bad in ["", "1700000000", "x.ab", "1.zz", "1.abab"] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad}");
        }
        assert_eq!("paid".parse(), Ok(TokenStatus::Paid));
        assert!("settled".parse::<TokenStatus>().is_err());
    }
}
