//! `auth-proxy`: the L402 reverse proxy. Reads an Aperture-style YAML file (`--configfile`), lets flags and
//! `AUTH_PROXY_*` variables override it, and runs until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use auth_proxy::config::Secret;
use auth_proxy::{Config, Listeners, Overrides, Proxy};
use clap::Parser;

/// An L402 reverse proxy for HTTP and gRPC services (Aperture-compatible configuration).
#[derive(Debug, Parser)]
#[command(name = "auth-proxy", version)]
struct Args {
    /// Aperture-style YAML config file (default: <basedir>/auth-proxy.yaml if it exists).
    #[arg(long, env = "AUTH_PROXY_CONFIGFILE")]
    configfile: Option<PathBuf>,
    /// Address to listen on for clients.
    #[arg(long, env = "AUTH_PROXY_LISTENADDR")]
    listenaddr: Option<String>,
    /// Plaintext HTTP/1.1 and h2c instead of TLS.
    #[arg(long, env = "AUTH_PROXY_INSECURE")]
    insecure: Option<bool>,
    /// Directory for the database, TLS certificate and admin macaroon.
    #[arg(long, env = "AUTH_PROXY_BASEDIR")]
    basedir: Option<String>,
    /// Database backend: sqlite or postgres.
    #[arg(long, env = "AUTH_PROXY_DBBACKEND")]
    dbbackend: Option<String>,
    /// SQLite database file.
    #[arg(long = "sqlite.dbfile", env = "AUTH_PROXY_SQLITE_DBFILE")]
    sqlite_dbfile: Option<String>,
    /// PostgreSQL host.
    #[arg(long = "postgres.host", env = "AUTH_PROXY_POSTGRES_HOST")]
    postgres_host: Option<String>,
    /// PostgreSQL port.
    #[arg(long = "postgres.port", env = "AUTH_PROXY_POSTGRES_PORT")]
    postgres_port: Option<u16>,
    /// PostgreSQL user.
    #[arg(long = "postgres.user", env = "AUTH_PROXY_POSTGRES_USER")]
    postgres_user: Option<String>,
    /// PostgreSQL password (prefer the environment variable).
    #[arg(
        long = "postgres.password",
        env = "AUTH_PROXY_POSTGRES_PASSWORD",
        hide_env_values = true
    )]
    postgres_password: Option<String>,
    /// PostgreSQL database name.
    #[arg(long = "postgres.dbname", env = "AUTH_PROXY_POSTGRES_DBNAME")]
    postgres_dbname: Option<String>,
    /// host:port of the proxy's lnd.
    #[arg(
        long = "authenticator.lndhost",
        env = "AUTH_PROXY_AUTHENTICATOR_LNDHOST"
    )]
    lndhost: Option<String>,
    /// lnd's tls.cert.
    #[arg(
        long = "authenticator.tlspath",
        env = "AUTH_PROXY_AUTHENTICATOR_TLSPATH"
    )]
    tlspath: Option<String>,
    /// Directory holding lnd's invoice.macaroon.
    #[arg(long = "authenticator.macdir", env = "AUTH_PROXY_AUTHENTICATOR_MACDIR")]
    macdir: Option<String>,
    /// Chain network of lnd.
    #[arg(
        long = "authenticator.network",
        env = "AUTH_PROXY_AUTHENTICATOR_NETWORK"
    )]
    network: Option<String>,
    /// Serve Prometheus metrics.
    #[arg(long = "prometheus.enabled", env = "AUTH_PROXY_PROMETHEUS_ENABLED")]
    prometheus_enabled: Option<bool>,
    /// Prometheus listen address.
    #[arg(
        long = "prometheus.listenaddr",
        env = "AUTH_PROXY_PROMETHEUS_LISTENADDR"
    )]
    prometheus_listenaddr: Option<String>,
    /// Serve the admin API.
    #[arg(long = "admin.enabled", env = "AUTH_PROXY_ADMIN_ENABLED")]
    admin_enabled: Option<bool>,
    /// Admin API listen address (keep it on loopback).
    #[arg(long = "admin.listenaddr", env = "AUTH_PROXY_ADMIN_LISTENADDR")]
    admin_listenaddr: Option<String>,
    /// Require invoices to be settled at our lnd.
    #[arg(long, env = "AUTH_PROXY_STRICTVERIFY")]
    strictverify: Option<bool>,
}

impl Args {
    fn overrides(&self) -> Overrides {
        Overrides {
            listen_addr: self.listenaddr.clone(),
            insecure: self.insecure,
            base_dir: self.basedir.clone(),
            db_backend: self.dbbackend.clone(),
            sqlite_dbfile: self.sqlite_dbfile.clone(),
            postgres_host: self.postgres_host.clone(),
            postgres_port: self.postgres_port,
            postgres_user: self.postgres_user.clone(),
            postgres_password: self.postgres_password.clone().map(Secret::new),
            postgres_dbname: self.postgres_dbname.clone(),
            lnd_host: self.lndhost.clone(),
            lnd_tls_path: self.tlspath.clone(),
            lnd_mac_dir: self.macdir.clone(),
            network: self.network.clone(),
            auth_disable: None,
            prometheus_enabled: self.prometheus_enabled,
            prometheus_listen_addr: self.prometheus_listenaddr.clone(),
            admin_enabled: self.admin_enabled,
            admin_listen_addr: self.admin_listenaddr.clone(),
            strict_verify: self.strictverify,
        }
    }

    fn load(&self) -> Result<Config, auth_proxy::ConfigError> {
        let overrides = self.overrides();
        match &self.configfile {
            Some(path) => Config::from_file(path, &overrides),
            None => {
                // Like Aperture: without --configfile, look for a file in the base directory.
                let default_file = auth_proxy::config::base_dir(overrides.base_dir.as_deref())
                    .join("auth-proxy.yaml");
                match default_file.exists() {
                    true => Config::from_file(&default_file, &overrides),
                    false => Config::from_yaml("", &overrides),
                }
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = match args.load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("auth-proxy: {error}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(config.debug_level.as_deref().unwrap_or("info"))
    });
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let listeners = match Listeners::bind(&config).await {
        Ok(listeners) => listeners,
        Err(error) => {
            tracing::error!(error = %error, "cannot bind listeners");
            return ExitCode::FAILURE;
        }
    };
    let proxy = match Proxy::build(config).await {
        Ok(proxy) => proxy,
        Err(error) => {
            tracing::error!(error = %error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    proxy.run(listeners, shutdown_signal()).await;
    ExitCode::SUCCESS
}
