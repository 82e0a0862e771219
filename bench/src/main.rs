//! `proxy-bench`: auth-proxy measured side by side with nginx `proxy_pass` and with the backend directly.
//!
//! Starts every program on free loopback ports ([`setup`]), buys one token per service with the workspace's
//! L402 client ([`token`]), optionally grows the token tables first ([`prefill`]), then runs interleaved
//! rounds of the same load against each target ([`rounds`], [`load`]), optionally follows auth-proxy's
//! memory over a long load ([`rss`]), and prints the medians and their ratios ([`report`]). Absolute
//! figures depend on the machine; the ratios, taken in one run on one machine, are what to compare.
//! `scripts/bench.sh` builds in release and runs it.

mod cpu;
mod grpc;
mod latency;
mod load;
mod nginx;
mod paced;
mod prefill;
mod report;
mod rounds;
mod rss;
mod setup;
mod token;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use load::Load;
use report::{Measurement, Report};
use rounds::Rounds;
use service_kit::exit::{report as exit_report, ExitError};
use testkit::TestDatabase;

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
    baseline: Option<PathBuf>,
    /// A PostgreSQL 13+ server (`postgres://user:password@host:port/dbname`, without TLS, the user
    /// allowed to create databases): our auth-proxy also runs on a fresh database created there
    /// (dropped at the end), and its mint rate is measured in every round.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Synthetic tokens (as minted, unpaid) added to each of auth-proxy's databases before the rounds.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    prefill_tokens: Option<u64>,
    /// After the rounds, this many more authenticated HTTP/1.1 requests to auth-proxy, its RSS sampled
    /// about every tenth of them.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    rss_requests: Option<u64>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    // sqlx warns of every statement slower than a second, which the prefill's are by design.
    service_kit::logging::init("warn,sqlx::query=error");
    exit_report("proxy-bench:", run(&args).await.map_err(ExitError::failure))
}

/// The benchmark, on a PostgreSQL database of its own with `--postgres`, dropped afterwards.
async fn run(args: &Args) -> anyhow::Result<()> {
    let Some(server) = &args.postgres else {
        return bench(args, None).await;
    };
    let database = TestDatabase::create(server, "proxy_bench")
        .await
        .context("--postgres")?;
    let measured = bench(args, Some(&database)).await;
    let dropped = database.drop_database().await;
    if let (Err(_), Err(error)) = (&measured, &dropped) {
        eprintln!("proxy-bench: {error:#}");
    }
    measured.and(dropped)
}

/// Starts everything, measures and prints the tables; with `postgres`, also on that database.
async fn bench(args: &Args, postgres: Option<&TestDatabase>) -> anyhow::Result<()> {
    let (rounds, seconds) = if args.smoke {
        (1, 1)
    } else {
        (args.rounds, args.seconds)
    };
    let load = Load {
        connections: args.connections,
        duration: Duration::from_secs(seconds),
    };
    let postgres_yaml = postgres.map(|db| testkit::postgres::aperture_yaml(&db.url(), None));
    let setup = setup::Setup::start(args.baseline.as_deref(), postgres_yaml.as_deref()).await?;
    let http_token = token::buy_http(
        &setup::http_url(setup.proxy),
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
    let each_round = Rounds {
        load: &load,
        setup: &setup,
        http_auth: [format!("Authorization: {http_token}")],
        grpc_auth: [format!("authorization: {grpc_token}")],
        grpc_body: grpc::write_empty_request(setup.dir())?,
    };

    let mut report = Report::default();
    if let Some(rows) = args.prefill_tokens {
        let databases = std::iter::once(("SQLite", setup.sqlite_url()))
            .chain(postgres.map(|db| ("PostgreSQL", db.url())));
        for (name, url) in databases {
            let took = prefill::tokens(&url, rows)
                .await
                .with_context(|| format!("prefilling the {name} database"))?;
            eprintln!("{name}: {rows} tokens prefilled in {took:.1?}");
        }
        report.prefilled_tokens = Some(rows);
    }
    let idle_rss = setup.proxy_rss_kib()?;
    for round in 1..=rounds {
        eprintln!("round {round} of {rounds}");
        each_round.round(&mut report)?;
    }
    report.rss_kib = (idle_rss, setup.proxy_rss_kib()?);
    if let Some(total) = args.rss_requests {
        eprintln!("auth-proxy's RSS over {total} authenticated requests");
        let rate = report
            .median(Measurement::HttpProxy)
            .context("--rss-requests needs a round's rate")?;
        let url = setup::http_url(setup.proxy);
        let drive = |duration| {
            let run = Load {
                duration,
                ..load.clone()
            }
            .wrk(&url, &each_round.http_auth)?;
            run.all_admitted(Measurement::HttpProxy)?;
            Ok(run)
        };
        report.rss_samples = Some(rss::follow(total, rate, drive, || setup.proxy_rss_kib())?);
    }
    println!("{}", report.table());
    Ok(())
}
