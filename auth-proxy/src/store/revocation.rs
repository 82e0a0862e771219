//! Revocation across proxies sharing one PostgreSQL database.
//!
//! Why LISTEN/NOTIFY: every proxy caches root keys in memory, so a revocation must reach every cache, fast,
//! without putting a database read back on the hot path. `pg_notify` is issued inside the revoking
//! transaction, so PostgreSQL delivers it to every listening session exactly when the deletion commits —
//! typically within milliseconds, well inside the one-second target — and never for a revocation that rolled
//! back. Polling would trade that latency for load (a query per proxy per interval); a TTL on cache entries
//! would make "revoked" mean "revoked eventually".
//!
//! The one weakness of NOTIFY is that a session that is disconnected misses what was sent meanwhile. The
//! listener therefore treats every reconnect as "I may have missed revocations" and flushes the whole cache;
//! the database, where the root key is already deleted, is the truth again. While the listener is down the
//! cache keeps serving, so a revocation may be late by as long as the database connection is down — but then
//! the revoking proxy cannot reach the database either.

use service_kit::backoff::Reconnect;
use std::sync::Arc;
use std::time::Duration;

use l402::IdentifierHash;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use super::cache::RootKeyCache;

/// The NOTIFY channel; the payload is the hex `sha256(identifier)` of the revoked token.
pub(crate) const CHANNEL: &str = "auth_proxy_revocations";

/// Listens for revocations until `stop` is cancelled. `url` is the PostgreSQL URL (secret: never logged).
/// Returns once listening has started (or failed once, after which it keeps retrying in the background).
pub(crate) async fn spawn_listener(url: String, cache: Arc<RootKeyCache>, stop: CancellationToken) {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        let mut reconnect = Reconnect::new(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            let listener = async {
                let mut listener = PgListener::connect(&url).await?;
                listener.listen(CHANNEL).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            let mut listener = tokio::select! {
                _ = stop.cancelled() => return,
                result = listener => match result {
                    Ok(listener) => listener,
                    Err(error) => {
                        tracing::warn!(error = %error, "revocation listener cannot connect; retrying");
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(());
                        }
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = tokio::time::sleep(reconnect.next_delay()) => {}
                        }
                        continue;
                    }
                },
            };
            // Anything revoked before this point while we were not listening is only in the database.
            cache.flush();
            reconnect.reset();
            if let Some(ready) = ready.take() {
                let _ = ready.send(());
            }
            tracing::debug!(channel = CHANNEL, "listening for revocations");
            loop {
                let next = tokio::select! {
                    _ = stop.cancelled() => return,
                    next = listener.try_recv() => next,
                };
                match next {
                    Ok(Some(notification)) => {
                        match notification.payload().parse::<IdentifierHash>() {
                            Ok(hash) => {
                                tracing::debug!(identifier_hash = %hash, "revocation received");
                                cache.revoke(hash);
                            }
                            Err(_) => tracing::warn!("ignoring malformed revocation notification"),
                        }
                    }
                    // The connection dropped. Notifications sent until we listen again are lost, so forget
                    // every cached key now, and reconnect through the outer loop, which flushes once more
                    // after LISTEN is in place: a key cached while we were reconnecting may belong to a
                    // token revoked in that window. (try_recv would reconnect by itself, but without
                    // telling us when it is listening again.)
                    Ok(None) => {
                        tracing::warn!(
                            "revocation listener lost its connection; flushing the root-key cache"
                        );
                        cache.flush();
                        break;
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "revocation listener failed; reconnecting");
                        cache.flush();
                        break;
                    }
                }
            }
        }
    });
    let _ = ready_rx.await;
}
