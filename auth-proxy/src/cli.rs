//! The command line: every flag (each with an `AUTH_PROXY_*` environment variable) maps onto a config key and
//! overrides the file; plus the process signals that start a graceful shutdown.

use std::path::PathBuf;

use clap::Parser;

use crate::config::{Config, ConfigError, Overrides, Secret};

/// An L402 reverse proxy for HTTP and gRPC services (Aperture-compatible configuration).
// No `Debug`: the struct may hold the PostgreSQL password.
#[derive(Parser)]
#[command(name = "auth-proxy", version)]
pub struct Cli {
    /// Aperture-style YAML config file (default: BASEDIR/auth-proxy.yaml if it exists).
    #[arg(long, env = "AUTH_PROXY_CONFIGFILE")]
    configfile: Option<PathBuf>,
    /// Address to listen on for clients.
    #[arg(long, env = "AUTH_PROXY_LISTENADDR")]
    listenaddr: Option<String>,
    /// Plaintext HTTP/1.1 and h2c instead of TLS.
    #[arg(long, env = "AUTH_PROXY_INSECURE", num_args = 0..=1, default_missing_value = "true")]
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
    /// Forward every request without payment (no lnd needed).
    #[arg(
        long = "authenticator.disable",
        env = "AUTH_PROXY_AUTHENTICATOR_DISABLE",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    auth_disable: Option<bool>,
    /// Serve Prometheus metrics.
    #[arg(long = "prometheus.enabled", env = "AUTH_PROXY_PROMETHEUS_ENABLED", num_args = 0..=1, default_missing_value = "true")]
    prometheus_enabled: Option<bool>,
    /// Prometheus listen address.
    #[arg(
        long = "prometheus.listenaddr",
        env = "AUTH_PROXY_PROMETHEUS_LISTENADDR"
    )]
    prometheus_listenaddr: Option<String>,
    /// Serve the admin API.
    #[arg(long = "admin.enabled", env = "AUTH_PROXY_ADMIN_ENABLED", num_args = 0..=1, default_missing_value = "true")]
    admin_enabled: Option<bool>,
    /// Admin API listen address (keep it on loopback).
    #[arg(long = "admin.listenaddr", env = "AUTH_PROXY_ADMIN_LISTENADDR")]
    admin_listenaddr: Option<String>,
    /// Require invoices to be settled at our lnd.
    #[arg(long, env = "AUTH_PROXY_STRICTVERIFY", num_args = 0..=1, default_missing_value = "true")]
    strictverify: Option<bool>,
}

impl Cli {
    /// The flags and environment variables that were given, as config overrides.
    pub fn overrides(&self) -> Overrides {
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
            auth_disable: self.auth_disable,
            prometheus_enabled: self.prometheus_enabled,
            prometheus_listen_addr: self.prometheus_listenaddr.clone(),
            admin_enabled: self.admin_enabled,
            admin_listen_addr: self.admin_listenaddr.clone(),
            strict_verify: self.strictverify,
        }
    }

    /// Loads the config file (`--configfile`, else `<basedir>/auth-proxy.yaml` if present) under the overrides.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let overrides = self.overrides();
        match &self.configfile {
            Some(path) => Config::from_file(path, &overrides),
            None => {
                // Like Aperture: without --configfile, look for a file in the base directory.
                let default_file =
                    crate::config::base_dir(overrides.base_dir.as_deref()).join("auth-proxy.yaml");
                match default_file.exists() {
                    true => Config::from_file(&default_file, &overrides),
                    false => Config::from_yaml("", &overrides),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_bare_bool_flags_mean_true() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("aperture.yaml");
        std::fs::write(
            &file,
            "listenaddr: 127.0.0.1:1\ninsecure: false\nauthenticator: {disable: true}\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "auth-proxy",
            "--configfile",
            file.to_str().unwrap(),
            "--listenaddr",
            "127.0.0.1:2",
            "--insecure",
            "--postgres.password",
            "hunter2",
        ])
        .unwrap();
        let config = cli.load().unwrap();
        assert_eq!(config.listen_addr, "127.0.0.1:2");
        assert_eq!(config.tls, crate::config::TlsSource::Insecure);
        assert!(!format!("{:?}", cli.overrides()).contains("hunter2"));
    }
}
