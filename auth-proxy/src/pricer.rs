//! Dynamic prices (Aperture's `dynamicprice`): when a challenge is about to be minted for a service with
//! `dynamicprice.enabled`, the price comes from the service's price server, a gRPC `pricesrpc.Prices`
//! (`GetPrice{path, http_request_text} → {price_sats}`), instead of the configured `price`.
//!
//! What is sent is what Aperture's `pricer.GRPCPricer` sends: `path` is the request's URL path, and
//! `http_request_text` is the request line and headers as Go's `httputil.DumpRequest(r, false)` writes them
//! (see [`request_text`]) followed by at most [`MAX_BODY_PREFIX`] bytes of the body.
//!
//! The answer is used the way Aperture uses it: a positive price is the invoice amount (and becomes part of
//! l402-server's [`Pricing`](l402_server::Pricing) for the token), and a price of 0 lets the request through
//! without a token. Where we differ on purpose: a price server that cannot be reached, answers with an error,
//! takes longer than [`PRICE_TIMEOUT`] or returns a negative price makes the proxy answer 503 with
//! `Retry-After` (gRPC 14) — Aperture answers 500 — and never falls back to a default price.
//!
//! The connection is lazy (a price server that is down at start-up does not stop the proxy) and is either
//! plaintext HTTP/2 (`insecure: true`) or TLS trusting exactly the certificate at `tlscertpath`.

use std::time::Duration;

use http::{HeaderMap, Request};
use proto::pricesrpc::prices_client::PricesClient;
use proto::pricesrpc::GetPriceRequest;
use tonic::transport::Channel;

use crate::service::DynamicPrice;

/// How long one `GetPrice` call (connecting included) may take.
pub const PRICE_TIMEOUT: Duration = Duration::from_secs(3);

/// At most this much of the request body goes into `http_request_text` (Aperture's `maxPricerBodyBytes`).
pub const MAX_BODY_PREFIX: usize = 64 * 1024;

/// The largest price accepted from a price server, in satoshis (21M BTC, the cap on `price`).
const MAX_PRICE_SAT: i64 = 2_100_000_000_000_000;

/// The price server could not be set up (its certificate cannot be read, a bad address).
#[derive(Debug, thiserror::Error)]
#[error("service {service}: dynamicprice: {source}")]
pub struct PricerSetupError {
    service: String,
    source: lnd_client::LndConnectError,
}

/// Why no price could be had (answered with 503: the client can do nothing about it).
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// The call failed (the server is down, or answered with an error status).
    #[error("price server {address}: {status}")]
    Call {
        /// The price server.
        address: String,
        /// What the call returned.
        status: Box<tonic::Status>,
    },
    /// No answer within [`PRICE_TIMEOUT`].
    #[error("price server {address}: no answer within {PRICE_TIMEOUT:?}")]
    TimedOut {
        /// The price server.
        address: String,
    },
    /// A price no invoice can be made for.
    #[error("price server {address}: unusable price {price} sat")]
    BadPrice {
        /// The price server.
        address: String,
        /// What it answered.
        price: i64,
    },
}

/// A client of one service's price server.
#[derive(Debug, Clone)]
pub struct Pricer {
    address: String,
    client: PricesClient<Channel>,
}

impl Pricer {
    /// A lazy client for `config` of service `service`: plaintext HTTP/2, or TLS pinned to `tlscertpath`.
    pub fn new(service: &str, config: &DynamicPrice) -> Result<Pricer, PricerSetupError> {
        let setup = |source| PricerSetupError {
            service: service.to_owned(),
            source,
        };
        let channel = match &config.tls_cert_path {
            None => lnd_client::plaintext_channel(&config.grpc_address).map_err(setup)?,
            Some(path) => {
                let pem = std::fs::read(path).map_err(|source| {
                    setup(lnd_client::LndConnectError::ReadFile {
                        path: path.clone(),
                        source,
                    })
                })?;
                lnd_client::pinned_tls_channel(&config.grpc_address, &pem).map_err(setup)?
            }
        };
        Ok(Pricer {
            address: config.grpc_address.clone(),
            client: PricesClient::new(channel),
        })
    }

