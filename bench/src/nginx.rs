//! nginx, from the distribution's package, as the benchmark's backend and as the reference proxy.
//!
//! One configuration file per instance, everything (pid, logs, temp files) inside the benchmark's
//! directory, `daemon off` so the instance is a child process we can stop. Access logs are off in both:
//! the reference proxy does no per-request work beyond forwarding.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running nginx master process; stopped (with its workers) on drop.
pub struct Nginx {
    child: Child,
}

/// What one nginx instance does.
pub enum Role {
    /// Answers every request with `200 ok`.
    Backend,
    /// `proxy_pass` to the backend over a pool of keep-alive HTTP/1.1 connections.
    Proxy {
        /// The backend's address.
        upstream: SocketAddr,
    },
}

impl Nginx {
    /// Starts an instance named `name` listening on `listen`, with `workers` worker processes.
    pub fn start(
        dir: &Path,
        name: &str,
        listen: SocketAddr,
        workers: usize,
        role: &Role,
    ) -> anyhow::Result<Self> {
        let root = dir.join(format!("nginx-{name}"));
        std::fs::create_dir_all(&root)?;
        let conf = root.join("nginx.conf");
        std::fs::write(&conf, config(&root, listen, workers, role))?;
        let log = std::fs::File::create(root.join("stderr.log"))?;
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&root)
            .arg("-e")
            .arg(root.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start nginx (apt-get install nginx): {e}"))?;
        Ok(Self { child })
    }
}

impl Nginx {
    /// The master's process id (its workers are its children).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM to the master is nginx's fast shutdown: it stops its workers, then itself. Killing the
        // master alone would leave the workers holding the port. The signal needs nothing on disk, so it
        // works even when the instance's directory is already gone.
        let signalled = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !signalled {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn config(root: &Path, listen: SocketAddr, workers: usize, role: &Role) -> String {
    let root = root.display();
    let (upstream, location) = match role {
        Role::Backend => (String::new(), "return 200 \"ok\\n\";".to_owned()),
        Role::Proxy { upstream } => (
            format!("upstream backend {{ server {upstream}; keepalive 128; }}"),
            "proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\";"
                .to_owned(),
        ),
    };
    format!(
        r#"daemon off;
worker_processes {workers};
pid {root}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    keepalive_requests 1000000;
    {upstream}
    server {{
        listen {listen};
        location / {{ {location} }}
    }}
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    use super::*;

    fn free_addr() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
    }

    /// Polls until nothing accepts on `addr`, for at most 10 s.
    fn closed_within_10s(addr: SocketAddr) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn dropping_an_instance_stops_its_workers_even_after_its_directory_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let addr = free_addr();
        let nginx = Nginx::start(dir.path(), "t", addr, 2, &Role::Backend).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "nginx never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The harness's temporary directory may go before the instances do.
        drop(dir);
        drop(nginx);
        assert!(closed_within_10s(addr), "nginx workers still serve {addr}");
    }
}
