//! `server` mode: testing an L402 server end to end.
//!
//! For each binding asked for (HTTP, and gRPC with `--grpc`), the kit:
//! 1. sends a request without a credential and checks the challenge ([`challenge`]);
//! 2. pays the invoice through its lnd ([`payer`]) as loopd does;
//! 3. presents the paid token in every credential form ([`credentials`]);
//! 4. buys a second token, whose preimage one of the forgeries needs;
//! 5. sends every forged and malformed credential ([`forge`]), none of which may reach the backend;
//! 6. uses the first token once more.
//!
//! The cases and their levels are in [`cases`]. A request that the server answers with a 2xx (gRPC:
//! `grpc-status: 0`) passed its paywall.

pub mod cases;
pub mod challenge;
pub mod credentials;
pub mod forge;
pub mod payer;
pub mod transport;

use std::time::SystemTime;

use l402::{Challenge, Preimage};

use crate::case::{self, CaseResult, CaseSpec, Outcome};
use crate::cli::ServerArgs;
use crate::report::Report;
use cases::BindingCases;
use forge::Material;
use payer::{Payer, PayerSetupError};
use transport::{Target, TargetError};

/// Why a run could not start, or lost the server: exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `--only` names no case or group.
    #[error("--only {0:?} names no case or group (see `l402-conformance cases`)")]
    UnknownCase(String),
    /// A target address or certificate is unusable.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The paying lnd is unusable.
    #[error(transparent)]
    Payer(#[from] PayerSetupError),
    /// The server did not answer the first request at all.
    #[error("{url}: no answer: {message}")]
    Unreachable {
        /// Where the request went.
        url: String,
        /// The transport's error.
        message: String,
    },
}

/// Runs every selected case against the server `args` describe.
pub async fn run(args: &ServerArgs) -> Result<Report, SetupError> {
    let selected = |spec: &CaseSpec| args.only.as_deref().is_none_or(|s| spec.selected_by(s));
    if !cases::all().iter().any(selected) {
        return Err(SetupError::UnknownCase(
            args.only.clone().unwrap_or_default(),
        ));
    }
    let mut bindings = vec![(
        Target::http(&args.url, args.tls_path.as_deref())?,
        &cases::HTTP,
    )];
    if let (Some(address), Some(method)) = (&args.grpc, &args.grpc_method) {
        bindings.push((
            Target::grpc(address, method, args.tls_path.as_deref())?,
            &cases::GRPC,
        ));
    }
    let payer = Payer::connect(
        &args.lnd_host,
        args.lnd_tls_path.clone(),
        args.lnd_macaroon_path.clone(),
    )
    .await?;
    let run = Run {
        payer,
        max_price_msat: args.max_price_sat.saturating_mul(1000),
    };
    let mut results = Vec::new();
    for (target, binding_cases) in bindings {
        if binding_cases.all().iter().any(selected) {
            results.extend(run.binding(&target, binding_cases).await?);
        }
    }
    results.retain(|r| args.only.as_deref().is_none_or(|s| case::selects(s, r.id)));
    let target = match &args.grpc {
        Some(grpc) => format!("{} and gRPC {grpc}", args.url),
        None => args.url.clone(),
    };
    Ok(Report::new(target, results))
}

/// What every binding's run shares.
struct Run {
    payer: Payer,
    max_price_msat: u64,
}

