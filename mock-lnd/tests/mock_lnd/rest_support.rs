//! A REST client for the tests: lnd's REST API of a node, over its pinned `tls.cert` (or plain
//! HTTP), with a hex macaroon in `Grpc-Metadata-macaroon` as lnd's REST clients send it.

use std::path::Path;

use mock_lnd::{MockNetwork, NodeHandle};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::within;

/// A TLS network whose nodes all have a REST listener on an ephemeral port.
pub async fn rest_network(names: &[&str]) -> MockNetwork {
    let mut builder = MockNetwork::builder();
    for name in names {
        builder = builder.node(*name).rest(*name);
    }
    builder.start().await.expect("mock network starts")
}

/// lnd's REST API of one node.
pub struct Rest {
    client: reqwest::Client,
    base: String,
    macaroon: Option<String>,
}

/// An answer: HTTP status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

impl Rest {
    /// `node`'s REST API with `admin.macaroon`.
    pub fn admin(node: &NodeHandle) -> Self {
        Self::with_macaroon(node, Some(&node.admin_macaroon_path()))
    }

    /// `node`'s REST API presenting the macaroon in `path` (none: no header).
    pub fn with_macaroon(node: &NodeHandle, path: Option<&Path>) -> Self {
        let base = node.rest_url().expect("the node has a REST listener");
        let mut builder = reqwest::Client::builder();
        if base.starts_with("https://") {
            let pem = std::fs::read(node.tls_cert_path()).expect("tls.cert");
            let tls = lnd_client::pinned_client_config(&pem).expect("valid tls.cert");
            builder = builder.use_preconfigured_tls(tls);
        }
        Self {
            client: builder.build().expect("client builds"),
            base,
            macaroon: path.map(|path| hex::encode(std::fs::read(path).expect("macaroon file"))),
        }
    }

    /// A request to `path` with the macaroon header.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match &self.macaroon {
            Some(macaroon) => request.header("Grpc-Metadata-macaroon", macaroon),
            None => request,
        }
    }

    /// Sends `request` and reads its JSON answer.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = within(request.send()).await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let body = within(response.bytes()).await.expect("body read");
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
        Answer {
            status,
            headers,
            json,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.request(Method::GET, path)).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    /// `GET path`, expecting 200: its JSON.
    pub async fn get_ok(&self, path: &str) -> Value {
        let answer = self.get(path).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "GET {path}: {:?}",
            answer.json
        );
        answer.json
    }

    /// `POST path`, expecting 200: its JSON.
    pub async fn post_ok(&self, path: &str, body: &Value) -> Value {
        let answer = self.post(path, body).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "POST {path}: {:?}",
            answer.json
        );
        answer.json
    }

    /// A streaming request: its HTTP status and every newline-delimited JSON object, read as they
    /// arrive until the server ends the stream.
    pub async fn stream(&self, request: reqwest::RequestBuilder) -> (StatusCode, Vec<Value>) {
        let mut lines = self.open_stream(request).await;
        let mut all = Vec::new();
        while let Some(line) = lines.next().await {
            all.push(line);
        }
        (lines.status, all)
    }

    /// Sends a streaming request and returns once the answer's head is in.
    pub async fn open_stream(&self, request: reqwest::RequestBuilder) -> Lines {
        let response = within(request.send()).await.expect("request sent");
        Lines {
            status: response.status(),
            response,
            pending: Vec::new(),
        }
    }
}

/// A streamed answer, one JSON object per line.
pub struct Lines {
    pub status: StatusCode,
    response: reqwest::Response,
    pending: Vec<u8>,
}

impl Lines {
    /// The next object, as soon as its line is complete; `None` once the server ended the stream.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                return Some(serde_json::from_slice(&line).expect("a JSON line"));
            }
            match within(self.response.chunk()).await.expect("stream read") {
                Some(chunk) => self.pending.extend_from_slice(&chunk),
                None => {
                    assert!(
                        self.pending.is_empty(),
                        "unterminated line: {:?}",
                        self.pending
                    );
                    return None;
                }
            }
        }
    }
}

/// A field of a JSON object, which must be present.
pub fn field<'a>(json: &'a Value, name: &str) -> &'a Value {
    json.get(name)
        .unwrap_or_else(|| panic!("no field {name:?} in {json}"))
}

/// A string field.
pub fn str_field<'a>(json: &'a Value, name: &str) -> &'a str {
    field(json, name)
        .as_str()
        .unwrap_or_else(|| panic!("{name:?} is not a string in {json}"))
}

/// A 64-bit integer field, which lnd writes as a decimal string.
pub fn int64_field(json: &Value, name: &str) -> i64 {
    str_field(json, name)
        .parse()
        .unwrap_or_else(|_| panic!("{name:?} is not a decimal string in {json}"))
}

/// A bytes field, which lnd writes as standard base64.
pub fn bytes_field(json: &Value, name: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(str_field(json, name))
        .unwrap_or_else(|_| panic!("{name:?} is not standard base64 in {json}"))
}
