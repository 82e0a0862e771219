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

/// Loop's default directory, `~/.loop` (`LoopDirBase`).
pub const DEFAULT_LOOP_DIR: &str = ".loop";
/// loopd's TLS certificate file name (`DefaultTLSCertFilename`).
pub const TLS_CERT_FILE: &str = "tls.cert";
/// loopd's TLS key file name (`DefaultTLSKeyFilename`).
pub const TLS_KEY_FILE: &str = "tls.key";
/// loopd's macaroon file name (`DefaultMacaroonFilename`).
pub const MACAROON_FILE: &str = "loop.macaroon";
/// The file holding the root key loopd bakes and verifies its macaroons with (Loop keeps it in
/// `macaroons.db`; ours is 32 bytes of hex, mode 0600).
pub const MACAROON_ROOT_KEY_FILE: &str = "macaroons.key";
/// Loop's default network (`DefaultNetwork`).
pub const DEFAULT_NETWORK: &str = "mainnet";
/// Loop's default RPC address, for loopd and the CLI.
pub const DEFAULT_RPC_ADDR: &str = "localhost:11010";

/// `~/.loop`, Loop's default `--loopdir`.
pub fn default_loop_dir() -> Result<PathBuf, ConfigError> {
    std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(DEFAULT_LOOP_DIR))
        .ok_or(ConfigError::NoHome("--loopdir"))
}

/// The public Loop server of a network (Loop's `mainnetServer`, `testnetServer`, `signetServer`);
/// other networks have none.
pub fn default_server(network: Network) -> Option<&'static str> {
    match network {
        Network::Mainnet => Some("swap.lightning.today:11010"),
        Network::Testnet => Some("test.swap.lightning.today:11010"),
        Network::Signet => Some("signet.swap.lightning.today:11010"),
        _ => None,
    }
}

/// loopd's command line.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "loopd",
    version,
    about = "The Loop client daemon: loop outs paid with an L402 token"
)]
pub struct LoopdArgs {
    /// Network to run on.
    #[arg(long, env = "LOOPD_NETWORK", default_value = DEFAULT_NETWORK)]
    pub network: Network,

    /// The directory for all of loop's data; files go to `<loopdir>/<network>/` (`tls.cert`,
    /// `loop.macaroon`, `l402.token`, `loop_sqlite.db`). Default: `~/.loop`. Cannot be combined
    /// with --datadir, --tlscertpath or --tlskeypath.
    #[arg(long, env = "LOOPD_LOOPDIR")]
    pub loopdir: Option<PathBuf>,

    /// Directory for loop's database and tokens, `<datadir>/<network>/`. Default: `~/.loop`.
    #[arg(long, env = "LOOPD_DATADIR")]
    pub datadir: Option<PathBuf>,

    /// Address to listen on for gRPC clients.
    #[arg(long, env = "LOOPD_RPCLISTEN", default_value = DEFAULT_RPC_ADDR)]
    pub rpclisten: String,

    /// Path to write the TLS certificate for loop's RPC service. Default:
    /// `<datadir>/<network>/tls.cert`.
    #[arg(long, env = "LOOPD_TLSCERTPATH")]
    pub tlscertpath: Option<PathBuf>,

    /// Path to write the TLS private key for loop's RPC service. Default:
    /// `<datadir>/<network>/tls.key`.
    #[arg(long, env = "LOOPD_TLSKEYPATH")]
    pub tlskeypath: Option<PathBuf>,

    /// Adds an extra IP to the generated certificate (repeatable).
    #[arg(long, env = "LOOPD_TLSEXTRAIP", value_delimiter = ',')]
    pub tlsextraip: Vec<String>,

    /// Adds an extra domain to the generated certificate (repeatable).
    #[arg(long, env = "LOOPD_TLSEXTRADOMAIN", value_delimiter = ',')]
    pub tlsextradomain: Vec<String>,

    /// Path to write the macaroon for loop's RPC service if it doesn't exist. Default:
    /// `<datadir>/<network>/loop.macaroon`.
    #[arg(long, env = "LOOPD_MACAROONPATH")]
    pub macaroonpath: Option<PathBuf>,

    /// Serve the RPC in plaintext without macaroons [testing only; not a Loop flag].
    #[arg(long = "insecure-rpc", env = "LOOPD_INSECURE_RPC")]
    pub insecure_rpc: bool,

    /// Loop server address host:port (the auth proxy in front of it). Default: Loop's server for
    /// mainnet, testnet and signet; required on other networks.
    #[arg(long = "server.host", env = "LOOPD_SERVER_HOST")]
    pub server_host: Option<String>,

    /// Disable TLS for the connection to the loop server [testing only].
    #[arg(long = "server.notls", env = "LOOPD_SERVER_NOTLS")]
    pub server_notls: bool,

