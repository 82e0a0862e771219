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
        /// The number of blocks from the swap initiation height that the on-chain HTLC
        /// should be swept within in a Loop Out.
        #[arg(long = "conf_target", env = "LOOP_CONF_TARGET", default_value_t = DEFAULT_SWEEP_CONF_TARGET as u64)]
        conf_target: u64,
        /// Quote a fast swap.
        #[arg(long, env = "LOOP_FAST")]
        fast: bool,
        /// Show all fee details.
        #[arg(long, short, env = "LOOP_VERBOSE")]
        verbose: bool,
    },
}

/// `loop out` flags (Loop's names): `loop out [flags] amt [addr]`.
#[derive(Debug, clap::Args)]
pub struct OutArgs {
    /// The amount in satoshis to loop out (or `--amt`).
    #[arg(value_name = "AMT")]
    pub amt_arg: Option<String>,
    /// The optional destination address (or `--addr`).
    #[arg(value_name = "ADDR")]
    pub addr_arg: Option<String>,
    /// The amount in satoshis to loop out. To check for the minimum and maximum amounts to
    /// loop out please consult "loop terms".
    #[arg(long, env = "LOOP_AMT")]
    pub amt: Option<u64>,
    /// The optional address that the looped out funds should be sent to, if left blank the
    /// funds will go to lnd's wallet.
    #[arg(long, env = "LOOP_ADDR")]
    pub addr: Option<String>,
    /// The number of blocks from the swap initiation height that the on-chain HTLC should be
    /// swept within.
    #[arg(long = "conf_target", env = "LOOP_CONF_TARGET", default_value_t = DEFAULT_SWEEP_CONF_TARGET as u64)]
    pub conf_target: u64,
    /// Swap immediately, paying potentially a higher fee.
    #[arg(long, env = "LOOP_FAST")]
    pub fast: bool,
    /// The max off-chain swap routing fee in satoshis (default: 2 % + 10 sat).
    #[arg(long = "max_swap_routing_fee", env = "LOOP_MAX_SWAP_ROUTING_FEE")]
    pub max_swap_routing_fee: Option<i64>,
    /// The timeout for each individual off-chain payment attempt, a Go duration such as
    /// `60s` or `1m` (default: 1 hour; this loopd refuses any other value).
    #[arg(long = "payment_timeout", env = "LOOP_PAYMENT_TIMEOUT")]
    pub payment_timeout: Option<String>,
    /// Assumes yes during confirmation. Using this option will result in an immediate swap.
    #[arg(long, short, env = "LOOP_FORCE")]
    pub force: bool,
    /// Show expanded details.
    #[arg(long, short, env = "LOOP_VERBOSE")]
    pub verbose: bool,
    /// Wait for the swap to finish and print its final state as JSON (not in Loop).
    #[arg(long, env = "LOOP_JSON")]
    pub json: bool,
    /// An optional label for this swap, limited to 500 characters. The label may not start
    /// with our reserved prefix: [reserved].
    #[arg(long, env = "LOOP_LABEL", default_value = "")]
    pub label: String,
}

/// Loop's `labels.MaxLength`.
pub const LABEL_MAX_LENGTH: usize = 500;
/// Loop's `labels.Reserved`.
pub const LABEL_RESERVED: &str = "[reserved]";

impl OutArgs {
    /// The amount and destination, as Loop's `loopOut` picks them: `--amt` first (then no
    /// positional address is read), else `amt [addr]`; `--addr` wins over the positional one.
    pub fn amt_and_dest(&self) -> Result<(u64, String), CliError> {
        let (amt, positional_addr) = match (self.amt, &self.amt_arg) {
            // Loop reads no positional argument then; we refuse rather than ignore one.
            (Some(_), Some(extra)) => {
                return Err(CliError::Usage(format!(
                    "unexpected argument {extra:?} with --amt (give the address with --addr)"
                )))
            }
            (Some(amt), None) => (amt, None),
            (None, Some(text)) => (parse_amt(text)?, self.addr_arg.clone()),
            (None, None) => {
                return Err(CliError::Usage(
                    "loop out needs an amount: loop out [flags] amt [addr]".into(),
                ))
            }
        };
        if let (Some(flag), Some(positional)) = (&self.addr, &positional_addr) {
            return Err(CliError::Usage(format!(
                "two destination addresses: --addr {flag:?} and {positional:?}"
            )));
        }
        let dest = self.addr.clone().or(positional_addr).unwrap_or_default();
        Ok((amt, dest))
    }

