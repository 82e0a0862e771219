//! The `loop` command line: Loop's commands, flags and output, talking to loopd.
//!
//! [`run`] executes parsed [`LoopArgs`] with explicit output/input streams
//! (the binary passes stdout/stdin; tests pass buffers). Errors are
//! [`CliError`]s whose `Display` is the one line the binary prints.
//!
//! Like Loop's `cmd/loop/main.go`, it reaches loopd over TLS trusting loopd's
//! `tls.cert` and sends `loop.macaroon` (restricted to 60 seconds with a
//! `time-before` caveat, Loop's `defaultMacaroonTimeout`) on every call; both
//! default to `<loopdir>/<network>/`.

pub mod output;
pub mod progress;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::{Parser, Subcommand};
use l402::Network;
use lnd_client::macaroon::Macaroon;
use lnd_client::{LndChannel, MacaroonInterceptor};
use proto::looprpc::swap_client_client::SwapClientClient;
use proto::looprpc::*;
use tonic::service::interceptor::InterceptedService;

use self::output::{PrintableToken, *};
use self::progress::Progress;
use crate::config::{default_loop_dir, MACAROON_FILE, TLS_CERT_FILE};
use crate::swap::limits::default_limits;
use crate::swap::{publication_deadline, DEFAULT_SWAP_WAIT_TIME, DEFAULT_SWEEP_CONF_TARGET};

/// Loop's initiator string for swaps started from the command line.
pub const INITIATOR: &str = "loop-cli";

/// How long the macaroon the CLI sends is valid (Loop's `defaultMacaroonTimeout`).
pub const MACAROON_TIMEOUT: Duration = Duration::from_secs(60);

/// A client of loopd: TLS to its pinned `tls.cert`, the macaroon on every call.
pub type LoopdClient = SwapClientClient<LndChannel>;

/// `loop`: control loopd.
#[derive(Debug, Parser)]
#[command(
    name = "loop",
    version,
    about = "Control the Loop client daemon (loopd)"
)]
pub struct LoopArgs {
    /// loopd daemon address host:port.
    #[arg(
        long,
        env = "LOOPCLI_RPCSERVER",
        default_value = crate::config::DEFAULT_RPC_ADDR,
        global = true
    )]
    pub rpcserver: String,

    /// The network loop is running on e.g. mainnet, testnet, etc.
    #[arg(
        long,
        short = 'n',
        env = "LOOPCLI_NETWORK",
        default_value = crate::config::DEFAULT_NETWORK,
        global = true
    )]
    pub network: Network,

    /// Path to loop's base directory. Default: `~/.loop`.
    #[arg(long, env = "LOOPCLI_LOOPDIR", global = true)]
    pub loopdir: Option<PathBuf>,

    /// Path to loop's TLS certificate. Default: `<loopdir>/<network>/tls.cert`.
    #[arg(long, env = "LOOPCLI_TLSCERTPATH", global = true)]
    pub tlscertpath: Option<PathBuf>,

    /// Path to macaroon file. Default: `<loopdir>/<network>/loop.macaroon`.
    #[arg(long, env = "LOOPCLI_MACAROONPATH", global = true)]
    pub macaroonpath: Option<PathBuf>,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// `loop`'s commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Perform an off-chain to on-chain swap (looping out).
    Out(OutArgs),
    /// Display the current swap terms imposed by the server.
    Terms,
    /// Get a quote for the cost of a swap.
    Quote {
        /// The kind of swap.
        #[command(subcommand)]
        kind: QuoteKind,
    },
    /// List all swaps in the local database.
    Listswaps,
    /// Show the status of a swap.
    Swapinfo {
        /// The swap id (hex).
        id: String,
    },
    /// Monitor progress of any active swaps.
    Monitor,
    /// List all L402 tokens.
    Listauth,
    /// Fetch a new L402 authentication token from the server (no-op if one is held).
    Fetchl402,
    /// Show general information about loopd.
    Getinfo,
}

/// `loop quote` kinds.
#[derive(Debug, Subcommand)]
pub enum QuoteKind {
    /// Quote a loop out.
    Out {
        /// The amount in satoshis.
        amt: String,
        /// Quote a fast swap.
        #[arg(long, env = "LOOP_FAST")]
        fast: bool,
        /// Show all fee details.
        #[arg(long, short, env = "LOOP_VERBOSE")]
        verbose: bool,
    },
}

