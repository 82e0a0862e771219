//! Log set-up shared by every binary: stderr, a `RUST_LOG` filter, colours only on a terminal so that
//! files and containers get plain lines.
//!
//! Lines are formatted on the thread that logs and written by a background thread in batches ([`batch`]): a
//! request never waits on `write(2)` nor wakes another thread to log, and a busy moment's lines leave in one
//! write. Nothing is dropped: memory is bounded by loggers writing a full buffer themselves, and [`finish`]
//! (called by [`crate::exit::report`], which every binary ends with) writes out what is waiting before the
//! program's last words.

pub mod batch;

use std::io::IsTerminal;
use std::sync::OnceLock;

use batch::BatchWriter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// The writer every line goes through, once [`init`] has run.
static WRITER: OnceLock<BatchWriter<std::io::Stderr>> = OnceLock::new();

/// Logs to stderr with `RUST_LOG` as the filter, else `default_filter` (e.g. `"info"`).
pub fn init(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let ansi = std::io::stderr().is_terminal();
    let writer = match BatchWriter::start(std::io::stderr(), "log-writer") {
        Ok(batch) => {
            let batch = WRITER.get_or_init(|| batch);
            BoxMakeWriter::new(move || batch.line())
        }
        // No thread to write for us: each line is written at once.
        Err(_) => BoxMakeWriter::new(std::io::stderr),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .init();
}

/// Writes out every waiting line and stops the writer thread; later lines are written at once by their
/// logger. Does nothing without [`init`].
pub fn finish() {
    if let Some(writer) = WRITER.get() {
        writer.finish();
    }
}
