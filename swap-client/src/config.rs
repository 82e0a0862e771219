//! loopd's configuration: Loop's flag names, each with a `LOOPD_*` variable.
//!
//! [`LoopdArgs`] is what the command line says; [`LoopdArgs::into_config`]
//! validates it once into a [`DaemonConfig`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use l402::Network;
use lnd_client::LndConfig;

use l402_client::{
    L402Config, DEFAULT_MAX_COST_SAT, DEFAULT_MAX_FEE_SAT, DEFAULT_PAYMENT_TIMEOUT,
    DEFAULT_REBUY_WINDOW,
};

/// loopd's command line.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "loopd",
    version,
    about = "The Loop client daemon: loop outs paid with an L402 token"
)]
pub struct LoopdArgs {
    /// Network to run on.
    #[arg(long, env = "LOOPD_NETWORK", default_value = "regtest")]
    pub network: Network,

    /// Directory for loop's data; files go to `<datadir>/<network>/`
    /// (`l402.token`, `loop_sqlite.db`). Default: `~/.loop`.
    #[arg(long, env = "LOOPD_DATADIR")]
    pub datadir: Option<PathBuf>,

    /// Address to listen on for gRPC clients.
    #[arg(long, env = "LOOPD_RPCLISTEN", default_value = "127.0.0.1:11010")]
    pub rpclisten: String,

    /// Loop server address host:port (the auth proxy in front of it).
    #[arg(
        long = "server.host",
        env = "LOOPD_SERVER_HOST",
        default_value = "127.0.0.1:8081"
    )]
    pub server_host: String,

    /// Disable TLS for the connection to the loop server [testing only].
    #[arg(long = "server.notls", env = "LOOPD_SERVER_NOTLS")]
    pub server_notls: bool,

    /// Path to the loop server's (self-signed) TLS certificate, pinned.
    #[arg(long = "server.tlspath", env = "LOOPD_SERVER_TLSPATH")]
    pub server_tlspath: Option<PathBuf>,

    /// lnd instance rpc address.
    #[arg(
        long = "lnd.host",
        env = "LOOPD_LND_HOST",
        default_value = "127.0.0.1:10009"
    )]
    pub lnd_host: String,

    /// Path to lnd's TLS certificate (pinned); without it loopd talks to lnd in plaintext.
    #[arg(long = "lnd.tlspath", env = "LOOPD_LND_TLSPATH")]
    pub lnd_tlspath: Option<PathBuf>,

    /// Path to the macaroon loopd presents to lnd. Default:
    /// `~/.lnd/data/chain/bitcoin/<network>/admin.macaroon`.
    #[arg(long = "lnd.macaroonpath", env = "LOOPD_LND_MACAROONPATH")]
    pub lnd_macaroonpath: Option<PathBuf>,

    /// Maximum cost in satoshis that loopd pays for an L402 token automatically
    /// (routing fees excluded).
    #[arg(long, env = "LOOPD_MAXL402COST", default_value_t = DEFAULT_MAX_COST_SAT)]
    pub maxl402cost: u64,

    /// Maximum routing fee in satoshis for paying an L402 token.
    #[arg(long, env = "LOOPD_MAXL402FEE", default_value_t = DEFAULT_MAX_FEE_SAT)]
    pub maxl402fee: u64,

    /// Maximum satoshis loopd spends per 24 hours on buying a new L402 token
    /// after the server rejected the one it held. Default: 10 × --maxl402cost.
    #[arg(long, env = "LOOPD_MAXL402REBUYCOST")]
    pub maxl402rebuycost: Option<u64>,

    /// Shortest time between two such re-purchases (e.g. `10m`, `1h`).
    #[arg(long, env = "LOOPD_L402REBUYBACKOFF", default_value = "10m", value_parser = humantime::parse_duration)]
    pub l402rebuybackoff: Duration,
}

/// How loopd reaches the swap server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerTls {
    /// Plaintext (h2c), `--server.notls`.
    Disabled,
    /// TLS trusting exactly this certificate file.
    Pinned(PathBuf),
}

/// loopd's validated configuration.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The network (invoices must be for it).
    pub network: Network,
    /// Directory of this network's files (token files, database).
    pub data_dir: PathBuf,
    /// The address clients use (reported by GetInfo).
    pub rpc_listen: String,
    /// `host:port` of the swap server (its auth proxy).
    pub server_host: String,
    /// TLS to the swap server.
    pub server_tls: ServerTls,
    /// loopd's lnd.
    pub lnd: LndConfig,
    /// Token payment limits.
    pub l402: L402Config,
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither `--server.tlspath` nor `--server.notls`.
    #[error(
        "the loop server connection needs --server.tlspath (its certificate) or --server.notls"
    )]
    ServerTls,
    /// Both were given.
    #[error("--server.tlspath and --server.notls cannot be used together")]
    ServerTlsConflict,
    /// No home directory for a default path.
    #[error("cannot find the home directory for the default {0}; set it explicitly")]
    NoHome(&'static str),
}

