//! The programs under test, started on free loopback ports: mock-lnd (the proxy's and the payer's
//! nodes), the two backends (nginx answering `200 ok` for HTTP, swap-server for gRPC), nginx as the
//! reference proxy, `hyper-passthrough` (the stack's ceiling) and auth-proxy (the release binary next to
//! this one) in front of both backends, on SQLite; on request, beside it another build (`--baseline`, same database) and the same build on
//! PostgreSQL (`--postgres`).
//!
//! auth-proxy runs with its default settings except the challenge budget and the unpaid-token cap, which
//! are turned off so that the mint benchmark measures minting, not the limiter.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use testkit::process::{
    binary, free_addr, lnd_dir, start_mock_lnd, swap_server_args, Program, START_TIMEOUT,
};
use testkit::wait::port_open;

use crate::nginx::{Nginx, Role};

/// The gRPC method the gRPC benchmark calls (and [`crate::token::buy_grpc`] buys its token with): cheap,
/// unary, and without arguments.
pub const GRPC_METHOD: &str = "/looprpc.SwapServer/LoopOutTerms";
/// The HTTP path the HTTP benchmark requests (auth-proxy's [`HTTP_SERVICE`]).
pub const HTTP_PATH: &str = "/bench/ok";
/// The name of auth-proxy's HTTP service, in front of the nginx backend.
pub const HTTP_SERVICE: &str = "bench";
/// The price of a token for either service, in satoshis.
pub const PRICE_SAT: i64 = 1;

/// The HTTP benchmark's URL on `addr`.
pub fn http_url(addr: SocketAddr) -> String {
    format!("http://{addr}{HTTP_PATH}")
}

/// The gRPC benchmark's URL on `addr`.
pub fn grpc_url(addr: SocketAddr) -> String {
    format!("http://{addr}{GRPC_METHOD}")
}

/// Everything running; stopped when dropped.
pub struct Setup {
    /// nginx returning `200 ok`.
    pub backend: SocketAddr,
    /// nginx `proxy_pass` to `backend`.
    pub nginx: SocketAddr,
    /// swap-server (h2c).
    pub grpc_backend: SocketAddr,
    /// auth-proxy (plaintext: HTTP/1.1 and h2c).
    pub proxy: SocketAddr,
    proxy_program: Program,
    /// `hyper-passthrough` in front of both backends.
    pub passthrough: SocketAddr,
    passthrough_program: Program,
    /// A second auth-proxy, from another build, on the same backends, node and database (`--baseline`).
    pub baseline: Option<(SocketAddr, Program)>,
    /// This build again, on the same backends and node, with a PostgreSQL database (`--postgres`).
    pub postgres: Option<(SocketAddr, Program)>,
    lnd_payer: SocketAddr,
    /// The backend, then the reference proxy.
    nginx_instances: [Nginx; 2],
    /// mock-lnd and swap-server.
    _programs: [Program; 2],
    /// Last: fields drop in order, and the programs' files must outlive the programs.
    dir: tempfile::TempDir,
}

impl Setup {
    /// Starts everything, each program once the one it needs listens; with `baseline`, also that
    /// auth-proxy executable beside ours; with `postgres` (auth-proxy's YAML `dbbackend: postgres`
    /// and `postgres:` section), also our auth-proxy on that database.
    pub async fn start(baseline: Option<&Path>, postgres: Option<&str>) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("proxy-bench-").tempdir()?;
        let root = dir.path();
        let [lnd_payer, lnd_proxy, lnd_server] = [free_addr(), free_addr(), free_addr()];
        let (backend, nginx, grpc_backend, proxy, passthrough) = (
            free_addr(),
            free_addr(),
            free_addr(),
            free_addr(),
            free_addr(),
        );

        let nodes = [
            ("payer", lnd_payer),
            ("proxy", lnd_proxy),
            ("server", lnd_server),
        ];
        let mock_lnd = start_mock_lnd(root, &nodes, None).await?;
        let swap_server_args = swap_server_args(root, grpc_backend, lnd_server);
        let mut swap_server = Program::spawn("swap-server", swap_server_args, root)?;
        let passthrough_args = [passthrough, backend, grpc_backend].map(|addr| addr.to_string());
        let mut passthrough_program = Program::spawn("hyper-passthrough", passthrough_args, root)?;

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

