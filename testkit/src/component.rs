//! One server running as a task of this process, stoppable and restartable.
//!
//! Every program of the system exposes `run(listener, …, shutdown)` as a
//! library call; a [`Component`] runs one of them on a listener it bound
//! itself and keeps the shutdown trigger, so a test can stop a server, restart
//! it on the same address, and see what the rest of the system does.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a component may take to finish after its shutdown is triggered.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A server running in this process.
#[derive(Debug)]
pub struct Component {
    name: &'static str,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Component {
    /// Runs `serve(shutdown)` as a task; `addr` is where it listens.
    /// `serve` must return when `shutdown` completes; its error, if any, is
    /// what [`Component::stop`] returns.
    pub fn spawn<F, Fut>(name: &'static str, addr: SocketAddr, serve: F) -> Self
    where
        F: FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = Box::pin(async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(serve(shutdown));
        Self {
            name,
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Where the component listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The component's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Triggers a graceful shutdown and waits for the task to end; aborts it
    /// if it does not end within a few seconds. Returns the server's error,
    /// if it stopped with one (stopping twice is `Ok`).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(STOP_TIMEOUT, &mut task).await {
            Ok(Ok(result)) => result
                .map_err(|error| error.context(format!("{} stopped with an error", self.name))),
            Ok(Err(join)) => Err(anyhow::anyhow!(
                "{} panicked or was cancelled: {join}",
                self.name
            )),
            Err(_) => {
                tracing::warn!(component = self.name, "did not stop in time; aborted");
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for Component {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
