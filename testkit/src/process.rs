//! The real binaries as child processes, killed when dropped.
//!
//! The suite runs the four programs the way users do — separate processes
//! talking over TCP — to catch what in-process tests cannot: flags, env vars,
//! files on disk, exit codes. Binaries are found next to the test executable
//! (`cargo test --workspace` builds them); if one is missing it is built with
//! the same cargo, so `cargo test -p e2e` works on its own too.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How many lines of a program's output a start failure quotes.
const OUTPUT_TAIL_LINES: usize = 40;

/// Which package builds each binary we start.
fn package_of(binary: &str) -> &'static str {
    match binary {
        "mock-lnd" => "mock-lnd",
        "auth-proxy" => "auth-proxy",
        "swap-server" => "swap-server",
        "loopd" | "loop" => "swap-client",
        "proxy-bench" | "hyper-passthrough" => "proxy-bench",
        _ => "loop-demo",
    }
}

/// The cargo target directory of the running executable (`target/debug`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current executable");
    let mut dir = exe.parent().expect("executable directory").to_owned();
    // Test executables live in target/<profile>/deps, binaries in target/<profile>.
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// The path of a workspace binary, building it first if it is missing.
pub fn binary(name: &str) -> std::io::Result<PathBuf> {
    let path = target_dir().join(name);
    if !path.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--bin", name, "-p", package_of(name)])
            .status()?;
        if !status.success() || !path.exists() {
            return Err(std::io::Error::other(format!(
                "cannot build binary {name} ({status})"
            )));
        }
    }
    Ok(path)
}

/// A loopback address with a port that was free a moment ago, for a program
/// that must be told its port on the command line.
pub fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address")
}

/// A running program; killed (and reaped) on drop.
#[derive(Debug)]
pub struct Program {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Program {
    /// Starts `binary` with `args`, its stdout and stderr going to
    /// `<log_dir>/<binary>.log`. `RUST_LOG` defaults to `info`.
    pub fn spawn<I, S>(binary_name: &str, args: I, log_dir: &Path) -> std::io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Self::spawn_binary(binary_name, &binary(binary_name)?, args, log_dir)
    }

    /// Starts the executable at `path` as [`Program::spawn`] does, logging to `<log_dir>/<name>.log`.
    pub fn spawn_binary<I, S>(
        name: &str,
        path: &Path,
        args: I,
        log_dir: &Path,
    ) -> std::io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let log = log_dir.join(format!("{name}.log"));
        let out = File::options().create(true).append(true).open(&log)?;
        let child = Command::new(path)
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            // Plain log lines in the files, whatever the programs' defaults.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log,
        })
    }

    /// The program's output so far, for failure messages.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the program accepts connections at `addr`. Fails at once, with the end of its output,
    /// if it exits first (say, the port [`free_addr`] found was taken again meanwhile), and after `timeout`
    /// otherwise.
    pub async fn listening(&mut self, addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
        let what = format!("{} listening at {addr}", self.name);
        let waited = crate::wait::until(&what, timeout, || {
            let exited = self.child.try_wait().ok().flatten();
            async move {
                match exited {
                    Some(status) => Some(Err(status)),
                    None => tokio::net::TcpStream::connect(addr).await.ok().map(Ok),
                }
            }
        })
        .await;
        let failure = match waited {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(status)) => {
                format!("{} exited ({status}) before listening at {addr}", self.name)
            }
            Err(timeout) => timeout.to_string(),
        };
        let output = self.output();
        let lines: Vec<&str> = output.lines().collect();
        let tail = &lines[lines.len().saturating_sub(OUTPUT_TAIL_LINES)..];
        anyhow::bail!("{failure}; its last output:\n{}", tail.join("\n"))
    }

    /// Stops the program (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process id (for `/proc/<pid>/…`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The binary's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A mock-lnd node's directory (`tls.cert`, `admin.macaroon`, `invoice.macaroon`) under `root`.
pub fn lnd_dir(root: &Path, node: &str) -> PathBuf {
    root.join("lnd").join(node)
}

