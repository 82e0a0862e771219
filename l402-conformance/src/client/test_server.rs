//! The L402 test server of `client` mode: one listener per case, playing the case's [`Scenario`], and
//! a [`Journal`] of every request it saw.
//!
//! It speaks both bindings on every path, over HTTP/1.1 and h2c: a request whose `content-type` is
//! `application/grpc` gets gRPC's answers (HTTP 200 with `grpc-status`), any other gets HTTP's (`402`
//! with `WWW-Authenticate`, or `200 paid`). Challenges are real: an invoice from the simulated
//! network's `server` node, a macaroon from `l402` bound to its payment hash, the root key kept here.
//! Credentials are verified as a server must (preimage, root key, signature, caveats).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::StreamBody;
use hyper::body::Frame;
use l402::{
    Credential, IdentifierHash, MintRequest, PaymentHash, Preimage, RequestContext, RootKey,
    Service, TokenId,
};
use lightning_invoice::Currency;
use lnd_client::LndClient;
use proto::lnrpc::Invoice;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::client::cases::{Dialect, Scenario, Trap, OVER_PRICE_SAT, PRICE_SAT};

/// The service the test server charges for (its `services` caveat).
const SERVICE: &str = "conformance";
/// How long a minted token is valid (its `<service>_valid_until` caveat).
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// `application/grpc`: the content type that selects the gRPC binding.
const GRPC_CONTENT_TYPE: &str = "application/grpc";

/// What a request carried, as the test server judged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// No credential at all.
    Nothing,
    /// A credential that verifies: a token this server minted, paid for.
    Valid(TokenId),
    /// A credential that does not verify, and why.
    Refused(String),
}

/// One request the test server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// What it carried.
    pub presented: Presented,
    /// Whether it reached the "backend" (a 2xx, or gRPC status 0).
    pub admitted: bool,
    /// The binding it used.
    pub grpc: bool,
}

/// Every request of one case, in order.
#[derive(Debug, Default)]
pub struct Journal {
    seen: Mutex<Vec<Seen>>,
}

impl Journal {
    /// The requests so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("journal lock").clone()
    }

    fn record(&self, seen: Seen) {
        self.seen.lock().expect("journal lock").push(seen);
    }
}

/// One case's server, serving until dropped.
pub struct CaseServer {
    addr: SocketAddr,
    journal: Arc<Journal>,
    stop: CancellationToken,
}

impl CaseServer {
    /// Starts a server for `scenario` on a fresh loopback port, minting with the `server` node `lnd`.
    pub async fn start(scenario: Scenario, lnd: LndClient) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let journal = Arc::new(Journal::default());
        let state = Arc::new(Case {
            scenario,
            lnd,
            journal: journal.clone(),
            root_keys: Mutex::default(),
            revoked: Mutex::new(None),
        });
        let app = axum::Router::new().fallback(handle).with_state(state);
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            // The server ends with its case; an accept error only ends this case's listener.
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
        });
        Ok(Self {
            addr,
            journal,
            stop,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it saw.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }
}

impl Drop for CaseServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The state of one case's server.
struct Case {
    scenario: Scenario,
    lnd: LndClient,
    journal: Arc<Journal>,
    root_keys: Mutex<HashMap<IdentifierHash, RootKey>>,
    /// [`Scenario::RejectFirstToken`]: the token revoked, once one was presented.
    revoked: Mutex<Option<TokenId>>,
}

async fn handle(State(case): State<Arc<Case>>, headers: HeaderMap) -> Response {
    let grpc = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(GRPC_CONTENT_TYPE));
    let presented = case.check(&headers);
    let admitted = matches!(presented, Presented::Valid(id) if case.admits(id));
    case.journal.record(Seen {
        presented,
        admitted,
        grpc,
    });
    if admitted {
        return paid_response(grpc);
    }
    match case.challenge().await {
        Ok(values) => challenge_response(grpc, &values),
        Err(message) => unavailable_response(grpc, &message),
    }
}

impl Case {
    /// Verifies the request's credential, if it has one, as a server must.
    fn check(&self, headers: &HeaderMap) -> Presented {
        let credential = match Credential::from_headers(headers) {
            Ok(credential) => credential,
            Err(l402::CredentialError::Missing) => return Presented::Nothing,
            Err(e) => return Presented::Refused(format!("unreadable credential: {e}")),
        };
        let now = crate::now_unix_secs();
        let root_keys = self.root_keys.lock().expect("root keys lock");
        match l402::verify_with_lookup(
            &credential,
            |hash| root_keys.get(hash).cloned(),
            &RequestContext::at_unix_secs(SERVICE, now),
        ) {
            Ok(verified) => Presented::Valid(verified.token_id()),
            Err(e) => Presented::Refused(e.to_string()),
        }
    }

    /// Whether a valid token is admitted: always, except in [`Scenario::RejectFirstToken`] the first
    /// one presented, which is revoked then and refused from then on.
    fn admits(&self, token_id: TokenId) -> bool {
        if self.scenario != Scenario::RejectFirstToken {
            return true;
        }
        let mut revoked = self.revoked.lock().expect("revoked lock");
        match *revoked {
            None => {
                *revoked = Some(token_id);
                false
            }
            Some(revoked) => revoked != token_id,
        }
    }

