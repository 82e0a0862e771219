//! What crossed the wire, as the page shows it when a row is opened: titled sections of named values,
//! the secret ones marked and never carried (a preimage is "present, pays the payment hash", not its
//! bytes). Tokens, challenges and token files are explained by `l402 decode`'s own reports.

use l402_cli::decode::Report;
use serde::Serialize;
use serde_json::Value;

/// One named value.
#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    /// What it is.
    pub name: String,
    /// Its value; for a secret, what can be said about it without showing it.
    pub value: String,
    /// Whether it is a secret (the page marks it).
    pub secret: bool,
}

/// A titled group of facts.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// Its title.
    pub title: String,
    /// Its facts, in order.
    pub facts: Vec<Fact>,
}

impl Section {
    /// An empty section.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            facts: Vec::new(),
        }
    }

    /// Adds a public fact.
    pub fn fact(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.facts.push(Fact {
            name: name.into(),
            value: value.to_string(),
            secret: false,
        });
        self
    }

    /// Adds a secret: `about` says what it is, never its value.
    pub fn secret(mut self, name: impl Into<String>, about: impl Into<String>) -> Self {
        self.facts.push(Fact {
            name: name.into(),
            value: about.into(),
            secret: true,
        });
        self
    }

    /// The section with `report`'s facts added: identifier, caveats and their meaning, the preimage's
    /// presence, the invoice and the token file's bookkeeping.
    pub fn report(mut self, report: &Report) -> Self {
        self = self
            .fact("kind", report.kind.label())
            .fact("location", report.location.as_deref().unwrap_or("(none)"))
            .fact("token id", &report.token_id)
            .fact("payment hash", &report.payment_hash);
        for caveat in &report.caveats {
            self = self.fact(format!("caveat {}", caveat.caveat), &caveat.meaning);
        }
        if let Some(preimage) = &report.preimage {
            let verdict = if preimage.matches_payment_hash {
                "present; sha256(preimage) = payment hash"
            } else {
                "present; does NOT pay the payment hash"
            };
            self = self.secret(
                format!("preimage ({})", preimage.source),
                format!("{verdict} (secret, not shown)"),
            );
        }
        if let Some(invoice) = &report.invoice {
            self = self
                .fact("invoice network", &invoice.network)
                .fact(
                    "invoice amount",
                    invoice
                        .amount_msat
                        .map_or_else(|| "any".to_owned(), |msat| format!("{msat} msat")),
                )
                .fact("invoice payment hash", &invoice.payment_hash)
                .fact(
                    "invoice pays the macaroon's hash",
                    invoice.matches_identifier,
                )
                .fact("invoice created", &invoice.created)
                .fact("invoice expires", &invoice.expires)
                .fact("invoice payee", &invoice.payee);
        }
        if let Some(file) = &report.token_file {
            self = self
                .fact("pending", file.pending)
                .fact("amount paid", format!("{} msat", file.amount_paid_msat))
                .fact(
                    "routing fee paid",
                    format!("{} msat", file.routing_fee_paid_msat),
                )
                .fact("created", &file.created);
        }
        self
    }
}

/// The detail of a row: its sections, as the page reads them.
pub fn of(sections: impl IntoIterator<Item = Section>) -> Value {
    serde_json::json!({ "sections": sections.into_iter().collect::<Vec<_>>() })
}

/// A section for an input `l402 decode` could not read (the reason, never the input).
pub fn unreadable(title: &str, error: impl std::fmt::Display) -> Section {
    Section::new(title).fact("could not decode", error)
}

/// The proxy's checks of a credential, in the order the verifier makes them (location and
/// `sha256(preimage) == payment_hash` need no key; then the root key, the signature, the caveats),
/// from the reason it refused (`None`: accepted).
pub fn checks(refused: Option<&str>) -> Section {
    const CHECKS: [&str; 4] = [
        "sha256(preimage) = payment hash",
        "root key (minted here, not revoked)",
        "signature (HMAC chain)",
        "caveats (services, valid_until, capabilities)",
    ];
    let failed_at = match refused {
        None => CHECKS.len(),
        Some("malformed" | "wrong_location" | "preimage_mismatch") => 0,
        Some("unknown_root_key" | "revoked") => 1,
        Some("bad_signature") => 2,
        Some(_) => 3,
    };
    let mut section = Section::new("the proxy's verification");
    for (i, check) in CHECKS.iter().enumerate() {
        let verdict = match i.cmp(&failed_at) {
            std::cmp::Ordering::Less => "passed".to_owned(),
            std::cmp::Ordering::Equal => format!("FAILED: {}", refused.unwrap_or("")),
            std::cmp::Ordering::Greater => "not reached".to_owned(),
        };
        section = section.fact(*check, verdict);
    }
    section
}
