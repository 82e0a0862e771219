//! `loop`: the command line of loopd (see `swap_client::cli`).
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use service_kit::exit::{report, ExitError};
use swap_client::cli::{self, Io, LoopArgs};

#[tokio::main]
async fn main() -> ExitCode {
    let args = LoopArgs::parse();
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let mut out = stdout.lock();
    let mut input = std::io::stdin().lock();
    let io = Io {
        out: &mut out,
        input: &mut input,
        tty,
    };
    report(
        "[loop]",
        cli::run(args, io).await.map_err(ExitError::failure),
    )
}
