//! One mapping of a program's failure to its exit code, shared by every binary.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ran and stopped normally |
//! | 1 | failed while starting or running (a port taken, a database or node unreachable) |
//! | 2 | bad usage or configuration: nothing was started (the code clap uses for a bad flag) |
//!
//! The message goes to stderr as one line, `<prefix> <error>`, with its chain of causes for `anyhow`
//! errors; the prefix is the program's (`auth-proxy:`, or `[loop]` as Loop's own CLI writes it).

use std::fmt;
use std::process::ExitCode;

/// Exit code of a usage or configuration error.
pub const USAGE: u8 = 2;
/// Exit code of any other failure.
pub const FAILURE: u8 = 1;

/// Why a program stops with a non-zero exit code.
#[derive(Debug)]
pub struct ExitError {
    code: u8,
    message: String,
}

impl ExitError {
    /// A usage or configuration error (exit code 2).
    pub fn usage(error: impl fmt::Display) -> Self {
        Self::with_code(USAGE, error)
    }

    /// A failure while starting or running (exit code 1).
    pub fn failure(error: impl fmt::Display) -> Self {
        Self::with_code(FAILURE, error)
    }

    fn with_code(code: u8, error: impl fmt::Display) -> Self {
        Self {
            code,
            // `{:#}` prints an `anyhow::Error` with its causes and any other error as usual.
            message: format!("{error:#}"),
        }
    }

    /// The exit code.
    pub fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for ExitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The exit code for `result`, printing the error as `<prefix> <error>` to stderr after every queued log
/// line ([`crate::logging::finish`]).
pub fn report(prefix: &str, result: Result<(), ExitError>) -> ExitCode {
    crate::logging::finish();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{prefix} {error}");
            ExitCode::from(error.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_and_failure_have_their_codes() {
        assert_eq!(ExitError::usage("bad flag").code(), USAGE);
        assert_eq!(ExitError::failure("port taken").code(), FAILURE);
        assert_eq!(ExitError::failure("port taken").to_string(), "port taken");
    }
}
