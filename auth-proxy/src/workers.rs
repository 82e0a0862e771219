//! The serving threads, built the way nginx and actix-web are: a fixed set of workers, each a thread running
//! a single-threaded tokio runtime, and an acceptor that hands every admitted connection to the worker
//! serving the fewest.
//!
//! From then on that worker alone runs everything the connection's requests need: the HTTP codec, the
//! pipeline, and its own pools of connections to the backends ([`Backends`]). The tasks of one request (the
//! client connection, the backend connection, the response body) wake each other on one thread, through
//! the runtime's local queue: no futex, no work stealing, no socket polled from two cores. On tokio's
//! work-stealing runtime the same requests cost ≈ 35 % more CPU over HTTP/1.1 and ≈ 80 % more over gRPC
//! (`bench/README.md`). State that is shared between workers (the token store and its cache, rate limits,
//! metrics) is reached through locks and atomics as before; the database and lnd are served by the main
//! runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::forward::Backends;

/// A connection to serve: given the worker's backends, the future that serves it (run on the worker).
pub(crate) type Job =
    Box<dyn FnOnce(Arc<Backends>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// The running workers. Dropping them stops every worker at once, with the connections it still serves.
#[derive(Debug)]
pub(crate) struct Workers {
    workers: Vec<Worker>,
    /// Cancelled to stop the workers without waiting for their connections.
    halt: CancellationToken,
}

/// One serving thread, as the acceptor sees it.
#[derive(Debug)]
struct Worker {
    /// Closed (dropped) when no more connections will come. Unbounded, but every job holds a place under
    /// the connection caps, which bound the queue.
    jobs: Option<mpsc::UnboundedSender<Job>>,
    /// Connections handed to this worker and not yet finished.
    load: Arc<AtomicUsize>,
    /// Resolves when the thread has stopped and its runtime is gone; `None` once seen.
    stopped: Option<oneshot::Receiver<()>>,
}

impl Workers {
    /// Starts one worker per element of `backends`, each serving with its own pools.
    pub fn start(backends: Vec<Backends>) -> std::io::Result<Workers> {
        let halt = CancellationToken::new();
        let workers = backends
            .into_iter()
            .enumerate()
            .map(|(index, backends)| Worker::start(index, backends, halt.clone()))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Workers { workers, halt })
    }

    /// How many workers serve.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Hands `job` to the worker serving the fewest connections. Returns the job if no worker takes
    /// connections any more.
    pub fn dispatch(&mut self, mut job: Job) -> Result<(), Job> {
        loop {
            let least_loaded = self
                .workers
                .iter_mut()
                .filter(|worker| worker.jobs.is_some())
                .min_by_key(|worker| worker.load.load(Ordering::Relaxed));
            let Some(worker) = least_loaded else {
                return Err(job);
            };
            match worker.take(job) {
                Ok(()) => return Ok(()),
                // That worker's thread is gone (and is now marked so): try the next.
                Err(refused) => job = refused,
            }
        }
    }

    /// Connections each worker is serving, in worker order.
    #[cfg(test)]
    pub fn loads(&self) -> Vec<usize> {
        self.workers
            .iter()
            .map(|worker| worker.load.load(Ordering::Relaxed))
            .collect()
    }

    /// Takes no more connections: each worker stops once the connections it serves have ended.
    pub fn close(&mut self) {
        for worker in &mut self.workers {
            worker.jobs = None;
        }
    }

    /// Stops every worker now; the connections they still serve are dropped.
    pub fn halt(&self) {
        self.halt.cancel();
    }

    /// Waits until every worker thread has stopped (after [`Workers::close`] or [`Workers::halt`]).
    pub async fn stopped(&mut self) {
        for worker in &mut self.workers {
            if let Some(stopped) = &mut worker.stopped {
                // An error means the thread ended without saying so: stopped either way.
                let _ = stopped.await;
                worker.stopped = None;
            }
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.halt();
    }
}

impl Worker {
    /// Hands `job` to this worker's thread, or gives it back if the thread takes no more connections (it is
    /// then marked as such).
    fn take(&mut self, job: Job) -> Result<(), Job> {
        let Some(jobs) = &self.jobs else {
            return Err(job);
        };
        self.load.fetch_add(1, Ordering::Relaxed);
        match jobs.send(job) {
            Ok(()) => Ok(()),
            Err(refused) => {
                self.load.fetch_sub(1, Ordering::Relaxed);
                self.jobs = None;
                Err(refused.0)
            }
        }
    }

    fn start(index: usize, backends: Backends, halt: CancellationToken) -> std::io::Result<Worker> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (jobs, inbox) = mpsc::unbounded_channel();
        let (report_stopped, stopped) = oneshot::channel();
        let load = Arc::new(AtomicUsize::new(0));
        let serve = serve(inbox, Arc::new(backends), Arc::clone(&load), halt);
        // Workers log where the thread that started them logs (which need not be the global subscriber).
        let logger = tracing::dispatcher::get_default(Clone::clone);
        std::thread::Builder::new()
            .name(format!("auth-proxy-worker-{index}"))
            .spawn(move || {
                tracing::dispatcher::with_default(&logger, || runtime.block_on(serve));
                // The connections still served (after a halt) end with the runtime.
                drop(runtime);
                let _ = report_stopped.send(());
            })?;
        Ok(Worker {
            jobs: Some(jobs),
            load,
            stopped: Some(stopped),
        })
    }
}

