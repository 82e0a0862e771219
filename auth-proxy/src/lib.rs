//! An L402 reverse proxy for HTTP and gRPC services, compatible with Aperture's configuration.
//!
//! # A tour
//!
//! A request flows through `pipeline` in named phases: **route** (first matching service) →
//! **authenticate/admit** ([`authenticate`], auth levels, freebies, [`ratelimit`]) → **challenge**
//! ([`pricer`] for dynamic prices, then [`challenge`]: l402-server's minting step — invoice from [`lnd`], root key into [`store`]) or **forward**
//! ([`forward`]: streamed to the backend with only the verified `Authorization: L402 …`) → **log**
//! ([`decision`], [`metrics`]). [`responses`] writes every answer the proxy makes itself, in HTTP or gRPC
//! form.
//!
//! Around it: [`config`] (Aperture's YAML, validation), [`cli`] (flags and signals), `server` (one port for HTTP/1.1 and HTTP/2,
//! TLS or h2c, graceful drain), [`tls`], [`admin`] (Prometheus and the admin API on their own listeners),
//! [`handle`] (in-process control: revoke, decisions, metrics) and [`proxy`] (build and run).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = auth_proxy::Config::from_file("aperture.yaml".as_ref(), &Default::default())?;
//! let listeners = auth_proxy::Listeners::bind(&config).await?;
//! let proxy = auth_proxy::Proxy::build(config).await?;
//! proxy.run(listeners, async { let _ = tokio::signal::ctrl_c().await; }).await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod authenticate;
pub mod body;
pub mod challenge;
pub mod cli;
pub mod config;
pub mod decision;
mod files;
pub mod forward;
pub mod freebie;
pub mod handle;
pub mod l402_bridge;
pub mod lnd;
pub mod metrics;
pub mod path;
mod pipeline;
pub mod pricer;
pub mod proxy;
pub mod ratelimit;
pub mod responses;
mod server;
pub mod service;
pub mod store;
pub mod tls;
pub mod unpaid;
mod workers;

pub use config::{Config, ConfigError, Overrides};
pub use decision::{Decision, Outcome};
pub use files::FileError;
pub use handle::{HandleError, ProxyHandle};
pub use proxy::{BuildError, Listeners, Proxy};
pub use store::TokenRecord;
