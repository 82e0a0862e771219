//! The challenge cases: what an unauthenticated request got back, checked clause by clause.
//!
//! The challenge is parsed with the `l402` crate (the reader our proxy and clients use), whose errors
//! say which clause a broken challenge breaks. Two forms are recognised by pattern, as the programs that
//! read them do: the one Loop's and Aperture's Go clients match, and the specification's `version`/`token`.

use std::sync::LazyLock;
use std::time::SystemTime;

use l402::{Challenge, ChallengeError, Macaroon, MacaroonError, Network};
use regex::Regex;

use crate::case::{CaseSpec, Outcome};
use crate::server::cases::ChallengeCases;
use crate::server::transport::{Binding, Observed};

/// The pattern of Aperture's `l402` client interceptor (and so Loop's).
static GO_CLIENT_FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(LSAT|L402) macaroon="(.*?)", invoice="(.*?)""#).expect("a valid pattern")
});
/// The specification's parameters: `version="0"` and `token=`.
static SPEC_VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\bversion="?0"?"#).expect("a valid pattern"));
static SPEC_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\btoken=").expect("a valid pattern"));

/// The outcomes of the challenge cases (without `invoice-paid`, which needs the payer), and the
/// challenge if one parsed.
pub fn check(
    observed: &Observed,
    cases: &ChallengeCases,
    network: Network,
    now: SystemTime,
) -> (Vec<(CaseSpec, Outcome)>, Option<Challenge>) {
    let mut out = status_cases(observed, cases);
    let values = observed.www_authenticate();
    let parsed = Challenge::from_header_values(values.iter().map(String::as_str));
    let seen = format!("{} value(s) {}", values.len(), shorten(&values.join(" | ")));
    out.push((
        cases.www_authenticate,
        match &parsed {
            Ok(_) => Outcome::pass(seen.clone()),
            Err(e) => Outcome::fail(format!("{e}; {seen}")),
        },
    ));
    let go_form = values.iter().any(|v| {
        GO_CLIENT_FORM.captures(v).is_some_and(|c| {
            Macaroon::from_base64(&c[2]).is_ok_and(|m| Challenge::new(m, &c[3]).is_ok())
        })
    });
    out.push((cases.go_client_form, Outcome::check(go_form, seen.clone())));
    let spec_form = values
        .iter()
        .any(|v| SPEC_VERSION.is_match(v) && SPEC_TOKEN.is_match(v) && Challenge::parse(v).is_ok());
    out.push((cases.spec_form, Outcome::check(spec_form, seen)));
    match parsed {
        Ok(challenge) => {
            out.extend(valid_challenge_cases(&challenge, cases, network, now));
            (out, Some(challenge))
        }
        Err(error) => {
            out.extend(broken_challenge_cases(&error, cases));
            (out, None)
        }
    }
}

/// The binding's status cases.
fn status_cases(observed: &Observed, cases: &ChallengeCases) -> Vec<(CaseSpec, Outcome)> {
    let seen = observed.summary();
    match observed.binding {
        Binding::Http => vec![(
            cases.status,
            Outcome::check(observed.status == http::StatusCode::PAYMENT_REQUIRED, seen),
        )],
        Binding::Grpc => {
            let mut out = vec![(
                cases.status,
                Outcome::check(observed.status == http::StatusCode::OK, seen.clone()),
            )];
            out.extend(cases.grpc_status.map(|spec| {
                (
                    spec,
                    Outcome::check(observed.grpc_status() == Some(13), seen.clone()),
                )
            }));
            let message = observed.grpc_message().unwrap_or_default();
            out.extend(cases.grpc_message.map(|spec| {
                (
                    spec,
                    Outcome::check(
                        message
                            .to_ascii_lowercase()
                            .contains(l402::http::PAYMENT_REQUIRED_MESSAGE),
                        format!("grpc-message {message:?}"),
                    ),
                )
            }));
            out
        }
    }
}

fn valid_challenge_cases(
    challenge: &Challenge,
    cases: &ChallengeCases,
    network: Network,
    now: SystemTime,
) -> Vec<(CaseSpec, Outcome)> {
    let macaroon = challenge.macaroon();
    let invoice = challenge.invoice();
    let invoice_network = Network::of_currency(&invoice.currency());
    let amount = challenge.amount_msat();
    let expires = invoice.timestamp() + invoice.expiry_time();
    vec![
        (
            cases.macaroon_v2,
            Outcome::pass(format!(
                "{} bytes, {} caveat(s)",
                macaroon.as_bytes().len(),
                macaroon.caveat_count()
            )),
        ),
        (
            cases.identifier_v0,
            Outcome::pass(format!("token id {}", macaroon.token_id())),
        ),
        (
            cases.payment_hash,
            Outcome::check(
                challenge.is_consistent(),
                format!(
                    "identifier {}, invoice {}",
                    macaroon.payment_hash(),
                    challenge.payment_hash()
                ),
            ),
        ),
        (
            cases.invoice_signed,
            Outcome::pass(format!("payee {}", invoice.recover_payee_pub_key())),
        ),
        (
            cases.invoice_network,
            Outcome::check(
                network.accepts(&invoice.currency()),
                format!("invoice for {invoice_network}, payer on {network}"),
            ),
        ),
        (
            cases.invoice_amount,
            Outcome::check(
                amount.is_some_and(|a| a > 0),
                match amount {
                    Some(msat) => format!("{msat} msat"),
                    None => "no amount".to_owned(),
                },
            ),
        ),
        (
            cases.invoice_expiry,
            Outcome::check(
                expires > now,
                format!("expiry {} s", invoice.expiry_time().as_secs()),
            ),
        ),
    ]
}

/// Which clause a challenge that does not parse breaks; the cases after it are skipped.
fn broken_challenge_cases(
    error: &ChallengeError,
    cases: &ChallengeCases,
) -> Vec<(CaseSpec, Outcome)> {
    let failed = match error {
        ChallengeError::Macaroon(MacaroonError::Identifier(_)) => Some(cases.identifier_v0),
        ChallengeError::Macaroon(_) => Some(cases.macaroon_v2),
        ChallengeError::Invoice(_) => Some(cases.invoice_signed),
        _ => None,
    };
    [
        cases.macaroon_v2,
        cases.identifier_v0,
        cases.payment_hash,
        cases.invoice_signed,
        cases.invoice_network,
        cases.invoice_amount,
        cases.invoice_expiry,
    ]
    .into_iter()
    .map(|spec| {
        let outcome = if Some(spec) == failed {
            Outcome::fail(error.to_string())
        } else {
            Outcome::skip("no challenge parsed")
        };
        (spec, outcome)
    })
    .collect()
}

/// At most 240 characters of `text`, for a table cell.
fn shorten(text: &str) -> String {
    const MAX: usize = 240;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