impl Run {
    /// Every case of one binding, in table order.
    async fn binding(
        &self,
        target: &Target,
        cases: &BindingCases,
    ) -> Result<Vec<CaseResult>, SetupError> {
        let mut results = Vec::new();
        let mut record =
            |spec: CaseSpec, outcome: Outcome| results.push(CaseResult::new(&spec, outcome));
        let (checked, challenge) = self.challenge(target, cases).await?;
        for (spec, outcome) in checked {
            record(spec, outcome);
        }
        let paid = match challenge {
            Ok(challenge) => {
                let paid = self.buy(&challenge).await;
                record(
                    cases.challenge.invoice_paid,
                    match &paid {
                        Ok(_) => Outcome::pass(format!(
                            "paid {} msat",
                            challenge.amount_msat().unwrap_or(0)
                        )),
                        Err(reason) => Outcome::fail(reason.clone()),
                    },
                );
                paid.map(|preimage| challenge.into_credential(preimage))
            }
            Err(reason) => {
                record(cases.challenge.invoice_paid, Outcome::skip(reason.clone()));
                Err(reason)
            }
        };
        let paid = match paid {
            Ok(paid) => paid,
            Err(reason) => {
                let skipped = format!("no paid token: {reason}");
                let paid_cases = cases.paid.iter().map(|(spec, _)| *spec);
                let reject_cases = cases.reject.iter().map(|(spec, _)| *spec);
                for spec in paid_cases.chain([cases.reuse]).chain(reject_cases) {
                    record(spec, Outcome::skip(skipped.clone()));
                }
                return Ok(results);
            }
        };
        for (spec, form) in cases.paid {
            let outcome = match credentials::present(*form, &paid) {
                Ok(headers) => admitted(target, &headers).await,
                Err(reason) => Outcome::skip(reason),
            };
            record(*spec, outcome);
        }
        let other = self.second_preimage(target, cases).await;
        let material = Material {
            paid: &paid,
            other_preimage: other.as_ref().ok(),
            now_unix_secs: crate::now_unix_secs(),
        };
        for (spec, forgery) in cases.reject {
            let outcome = match forge::forge(*forgery, &material, target.binding()) {
                Ok(headers) => refused(target, &headers, *forgery).await,
                Err(reason) => Outcome::skip(match (&other, forgery) {
                    (Err(why), forge::Forgery::OtherInvoicePreimage) => format!("{reason}: {why}"),
                    _ => reason,
                }),
            };
            record(*spec, outcome);
        }
        record(
            cases.reuse,
            match credentials::present(cases.main_form(), &paid) {
                Ok(headers) => admitted(target, &headers).await,
                Err(reason) => Outcome::skip(reason),
            },
        );
        Ok(results)
    }

    /// The first request's challenge cases, and the challenge (or why there is none to pay).
    async fn challenge(
        &self,
        target: &Target,
        cases: &BindingCases,
    ) -> Result<(Vec<(CaseSpec, Outcome)>, Result<Challenge, String>), SetupError> {
        let first = target
            .send(&[])
            .await
            .map_err(|e| SetupError::Unreachable {
                url: target.url().to_owned(),
                message: error_chain(&e),
            })?;
        let (checked, challenge) = challenge::check(
            &first,
            &cases.challenge,
            self.payer.network(),
            SystemTime::now(),
        );
        let challenge = challenge.ok_or_else(|| "no challenge parsed".to_owned());
        Ok((checked, challenge))
    }

    /// Pays `challenge` if it is consistent, for the payer's network and not dearer than the limit.
    async fn buy(&self, challenge: &Challenge) -> Result<Preimage, String> {
        if !challenge.is_consistent() {
            return Err("the invoice's payment hash is not the macaroon's: not paid".into());
        }
        if !self
            .payer
            .network()
            .accepts(&challenge.invoice().currency())
        {
            return Err("the invoice is for another network: not paid".into());
        }
        match challenge.amount_msat() {
            Some(msat) if msat > self.max_price_msat => Err(format!(
                "the invoice asks {msat} msat, more than --max-price-sat: not paid"
            )),
            _ => self.payer.pay(challenge).await,
        }
    }

    /// The preimage of a second token bought from the same server.
    async fn second_preimage(
        &self,
        target: &Target,
        cases: &BindingCases,
    ) -> Result<Preimage, String> {
        let (_, challenge) = self
            .challenge(target, cases)
            .await
            .map_err(|e| e.to_string())?;
        self.buy(&challenge?).await
    }
}

/// Pass when the request reaches the backend.
async fn admitted(target: &Target, headers: &[(http::HeaderName, http::HeaderValue)]) -> Outcome {
    match target.send(headers).await {
        Ok(observed) => Outcome::check(observed.admitted(), observed.summary()),
        Err(e) => Outcome::fail(format!("no answer: {}", error_chain(&e))),
    }
}

/// Pass when the request does not reach the backend. For the oversized header, a transport that refuses
/// to carry it (a reset stream, a closed connection) is a refusal too.
async fn refused(
    target: &Target,
    headers: &[(http::HeaderName, http::HeaderValue)],
    forgery: forge::Forgery,
) -> Outcome {
    match target.send(headers).await {
        Ok(observed) => Outcome::check(
            !observed.admitted(),
            if observed.admitted() {
                format!("{}: reached the backend", observed.summary())
            } else {
                format!("{}: refused", observed.summary())
            },
        ),
        Err(e) if forgery == forge::Forgery::OversizedHeader => {
            Outcome::pass(format!("refused by the transport: {}", error_chain(&e)))
        }
        Err(e) => Outcome::fail(format!("no answer: {}", error_chain(&e))),
    }
}

/// An error with its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