/// `loop out` flags (Loop's names).
#[derive(Debug, clap::Args)]
pub struct OutArgs {
    /// The amount in satoshis to loop out.
    pub amt_arg: Option<String>,
    /// The amount in satoshis to loop out.
    #[arg(long, env = "LOOP_AMT")]
    pub amt: Option<u64>,
    /// Swap immediately, paying potentially a higher fee.
    #[arg(long, env = "LOOP_FAST")]
    pub fast: bool,
    /// The max off-chain swap routing fee in satoshis (default: 2 % + 10 sat).
    #[arg(long = "max_swap_routing_fee", env = "LOOP_MAX_SWAP_ROUTING_FEE")]
    pub max_swap_routing_fee: Option<i64>,
    /// Do not ask for confirmation.
    #[arg(long, short, env = "LOOP_FORCE")]
    pub force: bool,
    /// Print the final swap state as JSON (no progress output).
    #[arg(long, env = "LOOP_JSON")]
    pub json: bool,
    /// A label for the swap.
    #[arg(long, env = "LOOP_LABEL", default_value = "")]
    pub label: String,
    /// On-chain destination address (default: the wallet of loopd's lnd).
    #[arg(long, env = "LOOP_ADDR", default_value = "")]
    pub addr: String,
}

/// Why a command failed: one line for the user.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// loopd is not reachable.
    #[error("cannot connect to loopd at {addr}: {reason} (is loopd running?)")]
    Connect {
        /// The address tried.
        addr: String,
        /// What failed.
        reason: String,
    },
    /// loopd answered with an error.
    #[error("{}", .0.message())]
    Rpc(#[from] tonic::Status),
    /// Invalid input.
    #[error("{0}")]
    Usage(String),
    /// The user declined the swap.
    #[error("swap canceled")]
    Canceled,
    /// The swap failed.
    #[error("swap {id} failed: {reason}")]
    SwapFailed {
        /// Swap id.
        id: String,
        /// Failure reason.
        reason: String,
    },
    /// loopd stopped streaming before the swap finished.
    #[error("loopd stopped before swap {0} finished; it resumes when loopd restarts (see `loop monitor`)")]
    MonitorEnded(String),
    /// Writing output failed.
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

/// Where a command writes and reads.
pub struct Io<'a> {
    /// Standard output.
    pub out: &'a mut dyn Write,
    /// Standard input (for `CONTINUE SWAP? (y/n)`).
    pub input: &'a mut dyn BufRead,
    /// Whether `out` is a terminal (live progress display).
    pub tty: bool,
}

impl LoopArgs {
    /// loopd's certificate and macaroon files, Loop's `extractPathArgs`: explicit paths, else
    /// `<loopdir>/<network>/tls.cert` and `<loopdir>/<network>/loop.macaroon`.
    pub fn credential_paths(&self) -> Result<(PathBuf, PathBuf), CliError> {
        let network_dir = || -> Result<PathBuf, CliError> {
            let loop_dir = match &self.loopdir {
                Some(dir) => dir.clone(),
                None => default_loop_dir().map_err(|e| CliError::Usage(e.to_string()))?,
            };
            Ok(loop_dir.join(self.network.as_str()))
        };
        let tls = match &self.tlscertpath {
            Some(path) => path.clone(),
            None => network_dir()?.join(TLS_CERT_FILE),
        };
        let macaroon = match &self.macaroonpath {
            Some(path) => path.clone(),
            None => network_dir()?.join(MACAROON_FILE),
        };
        Ok((tls, macaroon))
    }
}

