//! Progress of a command: a live spinner on a terminal, plain lines otherwise.

use std::io::{self, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Shows the steps of a long command.
pub struct Progress {
    spinner: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    /// A spinner when `tty` (stdout is a terminal), plain lines otherwise;
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

    /// A step in progress: the spinner's message, or a plain `message...` line.
    pub fn step(&self, out: &mut dyn Write, message: &str) -> io::Result<()> {
        match &self.spinner {
            Some(spinner) => {
                spinner.set_message(message.to_owned());
                Ok(())
            }
            None if !self.quiet => writeln!(out, "{message}..."),
            None => Ok(()),
        }
    }

    /// A line of output, printed above the spinner.
    pub fn line(&self, out: &mut dyn Write, message: &str) -> io::Result<()> {
        match &self.spinner {
            Some(spinner) => {
                spinner.println(message);
                Ok(())
            }
            None if !self.quiet => writeln!(out, "{message}"),
            None => Ok(()),
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