        let sqlite = format!(
            "dbbackend: sqlite\nsqlite:\n  dbfile: {}\n",
            sqlite_file(root).display()
        );
        let ours = binary("auth-proxy")?;
        let start_proxy = |name: &str, listen, binary: &Path, database: &str| {
            let config = root.join(format!("{name}.yaml"));
            std::fs::write(
                &config,
                proxy_config(root, listen, lnd_proxy, backend, grpc_backend, database),
            )?;
            let args = ["--configfile".to_owned(), config.display().to_string()];
            Program::spawn_binary(name, binary, args, root)
                .with_context(|| format!("cannot start {}", binary.display()))
        };
        let mut proxy_program = start_proxy("auth-proxy", proxy, &ours, &sqlite)?;
        proxy_program.listening(proxy, START_TIMEOUT).await?;
        // The others start after ours has created and migrated the database they share (a build older than
        // the migration lock would otherwise race ours).
        serving(proxy).await?;
        // Another proxy, if asked for: that executable on that database.
        let start_beside = async |name: &str, proxy: Option<(&Path, &str)>| {
            let Some((binary, database)) = proxy else {
                return anyhow::Ok(None);
            };
            let listen = free_addr();
            let mut program = start_proxy(name, listen, binary, database)?;
            program.listening(listen, START_TIMEOUT).await?;
            Ok(Some((listen, program)))
        };
        let baseline = baseline.map(|path| (path, sqlite.as_str()));
        let baseline = start_beside("auth-proxy-baseline", baseline).await?;
        let postgres = postgres.map(|database| (ours.as_path(), database));
        let postgres = start_beside("auth-proxy-postgres", postgres).await?;
        swap_server.listening(grpc_backend, START_TIMEOUT).await?;
        passthrough_program
            .listening(passthrough, START_TIMEOUT)
            .await?;
        for addr in [backend, nginx] {
            port_open(addr, START_TIMEOUT).await?;
        }
        Ok(Self {
            dir,
            backend,
            nginx,
            grpc_backend,
            proxy,
            proxy_program,
            passthrough,
            passthrough_program,
            baseline,
            postgres,
            lnd_payer,
            nginx_instances,
            _programs: [mock_lnd, swap_server],
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

    /// hyper-passthrough's process id.
    pub fn passthrough_pid(&self) -> u32 {
        self.passthrough_program.pid()
    }

    /// The reference nginx proxy's master process id.
    pub fn nginx_pid(&self) -> u32 {
        self.nginx_instances[1].pid()
    }

    /// The `sqlite://` URL of the database auth-proxy (and the baseline) use.
    pub fn sqlite_url(&self) -> String {
        service_kit::db::sqlite_url(&sqlite_file(self.dir()))
    }

    /// auth-proxy's resident set size in KiB.
    pub fn proxy_rss_kib(&self) -> anyhow::Result<u64> {
        rss_kib(self.proxy_program.pid())
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

/// A process's resident set size in KiB, from `/proc`.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc status")
}

/// The SQLite file of auth-proxy's database under the benchmark's directory `root`.
fn sqlite_file(root: &Path) -> std::path::PathBuf {
    root.join("auth-proxy").join("auth-proxy.db")
}

/// Waits until the auth-proxy at `addr` answers a request. It listens before it opens its database and
/// answers only once that is migrated, so listening alone does not tell.
async fn serving(addr: SocketAddr) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/");
    testkit::wait::until(
        &format!("auth-proxy answering at {addr}"),
        START_TIMEOUT,
        || {
            let request = client.get(&url).send();
            async move { request.await.ok().map(drop) }
        },
    )
    .await?;
    Ok(())
}

/// Aperture's YAML for the proxy: one HTTP service in front of nginx and the swap server's gRPC API,
/// stored in `database` (the YAML of `dbbackend` and its section).
fn proxy_config(
    root: &Path,
    listen: SocketAddr,
    lnd: SocketAddr,
    backend: SocketAddr,
    grpc_backend: SocketAddr,
    database: &str,
) -> String {
    let lnd_dir = lnd_dir(root, "proxy");
    format!(
        r#"listenaddr: "{listen}"
insecure: true
basedir: {base}
{database}authenticator:
  network: regtest
  lndhost: "{lnd}"
  tlspath: {tls}
  macdir: {macdir}
challengelimits:
  requests: 0
maxunpaidtokens: 0
services:
  - name: {HTTP_SERVICE}
    hostregexp: ".*"
    pathregexp: "^/bench/.*$"
    address: "{backend}"
    protocol: http
    price: {PRICE_SAT}
  - name: loop
    hostregexp: ".*"
    pathregexp: "^/looprpc.*$"
    address: "{grpc_backend}"
    protocol: http
    price: {PRICE_SAT}
"#,
        base = root.join("auth-proxy").display(),
        tls = lnd_dir.join("tls.cert").display(),
        macdir = lnd_dir.display(),
    )
}