    /// Path to the loop server's (self-signed) TLS certificate, pinned. Without it the server is
    /// verified against the WebPKI roots and its host name.
    #[arg(long = "server.tlspath", env = "LOOPD_SERVER_TLSPATH")]
    pub server_tlspath: Option<PathBuf>,

    /// lnd instance rpc address.
    #[arg(
        long = "lnd.host",
        env = "LOOPD_LND_HOST",
        default_value = "localhost:10009"
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
    /// TLS trusting exactly this certificate file, `--server.tlspath`.
    Pinned(PathBuf),
    /// TLS verified against the WebPKI roots and the server's host name (a public Loop server).
    WebPki,
}

/// How loopd's own RPC is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcSecurity {
    /// TLS and a macaroon on every call, as Loop does.
    Secure(RpcFiles),
    /// Plaintext, no macaroon (`--insecure-rpc`, tests only).
    Insecure,
}

/// The files of loopd's RPC identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcFiles {
    /// `tls.cert`, generated when missing.
    pub tls_cert_path: PathBuf,
    /// `tls.key`, generated (mode 0600) when missing.
    pub tls_key_path: PathBuf,
    /// Names added to a generated certificate (`--tlsextraip`, `--tlsextradomain`).
    pub tls_extra_names: Vec<String>,
    /// `loop.macaroon`, baked (mode 0600) when missing.
    pub macaroon_path: PathBuf,
}

