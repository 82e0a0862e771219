//! `l402`: tools for L402 tokens. `l402 get` fetches a URL behind an L402 paywall, paying through lnd
//! (see the `get` module). `l402 decode` explains a macaroon (base64 or hex), an
//! `Authorization` value, a `WWW-Authenticate` value or a Loop token file: the identifier, every caveat and
//! what it means, the expiry in local time, whether a preimage is present and pays the payment hash, and
//! with `--invoice` the challenge's invoice. It is a command of its own, not a `loop` subcommand, because
//! the protocol is not Loop's: an Aperture operator reads tokens with it as much as a Loop user.

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use l402_cli::get::GetArgs;
use l402_cli::{decode, get, render};
use service_kit::exit::{report, ExitError};

/// Tools for L402 tokens: fetch a paid URL, read a token.
#[derive(Debug, Parser)]
#[command(name = "l402", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Explain a macaroon, an Authorization or WWW-Authenticate value, or a Loop token file.
    Decode {
        /// The value (quote it), or the path of a token file (`~/.loop/mainnet/l402.token`).
        input: String,
        /// Also decode the challenge's invoice.
        #[arg(long)]
        invoice: bool,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Fetch a URL behind an L402 paywall: pay its challenge through lnd once, keep the token, reuse it.
    Get(GetArgs),
}

fn main() -> ExitCode {
    report("l402:", run(Cli::parse()))
}

fn run(cli: Cli) -> Result<(), ExitError> {
    match cli.command {
        Command::Decode {
            input,
            invoice,
            json,
        } => run_decode(&input, invoice, json),
        Command::Get(args) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(ExitError::failure)?;
            let body = runtime.block_on(get::get(&args))?;
            print!("{body}");
            Ok(())
        }
    }
}

fn run_decode(input: &str, invoice: bool, json: bool) -> Result<(), ExitError> {
    let path = Path::new(input);
    let decoded = if path.is_file() {
        let bytes = std::fs::read(path).map_err(|e| ExitError::failure(format!("{input}: {e}")))?;
        decode::decode_token_file(&bytes)
    } else {
        decode::decode_text(input, invoice)
    };
    let decoded = decoded.map_err(|e| ExitError::usage(e.to_string()))?;
    if json {
        let text = serde_json::to_string_pretty(&decoded).map_err(ExitError::failure)?;
        println!("{text}");
    } else {
        print!("{}", render::text(&decoded));
    }
    Ok(())
}
