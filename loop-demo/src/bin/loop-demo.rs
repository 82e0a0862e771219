//! `loop-demo`: the whole L402 loop-out sequence in one command.
//!
//! Starts mock-lnd, swap-server, auth-proxy and loopd in this process on free
//! ports (SQLite in a temporary directory, no external service), plays a first
//! loop — 402, token payment, retry — and a repeat loop that reuses the token,
//! narrating each step with timings; `--json` prints one JSON report instead,
//! and `--web` serves a live page whose buttons play the loops.

use std::net::SocketAddr;

use clap::Parser;
use loop_demo::demo::{self, Narrator};
use loop_demo::web::{self, WebOptions};
use service_kit::exit::{report, ExitError};
use testkit::stack::{Stack, StackOptions};

/// Plays a first and a repeat `loop out` through the L402 auth proxy.
#[derive(Debug, Parser)]
#[command(name = "loop-demo", version)]
struct Args {
    /// Print one JSON object instead of the narration.
    #[arg(long, env = "LOOP_DEMO_JSON", conflicts_with = "web")]
    json: bool,
    /// Serve the live sequence diagram instead, until interrupted.
    #[arg(long, env = "LOOP_DEMO_WEB")]
    web: bool,
    /// Where `--web` serves the page.
    #[arg(
        long,
        env = "LOOP_DEMO_LISTEN",
        default_value = "127.0.0.1:8402",
        requires = "web"
    )]
    listen: SocketAddr,
    /// Amount of the first loop out, in satoshis.
    #[arg(long, env = "LOOP_DEMO_FIRST_AMT", default_value_t = 250_000)]
    first_amt: u64,
    /// Amount of the repeat loop out, in satoshis.
    #[arg(long, env = "LOOP_DEMO_REPEAT_AMT", default_value_t = 100_000)]
    repeat_amt: u64,
    /// What the proxy charges for a token, in satoshis.
    #[arg(long, env = "LOOP_DEMO_PRICE", default_value_t = 100)]
    price: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    // The programs' own logs go to stderr, and only when asked for
    // (RUST_LOG=info): the narration is the demo's output.
    service_kit::logging::init("off");
    report("loop-demo:", run(&args).await.map_err(ExitError::failure))
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let narrator = Narrator::new(!args.json);
    let stack = Stack::start(StackOptions {
        token_price_sat: args.price,
        rebuy_backoff: if args.web {
            web::REBUY_BACKOFF
        } else {
            StackOptions::default().rebuy_backoff
        },
        ..StackOptions::default()
    })
    .await?;
    narrator.say(format!(
        "Started in {}:\n  mock-lnd nodes client {}, proxy {}, server {}\n  swap-server {}  auth-proxy {} (price {} sat)  loopd {}\n",
        stack.dir().display(),
        stack.node("client").addr(),
        stack.node("proxy").addr(),
        stack.node("server").addr(),
        stack.swap_server_addr(),
        stack.proxy_addr(),
        args.price,
        stack.loopd_addr(),
    ));
    if args.web {
        return serve_page(stack, args).await;
    }
    let report = demo::play(&stack, args.first_amt, args.repeat_amt, narrator).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.summary());
    }
    stack.shutdown().await;
    Ok(())
}

async fn serve_page(stack: Stack, args: &Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!(
        "The live sequence: http://{}/  (loopd re-buys a rejected token after {} s; Ctrl-C stops)",
        listener.local_addr()?,
        web::REBUY_BACKOFF.as_secs()
    );
    let options = WebOptions {
        first_amount_sat: args.first_amt,
        repeat_amount_sat: args.repeat_amt,
    };
    Ok(web::serve(stack, listener, options, service_kit::shutdown::signal()).await?)
}
