//! `proxy-bench`: auth-proxy measured side by side with nginx `proxy_pass` and with the backend directly.
//!
//! Starts every program on free loopback ports ([`setup`]), buys one token per service with the workspace's
//! L402 client ([`token`]), then runs interleaved rounds of the same load against each target ([`load`]) and prints
//! the medians and their ratios ([`report`]). Absolute figures depend on the machine; the ratios, taken
//! in one run on one machine, are what to compare. `scripts/bench.sh` builds in release and runs it.

mod cpu;
mod grpc;
mod load;
mod nginx;
mod report;
mod setup;
mod token;

use std::time::Duration;

use anyhow::bail;
use clap::Parser;
use load::{Load, Run};
use report::{Measurement, Report};
use service_kit::exit::{report as exit_report, ExitError};

/// Benchmarks auth-proxy against nginx and the backend directly.
#[derive(Debug, Parser)]
#[command(name = "proxy-bench", version)]
struct Args {
    /// Interleaved rounds; each measurement's median over them is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds per run.
    #[arg(long, default_value_t = 4)]
    seconds: u64,
    /// HTTP/1.1 connections, and HTTP/2 streams on one connection for gRPC.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// A quick pass (1 round of 1 s) that checks the harness works; its figures mean nothing.
    #[arg(long)]
    smoke: bool,
    /// Another auth-proxy executable (say, a build of the previous commit) to measure beside this one:
    /// same backends, node, database and load, its runs interleaved with ours.
    #[arg(long, value_name = "PATH")]
    baseline: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    service_kit::logging::init("warn");
    exit_report("proxy-bench:", run(&args).await.map_err(ExitError::failure))
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let (rounds, seconds) = if args.smoke {
        (1, 1)
    } else {
        (args.rounds, args.seconds)
    };
    let load = Load {
        connections: args.connections,
        duration: Duration::from_secs(seconds),
    };
    let setup = setup::Setup::start(args.baseline.as_deref()).await?;
    let http_url = format!("http://{}{}", setup.proxy, setup::HTTP_PATH);
    let http_token = token::buy_http(
        &http_url,
        &setup.dir().join("tokens-http"),
        &setup.payer_lnd(),
    )
    .await?;
    let grpc_token = token::buy_grpc(
        setup.proxy,
        &setup.dir().join("tokens-grpc"),
        &setup.payer_lnd(),
    )
    .await?;
    let grpc_body = grpc::write_empty_request(setup.dir())?;
    let http_auth = [format!("Authorization: {http_token}")];
    let grpc_auth = [format!("authorization: {grpc_token}")];

    let mut report = Report::default();
    let idle_rss = setup.proxy_rss_kib()?;
    for round in 1..=rounds {
        eprintln!("round {round} of {rounds}");
        let http = |addr| format!("http://{addr}{}", setup::HTTP_PATH);
        let grpc = |addr| format!("http://{addr}{}", setup::GRPC_METHOD);
        let (nginx, proxy) = (Some(setup.nginx_pid()), Some(setup.proxy_pid()));
        let baseline = setup
            .baseline
            .as_ref()
            .map(|(addr, program)| (*addr, program.pid()));
        let mut paid: Vec<(Measurement, Option<u32>, Driver<'_>)> = vec![
            (
                Measurement::HttpDirect,
                None,
                Box::new(|| load.wrk(&http(setup.backend), &[])),
            ),
            (
                Measurement::HttpNginx,
                nginx,
                Box::new(|| load.wrk(&http(setup.nginx), &[])),
            ),
            (
                Measurement::HttpProxy,
                proxy,
                Box::new(|| load.wrk(&http(setup.proxy), &http_auth)),
            ),
            (
                Measurement::GrpcDirect,
                None,
                Box::new(|| load.h2load_grpc(&grpc(setup.grpc_backend), &grpc_body, &[])),
            ),
            (
                Measurement::GrpcProxy,
                proxy,
                Box::new(|| load.h2load_grpc(&grpc(setup.proxy), &grpc_body, &grpc_auth)),
            ),
        ];
        if let Some((addr, pid)) = baseline {
            let (load, http_auth, grpc_body, grpc_auth) =
                (&load, &http_auth, &grpc_body, &grpc_auth);
            paid.insert(
                3,
                (
                    Measurement::HttpBaseline,
                    Some(pid),
                    Box::new(move || load.wrk(&http(addr), http_auth)),
                ),
            );
            paid.push((
                Measurement::GrpcBaseline,
                Some(pid),
                Box::new(move || load.h2load_grpc(&grpc(addr), grpc_body, grpc_auth)),
            ));
        }
        for (measurement, pid, drive) in paid {
            let (run, cpu) = measured(pid, drive)?;
            if run.non_success > 0 {
                bail!(
                    "{measurement:?}: {} of {} responses were not 2xx",
                    run.non_success,
                    run.requests
                );
            }
            report.add(measurement, run, cpu);
        }
        let minting = [(Measurement::Mint, setup.proxy, proxy)]
            .into_iter()
            .chain(baseline.map(|(addr, pid)| (Measurement::MintBaseline, addr, Some(pid))));
        for (measurement, addr, pid) in minting {
            let (minted, cpu) = measured(pid, || load.wrk(&http(addr), &[]))?;
            if minted.non_success != minted.requests {
                bail!("{measurement:?}: requests without a token were admitted: {minted:?}");
            }
            report.add(measurement, minted, cpu);
        }
    }
    report.rss_kib = (idle_rss, setup.proxy_rss_kib()?);
    println!("{}", report.table());
    Ok(())
}

/// One load run, started when called.
type Driver<'a> = Box<dyn Fn() -> anyhow::Result<Run> + 'a>;

/// Runs `drive`, and measures the CPU time the process tree `pid` used meanwhile.
fn measured(
    pid: Option<u32>,
    drive: impl FnOnce() -> anyhow::Result<Run>,
) -> anyhow::Result<(Run, Option<Duration>)> {
    let before = pid.map(cpu::tree_time);
    let run = drive()?;
    let used = pid
        .zip(before)
        .map(|(pid, before)| cpu::tree_time(pid).saturating_sub(before));
    Ok((run, used))
}