/// Connects to loopd at `addr` (lazily: a loopd that is not running is reported by the first
/// call, see [`run`]), trusting the certificate in `tls_cert_path` and presenting the
/// macaroon in `macaroon_path`, limited to [`MACAROON_TIMEOUT`] from now.
pub fn connect(
    addr: &str,
    tls_cert_path: &Path,
    macaroon_path: &Path,
) -> Result<LoopdClient, CliError> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path)
            .map_err(|e| CliError::Usage(format!("unable to read {what} {}: {e}", path.display())))
    };
    let pem = read(tls_cert_path, "TLS certificate")?;
    let macaroon = Macaroon::decode(&read(macaroon_path, "macaroon")?)
        .map_err(|e| CliError::Usage(format!("unable to decode macaroon: {e}")))?;
    let macaroon = with_timeout(macaroon, SystemTime::now() + MACAROON_TIMEOUT)?;
    let channel = lnd_client::pinned_tls_channel(addr, &pem).map_err(|e| CliError::Connect {
        addr: addr.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(SwapClientClient::new(InterceptedService::new(
        channel,
        MacaroonInterceptor::new(&macaroon.encode()),
    )))
}

/// Adds Loop's `time-before <RFC 3339>` caveat: a stolen copy of what is sent is soon useless.
fn with_timeout(mut macaroon: Macaroon, deadline: SystemTime) -> Result<Macaroon, CliError> {
    let caveat = format!(
        "time-before {}",
        humantime::format_rfc3339_seconds(deadline)
    );
    macaroon
        .add_first_party_caveat(&caveat)
        .map_err(|e| CliError::Usage(format!("unable to restrict macaroon: {e}")))?;
    Ok(macaroon)
}

/// The innermost error's message (the useful part of a transport error).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut error = error;
    while let Some(inner) = error.source() {
        error = inner;
    }
    error.to_string()
}

/// Runs one command.
pub async fn run(args: LoopArgs, io: Io<'_>) -> Result<(), CliError> {
    let (tls_cert, macaroon) = args.credential_paths()?;
    let addr = args.rpcserver.clone();
    let client = connect(&addr, &tls_cert, &macaroon)?;
    command(client, args.command, io)
        .await
        .map_err(|e| match e {
            // A status made by the client's transport (it has a source), not sent by loopd.
            CliError::Rpc(status) if std::error::Error::source(&status).is_some() => {
                CliError::Connect {
                    addr,
                    reason: root_cause(&status),
                }
            }
            other => other,
        })
}

async fn command(mut client: LoopdClient, command: Command, io: Io<'_>) -> Result<(), CliError> {
    match command {
        Command::Out(out) => loop_out(&mut client, out, io).await,
        Command::Terms => {
            let terms = client.loop_out_terms(TermsRequest {}).await?.into_inner();
            Ok(print_terms(io.out, &terms)?)
        }
        Command::Quote {
            kind: QuoteKind::Out { amt, fast, verbose },
        } => {
            let amt = parse_amt(&amt)?;
            let quote = client
                .loop_out_quote(quote_request(amt, fast))
                .await?
                .into_inner();
            Ok(print_quote(io.out, amt as i64, &quote, verbose)?)
        }
        Command::Listswaps => {
            let list = client
                .list_swaps(ListSwapsRequest::default())
                .await?
                .into_inner();
            Ok(write_json(
                io.out,
                &list_json(&list.swaps, list.next_start_time),
            )?)
        }
        Command::Swapinfo { id } => {
            let id = hex::decode(id.trim())
                .map_err(|_| CliError::Usage(format!("invalid swap id {id:?}: expected hex")))?;
            let swap = client.swap_info(SwapInfoRequest { id }).await?.into_inner();
            Ok(write_json(io.out, &swap_json(&swap))?)
        }
        Command::Monitor => monitor(&mut client, io).await,
        Command::Listauth => {
            let tokens = client.get_l402_tokens(TokensRequest {}).await?.into_inner();
            let printable: Vec<PrintableToken> = tokens.tokens.iter().map(Into::into).collect();
            Ok(write_json(io.out, &printable)?)
        }
        Command::Fetchl402 => {
            client.fetch_l402_token(FetchL402TokenRequest {}).await?;
            Ok(writeln!(io.out, "{{}}")?)
        }
        Command::Getinfo => {
            let info = client.get_info(GetInfoRequest {}).await?.into_inner();
            let stats = info.loop_out_stats.unwrap_or_default();
            Ok(write_json(
                io.out,
                &serde_json::json!({
                    "version": info.version,
                    "network": info.network,
                    "rpc_listen": info.rpc_listen,
                    "loop_out_stats": {
                        "pending_count": stats.pending_count.to_string(),
                        "success_count": stats.success_count.to_string(),
                        "fail_count": stats.fail_count.to_string(),
                        "sum_pending_amt": stats.sum_pending_amt.to_string(),
                        "sum_succeeded_amt": stats.sum_succeeded_amt.to_string(),
                    },
                }),
            )?)
        }
    }
}

/// Loop's `parseAmt`.
pub fn parse_amt(text: &str) -> Result<u64, CliError> {
    let value: i64 = text
        .trim()
        .parse()
        .map_err(|_| CliError::Usage(format!("invalid amt value {text:?}")))?;
    u64::try_from(value).map_err(|_| CliError::Usage(format!("negative amount {value}")))
}

