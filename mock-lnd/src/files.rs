//! A node's files in `<datadir>/<node>/`, laid out as lnd lays them out for its clients.
//!
//! | file | content |
//! |---|---|
//! | `tls.cert`, `tls.key` | self-signed certificate (CA flag set, like lnd's) for `localhost`, `127.0.0.1`, `::1` and the extra names |
//! | `admin.macaroon`, `invoice.macaroon` | V2 binary macaroons baked from the node's root key |
//! | `node.key`, `macaroons.key` | mock-lnd's own secrets (hex, mode 0600): the node key and the macaroon root key |
//! | `rest.url` | the base URL of the node's REST listener (`https://127.0.0.1:PORT`), only while it has one |
//!
//! Secrets and the certificate are reused when they already exist, so restarting mock-lnd on the same
//! datadir keeps node identities, certificates and macaroons valid for clients that already read them
//! (balances, invoices and payments are in memory and start afresh). Delete the directory to start over.

use std::fs;
use std::path::{Path, PathBuf};

use lnd_client::macaroon::RootKeyError;
use rand::RngCore;
use secp256k1::SecretKey;
use service_kit::files;

use crate::error::MockLndError;
use crate::macaroon::{MacaroonService, ADMIN_PERMISSIONS, INVOICE_PERMISSIONS, LND_LOCATION};

/// Paths of one node's files.
#[derive(Debug, Clone)]
pub struct NodeFiles {
    /// `<datadir>/<node>`.
    pub dir: PathBuf,
}

/// The secrets and TLS identity of a node, loaded or created.
pub(crate) struct NodeSecrets {
    pub node_key: SecretKey,
    pub macaroons: MacaroonService,
    /// PEM certificate and key, when TLS is on.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
}

impl NodeFiles {
    /// The files of node `name` under `datadir`.
    pub fn new(datadir: &Path, name: &str) -> Self {
        Self {
            dir: datadir.join(name),
        }
    }

    /// `tls.cert`.
    pub fn tls_cert(&self) -> PathBuf {
        self.dir.join("tls.cert")
    }

    /// `tls.key`.
    pub fn tls_key(&self) -> PathBuf {
        self.dir.join("tls.key")
    }

    /// `admin.macaroon`.
    pub fn admin_macaroon(&self) -> PathBuf {
        self.dir.join("admin.macaroon")
    }

    /// `invoice.macaroon`.
    pub fn invoice_macaroon(&self) -> PathBuf {
        self.dir.join("invoice.macaroon")
    }

    /// `rest.url`.
    pub fn rest_url(&self) -> PathBuf {
        self.dir.join("rest.url")
    }

    /// Writes `rest.url` (one line), or removes a stale one when the node has no REST listener.
    pub(crate) fn write_rest_url(&self, url: Option<&str>) -> Result<(), MockLndError> {
        let path = self.rest_url();
        match url {
            Some(url) => write_file(&path, format!("{url}\n").as_bytes(), false),
            None => match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&path, e)),
                _ => Ok(()),
            },
        }
    }

    /// Loads or creates everything the node needs, writing lnd's client-facing files; `tls`: whether
    /// the node needs its TLS certificate (for gRPC or REST).
    pub(crate) fn prepare(
        &self,
        name: &str,
        tls: bool,
        extra_names: &[String],
    ) -> Result<NodeSecrets, MockLndError> {
        files::create_private_dir(&self.dir).map_err(|e| io_error(&self.dir, e.source))?;
        let node_key = SecretKey::from_slice(&self.secret(&self.dir.join("node.key"))?)
            .map_err(|_| MockLndError::InvalidFile(self.dir.join("node.key")))?;
        let macaroons_key = self.dir.join("macaroons.key");
        let macaroons =
            MacaroonService::load_or_create(&macaroons_key, LND_LOCATION).map_err(|e| match e {
                RootKeyError::File(e) => io_error(&e.path, e.source),
                RootKeyError::Invalid(path) => MockLndError::InvalidFile(path),
            })?;
        // Macaroons are re-baked on every start; old ones stay valid because the root key is kept.
        write_file(
            &self.admin_macaroon(),
            &macaroons.bake(ADMIN_PERMISSIONS).encode(),
            true,
        )?;
        write_file(
            &self.invoice_macaroon(),
            &macaroons.bake(INVOICE_PERMISSIONS).encode(),
            false,
        )?;
        let tls = if tls {
            Some(self.tls_identity(name, extra_names)?)
        } else {
            None
        };
        Ok(NodeSecrets {
            node_key,
            macaroons,
            tls,
        })
    }

    /// A 32-byte secret stored as hex, created at random if absent.
    fn secret(&self, path: &Path) -> Result<[u8; 32], MockLndError> {
        if path.exists() {
            let text = fs::read_to_string(path).map_err(|e| io_error(path, e))?;
            let bytes =
                hex::decode(text.trim()).map_err(|_| MockLndError::InvalidFile(path.to_owned()))?;
            return bytes
                .try_into()
                .map_err(|_| MockLndError::InvalidFile(path.to_owned()));
        }
        let mut secret = [0u8; 32];
        // Retry the (astronomically unlikely) values that are not valid secp256k1 keys.
        loop {
            rand::thread_rng().fill_bytes(&mut secret);
            if SecretKey::from_slice(&secret).is_ok() {
                break;
            }
        }
        write_file(path, hex::encode(secret).as_bytes(), true)?;
        Ok(secret)
    }

    /// The existing `tls.cert`/`tls.key`, or a new self-signed pair shaped like lnd's.
    fn tls_identity(
        &self,
        name: &str,
        extra_names: &[String],
    ) -> Result<(Vec<u8>, Vec<u8>), MockLndError> {
        let identity = service_kit::tls::load_or_generate(
            &self.tls_cert(),
            &self.tls_key(),
            name,
            extra_names,
        )
        .map_err(|e| MockLndError::Tls(e.to_string()))?;
        Ok((identity.cert_pem, identity.key_pem))
    }
}

/// Writes one of the node's files: secrets with [`files::write_private`], the rest readable by all.
fn write_file(path: &Path, content: &[u8], private: bool) -> Result<(), MockLndError> {
    let written = if private {
        files::write_private(path, content)
    } else {
        files::write_public(path, content)
    };
    written.map_err(|e| io_error(path, e.source))
}

fn io_error(path: &Path, source: std::io::Error) -> MockLndError {
    MockLndError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_created_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let files = NodeFiles::new(dir.path(), "alice");
        let first = files.prepare("alice", true, &["lnd-alice".into()]).unwrap();
        let admin = fs::read(files.admin_macaroon()).unwrap();
        let second = files.prepare("alice", true, &[]).unwrap();
        assert_eq!(first.node_key, second.node_key);
        assert_eq!(first.tls, second.tls);
        // A macaroon baked by the first run still verifies after the restart.
        second.macaroons.verify(&admin, &[]).unwrap();
        let pem = first.tls.unwrap().0;
        let der = rustls_pemfile::certs(&mut pem.as_slice())
            .next()
            .unwrap()
            .unwrap();
        for name in [&b"localhost"[..], b"lnd-alice", b"lnd autogenerated cert"] {
            assert!(
                der.windows(name.len()).any(|w| w == name),
                "{}",
                String::from_utf8_lossy(name)
            );
        }
        assert!(!der.windows(9).any(|w| w == b"lnd-bobby"));
    }
}