/// A worker's loop: serves each job in a task of its own until no more come and every task has ended, or
/// until `halt`.
async fn serve(
    mut inbox: mpsc::UnboundedReceiver<Job>,
    backends: Arc<Backends>,
    load: Arc<AtomicUsize>,
    halt: CancellationToken,
) {
    let tasks = TaskTracker::new();
    let all_served = async {
        while let Some(job) = inbox.recv().await {
            let finished = Finished(Arc::clone(&load));
            let job = job(Arc::clone(&backends));
            tasks.spawn(async move {
                job.await;
                drop(finished);
            });
        }
        tasks.close();
        tasks.wait().await;
    };
    tokio::select! {
        () = all_served => {}
        () = halt.cancelled() => {}
    }
}

/// Counts a connection as finished when dropped (served, or dropped with the runtime).
struct Finished(Arc<AtomicUsize>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A job that reports which thread ran it and then waits for `release`.
    fn job(
        ran_on: mpsc::UnboundedSender<String>,
        release: tokio::sync::watch::Receiver<bool>,
    ) -> Job {
        Box::new(move |_backends| {
            Box::pin(async move {
                let name = std::thread::current().name().unwrap_or("").to_owned();
                let _ = ran_on.send(name);
                let mut release = release;
                let _ = release.wait_for(|released| *released).await;
            })
        })
    }

    fn workers(count: usize) -> Workers {
        Workers::start((0..count).map(|_| Backends::default()).collect()).unwrap()
    }

    #[tokio::test]
    async fn connections_go_to_the_least_loaded_worker_and_run_on_its_thread() {
        let mut workers = workers(2);
        let (ran_on, mut threads) = mpsc::unbounded_channel();
        let (release, released) = tokio::sync::watch::channel(false);
        for _ in 0..4 {
            assert!(workers
                .dispatch(job(ran_on.clone(), released.clone()))
                .is_ok());
        }
        assert_eq!(workers.loads(), [2, 2]);
        let mut names = Vec::new();
        for _ in 0..4 {
            names.push(threads.recv().await.unwrap());
        }
        names.sort();
        assert_eq!(
            names,
            [
                "auth-proxy-worker-0",
                "auth-proxy-worker-0",
                "auth-proxy-worker-1",
                "auth-proxy-worker-1"
            ]
        );
        release.send(true).unwrap();
        workers.close();
        tokio::time::timeout(Duration::from_secs(10), workers.stopped())
            .await
            .expect("closed workers stop once their connections end");
        assert_eq!(workers.loads(), [0, 0]);
        assert!(
            workers.dispatch(job(ran_on, released)).is_err(),
            "a closed worker takes no connection"
        );
    }

    #[tokio::test]
    async fn closed_workers_wait_for_their_connections_and_a_halt_drops_them() {
        let mut workers = workers(1);
        let (ran_on, mut threads) = mpsc::unbounded_channel();
        let (_release, released) = tokio::sync::watch::channel(false);
        assert!(workers.dispatch(job(ran_on, released)).is_ok());
        threads.recv().await.unwrap();
        workers.close();
        assert!(
            tokio::time::timeout(Duration::from_millis(200), workers.stopped())
                .await
                .is_err(),
            "a worker stopped while its connection was still open"
        );
        workers.halt();
        tokio::time::timeout(Duration::from_secs(10), workers.stopped())
            .await
            .expect("halted workers stop at once");
        assert_eq!(
            workers.loads(),
            [0],
            "the dropped connection is counted off"
        );
    }

    #[tokio::test]
    async fn a_worker_whose_thread_has_gone_is_skipped() {
        let mut workers = workers(2);
        // Worker 0's queue as if its thread had ended: nobody receives any more.
        let (gone, inbox) = mpsc::unbounded_channel::<Job>();
        drop(inbox);
        workers.workers[0].jobs = Some(gone);
        let (ran_on, mut threads) = mpsc::unbounded_channel();
        let (_release, released) = tokio::sync::watch::channel(false);
        assert!(workers.dispatch(job(ran_on, released)).is_ok());
        assert_eq!(threads.recv().await.unwrap(), "auth-proxy-worker-1");
        assert!(
            workers.workers[0].jobs.is_none(),
            "the gone worker is not tried again"
        );
        assert_eq!(workers.loads(), [0, 1]);
    }
}