/// Starts mock-lnd with `nodes` (name, gRPC address) under `root/lnd` on regtest, its test hooks on
/// `control` if given, and waits until every node listens and has written its macaroons.
pub async fn start_mock_lnd(
    root: &Path,
    nodes: &[(&str, SocketAddr)],
    control: Option<SocketAddr>,
) -> anyhow::Result<Program> {
    let mut args = vec![
        "--datadir".to_owned(),
        root.join("lnd").display().to_string(),
        "--network".into(),
        "regtest".into(),
    ];
    if let Some(control) = control {
        args.extend(["--control-listen".into(), control.to_string()]);
    }
    for (name, addr) in nodes {
        args.extend(["--node".into(), format!("{name}={addr}")]);
    }
    let mut program = Program::spawn("mock-lnd", &args, root)?;
    for (name, addr) in nodes {
        program.listening(*addr, START_TIMEOUT).await?;
        crate::wait::file_exists(&lnd_dir(root, name).join("admin.macaroon"), START_TIMEOUT)
            .await?;
    }
    Ok(program)
}

/// swap-server's flags: listening on `listen`, through mock-lnd's node `server` at `lnd` under `root`, its
/// swaps in SQLite at `root/swaps.db`.
pub fn swap_server_args(root: &Path, listen: SocketAddr, lnd: SocketAddr) -> Vec<String> {
    let lnd_dir = lnd_dir(root, "server");
    vec![
        "--listen".to_owned(),
        listen.to_string(),
        "--lnd.host".into(),
        lnd.to_string(),
        "--lnd.tlspath".into(),
        lnd_dir.join("tls.cert").display().to_string(),
        "--lnd.macaroonpath".into(),
        lnd_dir.join("admin.macaroon").display().to_string(),
        "--db".into(),
        format!("sqlite://{}", root.join("swaps.db").display()),
    ]
}

/// How long a program may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The four programs as real processes, wired like a deployment on loopback:
/// TLS and macaroons for lnd, TLS to the proxy, h2c from proxy to swap server.
#[derive(Debug)]
pub struct ProcessStack {
    dir: tempfile::TempDir,
    /// mock-lnd node addresses: client, proxy, server.
    pub lnd: [SocketAddr; 3],
    /// swap-server's address.
    pub swap_server: SocketAddr,
    /// auth-proxy's address.
    pub proxy: SocketAddr,
    /// loopd's address.
    pub loopd: SocketAddr,
    /// mock-lnd's control endpoint (test hooks over HTTP).
    pub lnd_control: SocketAddr,
    /// The running programs, by name.
    programs: Vec<Program>,
    price_sat: u64,
}

