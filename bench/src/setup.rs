//! The programs under test, started on free loopback ports: mock-lnd (the proxy's and the payer's
//! nodes), the two backends (nginx answering `200 ok` for HTTP, swap-server for gRPC), nginx as the
//! reference proxy, and auth-proxy (the release binary next to this one) in front of both backends.
//!
//! auth-proxy runs with its default settings except the challenge budget and the unpaid-token cap, which
//! are turned off so that the mint benchmark measures minting, not the limiter.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use testkit::process::{free_addr, Program};
use testkit::wait::{file_exists, port_open};

use crate::nginx::{Nginx, Role};

/// How long a program may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The gRPC method the gRPC benchmark calls: cheap, unary, and without arguments.
pub const GRPC_METHOD: &str = "/looprpc.SwapServer/LoopOutTerms";
/// The HTTP path the HTTP benchmark requests (auth-proxy's `bench` service).
pub const HTTP_PATH: &str = "/bench/ok";

/// Everything running; stopped when dropped.
pub struct Setup {
    dir: tempfile::TempDir,
    /// nginx returning `200 ok`.
    pub backend: SocketAddr,
    /// nginx `proxy_pass` to `backend`.
    pub nginx: SocketAddr,
    /// swap-server (h2c).
    pub grpc_backend: SocketAddr,
    /// auth-proxy (plaintext: HTTP/1.1 and h2c).
    pub proxy: SocketAddr,
    proxy_program: Program,
    lnd_payer: SocketAddr,
    /// The backend, then the reference proxy.
    nginx_instances: [Nginx; 2],
    _programs: Vec<Program>,
}

impl Setup {
    /// Starts everything, each program once the one it needs listens.
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("proxy-bench-").tempdir()?;
        let root = dir.path();
        let [lnd_payer, lnd_proxy, lnd_server] = [free_addr(), free_addr(), free_addr()];
        let (backend, nginx, grpc_backend, proxy) =
            (free_addr(), free_addr(), free_addr(), free_addr());

        let mut args = vec![
            "--datadir".to_owned(),
            root.join("lnd").display().to_string(),
            "--network".into(),
            "regtest".into(),
        ];
        for (name, addr) in [
            ("payer", lnd_payer),
            ("proxy", lnd_proxy),
            ("server", lnd_server),
        ] {
            args.extend(["--node".into(), format!("{name}={addr}")]);
        }
        let mut programs = vec![Program::spawn("mock-lnd", &args, root)?];
        for (name, addr) in [
            ("payer", lnd_payer),
            ("proxy", lnd_proxy),
            ("server", lnd_server),
        ] {
            port_open(addr, START_TIMEOUT).await?;
            file_exists(&lnd_dir(root, name).join("admin.macaroon"), START_TIMEOUT).await?;
        }

        let server_lnd = lnd_dir(root, "server");
        let swap_server_args = [
            "--listen".to_owned(),
            grpc_backend.to_string(),
            "--lnd.host".into(),
            lnd_server.to_string(),
            "--lnd.tlspath".into(),
            server_lnd.join("tls.cert").display().to_string(),
            "--lnd.macaroonpath".into(),
            server_lnd.join("admin.macaroon").display().to_string(),
            "--db".into(),
            format!("sqlite://{}", root.join("swaps.db").display()),
        ];
        programs.push(Program::spawn("swap-server", swap_server_args, root)?);

        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let nginx_instances = [
            Nginx::start(root, "backend", backend, 1, &Role::Backend)?,
            Nginx::start(
                root,
                "proxy",
                nginx,
                cores,
                &Role::Proxy { upstream: backend },
            )?,
        ];

        let config = root.join("auth-proxy.yaml");
        std::fs::write(
            &config,
            proxy_config(root, proxy, lnd_proxy, backend, grpc_backend),
        )?;
        let proxy_program = Program::spawn(
            "auth-proxy",
            ["--configfile".to_owned(), config.display().to_string()],
            root,
        )?;
        for addr in [grpc_backend, backend, nginx, proxy] {
            port_open(addr, START_TIMEOUT).await?;
        }
        Ok(Self {
            dir,
            backend,
            nginx,
            grpc_backend,
            proxy,
            proxy_program,
            lnd_payer,
            nginx_instances,
            _programs: programs,
        })
    }

    /// The benchmark's scratch directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// auth-proxy's process id.
    pub fn proxy_pid(&self) -> u32 {
        self.proxy_program.pid()
    }

    /// The reference nginx proxy's master process id.
    pub fn nginx_pid(&self) -> u32 {
        self.nginx_instances[1].pid()
    }

    /// auth-proxy's resident set size in KiB, from `/proc`.
    pub fn proxy_rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.proxy_program.pid()))
            .context("reading auth-proxy's /proc status")?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc status")
    }

    /// How to reach the payer's node (mock-lnd), which buys the tokens.
    pub fn payer_lnd(&self) -> lnd_client::LndConfig {
        let node = lnd_dir(self.dir(), "payer");
        lnd_client::LndConfig {
            host: self.lnd_payer.to_string(),
            tls_cert_path: Some(node.join("tls.cert")),
            macaroon_path: node.join("admin.macaroon"),
        }
    }
}

fn lnd_dir(root: &Path, node: &str) -> PathBuf {
    root.join("lnd").join(node)
}

/// Aperture's YAML for the proxy: one HTTP service in front of nginx and the swap server's gRPC API.
fn proxy_config(
    root: &Path,
    listen: SocketAddr,
    lnd: SocketAddr,
    backend: SocketAddr,
    grpc_backend: SocketAddr,
) -> String {
    let lnd_dir = lnd_dir(root, "proxy");
    format!(
        r#"listenaddr: "{listen}"
insecure: true
basedir: {base}
dbbackend: sqlite
sqlite:
  dbfile: {db}
authenticator:
  network: regtest
  lndhost: "{lnd}"
  tlspath: {tls}
  macdir: {macdir}
challengelimits:
  requests: 0
maxunpaidtokens: 0
services:
  - name: bench
    hostregexp: ".*"
    pathregexp: "^/bench/.*$"
    address: "{backend}"
    protocol: http
    price: 1
  - name: loop
    hostregexp: ".*"
    pathregexp: "^/looprpc.*$"
    address: "{grpc_backend}"
    protocol: http
    price: 1
"#,
        base = root.join("auth-proxy").display(),
        db = root.join("auth-proxy").join("auth-proxy.db").display(),
        tls = lnd_dir.join("tls.cert").display(),
        macdir = lnd_dir.display(),
    )
}
