//! The command line: `server`, `client`, `cases`, `matrix` and `vectors`, every flag with an
//! environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Tests an L402 implementation against the protocol, end to end, and writes the test vectors.
#[derive(Debug, Parser)]
#[command(name = "l402-conformance", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Test an L402 server: challenge, payment through lnd, every credential form, forged tokens.
    Server(ServerArgs),
    /// Test an L402 client: run a command once per case against a test server and a simulated network.
    Client(ClientArgs),
    /// List the cases (id, level, clause, what each checks) as a Markdown table.
    Cases {
        /// Whose cases: the `server` mode's or the `client` mode's.
        #[arg(value_enum, default_value_t = Mode::Server)]
        mode: Mode,
    },
    /// Turn `--json` reports into a compatibility matrix (Markdown): a row per implementation, a column
    /// per group of cases.
    Matrix {
        /// `NAME=REPORT.json`, one per implementation, in the order of the rows.
        #[arg(required = true, value_parser = parse_row)]
        rows: Vec<(String, PathBuf)>,
    },
    /// Write the test vectors as one JSON document (to stdout, or to --out).
    Vectors {
        /// The file to write; stdout when absent.
        #[arg(long, env = "L402_CONFORMANCE_VECTORS_OUT")]
        out: Option<PathBuf>,
    },
}

/// What `server` tests and how it pays.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// A URL the server charges for (HTTP/1.1 or HTTP/2), e.g. `https://api.example.com/v1/thing`.
    #[arg(long, env = "L402_CONFORMANCE_URL")]
    pub url: String,
    /// The server's gRPC listener, `host:port` (TLS) or `http://host:port` (h2c), to test the gRPC binding.
    #[arg(long, env = "L402_CONFORMANCE_GRPC", requires = "grpc_method")]
    pub grpc: Option<String>,
    /// The gRPC method the kit calls with an empty request message, `/pkg.Service/Method`.
    #[arg(
        long = "grpc-method",
        env = "L402_CONFORMANCE_GRPC_METHOD",
        requires = "grpc"
    )]
    pub grpc_method: Option<String>,
    /// The server's TLS certificate (PEM) to pin, for a self-signed server; the WebPKI roots otherwise.
    #[arg(long = "tlspath", env = "L402_CONFORMANCE_TLSPATH")]
    pub tls_path: Option<PathBuf>,
    /// The paying lnd's gRPC address, `host:port`.
    #[arg(long = "lnd.host", env = "L402_CONFORMANCE_LND_HOST")]
    pub lnd_host: String,
    /// The paying lnd's `tls.cert`.
    #[arg(long = "lnd.tlspath", env = "L402_CONFORMANCE_LND_TLSPATH")]
    pub lnd_tls_path: PathBuf,
    /// A macaroon of the paying lnd that may pay (`admin.macaroon`).
    #[arg(long = "lnd.macaroonpath", env = "L402_CONFORMANCE_LND_MACAROONPATH")]
    pub lnd_macaroon_path: PathBuf,
    /// The most the kit pays for one token, in satoshis; a dearer challenge is not paid.
    #[arg(
        long = "max-price-sat",
        env = "L402_CONFORMANCE_MAX_PRICE_SAT",
        default_value_t = 1000
    )]
    pub max_price_sat: u64,
    /// Print one JSON document instead of the table.
    #[arg(long, env = "L402_CONFORMANCE_JSON")]
    pub json: bool,
    /// Run only this case, or this group of cases (`l402-conformance cases` lists them).
    #[arg(long, env = "L402_CONFORMANCE_ONLY")]
    pub only: Option<String>,
}

/// The two modes whose cases `cases` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// `server` mode's cases.
    Server,
    /// `client` mode's cases.
    Client,
}

/// What `client` tests.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Print one JSON document instead of the table.
    #[arg(long, env = "L402_CONFORMANCE_JSON")]
    pub json: bool,
    /// Run only this case, or this group of cases (`l402-conformance cases client` lists them).
    #[arg(long, env = "L402_CONFORMANCE_ONLY")]
    pub only: Option<String>,
    /// The longest one run of the command may take, in seconds; it is killed then.
    #[arg(
        long = "case-timeout",
        env = "L402_CONFORMANCE_CASE_TIMEOUT",
        default_value_t = 60
    )]
    pub case_timeout_secs: u64,
    /// The client: a command and its arguments, after `--`. It gets the case in its environment.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// `NAME=PATH` of `matrix`.
fn parse_row(row: &str) -> Result<(String, PathBuf), String> {
    match row.rsplit_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_owned(), PathBuf::from(path)))
        }
        _ => Err(format!("{row:?} is not NAME=REPORT.json")),
    }
}