fn quote_request(amt: u64, fast: bool) -> QuoteRequest {
    QuoteRequest {
        amt: amt as i64,
        conf_target: DEFAULT_SWEEP_CONF_TARGET,
        swap_publication_deadline: publication_deadline(fast),
        fast,
    }
}

/// Paid, not rejected tokens: `id -> token`.
async fn paid_tokens(client: &mut LoopdClient) -> Result<Vec<L402Token>, CliError> {
    let tokens = client.get_l402_tokens(TokensRequest {}).await?.into_inner();
    Ok(tokens
        .tokens
        .into_iter()
        .filter(|t| !t.expired && t.payment_preimage.iter().any(|b| *b != 0))
        .collect())
}

/// Prints the tokens paid since `known` was taken, and adds them to it.
async fn report_new_tokens(
    client: &mut LoopdClient,
    known: &mut Vec<L402Token>,
    progress: &Progress,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    for token in paid_tokens(client).await? {
        if !known.iter().any(|k| k.id == token.id) {
            progress.line(
                out,
                &format!(
                    "L402 token: paid {} sat (routing fee {} msat), token {}",
                    token.amount_paid_msat / 1000,
                    token.routing_fee_paid_msat,
                    token.id
                ),
            )?;
            known.push(token);
        }
    }
    Ok(())
}

async fn loop_out(client: &mut LoopdClient, args: OutArgs, io: Io<'_>) -> Result<(), CliError> {
    let amt = match (&args.amt_arg, args.amt) {
        (_, Some(amt)) => amt,
        (Some(text), None) => parse_amt(text)?,
        (None, None) => {
            return Err(CliError::Usage(
                "loop out needs an amount: loop out <amt>".into(),
            ))
        }
    };
    let progress = Progress::new(io.tty, args.json);
    // Tokens before the first server call, to report a token bought meanwhile.
    let mut before = paid_tokens(client).await?;
    if before.is_empty() {
        progress.step(io.out, "Fetching quote (first paying for an L402 token)")?;
    } else {
        progress.step(io.out, "Fetching quote")?;
    }
    let quote = client
        .loop_out_quote(quote_request(amt, args.fast))
        .await?
        .into_inner();
    report_new_tokens(client, &mut before, &progress, io.out).await?;
    let mut limits = default_limits(amt, &quote);
    if let Some(fee) = args.max_swap_routing_fee {
        limits.max_swap_routing_fee = u64::try_from(fee)
            .map_err(|_| CliError::Usage(format!("invalid max_swap_routing_fee {fee}")))?;
    }
    if !args.force {
        drop(progress);
        print_quote(io.out, amt as i64, &quote, false)?;
        let warning = if args.fast {
            "Fast swap requested.".to_owned()
        } else {
            format!(
                "Regular swap speed requested, it might take up to {} for the swap to be executed.",
                humantime::format_duration(DEFAULT_SWAP_WAIT_TIME)
            )
        };
        write!(io.out, "\n{warning}\n\nCONTINUE SWAP? (y/n): ")?;
        io.out.flush()?;
        let mut answer = String::new();
        io.input.read_line(&mut answer)?;
        if answer.trim() != "y" {
            return Err(CliError::Canceled);
        }
        let progress = Progress::new(io.tty, args.json);
        return initiate(client, amt, limits, &args, &mut before, progress, io).await;
    }
    initiate(client, amt, limits, &args, &mut before, progress, io).await
}

