//! A log writer that batches: loggers append their line to a shared buffer and go on; a background thread
//! writes what has gathered at most once every [`FLUSH_INTERVAL`].
//!
//! A line costs its logger a lock and a copy, never a system call or a wake-up of another thread while lines
//! keep coming: the writer thread is woken only by the first line after a quiet spell, then waits
//! [`FLUSH_INTERVAL`] so that the lines of a busy moment leave in one `write(2)`. Memory is bounded without
//! losing lines: a logger that finds [`MAX_PENDING_BYTES`] waiting writes them out itself. Lines keep their
//! order, whoever writes them. After [`BatchWriter::finish`] lines are written at once, by their logger.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the writer thread lets lines gather once the first has come.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(5);

/// Bytes waiting beyond which a logger writes them out itself instead of waiting for the thread.
pub const MAX_PENDING_BYTES: usize = 1024 * 1024;

/// The writer: hand out [`BatchWriter::line`]s, call [`BatchWriter::finish`] before the program exits.
pub struct BatchWriter<W: Write + Send + 'static> {
    shared: Arc<Shared<W>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// A handle loggers write through (one `write` per line, as `tracing-subscriber` does).
pub struct Line<W: Write + Send + 'static> {
    shared: Arc<Shared<W>>,
}

struct Shared<W> {
    pending: Mutex<Pending>,
    /// Signalled when a line arrives while the writer thread waits for one, and on finish.
    arrived: Condvar,
    /// Held while a batch is taken and written, so that batches leave in the order they were taken.
    output: Mutex<W>,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// The writer thread waits for a line (only then is it signalled).
    writer_waiting: bool,
    finished: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<W: Write + Send + 'static> BatchWriter<W> {
    /// Starts the writer thread (named `thread_name`) writing to `output`.
    pub fn start(output: W, thread_name: &str) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            pending: Mutex::default(),
            arrived: Condvar::new(),
            output: Mutex::new(output),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(thread_name.to_owned())
                .spawn(move || shared.run())?
        };
        Ok(BatchWriter {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// A handle to write lines through.
    pub fn line(&self) -> Line<W> {
        Line {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Writes out every waiting line and stops the thread; later lines are written by their logger at once.
    pub fn finish(&self) {
        lock(&self.shared.pending).finished = true;
        self.shared.arrived.notify_one();
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
        // Whatever came between the thread's last batch and now.
        self.shared.write_pending();
    }
}

impl<W: Write + Send + 'static> Shared<W> {
    /// The writer thread: wait for a line, let more gather, write them all; until finished.
    fn run(&self) {
        loop {
            let mut pending = lock(&self.pending);
            while pending.bytes.is_empty() && !pending.finished {
                pending.writer_waiting = true;
                pending = self
                    .arrived
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
                pending.writer_waiting = false;
            }
            let finished = pending.finished;
            drop(pending);
            if !finished {
                std::thread::sleep(FLUSH_INTERVAL);
            }
            self.write_pending();
            if finished {
                return;
            }
        }
    }

    /// Takes every waiting byte and writes it (errors writing a log are not reported anywhere else either).
    fn write_pending(&self) {
        let mut output = lock(&self.output);
        let bytes = std::mem::take(&mut lock(&self.pending).bytes);
        if !bytes.is_empty() {
            let _ = output.write_all(&bytes);
            let _ = output.flush();
        }
    }
}

impl<W: Write + Send + 'static> Write for Line<W> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut pending = lock(&self.shared.pending);
        if pending.finished {
            drop(pending);
            let mut output = lock(&self.shared.output);
            output.write_all(line)?;
            output.flush()?;
            return Ok(line.len());
        }
        pending.bytes.extend_from_slice(line);
        let (wake, full) = (
            pending.writer_waiting,
            pending.bytes.len() >= MAX_PENDING_BYTES,
        );
        pending.writer_waiting = false;
        drop(pending);
        if wake {
            self.shared.arrived.notify_one();
        }
        if full {
            self.shared.write_pending();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read, that counts its writes.
    #[derive(Clone, Default)]
    struct Recorded(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Recorded {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut recorded = lock(&self.0);
            recorded.0.extend_from_slice(bytes);
            recorded.1 += 1;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Recorded {
        fn text(&self) -> String {
            String::from_utf8(lock(&self.0).0.clone()).unwrap()
        }
        fn writes(&self) -> usize {
            lock(&self.0).1
        }
    }

    #[test]
    fn lines_logged_together_leave_in_one_write_and_in_order() {
        let output = Recorded::default();
        let writer = BatchWriter::start(output.clone(), "test-log-writer").unwrap();
        let mut line = writer.line();
        for n in 0..100 {
            line.write_all(format!("line {n}\n").as_bytes()).unwrap();
        }
        writer.finish();
        let expected: String = (0..100).map(|n| format!("line {n}\n")).collect();
        assert_eq!(output.text(), expected);
        assert!(output.writes() <= 2, "{} writes", output.writes());
    }

    #[test]
    fn a_line_alone_is_written_without_finishing() {
        let output = Recorded::default();
        let writer = BatchWriter::start(output.clone(), "test-log-writer").unwrap();
        writer.line().write_all(b"alone\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while output.text().is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::yield_now();
        }
        assert_eq!(output.text(), "alone\n");
        writer.finish();
    }

    #[test]
    fn a_full_buffer_is_written_by_the_logger_without_losing_or_reordering_lines() {
        let output = Recorded::default();
        let writer = BatchWriter::start(output.clone(), "test-log-writer").unwrap();
        let loggers: Vec<_> = (0..4)
            .map(|logger| {
                let mut line = writer.line();
                std::thread::spawn(move || {
                    let text = format!("{logger}{}\n", "x".repeat(1000));
                    for _ in 0..2000 {
                        line.write_all(text.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for logger in loggers {
            logger.join().unwrap();
        }
        writer.finish();
        let text = output.text();
        // 8 MB through a 1 MiB bound: every line, whole.
        assert_eq!(text.lines().count(), 8000);
        assert!(text.lines().all(|l| l.len() == 1001 && l.ends_with('x')));
        for logger in 0..4 {
            let prefix = char::from_digit(logger, 10).unwrap();
            assert_eq!(text.lines().filter(|l| l.starts_with(prefix)).count(), 2000);
        }
    }

    #[test]
    fn lines_after_finish_are_written_at_once() {
        let output = Recorded::default();
        let writer = BatchWriter::start(output.clone(), "test-log-writer").unwrap();
        writer.line().write_all(b"before\n").unwrap();
        writer.finish();
        writer.line().write_all(b"after\n").unwrap();
        assert_eq!(output.text(), "before\nafter\n");
    }
}