    /// The price in satoshis of a token for the request at `path`; 0 means the request is free.
    pub async fn price(&self, path: &str, http_request_text: String) -> Result<i64, PriceError> {
        let request = GetPriceRequest {
            path: path.to_owned(),
            http_request_text,
        };
        let mut client = self.client.clone();
        let answer = tokio::time::timeout(PRICE_TIMEOUT, client.get_price(request)).await;
        let price = match answer {
            Err(_) => {
                return Err(PriceError::TimedOut {
                    address: self.address.clone(),
                })
            }
            Ok(Err(status)) => {
                return Err(PriceError::Call {
                    address: self.address.clone(),
                    status: Box::new(status),
                })
            }
            Ok(Ok(response)) => response.into_inner().price_sats,
        };
        if !(0..=MAX_PRICE_SAT).contains(&price) {
            return Err(PriceError::BadPrice {
                address: self.address.clone(),
                price,
            });
        }
        Ok(price)
    }
}

/// The request as Go's `httputil.DumpRequest(r, false)` writes a request Aperture received, then
/// `body_prefix`: `<METHOD> <path?query> HTTP/<major>.<minor>\r\n`, `Host: <host>\r\n`, then every header but
/// `Host`, `Transfer-Encoding` and `Trailer` in Go's canonical spelling (`Content-Type`), sorted by name, one
/// line per value (`Transfer-Encoding` comes right after `Host`, as Go keeps it apart), then `\r\n`.
///
/// Differences that remain: the path is the canonical one the proxy routes by (the raw request target is not
/// kept), and bytes that are not UTF-8 are replaced (a protobuf `string` must be UTF-8).
pub fn request_text<B>(request: &Request<B>, host: &str, body_prefix: &[u8]) -> String {
    let target = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let version = match request.version() {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2.0",
        http::Version::HTTP_3 => "3.0",
        _ => "1.1",
    };
    let mut text = format!("{} {target} HTTP/{version}\r\n", request.method());
    if !host.is_empty() {
        text.push_str(&format!("Host: {host}\r\n"));
    }
    let transfer_encoding = values(request.headers(), "transfer-encoding");
    if !transfer_encoding.is_empty() {
        text.push_str(&format!(
            "Transfer-Encoding: {}\r\n",
            transfer_encoding.join(",")
        ));
    }
    let mut names: Vec<&str> = request
        .headers()
        .keys()
        .map(|name| name.as_str())
        .filter(|name| !matches!(*name, "host" | "transfer-encoding" | "trailer"))
        .collect();
    names.sort_by_key(|name| canonical(name));
    names.dedup();
    for name in names {
        let canonical = canonical(name);
        for value in values(request.headers(), name) {
            // Go's Header.Write replaces line breaks in values and trims surrounding space.
            let value = value.replace(['\r', '\n'], " ");
            text.push_str(&format!("{canonical}: {}\r\n", value.trim()));
        }
    }
    text.push_str("\r\n");
    text.push_str(&String::from_utf8_lossy(body_prefix));
    text
}

fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: the first letter and each letter after a `-` upper-case, the
/// rest lower-case.
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_text_is_what_go_dumps() {
        let request = http::Request::post("/api/v1/chat?model=big")
            .header("x-model", "large")
            .header("content-type", "application/json")
            .header("accept", "a")
            .header("accept", "b")
            .header("host", "api.example")
            .body(())
            .unwrap();
        assert_eq!(
            request_text(&request, "api.example", br#"{"model":"big"}"#),
            "POST /api/v1/chat?model=big HTTP/1.1\r\nHost: api.example\r\nAccept: a\r\nAccept: b\r\n\
             Content-Type: application/json\r\nX-Model: large\r\n\r\n{\"model\":\"big\"}"
        );
    }

    #[test]
    fn http2_requests_dump_as_http_2_0_with_chunked_apart() {
        let request = http::Request::get("https://api.example/x")
            .version(http::Version::HTTP_2)
            .header("transfer-encoding", "chunked")
            .header("trailer", "x")
            .body(())
            .unwrap();
        assert_eq!(
            request_text(&request, "api.example", b""),
            "GET /x HTTP/2.0\r\nHost: api.example\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
    }
}
