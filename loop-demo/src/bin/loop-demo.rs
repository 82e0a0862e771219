//! `loop-demo`: the whole L402 loop-out sequence in one command.
//!
//! Starts mock-lnd, swap-server, auth-proxy and loopd in this process on free
//! ports (SQLite in a temporary directory, no external service), plays a first
//! loop — 402, token payment, retry — and a repeat loop that reuses the token,
//! narrating each step with timings; `--json` prints one JSON report instead,
//! and `--web` serves a live page whose buttons play the loops.
//!
//! With `--mock-lnd-control` (and the flags it requires), `--web` shows another deployment instead
//! (docker compose): mock-lnd, auth-proxy and swap-server are reached over their control, admin and
//! events listeners, and only loopd runs in this process.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use l402_client::L402Config;
use lnd_client::LndConfig;
use loop_demo::demo::{self, Narrator};
use loop_demo::programs::Programs;
use loop_demo::remote::{Remote, RemoteOptions};
use loop_demo::web::{self, WebOptions};
use service_kit::exit::{report, ExitError};
use swap_client::config::ServerTls;
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
    /// The page's URL to print instead of the listening address (when it is reached through a port
    /// mapping, as in docker compose).
    #[arg(long, env = "LOOP_DEMO_ADVERTISE", requires = "web")]
    advertise: Option<String>,
    /// Amount of the first loop out, in satoshis.
    #[arg(long, env = "LOOP_DEMO_FIRST_AMT", default_value_t = 250_000)]
    first_amt: u64,
    /// Amount of the repeat loop out, in satoshis.
    #[arg(long, env = "LOOP_DEMO_REPEAT_AMT", default_value_t = 100_000)]
    repeat_amt: u64,
    /// What the proxy charges for a token, in satoshis (in-process programs only).
    #[arg(long, env = "LOOP_DEMO_PRICE", default_value_t = 100)]
    price: u64,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Another deployment's programs, for `--web` (all or none of these).
#[derive(Debug, clap::Args)]
struct RemoteArgs {
    /// mock-lnd's control endpoint (`--control-listen`), e.g. http://mock-lnd:10099: show that
    /// deployment instead of starting programs here.
    #[arg(
        long,
        env = "LOOP_DEMO_MOCK_LND_CONTROL",
        requires_all = ["web", "proxy_admin", "proxy_admin_macaroon", "swap_server_events", "proxy_host", "lnd_host", "lnd_macaroonpath", "loopdir"],
        conflicts_with = "price",
    )]
    mock_lnd_control: Option<String>,
    /// The proxy's admin API, e.g. http://auth-proxy:8082.
    #[arg(long, env = "LOOP_DEMO_PROXY_ADMIN", requires = "mock_lnd_control")]
    proxy_admin: Option<String>,
    /// The proxy's admin macaroon file.
    #[arg(
        long,
        env = "LOOP_DEMO_PROXY_ADMIN_MACAROON",
        requires = "mock_lnd_control"
    )]
    proxy_admin_macaroon: Option<PathBuf>,
    /// swap-server's events listener (`--eventslisten`), e.g. http://swap-server:11012.
    #[arg(
        long,
        env = "LOOP_DEMO_SWAP_SERVER_EVENTS",
        requires = "mock_lnd_control"
    )]
    swap_server_events: Option<String>,
    /// The proxy's main listener, as our loopd dials it (`host:port`).
    #[arg(
        long = "proxy.host",
        env = "LOOP_DEMO_PROXY_HOST",
        requires = "mock_lnd_control"
    )]
    proxy_host: Option<String>,
    /// The proxy's TLS certificate, which our loopd pins; without it loopd speaks plaintext.
    #[arg(
        long = "proxy.tlspath",
        env = "LOOP_DEMO_PROXY_TLSPATH",
        requires = "mock_lnd_control"
    )]
    proxy_tlspath: Option<PathBuf>,
    /// Our loopd's lnd node (`host:port`).
    #[arg(
        long = "lnd.host",
        env = "LOOP_DEMO_LND_HOST",
        requires = "mock_lnd_control"
    )]
    lnd_host: Option<String>,
    /// Its tls.cert.
    #[arg(
        long = "lnd.tlspath",
        env = "LOOP_DEMO_LND_TLSPATH",
        requires = "mock_lnd_control"
    )]
    lnd_tlspath: Option<PathBuf>,
    /// Its admin.macaroon.
    #[arg(
        long = "lnd.macaroonpath",
        env = "LOOP_DEMO_LND_MACAROONPATH",
        requires = "mock_lnd_control"
    )]
    lnd_macaroonpath: Option<PathBuf>,
    /// Our loopd's --loopdir.
    #[arg(long, env = "LOOP_DEMO_LOOPDIR", requires = "mock_lnd_control")]
    loopdir: Option<PathBuf>,
}

/// A flag clap has checked is given with `--mock-lnd-control`.
fn required<T: Clone>(value: &Option<T>) -> T {
    value
        .clone()
        .expect("clap requires it with --mock-lnd-control")
}

impl RemoteArgs {
    /// The remote deployment these flags name, if any (clap has checked that all are given).
    fn options(&self) -> Option<RemoteOptions> {
        let control = self.mock_lnd_control.clone()?;
        Some(RemoteOptions {
            mock_lnd_control: control,
            proxy_admin: required(&self.proxy_admin),
            proxy_admin_macaroon: required(&self.proxy_admin_macaroon),
            swap_server_events: required(&self.swap_server_events),
            proxy_host: required(&self.proxy_host),
            proxy_tls: self
                .proxy_tlspath
                .clone()
                .map_or(ServerTls::Disabled, ServerTls::Pinned),
            lnd: LndConfig {
                host: required(&self.lnd_host),
                tls_cert_path: self.lnd_tlspath.clone(),
                macaroon_path: required(&self.lnd_macaroonpath),
            },
            loop_dir: required(&self.loopdir),
            l402: L402Config {
                rebuy_backoff: web::REBUY_BACKOFF,
                ..L402Config::default()
            },
        })
    }
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
    if let Some(options) = args.remote.options() {
        let remote = Remote::connect(options).await?;
        println!(
            "Showing the programs at {} (our loopd on {})",
            args.remote.mock_lnd_control.as_deref().unwrap_or_default(),
            remote.loopd_addr()
        );
        return serve_page(Programs::Remote(remote), args).await;
    }
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
    let programs = Programs::InProcess(stack);
    if args.web {
        return serve_page(programs, args).await;
    }
    let report = demo::play(programs.by_ref(), args.first_amt, args.repeat_amt, narrator).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.summary());
    }
    programs.shutdown().await;
    Ok(())
}

async fn serve_page(programs: Programs, args: &Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let url = match &args.advertise {
        Some(url) => url.clone(),
        None => format!("http://{}/", listener.local_addr()?),
    };
    println!(
        "The live sequence: {url}  (loopd re-buys a rejected token after {} s; Ctrl-C stops)",
        web::REBUY_BACKOFF.as_secs()
    );
    let options = WebOptions {
        first_amount_sat: args.first_amt,
        repeat_amount_sat: args.repeat_amt,
    };
    Ok(web::serve(programs, listener, options, service_kit::shutdown::signal()).await?)
}
