//! `l402-conformance`: the L402 conformance kit's command (see the crate README).

use std::process::ExitCode;

use clap::Parser;
use l402_conformance::cli::Cli;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            return service_kit::exit::report(
                "l402-conformance:",
                Err(service_kit::exit::ExitError::failure(e)),
            )
        }
    };
    match runtime.block_on(l402_conformance::run(Cli::parse())) {
        Ok(true) => ExitCode::SUCCESS,
        // Some MUST case failed: the report says which.
        Ok(false) => ExitCode::from(service_kit::exit::FAILURE),
        Err(error) => service_kit::exit::report("l402-conformance:", Err(error)),
    }
}
