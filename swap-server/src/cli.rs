//! swap-server's command line: every flag with its `SWAP_SERVER_*` variable, turned into a [`Config`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use lnd_client::LndConfig;

use crate::{Config, Terms, Timings};

/// A simulated Loop server: looprpc.SwapServer over gRPC and JSON over HTTP on one port.
#[derive(Debug, Parser)]
#[command(name = "swap-server", version)]
pub struct Args {
    /// Address to listen on (gRPC and HTTP).
    #[arg(long, env = "SWAP_SERVER_LISTEN", default_value = "127.0.0.1:11009")]
    pub listen: SocketAddr,

    /// Also serve every swap's state changes as server-sent events here (`GET /v1/swaps/updates`), for the
    /// operator's tools. No authentication and every client's swaps: keep it on a private address.
    #[arg(long, env = "SWAP_SERVER_EVENTSLISTEN")]
    pub eventslisten: Option<SocketAddr>,
    /// The server's lnd gRPC address (host:port).
    #[arg(
        long = "lnd.host",
        env = "SWAP_SERVER_LND_HOST",
        default_value = "127.0.0.1:10011"
    )]
    pub lnd_host: String,
    /// The lnd node's tls.cert; omit for a plaintext (no TLS) lnd.
    #[arg(long = "lnd.tlspath", env = "SWAP_SERVER_LND_TLSPATH")]
    pub lnd_tlspath: Option<PathBuf>,
    /// The macaroon to use with lnd (needs invoice permissions).
    #[arg(long = "lnd.macaroonpath", env = "SWAP_SERVER_LND_MACAROONPATH")]
    pub lnd_macaroonpath: PathBuf,
    /// Database: a SQLite file path or sqlite:// URL, or a postgres:// URL.
    #[arg(
        long,
        env = "SWAP_SERVER_DB",
        default_value = "sqlite://swap-server.db"
    )]
    pub db: String,
    /// Bitcoin network of the server's lnd.
    #[arg(long, env = "SWAP_SERVER_NETWORK", default_value = "regtest")]
    pub network: l402::Network,
    /// Smallest swap amount, sat.
    #[arg(long, env = "SWAP_SERVER_MIN_AMT", default_value_t = Terms::default().min_swap_amount)]
    pub min_amt: u64,
    /// Largest swap amount, sat.
    #[arg(long, env = "SWAP_SERVER_MAX_AMT", default_value_t = Terms::default().max_swap_amount)]
    pub max_amt: u64,
    /// Smallest HTLC cltv delta, blocks.
    #[arg(long, env = "SWAP_SERVER_MIN_CLTV_DELTA", default_value_t = Terms::default().min_cltv_delta)]
    pub min_cltv_delta: i32,
    /// Largest HTLC cltv delta, blocks.
    #[arg(long, env = "SWAP_SERVER_MAX_CLTV_DELTA", default_value_t = Terms::default().max_cltv_delta)]
    pub max_cltv_delta: i32,
    /// Fixed swap fee, sat.
    #[arg(long, env = "SWAP_SERVER_FEE_BASE", default_value_t = Terms::default().fee_base_sat)]
    pub fee_base: u64,
    /// Proportional swap fee, parts per million.
    #[arg(long, env = "SWAP_SERVER_FEE_PPM", default_value_t = Terms::default().fee_ppm)]
    pub fee_ppm: u64,
    /// Prepay amount, sat (part of amount + fee).
    #[arg(long, env = "SWAP_SERVER_PREPAY_AMT", default_value_t = Terms::default().prepay_amt_sat)]
    pub prepay_amt: u64,
    /// Grace added to the client's publication deadline before an unpaid swap fails (e.g. 10m).
    #[arg(long, env = "SWAP_SERVER_PUBLICATION_GRACE", value_parser = humantime::parse_duration, default_value = "10m")]
    pub publication_grace: Duration,
    /// Simulated confirmation time of the HTLC and of the timeout sweep (e.g. 2s).
    #[arg(long, env = "SWAP_SERVER_CONFIRMATION_DELAY", value_parser = humantime::parse_duration, default_value = "2s")]
    pub confirmation_delay: Duration,
    /// Time after publication at which an HTLC without preimage is swept back (e.g. 1h).
    #[arg(long, env = "SWAP_SERVER_HTLC_EXPIRY", value_parser = humantime::parse_duration, default_value = "1h")]
    pub htlc_expiry: Duration,
    /// Message returned with every new swap.
    #[arg(long, env = "SWAP_SERVER_SERVER_MESSAGE", default_value = "")]
    pub server_message: String,
}

impl Args {
    /// The configuration these flags describe (not yet validated: [`Config::validate`]).
    pub fn into_config(self) -> Config {
        let lnd = LndConfig {
            host: self.lnd_host,
            tls_cert_path: self.lnd_tlspath,
            macaroon_path: self.lnd_macaroonpath,
        };
        let mut config = Config::new(lnd, self.db);
        config.network = self.network;
        config.server_message = self.server_message;
        config.terms = Terms {
            min_swap_amount: self.min_amt,
            max_swap_amount: self.max_amt,
            min_cltv_delta: self.min_cltv_delta,
            max_cltv_delta: self.max_cltv_delta,
            fee_base_sat: self.fee_base,
            fee_ppm: self.fee_ppm,
            prepay_amt_sat: self.prepay_amt,
        };
        config.timings = Timings {
            publication_grace: self.publication_grace,
            confirmation_delay: self.confirmation_delay,
            htlc_expiry: self.htlc_expiry,
            ..Timings::default()
        };
        config
    }
}
