//! loopd in this process, on a loopback port, with Loop's file layout under its `--loopdir`: the stack's
//! loopd, and the one `loop-demo --web` runs beside programs in other containers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use l402_client::{L402Client, L402Config};
use lnd_client::LndConfig;
use swap_client::cli::{self, LoopdClient};
use swap_client::config::{DaemonConfig, RpcFiles, RpcSecurity, ServerTls};

use crate::component::Component;

/// What a loopd is given.
#[derive(Debug, Clone)]
pub struct LoopdSetup {
    /// Its lnd node.
    pub lnd: LndConfig,
    /// The swap server's address, as loopd dials it (here: the L402 proxy's), `host:port`.
    pub server_host: String,
    /// How loopd reaches it: a pinned certificate, or plaintext.
    pub server_tls: ServerTls,
    /// Its `--loopdir`; the regtest files are in `<loop_dir>/regtest`.
    pub loop_dir: PathBuf,
    /// Its L402 client's limits.
    pub l402: L402Config,
    /// Where it serves `looprpc.SwapClient`; `None` for an ephemeral loopback port.
    pub addr: Option<SocketAddr>,
}

/// Starts loopd on regtest and returns it with its L402 client.
pub async fn start(setup: LoopdSetup) -> anyhow::Result<(Component, L402Client)> {
    let (listener, addr) = crate::stack::bind(setup.addr).await?;
    let data_dir = data_dir(&setup.loop_dir);
    let config = DaemonConfig {
        network: l402::Network::Regtest,
        rpc: RpcSecurity::Secure(RpcFiles {
            tls_cert_path: data_dir.join(swap_client::config::TLS_CERT_FILE),
            tls_key_path: data_dir.join(swap_client::config::TLS_KEY_FILE),
            tls_extra_names: Vec::new(),
            macaroon_path: data_dir.join(swap_client::config::MACAROON_FILE),
        }),
        data_dir,
        rpc_listen: addr.to_string(),
        server_host: setup.server_host,
        server_tls: setup.server_tls,
        lnd: setup.lnd,
        l402: setup.l402,
    };
    let daemon = swap_client::daemon::Daemon::build(config)
        .await
        .context("building loopd")?;
    let l402 = daemon.l402().clone();
    let component = Component::spawn("loopd", addr, move |shutdown| async move {
        Ok(daemon.serve(listener, shutdown).await?)
    });
    Ok((component, l402))
}

/// loopd's regtest data directory under `loop_dir` (`l402.token`, `tls.cert`, `loop.macaroon`).
pub fn data_dir(loop_dir: &Path) -> PathBuf {
    loop_dir.join("regtest")
}

/// A gRPC client of the loopd at `addr` as the `loop` CLI makes it: TLS to its `tls.cert`, its
/// `loop.macaroon` on every call.
pub fn connect(addr: SocketAddr, loop_dir: &Path) -> anyhow::Result<LoopdClient> {
    let dir = data_dir(loop_dir);
    cli::connect(
        &addr.to_string(),
        &dir.join(swap_client::config::TLS_CERT_FILE),
        &dir.join(swap_client::config::MACAROON_FILE),
    )
    .context("connecting to loopd")
}
