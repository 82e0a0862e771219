//! `client` mode: testing an L402 client by what it does.
//!
//! The kit starts a simulated Lightning network in process (the `mock-lnd` library: a `payer` node for
//! the client, a `server` node for the test server's invoices), then for each case:
//! 1. starts an L402 test server on a fresh port, playing the case's [`Scenario`] ([`test_server`]);
//! 2. runs the client under test with the case's environment ([`network::SimulatedNetwork::env`]:
//!    `L402_URL`, `LND_GRPC_HOST`, `LND_TLS_CERT_PATH`, `LND_MACAROON_PATH`, `LND_MACAROON_HEX`,
//!    `LND_REST_URL`, …);
//! 3. judges it by what reached the test server and what the payer's node started paying
//!    ([`verdict`]).
//!
//! The cases are in [`cases`]. The client is anything that implements [`ClientUnderTest`]: the binary
//! runs a command ([`command::CommandClient`]); tests run clients in process.

pub mod cases;
pub mod command;
pub mod network;
pub mod test_server;
pub mod verdict;

use futures::future::BoxFuture;

use crate::case::{CaseResult, CaseSpec};
use crate::report::Report;
use cases::Scenario;
use network::{NetworkError, SimulatedNetwork};
use test_server::CaseServer;
use verdict::Observation;

/// An L402 client the kit can test.
pub trait ClientUnderTest: Send + Sync {
    /// What it is, for the report's `target`.
    fn describe(&self) -> String;

    /// Runs the client once with the environment `env` (name, value) and says how it ended, in words
    /// (`exit 0`, `exit 1 (no route)`): the report quotes it, the verdicts do not depend on it.
    fn run<'a>(&'a self, env: &'a [(String, String)]) -> BoxFuture<'a, String>;
}

/// Why a `client` run could not start: exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `--only` names no case or group.
    #[error("--only {0:?} names no client case or group (see `l402-conformance cases client`)")]
    UnknownCase(String),
    /// The simulated network could not start.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// A test server could not listen.
    #[error("the test server cannot listen: {0}")]
    Listen(std::io::Error),
}

/// Runs the cases `only` selects (all when `None`) against `client`.
pub async fn run(client: &dyn ClientUnderTest, only: Option<&str>) -> Result<Report, SetupError> {
    let selected: Vec<&(CaseSpec, Scenario)> = cases::CASES
        .iter()
        .filter(|(spec, _)| only.is_none_or(|s| spec.selected_by(s)))
        .collect();
    if selected.is_empty() {
        return Err(SetupError::UnknownCase(only.unwrap_or_default().to_owned()));
    }
    let network = SimulatedNetwork::start().await?;
    let results = run_cases(&network, client, &selected).await;
    network.shutdown().await;
    Ok(Report::new(client.describe(), results?))
}

async fn run_cases(
    network: &SimulatedNetwork,
    client: &dyn ClientUnderTest,
    selected: &[&(CaseSpec, Scenario)],
) -> Result<Vec<CaseResult>, SetupError> {
    let lnd = network.server_lnd().await?;
    let mut results = Vec::new();
    for (spec, scenario) in selected {
        let server = CaseServer::start(*scenario, lnd.clone())
            .await
            .map_err(SetupError::Listen)?;
        let url = format!(
            "http://{}/l402-conformance/{}",
            server.addr(),
            spec.id.replace('/', "-")
        );
        let env = network.env(spec.id, &url, &network.token_dir(spec.id)?);
        let mut payments = network.watch_payments();
        let mut runs = vec![client.run(&env).await];
        let mut second_run_from = None;
        if *scenario == Scenario::Reuse {
            second_run_from = Some(server.journal().seen().len());
            runs.push(client.run(&env).await);
        }
        let observed = Observation {
            seen: server.journal().seen(),
            second_run_from,
            payments: payments.started(),
            runs,
        };
        results.push(CaseResult::new(spec, verdict::judge(*scenario, &observed)));
    }
    Ok(results)
}