    /// A fresh challenge in the case's dialect: the `WWW-Authenticate` values.
    async fn challenge(&self) -> Result<Vec<String>, String> {
        let price_sat = match self.scenario {
            Scenario::Trap(Trap::OverPriced) => OVER_PRICE_SAT,
            _ => PRICE_SAT,
        };
        let (invoice, invoice_hash) = match self.scenario {
            Scenario::Trap(Trap::OtherNetwork) => foreign_invoice(price_sat),
            _ => self.add_invoice(price_sat).await?,
        };
        let macaroon_hash = match self.scenario {
            Scenario::Trap(Trap::HashMismatch) => Preimage::random().hash(),
            _ => invoice_hash,
        };
        let now = crate::now_unix_secs();
        let minted = MintRequest::new(macaroon_hash)
            .service(Service::new(SERVICE, 0).map_err(|e| e.to_string())?)
            .valid_until(SERVICE, now.saturating_add(TOKEN_LIFETIME.as_secs() as i64))
            .mint()
            .map_err(|e| e.to_string())?;
        self.root_keys
            .lock()
            .expect("root keys lock")
            .insert(minted.identifier_hash, minted.root_key);
        Ok(dialect_values(
            self.dialect(),
            &minted.macaroon.to_base64(),
            &invoice,
        ))
    }

    /// The dialect of the case's challenges: Aperture's for every case that is not about dialects.
    fn dialect(&self) -> Dialect {
        match self.scenario {
            Scenario::Dialect(dialect) => dialect,
            _ => Dialect::Aperture,
        }
    }

    /// An invoice of the `server` node: the payment request and its hash.
    async fn add_invoice(&self, price_sat: u64) -> Result<(String, PaymentHash), String> {
        let invoice = self
            .lnd
            .lightning
            .clone()
            .add_invoice(Invoice {
                memo: "l402-conformance".into(),
                value: i64::try_from(price_sat).unwrap_or(i64::MAX),
                ..Default::default()
            })
            .await
            .map_err(|status| format!("the server node made no invoice: {}", status.message()))?
            .into_inner();
        let hash = PaymentHash::from_slice(&invoice.r_hash).map_err(|e| e.to_string())?;
        Ok((invoice.payment_request, hash))
    }
}

/// The `WWW-Authenticate` values of `dialect`, written out as the servers of the field write them.
fn dialect_values(dialect: Dialect, macaroon: &str, invoice: &str) -> Vec<String> {
    let go_form = |scheme: &str| format!("{scheme} macaroon=\"{macaroon}\", invoice=\"{invoice}\"");
    match dialect {
        Dialect::Aperture => vec![go_form("LSAT"), go_form("L402")],
        Dialect::L402Only => vec![go_form("L402")],
        Dialect::LsatOnly => vec![go_form("LSAT")],
        Dialect::SpecToken => vec![format!(
            "L402 version=\"0\", token=\"{macaroon}\", invoice=\"{invoice}\""
        )],
        Dialect::ExtraParams => vec![format!(
            "{}, realm=\"l402-conformance\", charset=\"UTF-8\"",
            go_form("L402")
        )],
        Dialect::Reordered => vec![format!(
            "L402 invoice=\"{invoice}\", macaroon=\"{macaroon}\""
        )],
        Dialect::LowercaseScheme => vec![go_form("l402")],
    }
}

/// A mainnet invoice signed by the kit for a random hash: nobody can pay it on regtest, and a
/// client must not try.
fn foreign_invoice(price_sat: u64) -> (String, PaymentHash) {
    let hash = Preimage::random().hash();
    let now = Duration::from_secs(service_kit::clock::now_unix());
    let invoice = crate::invoice::signed(Currency::Bitcoin, hash, now, price_sat * 1000);
    (invoice, hash)
}

/// The answer to an admitted request: `200 paid`, or one empty gRPC message with status 0.
fn paid_response(grpc: bool) -> Response {
    if !grpc {
        return text(StatusCode::OK, "paid\n");
    }
    let mut trailers = HeaderMap::new();
    trailers.insert(l402::grpc::GRPC_STATUS, HeaderValue::from_static("0"));
    let frames = [
        Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from_static(&[0, 0, 0, 0, 0]))),
        Ok(Frame::trailers(trailers)),
    ];
    let mut response = Response::new(Body::new(StreamBody::new(futures::stream::iter(frames))));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(GRPC_CONTENT_TYPE));
    response
}

/// A challenge: `402` with `values`, or gRPC's trailers-only `INTERNAL`, "payment required", with them.
fn challenge_response(grpc: bool, values: &[String]) -> Response {
    let mut response = if grpc {
        grpc_status(l402::grpc::CODE_INTERNAL, "payment required")
    } else {
        text(StatusCode::PAYMENT_REQUIRED, "payment required\n")
    };
    for value in values {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().append(WWW_AUTHENTICATE, value);
        }
    }
    response
}

/// The server node failed: `503`, or gRPC `UNAVAILABLE`.
fn unavailable_response(grpc: bool, message: &str) -> Response {
    if grpc {
        grpc_status(14, message)
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, &format!("{message}\n"))
    }
}

fn grpc_status(code: u16, message: &str) -> Response {
    l402::grpc::status_response(code, message).map(|()| Body::empty())
}

fn text(status: StatusCode, body: &str) -> Response {
    l402::http::text_response(status, body).map(Body::from)
}