impl ProcessStack {
    /// Starts mock-lnd, swap-server, auth-proxy and loopd (in that order, each
    /// once the one it needs listens), charging `price_sat` per token.
    pub async fn start(price_sat: u64) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("loop-l402-procs-")
            .tempdir()?;
        let lnd = [free_addr(), free_addr(), free_addr()];
        let mut stack = Self {
            dir,
            lnd,
            swap_server: free_addr(),
            proxy: free_addr(),
            loopd: free_addr(),
            lnd_control: free_addr(),
            programs: Vec::new(),
            price_sat,
        };
        stack.start_mock_lnd().await?;
        stack.start_swap_server().await?;
        stack.start_proxy().await?;
        stack.start_loopd().await?;
        Ok(stack)
    }

    /// The data directory of everything.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A node's lnd directory (`tls.cert`, `admin.macaroon`).
    pub fn lnd_dir(&self, node: &str) -> PathBuf {
        lnd_dir(self.dir(), node)
    }

    /// loopd's data directory for regtest.
    pub fn loopd_data_dir(&self) -> PathBuf {
        self.dir().join("loopd").join("regtest")
    }

    /// A running program's output so far.
    pub fn output(&self, name: &str) -> String {
        self.programs
            .iter()
            .find(|p| p.name() == name)
            .map(Program::output)
            .unwrap_or_default()
    }

    /// Kills a program (as a crash would).
    pub fn kill(&mut self, name: &str) {
        self.programs.retain(|p| p.name() != name);
    }

    /// Runs the `loop` CLI against loopd and returns (success, stdout, stderr).
    pub async fn loop_cli(&self, args: &[&str]) -> anyhow::Result<(bool, String, String)> {
        let output = tokio::process::Command::new(binary("loop")?)
            .arg("--rpcserver")
            .arg(self.loopd.to_string())
            // Loop's default files under the loopdir: regtest/tls.cert, regtest/loop.macaroon.
            .arg("--loopdir")
            .arg(self.dir().join("loopd"))
            .args(["-n", "regtest"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .await?;
        Ok((
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ))
    }

    /// A node as mock-lnd's control endpoint reports it (`balance_msat`,
    /// `invoice_count`, `payment_count`, …).
    pub async fn node(&self, name: &str) -> anyhow::Result<serde_json::Value> {
        let url = format!("http://{}/nodes/{name}", self.lnd_control);
        Ok(reqwest::get(url).await?.error_for_status()?.json().await?)
    }

    /// Takes a node offline (its lnd is down) or back online.
    pub async fn set_node_offline(&self, name: &str, offline: bool) -> anyhow::Result<()> {
        let action = if offline { "offline" } else { "online" };
        let url = format!("http://{}/nodes/{name}/{action}", self.lnd_control);
        reqwest::Client::new()
            .post(url)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    async fn start_mock_lnd(&mut self) -> anyhow::Result<()> {
        let nodes: Vec<(&str, SocketAddr)> = ["client", "proxy", "server"]
            .into_iter()
            .zip(self.lnd)
            .collect();
        self.kill("mock-lnd");
        let program = start_mock_lnd(self.dir.path(), &nodes, Some(self.lnd_control)).await?;
        self.programs.push(program);
        Ok(())
    }

    /// Starts (or restarts) swap-server on its address and database.
    pub async fn start_swap_server(&mut self) -> anyhow::Result<()> {
        let mut args = swap_server_args(self.dir.path(), self.swap_server, self.lnd[2]);
        args.extend(["--confirmation-delay".into(), "200ms".into()]);
        self.spawn_listening("swap-server", &args, self.swap_server)
            .await?;
        Ok(())
    }

    /// Starts (or restarts) auth-proxy from an Aperture-style YAML file.
    pub async fn start_proxy(&mut self) -> anyhow::Result<()> {
        let base_dir = self.dir().join("auth-proxy");
        std::fs::create_dir_all(&base_dir)?;
        let config = crate::proxy_config::yaml(&crate::proxy_config::ProxySetup {
            listen: self.proxy.to_string(),
            tls: true,
            base_dir: base_dir.clone(),
            lnd_host: self.lnd[1].to_string(),
            lnd_dir: self.lnd_dir("proxy"),
            backend: self.swap_server,
            price_sat: self.price_sat,
            postgres_url: None,
        });
        let config_file = base_dir.join("auth-proxy.yaml");
        std::fs::write(&config_file, config)?;
        let args = ["--configfile".to_owned(), config_file.display().to_string()];
        self.spawn_listening("auth-proxy", &args, self.proxy)
            .await?;
        Ok(())
    }

    /// Starts (or restarts) loopd with Loop's flags.
    pub async fn start_loopd(&mut self) -> anyhow::Result<()> {
        let lnd_dir = self.lnd_dir("client");
        let args = [
            "--network".to_owned(),
            "regtest".into(),
            "--loopdir".into(),
            self.dir().join("loopd").display().to_string(),
            "--rpclisten".into(),
            self.loopd.to_string(),
            "--server.host".into(),
            self.proxy.to_string(),
            "--server.tlspath".into(),
            self.dir()
                .join("auth-proxy")
                .join("tls.cert")
                .display()
                .to_string(),
            "--lnd.host".into(),
            self.lnd[0].to_string(),
            "--lnd.tlspath".into(),
            lnd_dir.join("tls.cert").display().to_string(),
            "--lnd.macaroonpath".into(),
            lnd_dir.join("admin.macaroon").display().to_string(),
        ];
        self.spawn_listening("loopd", &args, self.loopd).await?;
        Ok(())
    }

    /// Starts (or restarts) `name` with `args` and waits until it listens at `addr`.
    async fn spawn_listening(
        &mut self,
        name: &str,
        args: &[String],
        addr: SocketAddr,
    ) -> anyhow::Result<()> {
        self.kill(name);
        let mut program = Program::spawn(name, args, self.dir.path())?;
        program.listening(addr, START_TIMEOUT).await?;
        self.programs.push(program);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_program_that_exits_before_listening_fails_at_once_with_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let script = ["-c", "echo 'cannot bind: address in use'; exit 3"];
        let mut program =
            Program::spawn_binary("quitter", Path::new("/bin/sh"), script, dir.path()).unwrap();
        // Far longer than the test may take: only the exit can end the wait in time for the message below.
        let error = program
            .listening(free_addr(), START_TIMEOUT)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("quitter exited"), "{error}");
        assert!(error.contains("exit status: 3"), "{error}");
        assert!(error.contains("cannot bind: address in use"), "{error}");
    }

    #[tokio::test]
    async fn a_listening_program_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut program =
            Program::spawn_binary("sleeper", Path::new("/bin/sleep"), ["30"], dir.path()).unwrap();
        program.listening(addr, START_TIMEOUT).await.unwrap();
    }
}