/// loopd's validated configuration.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The network (invoices must be for it).
    pub network: Network,
    /// Directory of this network's files (token files, database, macaroon root key).
    pub data_dir: PathBuf,
    /// The address clients use (reported by GetInfo).
    pub rpc_listen: String,
    /// TLS and macaroons on loopd's RPC.
    pub rpc: RpcSecurity,
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
    /// Both were given.
    #[error("--server.tlspath and --server.notls cannot be used together")]
    ServerTlsConflict,
    /// `--loopdir` together with a flag it overrides (Loop refuses this too).
    #[error("loopdir overwrites {0}, please only set one value")]
    LoopDirConflict(&'static str),
    /// No `--server.host` on a network without a public Loop server.
    #[error("no swap server address specified (--server.host) for network {0}")]
    NoServer(Network),
    /// No home directory for a default path.
    #[error("cannot find the home directory for the default {0}; set it explicitly")]
    NoHome(&'static str),
}

impl LoopdArgs {
    /// Validates the flags into a [`DaemonConfig`], the way Loop's `loopd/config.go` `Validate`
    /// resolves `--loopdir`, `--datadir` and the per-network paths.
    pub fn into_config(self) -> Result<DaemonConfig, ConfigError> {
        let server_tls = match (self.server_notls, self.server_tlspath) {
            (true, None) => ServerTls::Disabled,
            (false, Some(path)) => ServerTls::Pinned(path),
            (true, Some(_)) => return Err(ConfigError::ServerTlsConflict),
            (false, None) => ServerTls::WebPki,
        };
        let server_host = match self.server_host {
            Some(host) => host,
            None => default_server(self.network)
                .ok_or(ConfigError::NoServer(self.network))?
                .to_owned(),
        };
        let base = match (self.loopdir, self.datadir) {
            (Some(_), Some(_)) => return Err(ConfigError::LoopDirConflict("datadir")),
            (Some(dir), None) if self.tlscertpath.is_some() || self.tlskeypath.is_some() => {
                let _ = dir;
                let flag = if self.tlscertpath.is_some() {
                    "tlscertpath"
                } else {
                    "tlskeypath"
                };
                return Err(ConfigError::LoopDirConflict(flag));
            }
            (Some(dir), None) | (None, Some(dir)) => dir,
            (None, None) => default_loop_dir()?,
        };
        let data_dir = base.join(self.network.as_str());
        let rpc = if self.insecure_rpc {
            RpcSecurity::Insecure
        } else {
            RpcSecurity::Secure(RpcFiles {
                tls_cert_path: self
                    .tlscertpath
                    .unwrap_or_else(|| data_dir.join(TLS_CERT_FILE)),
                tls_key_path: self
                    .tlskeypath
                    .unwrap_or_else(|| data_dir.join(TLS_KEY_FILE)),
                tls_extra_names: self
                    .tlsextraip
                    .into_iter()
                    .chain(self.tlsextradomain)
                    .collect(),
                macaroon_path: self
                    .macaroonpath
                    .unwrap_or_else(|| data_dir.join(MACAROON_FILE)),
            })
        };
        let macaroon_path = match self.lnd_macaroonpath {
            Some(path) => path,
            None => std::env::var_os("HOME")
                .map(PathBuf::from)
                .ok_or(ConfigError::NoHome("--lnd.macaroonpath"))?
                .join(".lnd/data/chain/bitcoin")
                .join(self.network.as_str())
                .join("admin.macaroon"),
        };
        Ok(DaemonConfig {
            data_dir,
            network: self.network,
            rpc_listen: self.rpclisten,
            rpc,
            server_host,
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

    fn parse(args: &[&str]) -> Result<DaemonConfig, ConfigError> {
        let mut argv = vec!["loopd", "--lnd.macaroonpath", "/tmp/admin.macaroon"];
        argv.extend_from_slice(args);
        LoopdArgs::try_parse_from(argv).unwrap().into_config()
    }

    #[test]
    fn loops_flag_names_and_defaults() {
        let config = parse(&[
            "--network",
            "regtest",
            "--loopdir",
            "/tmp/loop",
            "--server.host",
            "h:1",
            "--server.notls",
        ])
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/loop/regtest"));
        assert_eq!(config.server_tls, ServerTls::Disabled);
        assert_eq!(config.l402.max_cost_sat, 1000);
        assert_eq!(config.l402.max_fee_sat, 10);
        assert_eq!(
            config.l402.network,
            Some(Network::Regtest),
            "token invoices checked"
        );
        assert_eq!(config.rpc_listen, "localhost:11010");
        assert_eq!(config.lnd.host, "localhost:10009");
        assert!(config.lnd.tls_cert_path.is_none());
        assert_eq!(
            config.rpc,
            RpcSecurity::Secure(RpcFiles {
                tls_cert_path: "/tmp/loop/regtest/tls.cert".into(),
                tls_key_path: "/tmp/loop/regtest/tls.key".into(),
                tls_extra_names: vec![],
                macaroon_path: "/tmp/loop/regtest/loop.macaroon".into(),
            }),
            "secure by default, Loop's layout"
        );
    }

    #[test]
    fn rebuy_bounds_default_and_flags() {
        let config = parse(&["--datadir", "/tmp/loop"]).unwrap();
        assert_eq!(config.l402.rebuy_budget_sat(), 10_000, "10 × --maxl402cost");
        assert_eq!(config.l402.rebuy_backoff, Duration::from_secs(600));
        assert_eq!(config.l402.rebuy_window, Duration::from_secs(24 * 3600));
        let config = parse(&[
            "--datadir",
            "/tmp/loop",
            "--maxl402rebuycost",
            "2500",
            "--l402rebuybackoff",
            "1h",
        ])
        .unwrap();
        assert_eq!(config.l402.rebuy_budget_sat(), 2500);
        assert_eq!(config.l402.rebuy_backoff, Duration::from_secs(3600));
    }

    #[test]
    fn mainnet_talks_to_loops_server_verified_by_webpki() {
        let config = parse(&["--datadir", "/d"]).unwrap();
        assert_eq!(config.network, Network::Mainnet);
        assert_eq!(config.server_host, "swap.lightning.today:11010");
        assert_eq!(config.server_tls, ServerTls::WebPki);
        assert_eq!(config.data_dir, PathBuf::from("/d/mainnet"));
        let pinned = parse(&["--datadir", "/d", "--server.tlspath", "/c.pem"]).unwrap();
        assert_eq!(pinned.server_tls, ServerTls::Pinned("/c.pem".into()));
        assert!(matches!(
            parse(&["--datadir", "/d", "--network", "regtest"]),
            Err(ConfigError::NoServer(Network::Regtest))
        ));
    }

    #[test]
    fn explicit_paths_extra_names_and_insecure_rpc() {
        let config = parse(&[
            "--datadir",
            "/d",
            "--tlscertpath",
            "/c",
            "--tlskeypath",
            "/k",
            "--macaroonpath",
            "/m",
            "--tlsextraip",
            "10.0.0.1",
            "--tlsextradomain",
            "loopd",
            "--tlsextradomain",
            "x.y",
        ])
        .unwrap();
        assert_eq!(
            config.rpc,
            RpcSecurity::Secure(RpcFiles {
                tls_cert_path: "/c".into(),
                tls_key_path: "/k".into(),
                tls_extra_names: vec!["10.0.0.1".into(), "loopd".into(), "x.y".into()],
                macaroon_path: "/m".into(),
            })
        );
        let insecure = parse(&["--datadir", "/d", "--insecure-rpc"]).unwrap();
        assert_eq!(insecure.rpc, RpcSecurity::Insecure);
    }

    #[test]
    fn loopdir_conflicts_like_loop() {
        for (flag, name) in [
            ("--datadir", "datadir"),
            ("--tlscertpath", "tlscertpath"),
            ("--tlskeypath", "tlskeypath"),
        ] {
            let error = parse(&["--loopdir", "/l", flag, "/x"]).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("loopdir overwrites {name}, please only set one value")
            );
        }
        assert!(matches!(
            parse(&[
                "--datadir",
                "/d",
                "--server.notls",
                "--server.tlspath",
                "/c"
            ]),
            Err(ConfigError::ServerTlsConflict)
        ));
        assert!(LoopdArgs::try_parse_from(["loopd", "--network", "moon"]).is_err());
    }
}
