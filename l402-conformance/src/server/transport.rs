//! Sending one request to the server under test, over HTTP or gRPC, and what came back.
//!
//! A gRPC request is a `POST` of one empty, uncompressed message (`00 00000000`) to the method's path
//! with `content-type: application/grpc`: every proto3 request message accepts it. "Reached the
//! backend" means an HTTP 2xx, or for gRPC HTTP 200 with `grpc-status: 0`.

use std::path::Path;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Limited};

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The most of a response body the kit reads (it only needs the gRPC trailers after it).
const MAX_BODY: usize = 1 << 20;
/// One empty gRPC message: not compressed, length 0.
const EMPTY_GRPC_MESSAGE: &[u8] = &[0, 0, 0, 0, 0];

/// The two bindings of L402.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// HTTP/1.1 or HTTP/2: `402` and `Authorization`.
    Http,
    /// gRPC: HTTP 200 with `grpc-status`, and metadata.
    Grpc,
}

/// Why a target cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The server certificate file cannot be read or holds no certificate.
    #[error("server certificate {path}: {message}")]
    Certificate {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// The address is not usable.
    #[error("invalid address {0:?}: {1}")]
    Address(String, String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// One endpoint of the server under test.
#[derive(Debug, Clone)]
pub struct Target {
    binding: Binding,
    url: reqwest::Url,
    client: reqwest::Client,
}

/// What one request got back.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The binding the request used.
    pub binding: Binding,
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The trailers, if any (gRPC's status of a response with a body).
    pub trailers: HeaderMap,
}

impl Target {
    /// The HTTP endpoint `url`, trusting `tls_path` (pinned) or the WebPKI roots for `https`.
    pub fn http(url: &str, tls_path: Option<&Path>) -> Result<Self, TargetError> {
        let url = parse_url(url)?;
        let client = client_builder(tls_path, &[b"h2", b"http/1.1"])?.build()?;
        Ok(Self {
            binding: Binding::Http,
            url,
            client,
        })
    }

    /// The gRPC endpoint `host:port` (TLS) or `http://host:port` (h2c), calling `method`.
    pub fn grpc(address: &str, method: &str, tls_path: Option<&Path>) -> Result<Self, TargetError> {
        if !method.starts_with('/') || method[1..].split('/').count() != 2 {
            return Err(TargetError::Address(
                method.to_owned(),
                "a gRPC method is /package.Service/Method".into(),
            ));
        }
        let base = if address.contains("://") {
            address.to_owned()
        } else {
            format!("https://{address}")
        };
        let url = parse_url(&format!("{}{method}", base.trim_end_matches('/')))?;
        let client = client_builder(tls_path, &[b"h2"])?
            .http2_prior_knowledge()
            .build()?;
        Ok(Self {
            binding: Binding::Grpc,
            url,
            client,
        })
    }

    /// The binding of this endpoint.
    pub fn binding(&self) -> Binding {
        self.binding
    }

    /// The URL requests go to.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// Sends one request carrying `credential` (header name and value pairs; none for a first request).
    pub async fn send(
        &self,
        credential: &[(HeaderName, HeaderValue)],
    ) -> Result<Observed, reqwest::Error> {
        let mut request = match self.binding {
            Binding::Http => self.client.get(self.url.clone()),
            Binding::Grpc => self
                .client
                .post(self.url.clone())
                .header(CONTENT_TYPE, "application/grpc")
                .header("te", "trailers")
                .body(EMPTY_GRPC_MESSAGE),
        };
        for (name, value) in credential {
            request = request.header(name, value);
        }
        let response: http::Response<reqwest::Body> = request.send().await?.into();
        let (parts, body) = response.into_parts();
        // A body larger than the limit is cut: what matters is the status, the headers and trailers.
        let trailers = match Limited::new(body, MAX_BODY).collect().await {
            Ok(collected) => collected.trailers().cloned().unwrap_or_default(),
            Err(_) => HeaderMap::new(),
        };
        Ok(Observed {
            binding: self.binding,
            status: parts.status,
            headers: parts.headers,
            trailers,
        })
    }
}

fn parse_url(url: &str) -> Result<reqwest::Url, TargetError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| TargetError::Address(url.into(), e.to_string()))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(TargetError::Address(
            url.into(),
            format!("scheme {other:?} is not http or https"),
        )),
    }
}

fn client_builder(
    tls_path: Option<&Path>,
    alpn: &[&[u8]],
) -> Result<reqwest::ClientBuilder, TargetError> {
    let builder = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none());
    let Some(path) = tls_path else {
        return Ok(builder);
    };
    let certificate = |message: String| TargetError::Certificate {
        path: path.display().to_string(),
        message,
    };
    let pem = std::fs::read(path).map_err(|e| certificate(e.to_string()))?;
    let mut config =
        lnd_client::pinned_client_config(&pem).map_err(|e| certificate(e.to_string()))?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(builder.use_preconfigured_tls(config))
}

impl Observed {
    /// Whether the request passed the paywall: HTTP 2xx, or gRPC HTTP 200 with `grpc-status: 0`.
    pub fn admitted(&self) -> bool {
        match self.binding {
            Binding::Http => self.status.is_success(),
            Binding::Grpc => self.status == StatusCode::OK && self.grpc_status() == Some(0),
        }
    }

    /// The `grpc-status`, from the headers (trailers-only answer) or the trailers.
    pub fn grpc_status(&self) -> Option<i32> {
        self.grpc_field(&l402::grpc::GRPC_STATUS)
            .and_then(|s| s.trim().parse().ok())
    }

    /// The `grpc-message`, percent-decoded.
    pub fn grpc_message(&self) -> Option<String> {
        self.grpc_field(&l402::grpc::GRPC_MESSAGE).map(|m| {
            percent_encoding::percent_decode_str(&m)
                .decode_utf8_lossy()
                .into_owned()
        })
    }

    fn grpc_field(&self, name: &HeaderName) -> Option<String> {
        self.headers
            .get(name)
            .or_else(|| self.trailers.get(name))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Every `WWW-Authenticate` value, from the headers then the trailers.
    pub fn www_authenticate(&self) -> Vec<String> {
        [&self.headers, &self.trailers]
            .into_iter()
            .flat_map(|map| map.get_all(http::header::WWW_AUTHENTICATE))
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The answer in a few words: `HTTP 402`, or `HTTP 200, grpc-status 13 "payment required"`.
    pub fn summary(&self) -> String {
        match (self.binding, self.grpc_status()) {
            (Binding::Grpc, Some(code)) => format!(
                "HTTP {}, grpc-status {code} {:?}",
                self.status.as_u16(),
                self.grpc_message().unwrap_or_default()
            ),
            (Binding::Grpc, None) => format!("HTTP {}, no grpc-status", self.status.as_u16()),
            (Binding::Http, _) => format!("HTTP {}", self.status.as_u16()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_addresses_are_refused() {
        assert!(Target::http("ftp://x", None).is_err());
        assert!(Target::grpc("127.0.0.1:1", "NoSlash", None).is_err());
        assert!(Target::grpc("127.0.0.1:1", "/pkg.Svc/Method", None).is_ok());
        assert!(Target::http("http://127.0.0.1:1/x", Some(Path::new("/nonexistent"))).is_err());
    }
}
