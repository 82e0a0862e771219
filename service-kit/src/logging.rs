//! Log set-up shared by every binary: stderr, a `RUST_LOG` filter, colours only on a terminal so that
//! files and containers get plain lines.
//!
//! Lines are formatted on the thread that logs but written by a background thread, through a buffer that is
//! flushed whenever the queue runs dry: a request never waits on `write(2)`, and a burst of lines costs one
//! write instead of one each. Nothing is dropped: when [`QUEUED_LINES`] lines wait, loggers wait too, and
//! [`finish`] (called by [`crate::exit::report`], which every binary ends with) writes out what is queued
//! before the program's last words.

use std::io::{BufWriter, IsTerminal};
use std::sync::Mutex;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

/// Lines that may wait for the writer thread before a logger has to wait for it (bounded memory, no loss).
pub const QUEUED_LINES: usize = 8 * 1024;

/// The writer thread's buffer; a full one is written out before the queue is empty.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// The running writer thread, until [`finish`].
static WRITER: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// Logs to stderr with `RUST_LOG` as the filter, else `default_filter` (e.g. `"info"`).
pub fn init(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("log-writer")
        .finish(BufWriter::with_capacity(
            WRITE_BUFFER_BYTES,
            std::io::stderr(),
        ));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    *WRITER.lock().unwrap_or_else(|p| p.into_inner()) = Some(guard);
}

/// Writes out every queued line and stops the writer thread; later lines are not written. Does nothing
/// without [`init`].
pub fn finish() {
    let guard = WRITER.lock().unwrap_or_else(|p| p.into_inner()).take();
    drop(guard);
}