    /// `--conf_target` as the RPC's `int32`.
    pub fn sweep_conf_target(&self) -> Result<i32, CliError> {
        i32::try_from(self.conf_target)
            .map_err(|_| CliError::Usage(format!("conf_target {} is too large", self.conf_target)))
    }

    /// `--payment_timeout` in whole seconds (0: not set), with Loop's checks.
    pub fn payment_timeout_secs(&self) -> Result<u32, CliError> {
        let Some(text) = &self.payment_timeout else {
            return Ok(0);
        };
        let nanos = service_kit::go_duration::parse_nanos(text).ok_or_else(|| {
            CliError::Usage(format!(
                "invalid value {text:?} for flag -payment_timeout: parse error (a duration such as 60s, 1m or 1h30m)"
            ))
        })?;
        if nanos % 1_000_000_000 != 0 {
            return Err(CliError::Usage(
                "payment timeout must be a whole number of seconds".into(),
            ));
        }
        let secs = nanos / 1_000_000_000;
        if secs <= 0 {
            return Err(CliError::Usage(
                "payment timeout must be a positive value".into(),
            ));
        }
        u32::try_from(secs).map_err(|_| CliError::Usage("payment timeout is too large".into()))
    }
}

/// Loop's `labels.Validate`.
pub fn validate_label(label: &str) -> Result<(), CliError> {
    if label.len() > LABEL_MAX_LENGTH {
        return Err(CliError::Usage("label exceeds maximum length".into()));
    }
    if label.starts_with(LABEL_RESERVED) {
        return Err(CliError::Usage("label contains reserved prefix".into()));
    }
    Ok(())
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
            kind:
                QuoteKind::Out {
                    amt,
                    conf_target,
                    fast,
                    verbose,
                },
        } => {
            let amt = parse_amt(&amt)?;
            let request = QuoteRequest {
                amt: amt as i64,
                conf_target: i32::try_from(conf_target).map_err(|_| {
                    CliError::Usage(format!("conf_target {conf_target} is too large"))
                })?,
                swap_publication_deadline: publication_deadline(fast),
                fast,
            };
            let deadline = request.swap_publication_deadline;
            let quote = client.loop_out_quote(request).await?.into_inner();
            Ok(print_quote(io.out, amt as i64, &quote, deadline, verbose)?)
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
            Ok(write_json_tabs(io.out, &printable)?)
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

/// The `LoopOutRequest` Loop's `loopOut` sends.
pub fn out_request(
    amt: u64,
    dest: String,
    limits: &crate::swap::OutLimits,
    args: &OutArgs,
    sweep_conf_target: i32,
    swap_publication_deadline: u64,
    payment_timeout: u32,
) -> LoopOutRequest {
    LoopOutRequest {
        amt: amt as i64,
        dest,
        max_swap_routing_fee: limits.max_swap_routing_fee as i64,
        max_prepay_routing_fee: limits.max_prepay_routing_fee as i64,
        max_swap_fee: limits.max_swap_fee as i64,
        max_prepay_amt: limits.max_prepay_amt as i64,
        max_miner_fee: limits.max_miner_fee as i64,
        sweep_conf_target,
        swap_publication_deadline,
        label: args.label.clone(),
        htlc_confirmations: 1,
        initiator: INITIATOR.into(),
        payment_timeout,
    }
}

/// Loop's lines once a swap is started (`loopOut` after `LoopOut` returns).
pub fn print_initiated(out: &mut dyn Write, response: &SwapResponse) -> std::io::Result<()> {
    writeln!(out, "Swap initiated")?;
    writeln!(out, "ID:             {}", hex::encode(&response.id_bytes))?;
    if !response.server_message.is_empty() {
        writeln!(out, "Server message: {}", response.server_message)?;
    }
    writeln!(out)?;
    writeln!(out, "Run `loop monitor` to monitor progress.")
}

async fn loop_out(client: &mut LoopdClient, args: OutArgs, io: Io<'_>) -> Result<(), CliError> {
    // Everything the user typed is checked before the first call (Loop checks the
    // payment timeout only after the quote).
    let (amt, dest) = args.amt_and_dest()?;
    validate_label(&args.label)?;
    let conf_target = args.sweep_conf_target()?;
    let payment_timeout = args.payment_timeout_secs()?;
    let deadline = publication_deadline(args.fast);

    let progress = Progress::new(io.tty, args.json);
    // Tokens before the first server call, to report a token bought meanwhile.
    let mut before = paid_tokens(client).await?;
    if before.is_empty() {
        progress.step(io.out, "Fetching quote (first paying for an L402 token)")?;
    } else {
        progress.step(io.out, "Fetching quote")?;
    }
    let quote_req = QuoteRequest {
        amt: amt as i64,
        conf_target,
        swap_publication_deadline: deadline,
        fast: args.fast,
    };
    let quote = client.loop_out_quote(quote_req).await?.into_inner();
    report_new_tokens(client, &mut before, &progress, io.out).await?;
    let mut limits = default_limits(amt, &quote);
    if let Some(fee) = args.max_swap_routing_fee {
        limits.max_swap_routing_fee = u64::try_from(fee)
            .map_err(|_| CliError::Usage(format!("invalid max_swap_routing_fee {fee}")))?;
    }
    let progress = if args.force {
        progress
    } else {
        drop(progress);
        let warning = if args.fast {
            "Fast swap requested.".to_owned()
        } else {
            format!(
                "Regular swap speed requested, it might take up to {} for the swap to be executed.",
                go_duration(DEFAULT_SWAP_WAIT_TIME)
            )
        };
        print_out_details(io.out, amt as i64, &quote, &limits, deadline, args.verbose)?;
        write!(io.out, "\n{warning}\n\nCONTINUE SWAP? (y/n): ")?;
        io.out.flush()?;
        let mut answer = String::new();
        io.input.read_line(&mut answer)?;
        if answer.trim() != "y" {
            return Err(CliError::Canceled);
        }
        Progress::new(io.tty, args.json)
    };

    progress.step(io.out, "Initiating swap")?;
    let request = out_request(
        amt,
        dest,
        &limits,
        &args,
        conf_target,
        deadline,
        payment_timeout,
    );
    let response = client.loop_out(request).await?.into_inner();
    report_new_tokens(client, &mut before, &progress, io.out).await?;
    if !args.json {
        progress.print(|| print_initiated(io.out, &response))?;
    }
    // Loop returns here; we follow the swap on a terminal (live) and for `--json`.
    if !io.tty && !args.json {
        return Ok(());
    }
    follow(client, hex::encode(&response.id_bytes), &args, progress, io).await
}

/// Follows swap `id` to its end: a live display on a terminal, the final JSON for `--json`.
async fn follow(
    client: &mut LoopdClient,
    id: String,
    args: &OutArgs,
    progress: Progress,
    io: Io<'_>,
) -> Result<(), CliError> {
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
                drop(progress);
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

    fn out(argv: &[&str]) -> Result<OutArgs, clap::Error> {
        let mut full = vec!["loop", "out"];
        full.extend_from_slice(argv);
        LoopArgs::try_parse_from(full).map(|args| match args.command {
            Command::Out(out) => out,
            other => panic!("{other:?}"),
        })
    }

    fn request(argv: &[&str]) -> Result<LoopOutRequest, CliError> {
        let args = out(argv).map_err(|e| CliError::Usage(e.to_string()))?;
        let (amt, dest) = args.amt_and_dest()?;
        validate_label(&args.label)?;
        let limits = crate::swap::OutLimits {
            max_swap_routing_fee: 1,
            max_prepay_routing_fee: 2,
            max_swap_fee: 3,
            max_prepay_amt: 4,
            max_miner_fee: 5,
        };
        Ok(out_request(
            amt,
            dest,
            &limits,
            &args,
            args.sweep_conf_target()?,
            77,
            args.payment_timeout_secs()?,
        ))
    }

    #[test]
    fn loop_out_takes_loops_amount_and_address_forms() {
        let r = request(&["250000"]).unwrap();
        assert_eq!((r.amt, r.dest.as_str()), (250_000, ""));
        let r = request(&["250000", "bcrt1qdest"]).unwrap();
        assert_eq!((r.amt, r.dest.as_str()), (250_000, "bcrt1qdest"));
        let r = request(&["--amt", "100000", "--addr", "bcrt1qflag"]).unwrap();
        assert_eq!((r.amt, r.dest.as_str()), (100_000, "bcrt1qflag"));
        let r = request(&["--addr", "bcrt1qflag", "5000"]).unwrap();
        assert_eq!((r.amt, r.dest.as_str()), (5_000, "bcrt1qflag"));
        // Refused instead of ignored.
        let e = request(&["--amt", "1", "bcrt1qdest"]).unwrap_err();
        assert!(e.to_string().contains("--addr"), "{e}");
        let e = request(&["1", "bcrt1qa", "--addr", "bcrt1qb"]).unwrap_err();
        assert!(e.to_string().contains("two destination"), "{e}");
        assert!(out(&["1", "a", "b"]).is_err());
        assert!(request(&[]).unwrap_err().to_string().contains("amount"));
        assert_eq!(
            request(&["--", "-5"]).unwrap_err().to_string(),
            "negative amount -5"
        );
        assert!(
            out(&["--htlc_confs", "2", "1"]).is_err(),
            "unknown flags refused"
        );
    }

    #[test]
    fn loop_out_flags_reach_the_request() {
        let r = request(&["1000"]).unwrap();
        assert_eq!(r.sweep_conf_target, DEFAULT_SWEEP_CONF_TARGET);
        assert_eq!(r.payment_timeout, 0);
        assert_eq!(r.swap_publication_deadline, 77);
        assert_eq!(r.initiator, INITIATOR);
        assert_eq!(r.htlc_confirmations, 1);
        assert_eq!(
            (
                r.max_swap_routing_fee,
                r.max_prepay_routing_fee,
                r.max_swap_fee
            ),
            (1, 2, 3)
        );
        assert_eq!((r.max_prepay_amt, r.max_miner_fee), (4, 5));
        let r = request(&[
            "1000",
            "--conf_target",
            "20",
            "--payment_timeout",
            "1m",
            "--label",
            "rent",
        ])
        .unwrap();
        assert_eq!(r.sweep_conf_target, 20);
        assert_eq!(r.payment_timeout, 60);
        assert_eq!(r.label, "rent");
        let args = out(&["1000", "-f", "-v", "--fast"]).unwrap();
        assert!(args.force && args.verbose && args.fast);
        let args = out(&[
            "1000",
            "--force",
            "--verbose",
            "--max_swap_routing_fee",
            "9",
        ])
        .unwrap();
        assert!(args.force && args.verbose);
        assert_eq!(args.max_swap_routing_fee, Some(9));
    }

    #[test]
    fn payment_timeout_and_label_are_checked_as_loop_does() {
        let secs =
            |t: &str| request(&["1", &format!("--payment_timeout={t}")]).map(|r| r.payment_timeout);
        assert_eq!(secs("60s").unwrap(), 60);
        assert_eq!(secs("1h30m").unwrap(), 5400);
        assert_eq!(secs("1.5m").unwrap(), 90);
        assert_eq!(
            secs("1500ms").unwrap_err().to_string(),
            "payment timeout must be a whole number of seconds"
        );
        assert_eq!(
            secs("0s").unwrap_err().to_string(),
            "payment timeout must be a positive value"
        );
        assert_eq!(
            secs("-1m").unwrap_err().to_string(),
            "payment timeout must be a positive value"
        );
        assert_eq!(
            secs("5000000h").unwrap_err().to_string(),
            "payment timeout is too large"
        );
        for bad in ["60", "1x", "", "m", "1 m"] {
            assert!(
                secs(bad).unwrap_err().to_string().contains("parse error"),
                "{bad}"
            );
        }
        let long = "x".repeat(LABEL_MAX_LENGTH + 1);
        assert_eq!(
            request(&["1", "--label", &long]).unwrap_err().to_string(),
            "label exceeds maximum length"
        );
        assert_eq!(
            request(&["1", "--label", "[reserved]: autoloop-out"])
                .unwrap_err()
                .to_string(),
            "label contains reserved prefix"
        );
    }

    #[test]
    fn loops_lines_after_a_swap_starts() {
        let mut text = Vec::new();
        let mut response = SwapResponse {
            id_bytes: vec![0xab; 32],
            ..Default::default()
        };
        print_initiated(&mut text, &response).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            format!(
                "Swap initiated\nID:             {}\n\nRun `loop monitor` to monitor progress.\n",
                "ab".repeat(32)
            )
        );
        response.server_message = "hello".into();
        let mut text = Vec::new();
        print_initiated(&mut text, &response).unwrap();
        assert!(String::from_utf8(text)
            .unwrap()
            .contains("\nServer message: hello\n\nRun"));
    }

    #[test]
    fn quote_out_takes_loops_flags() {
        let args = LoopArgs::try_parse_from([
            "loop",
            "quote",
            "out",
            "5000",
            "--conf_target",
            "3",
            "--fast",
            "-v",
        ])
        .unwrap();
        match args.command {
            Command::Quote {
                kind:
                    QuoteKind::Out {
                        amt,
                        conf_target,
                        fast,
                        verbose,
                    },
            } => assert_eq!(
                (amt.as_str(), conf_target, fast, verbose),
                ("5000", 3, true, true)
            ),
            other => panic!("{other:?}"),
        }
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