impl LoopdArgs {
    /// Validates the flags into a [`DaemonConfig`].
    pub fn into_config(self) -> Result<DaemonConfig, ConfigError> {
        let server_tls = match (self.server_notls, self.server_tlspath) {
            (true, None) => ServerTls::Disabled,
            (false, Some(path)) => ServerTls::Pinned(path),
            (true, Some(_)) => return Err(ConfigError::ServerTlsConflict),
            (false, None) => return Err(ConfigError::ServerTls),
        };
        let home = || std::env::var_os("HOME").map(PathBuf::from);
        let datadir = match self.datadir {
            Some(dir) => dir,
            None => home()
                .ok_or(ConfigError::NoHome("--datadir"))?
                .join(".loop"),
        };
        let macaroon_path = match self.lnd_macaroonpath {
            Some(path) => path,
            None => home()
                .ok_or(ConfigError::NoHome("--lnd.macaroonpath"))?
                .join(".lnd/data/chain/bitcoin")
                .join(self.network.as_str())
                .join("admin.macaroon"),
        };
        Ok(DaemonConfig {
            data_dir: datadir.join(self.network.as_str()),
            network: self.network,
            rpc_listen: self.rpclisten,
            server_host: self.server_host,
            server_tls,
            lnd: LndConfig {
                host: self.lnd_host,
                tls_cert_path: self.lnd_tlspath,
                macaroon_path,
            },
            l402: L402Config {
                max_cost_sat: self.maxl402cost,
                max_fee_sat: self.maxl402fee,
                payment_timeout: DEFAULT_PAYMENT_TIMEOUT,
                network: Some(self.network),
                rebuy_budget_sat: self.maxl402rebuycost,
                rebuy_window: DEFAULT_REBUY_WINDOW,
                rebuy_backoff: self.l402rebuybackoff,
            },
        })
    }
}

/// How long loopd waits for its swap tasks to stop on shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_flag_names_and_defaults() {
        let args = LoopdArgs::try_parse_from([
            "loopd",
            "--network",
            "regtest",
            "--datadir",
            "/tmp/loop",
            "--server.notls",
            "--lnd.macaroonpath",
            "/tmp/admin.macaroon",
        ])
        .unwrap();
        let config = args.into_config().unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/loop/regtest"));
        assert_eq!(config.server_tls, ServerTls::Disabled);
        assert_eq!(config.l402.max_cost_sat, 1000);
        assert_eq!(config.l402.max_fee_sat, 10);
        assert_eq!(
            config.l402.network,
            Some(Network::Regtest),
            "token invoices checked"
        );
        assert_eq!(config.rpc_listen, "127.0.0.1:11010");
        assert!(config.lnd.tls_cert_path.is_none());
    }

    #[test]
    fn rebuy_bounds_default_and_flags() {
        let base = [
            "loopd",
            "--server.notls",
            "--datadir",
            "/tmp/loop",
            "--lnd.macaroonpath",
            "/tmp/admin.macaroon",
        ];
        let config = LoopdArgs::try_parse_from(base)
            .unwrap()
            .into_config()
            .unwrap();
        assert_eq!(config.l402.rebuy_budget_sat(), 10_000, "10 × --maxl402cost");
        assert_eq!(config.l402.rebuy_backoff, Duration::from_secs(600));
        assert_eq!(config.l402.rebuy_window, Duration::from_secs(24 * 3600));
        let flags = ["--maxl402rebuycost", "2500", "--l402rebuybackoff", "1h"];
        let config = LoopdArgs::try_parse_from(base.into_iter().chain(flags))
            .unwrap()
            .into_config()
            .unwrap();
        assert_eq!(config.l402.rebuy_budget_sat(), 2500);
        assert_eq!(config.l402.rebuy_backoff, Duration::from_secs(3600));
    }

    #[test]
    fn server_tls_must_be_chosen() {
        let args = LoopdArgs::try_parse_from(["loopd", "--datadir", "/tmp/x"]).unwrap();
        assert!(matches!(args.into_config(), Err(ConfigError::ServerTls)));
        assert!(LoopdArgs::try_parse_from(["loopd", "--network", "moon"]).is_err());
    }
}
