//! The L402 conformance kit: tests an L402 server end to end (the challenge, a real payment through lnd,
//! every credential form, forged and malformed tokens that must not reach the backend), tests an L402
//! client under a simulated network (every challenge dialect, invoices it must not pay, a rejected
//! token, reuse), turns reports into a compatibility matrix, and writes the test vectors the `l402`
//! crate checks itself against.
//!
//! [`run`] is the whole program: `main.rs` only parses the command line and maps the result to an exit
//! code: 0 when every `MUST` case passed, 1 when one failed, 2 on a usage or connection error.
//!
//! Modules: [`case`] (the case model), [`report`] (table, JSON), [`server`] (`server` mode), [`client`]
//! (`client` mode), [`matrix`] (reports as one table), [`vectors`] (the test vectors), [`invoice`]
//! (invoices the kit signs), [`cli`] (the flags).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod case;
pub mod cli;
pub mod client;
pub mod invoice;
pub mod matrix;
pub mod report;
pub mod server;
pub mod vectors;

use std::io::Write as _;
use std::time::Duration;

use service_kit::exit::ExitError;

use crate::case::CaseSpec;
use crate::cli::{Cli, Command, Mode};
use crate::report::Report;

/// Whether the run found the target conforming: the exit code is 0 when it did, 1 when it did not.
pub type Conforms = bool;

/// Runs one command, printing its output to stdout.
pub async fn run(cli: Cli) -> Result<Conforms, ExitError> {
    match cli.command {
        Command::Server(args) => {
            let report = server::run(&args).await.map_err(ExitError::usage)?;
            Ok(print_report(&report, args.json))
        }
        Command::Client(args) => {
            let timeout = Duration::from_secs(args.case_timeout_secs);
            let command = client::command::CommandClient::new(&args.command, timeout)
                .ok_or_else(|| ExitError::usage("client: no command after --"))?;
            let report = client::run(&command, args.only.as_deref())
                .await
                .map_err(ExitError::usage)?;
            Ok(print_report(&report, args.json))
        }
        Command::Cases { mode } => {
            let cases = match mode {
                Mode::Server => server::cases::all(),
                Mode::Client => client::cases::all(),
            };
            print!("{}", cases_markdown(&cases));
            Ok(true)
        }
        Command::Matrix { rows } => {
            print!("{}", matrix::from_files(&rows).map_err(ExitError::usage)?);
            Ok(true)
        }
        Command::Vectors { out } => {
            let text = vectors::document_text();
            match out {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| ExitError::failure(format!("{}: {e}", path.display())))?,
                None => std::io::stdout()
                    .write_all(text.as_bytes())
                    .map_err(ExitError::failure)?,
            }
            Ok(true)
        }
    }
}

/// Now, in Unix seconds, as `l402`'s caveats count time.
pub(crate) fn now_unix_secs() -> i64 {
    i64::try_from(service_kit::clock::now_unix()).unwrap_or(i64::MAX)
}

/// Prints `report` as a table or, with `json`, as its JSON document; says whether the target conforms.
fn print_report(report: &Report, json: bool) -> Conforms {
    println!(
        "{}",
        if json {
            report.to_json()
        } else {
            report.to_table()
        }
    );
    report.conforms()
}

/// The cases as a Markdown table: id, level, clause, what it checks (the crate README holds it).
pub fn cases_markdown(cases: &[CaseSpec]) -> String {
    let mut out = String::from("| case | level | clause | checks |\n|---|---|---|---|\n");
    for case in cases {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            case.id,
            case.level,
            case.clause,
            case.checks.replace('|', "\\|")
        ));
    }
    out
}
