//! [`ProxyHandle`]: the in-process control surface of a running proxy — list and revoke tokens, read the
//! decisions and the metrics. The admin API is a thin HTTP layer over it; tests use it directly.

use l402::TokenId;
use tokio::sync::broadcast;

use crate::decision::{Decision, Decisions};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError, TokenPage, TokenQuery};

/// A failure of a handle operation.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The token id is not 64 hex characters.
    #[error("token id must be 64 hex characters")]
    BadTokenId,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A cheap, cloneable handle to a proxy.
#[derive(Debug, Clone)]
pub struct ProxyHandle {
    pub(crate) store: Store,
    pub(crate) decisions: Decisions,
    pub(crate) metrics: Metrics,
}

impl ProxyHandle {
    /// Revokes the token with this hex id, on this proxy at once and on every proxy sharing its PostgreSQL
    /// database within a second. `Ok(false)`: no such unrevoked token.
    pub async fn revoke(&self, token_id: &str) -> Result<bool, HandleError> {
        let token_id: TokenId = token_id
            .trim()
            .parse()
            .map_err(|_| HandleError::BadTokenId)?;
        Ok(self.store.revoke(&token_id).await?)
    }

    /// One page of token records, newest first (see [`TokenQuery`]).
    pub async fn tokens(&self, query: &TokenQuery) -> Result<TokenPage, HandleError> {
        Ok(self.store.tokens(query).await?)
    }

    /// The most recent decisions (up to 1024), oldest first.
    pub fn decisions(&self) -> Vec<Decision> {
        self.decisions.recent()
    }

    /// A live feed of every decision from now on.
    pub fn subscribe_decisions(&self) -> broadcast::Receiver<Decision> {
        self.decisions.subscribe()
    }

    /// The Prometheus text exposition, as `/metrics` serves it.
    pub fn metrics_text(&self) -> String {
        self.metrics.render()
    }
}