async fn initiate(
    client: &mut LoopdClient,
    amt: u64,
    limits: crate::swap::OutLimits,
    args: &OutArgs,
    before: &mut Vec<L402Token>,
    progress: Progress,
    io: Io<'_>,
) -> Result<(), CliError> {
    progress.step(io.out, "Initiating swap")?;
    let response = client
        .loop_out(LoopOutRequest {
            amt: amt as i64,
            dest: args.addr.clone(),
            max_swap_routing_fee: limits.max_swap_routing_fee as i64,
            max_prepay_routing_fee: limits.max_prepay_routing_fee as i64,
            max_swap_fee: limits.max_swap_fee as i64,
            max_prepay_amt: limits.max_prepay_amt as i64,
            max_miner_fee: limits.max_miner_fee as i64,
            sweep_conf_target: DEFAULT_SWEEP_CONF_TARGET,
            swap_publication_deadline: publication_deadline(args.fast),
            label: args.label.clone(),
            htlc_confirmations: 1,
            initiator: INITIATOR.into(),
            payment_timeout: 0,
        })
        .await?
        .into_inner();
    report_new_tokens(client, before, &progress, io.out).await?;
    let id = hex::encode(&response.id_bytes);
    progress.line(io.out, "Swap initiated")?;
    progress.line(io.out, &format!("ID:             {id}"))?;
    if !response.server_message.is_empty() {
        progress.line(
            io.out,
            &format!("Server message: {}", response.server_message),
        )?;
    }
    progress.step(io.out, "Waiting for the server to publish the HTLC")?;

    let mut updates = client.monitor(MonitorRequest {}).await?.into_inner();
    let mut last_state = SwapState::Initiated as i32;
    while let Some(swap) = updates.message().await? {
        if swap.id != id || swap.state == last_state {
            continue;
        }
        last_state = swap.state;
        match SwapState::try_from(swap.state).unwrap_or(SwapState::Initiated) {
            SwapState::HtlcPublished => {
                progress.line(io.out, "HTLC published")?;
                progress.step(io.out, "Sweeping the HTLC (revealing the preimage)")?;
            }
            SwapState::PreimageRevealed => {
                progress.line(io.out, "Preimage revealed")?;
                progress.step(io.out, "Waiting for the server to settle the swap payment")?;
            }
            SwapState::Success => {
                drop(progress);
                if args.json {
                    write_json(io.out, &swap_json(&swap))?;
                } else {
                    writeln!(
                        io.out,
                        "Swap {id} {} (cost: server {}, onchain {}, offchain {})",
                        state_label(&swap),
                        swap.cost_server,
                        swap.cost_onchain,
                        swap.cost_offchain
                    )?;
                }
                return Ok(());
            }
            SwapState::Failed => {
                if args.json {
                    write_json(io.out, &swap_json(&swap))?;
                }
                return Err(CliError::SwapFailed {
                    id,
                    reason: state_label(&swap),
                });
            }
            SwapState::Initiated | SwapState::InvoiceSettled => {}
        }
    }
    Err(CliError::MonitorEnded(id))
}

async fn monitor(client: &mut LoopdClient, io: Io<'_>) -> Result<(), CliError> {
    let mut updates = client.monitor(MonitorRequest {}).await?.into_inner();
    writeln!(
        io.out,
        "Note: offchain cost may report as 0 after loopd restart during swap"
    )?;
    while let Some(swap) = updates.message().await? {
        writeln!(io.out, "{}", monitor_line(&swap))?;
        io.out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> LoopArgs {
        let mut full = vec!["loop"];
        full.extend_from_slice(argv);
        full.push("getinfo");
        LoopArgs::try_parse_from(full).unwrap()
    }

    #[test]
    fn loops_global_flags_and_default_paths() {
        let defaults = args(&["--loopdir", "/l"]);
        assert_eq!(defaults.rpcserver, "localhost:11010");
        assert_eq!(defaults.network, Network::Mainnet);
        assert_eq!(
            defaults.credential_paths().unwrap(),
            (
                PathBuf::from("/l/mainnet/tls.cert"),
                PathBuf::from("/l/mainnet/loop.macaroon")
            )
        );
        let regtest = args(&["-n", "regtest", "--loopdir", "/l"]);
        assert_eq!(
            regtest.credential_paths().unwrap().1,
            PathBuf::from("/l/regtest/loop.macaroon")
        );
        let explicit = args(&["--tlscertpath", "/c", "--macaroonpath", "/m"]);
        assert_eq!(
            explicit.credential_paths().unwrap(),
            (PathBuf::from("/c"), PathBuf::from("/m"))
        );
    }

    #[test]
    fn the_macaroon_sent_expires() {
        let service = lnd_client::MacaroonService::new([1; 32], "loop");
        let macaroon = service.bake(crate::daemon::perms::ALL);
        let past = with_timeout(macaroon.clone(), SystemTime::UNIX_EPOCH).unwrap();
        assert!(service.verify(&past.encode(), &[]).is_err());
        let soon = with_timeout(macaroon, SystemTime::now() + MACAROON_TIMEOUT).unwrap();
        service.verify(&soon.encode(), &[]).unwrap();
    }
}
