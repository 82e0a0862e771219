//! The state the manager and the swap actors share: configuration, store, lnd, the update broadcast,
//! the running actors' command channels and the tasks tracked for shutdown.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::command::Command;
use crate::config::Config;
use crate::lnd::Lnd;
use crate::store::Store;
use crate::swap::{Hash32, SwapUpdate};

/// State shared by the manager and the swap actors.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) lnd: Lnd,
    pub(crate) updates: broadcast::Sender<SwapUpdate>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) actors: Mutex<HashMap<Hash32, mpsc::Sender<Command>>>,
    pub(crate) creating: Mutex<HashSet<Hash32>>,
    pub(crate) tasks: TaskTracker,
}

impl Shared {
    /// Forgets a finished actor (called by the actor itself).
    pub(crate) fn remove_actor(&self, hash: &Hash32) {
        lock(&self.actors).remove(hash);
    }

    /// Spawns a background task tracked for shutdown.
    pub(crate) fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task);
    }
}

/// Locks `mutex`, recovering from a poisoned lock.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking holder cannot leave these maps inconsistent: recover the guard.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
