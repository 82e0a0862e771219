//! The real binaries as child processes, killed when dropped.
//!
//! The suite runs the four programs the way users do — separate processes
//! talking over TCP — to catch what in-process tests cannot: flags, env vars,
//! files on disk, exit codes. Binaries are found next to the test executable
//! (`cargo test --workspace` builds them); if one is missing it is built with
//! the same cargo, so `cargo test -p loop-demo` works on its own too.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Which package builds each binary we start.
fn package_of(binary: &str) -> &'static str {
    match binary {
        "mock-lnd" => "mock-lnd",
        "auth-proxy" => "auth-proxy",
        "swap-server" => "swap-server",
        "loopd" | "loop" => "swap-client",
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
        let log = log_dir.join(format!("{binary_name}.log"));
        let out = File::options().create(true).append(true).open(&log)?;
        let child = Command::new(binary(binary_name)?)
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        Ok(Self {
            name: binary_name.to_owned(),
            child,
            log,
        })
    }

    /// The program's output so far, for failure messages.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the program has exited, and with which status.
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops the program (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
