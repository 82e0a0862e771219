//! Progress of a command: a live spinner on a terminal, none otherwise (as Loop).

use std::io::{self, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Shows the steps of a long command.
pub struct Progress {
    spinner: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    /// A spinner when `tty` (stdout is a terminal), no progress otherwise;
    /// nothing at all when `quiet` (`--json`: stdout is for the result).
    pub fn new(tty: bool, quiet: bool) -> Self {
        let spinner = (tty && !quiet).then(|| {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            spinner.enable_steady_tick(Duration::from_millis(100));
            spinner
        });
        Self { spinner, quiet }
    }

    /// A step in progress: the spinner's message on a terminal; nothing otherwise (Loop
    /// prints no progress).
    pub fn step(&self, _out: &mut dyn Write, message: &str) -> io::Result<()> {
        if let Some(spinner) = &self.spinner {
            spinner.set_message(message.to_owned());
        }
        Ok(())
    }

    /// A line of output on `out` (above the spinner on a terminal); nothing when quiet.
    pub fn line(&self, out: &mut dyn Write, message: &str) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        self.print(|| writeln!(out, "{message}"))
    }

    /// Runs `write` (which writes to stdout) with the spinner hidden meanwhile.
    pub fn print(&self, write: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        match &self.spinner {
            Some(spinner) => spinner.suspend(write),
            None => write(),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
    }
}
