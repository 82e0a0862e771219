//! What an input is — a macaroon (base64 or hex), an `Authorization` value, a `WWW-Authenticate` value or a
//! Loop token file — and what it says, as one [`Report`]. Only `l402`'s own parsers are used: the inspector
//! reads exactly what the proxy and the client read.
//!
//! Secrets are reported, never printed: a preimage is "present" and "matches the payment hash" or not.

use std::time::UNIX_EPOCH;

use chrono::{DateTime, Local};
use l402::{Caveat, Challenge, Credential, Macaroon, Network, PaymentHash, Preimage, Token};
use serde::Serialize;

/// What the input turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A bare macaroon.
    Macaroon,
    /// `L402|LSAT <macaroon>:<preimage>`.
    Authorization,
    /// `L402|LSAT macaroon="…", invoice="…"` (or the spec's `token="…"` form).
    Challenge,
    /// Loop's `l402.token` / `l402.token.pending` file.
    TokenFile,
}

impl Kind {
    /// The kind in words, as the text report heads it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Macaroon => "macaroon",
            Kind::Authorization => "Authorization value (a credential)",
            Kind::Challenge => "WWW-Authenticate value (a challenge)",
            Kind::TokenFile => "Loop token file",
        }
    }
}

/// Everything the inspector says about one input.
#[derive(Debug, Serialize)]
pub struct Report {
    /// What the input was.
    pub kind: Kind,
    /// The macaroon's location (Aperture writes `lsat`).
    pub location: Option<String>,
    /// The identifier's version (always 0: nothing else decodes).
    pub version: u16,
    /// The payment hash the identifier binds the macaroon to.
    pub payment_hash: String,
    /// The token id.
    pub token_id: String,
    /// Every caveat, with its meaning.
    pub caveats: Vec<CaveatReport>,
    /// Whether a preimage came with the input, and whether it pays the payment hash.
    pub preimage: Option<PreimageReport>,
    /// The challenge's invoice, decoded (with `--invoice`).
    pub invoice: Option<InvoiceReport>,
    /// What Loop's token file records beside the macaroon.
    pub token_file: Option<TokenFileReport>,
}

/// One caveat and what it means.
#[derive(Debug, Serialize)]
pub struct CaveatReport {
    /// The caveat as it stands in the macaroon (a preimage's value is hidden).
    pub caveat: String,
    /// What a verifier makes of it.
    pub meaning: String,
}

/// A preimage found in the input.
#[derive(Debug, Serialize)]
pub struct PreimageReport {
    /// Where it was: after the `:` of an `Authorization` value, in a `preimage=` caveat, or in a token file.
    pub source: &'static str,
    /// Whether SHA-256 of the preimage is the identifier's payment hash.
    pub matches_payment_hash: bool,
}

/// A BOLT11 invoice, decoded.
#[derive(Debug, Serialize)]
pub struct InvoiceReport {
    /// The network its prefix names.
    pub network: String,
    /// Amount, in millisatoshis (`None`: any amount).
    pub amount_msat: Option<u64>,
    /// Its payment hash, which must be the identifier's.
    pub payment_hash: String,
    /// Whether it is the identifier's payment hash.
    pub matches_identifier: bool,
    /// When it was created, local time.
    pub created: String,
    /// When it stops being payable, local time.
    pub expires: String,
    /// The payee's node key.
    pub payee: String,
}

/// Loop's bookkeeping in a token file.
#[derive(Debug, Serialize)]
pub struct TokenFileReport {
    /// `true` while the payment has no known outcome (the `.pending` file).
    pub pending: bool,
    /// Amount paid, in millisatoshis.
    pub amount_paid_msat: u64,
    /// Routing fee paid, in millisatoshis.
    pub routing_fee_paid_msat: u64,
    /// When the challenge was received, local time.
    pub created: String,
}

/// Why an input could not be read.
#[derive(Debug)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads `text` (a header value, with or without its `Name:`; or a macaroon in base64 or hex).
pub fn decode_text(text: &str, with_invoice: bool) -> Result<Report, DecodeError> {
    let value = strip_header_name(text.trim());
    let scheme = value.split_whitespace().next().unwrap_or("");
    let has_scheme = scheme.eq_ignore_ascii_case("L402") || scheme.eq_ignore_ascii_case("LSAT");
    if has_scheme && (value.contains("macaroon=") || value.contains("token=")) {
        let challenge =
            Challenge::parse(value).map_err(|e| DecodeError(format!("challenge: {e}")))?;
        let mut report = report_of(Kind::Challenge, challenge.macaroon(), None);
        if with_invoice {
            report.invoice = Some(invoice_report(&challenge));
        }
        return Ok(report);
    }
    if with_invoice {
        return Err(DecodeError(
            "--invoice needs a challenge (WWW-Authenticate), which carries one".into(),
        ));
    }
    if has_scheme {
        let credential = Credential::from_authorization(value)
            .map_err(|e| DecodeError(format!("Authorization: {e}")))?;
        let preimage = (credential.preimage(), "authorization");
        return Ok(report_of(
            Kind::Authorization,
            credential.macaroon(),
            Some(preimage),
        ));
    }
    let macaroon = Macaroon::from_hex(value)
        .or_else(|_| Macaroon::from_base64(value))
        .map_err(|e| {
            DecodeError(format!(
                "not a macaroon (hex or base64), an Authorization or a WWW-Authenticate value: {e}"
            ))
        })?;
    Ok(report_of(Kind::Macaroon, &macaroon, None))
}

/// Reads a Loop token file's bytes.
pub fn decode_token_file(bytes: &[u8]) -> Result<Report, DecodeError> {
    let token = Token::decode(bytes).map_err(|e| DecodeError(format!("token file: {e}")))?;
    let preimage = token.preimage.as_ref().map(|p| (p, "token_file"));
    let mut report = report_of(Kind::TokenFile, &token.macaroon, preimage);
    report.token_file = Some(TokenFileReport {
        pending: token.is_pending(),
        amount_paid_msat: token.amount_paid_msat,
        routing_fee_paid_msat: token.routing_fee_paid_msat,
        created: local_time(DateTime::<Local>::from(token.created)),
    });
    Ok(report)
}

/// `Authorization: …` or `WWW-Authenticate: …` as copied from a request dump: the value only.
fn strip_header_name(text: &str) -> &str {
    for name in ["authorization:", "www-authenticate:"] {
        if text.len() >= name.len() && text[..name.len()].eq_ignore_ascii_case(name) {
            return text[name.len()..].trim();
        }
    }
    text
}

fn report_of(
    kind: Kind,
    macaroon: &Macaroon,
    preimage: Option<(&Preimage, &'static str)>,
) -> Report {
    let payment_hash = macaroon.payment_hash();
    let mut preimage = preimage.map(|(p, source)| preimage_report(p, source, &payment_hash));
    let caveats = macaroon
        .raw_caveats()
        .map(|raw| match Caveat::from_bytes(raw) {
            Ok(Caveat::Preimage(p)) => {
                preimage.get_or_insert(preimage_report(&p, "preimage_caveat", &payment_hash));
                CaveatReport {
                    caveat: "preimage=<hidden>".into(),
                    meaning: "the payment's preimage, as Loop adds it to the gRPC `macaroon` form"
                        .into(),
                }
            }
            Ok(caveat) => CaveatReport {
                caveat: String::from_utf8_lossy(raw).into_owned(),
                meaning: meaning(&caveat),
            },
            Err(e) => CaveatReport {
                caveat: String::from_utf8_lossy(raw).into_owned(),
                meaning: format!("malformed: {e} (a verifier refuses the token)"),
            },
        })
        .collect();
    Report {
        kind,
        location: macaroon.location().map(str::to_owned),
        version: 0,
        payment_hash: payment_hash.to_hex(),
        token_id: macaroon.token_id().to_hex(),
        caveats,
        preimage,
        invoice: None,
        token_file: None,
    }
}

fn preimage_report(
    preimage: &Preimage,
    source: &'static str,
    hash: &PaymentHash,
) -> PreimageReport {
    PreimageReport {
        source,
        matches_payment_hash: preimage.matches(hash),
    }
}

fn meaning(caveat: &Caveat) -> String {
    match caveat {
        Caveat::Services(services) => {
            let list: Vec<String> = services
                .iter()
                .map(|s| format!("{} (tier {})", s.name(), s.tier()))
                .collect();
            format!("valid only for the services {}", list.join(", "))
        }
        Caveat::Capabilities {
            service,
            capabilities,
        } if capabilities.is_empty() => {
            format!("grants no capability of {service}")
        }
        Caveat::Capabilities {
            service,
            capabilities,
        } => {
            format!(
                "grants only these capabilities of {service}: {}",
                capabilities.join(", ")
            )
        }
        Caveat::ValidUntil { service, unix_secs } => {
            let expiry = DateTime::from_timestamp(*unix_secs, 0).map_or_else(
                || "an unrepresentable time".into(),
                |t| local_time(t.with_timezone(&Local)),
            );
            let state = if *unix_secs <= chrono::Utc::now().timestamp() {
                "expired"
            } else {
                "not expired yet"
            };
            format!("valid for {service} until {expiry} ({state})")
        }
        Caveat::Preimage(_) => "the payment's preimage".into(),
        Caveat::Other { condition, value } => {
            format!("a constraint `{condition}` = `{value}`, checked by the service (L402 itself does not know it)")
        }
    }
}

fn invoice_report(challenge: &Challenge) -> InvoiceReport {
    let invoice = challenge.invoice();
    let created = UNIX_EPOCH + invoice.duration_since_epoch();
    let expires = created + invoice.expiry_time();
    InvoiceReport {
        network: Network::of_currency(&invoice.currency()).to_string(),
        amount_msat: invoice.amount_milli_satoshis(),
        payment_hash: challenge.payment_hash().to_hex(),
        matches_identifier: challenge.is_consistent(),
        created: local_time(DateTime::<Local>::from(created)),
        expires: local_time(DateTime::<Local>::from(expires)),
        payee: invoice.recover_payee_pub_key().to_string(),
    }
}

fn local_time(time: DateTime<Local>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use l402::{AuthScheme, Identifier, RootKey, Service, TokenId};

    /// A signed testnet invoice for 500 sat (also used by l402's property tests).
    const INVOICE: &str = "lntb5u1p0pskpmpp5jzw9xvdast2g5lm5tswq6n64t2epe3f4xav43dyd239qr8h3yllqdqqcqzpgsp5m8sfjqgugthk66q3tr4gsqr5rh740jrq9x4l0kvj5e77nmwqvpnq9qy9qsq72afzu7sfuppzqg3q2pn49hlh66rv7w60h2ruahx857g94s066yzxcjn4yccqc79779sd232v9ewluvu0tmusvht6r99rld8xsk287cpyac79r";

    fn macaroon(payment_hash: PaymentHash) -> Macaroon {
        let caveats = [
            Caveat::services([Service::new("loop", 0).unwrap()]).unwrap(),
            Caveat::capabilities("loop", ["loop_out"]).unwrap(),
            Caveat::valid_until("loop", 1_000_000_000).unwrap(),
        ];
        let identifier = Identifier::new(payment_hash, TokenId::random());
        l402::mint(&RootKey::random(), &identifier, &caveats).unwrap()
    }

    #[test]
    fn an_authorization_value_is_explained_without_printing_its_preimage() {
        let preimage = Preimage::from_slice(&[7; 32]).unwrap();
        let credential = Credential::new(macaroon(preimage.hash()), preimage.clone());
        let header = format!("Authorization: {}", credential.to_authorization());
        let report = decode_text(&header, false).unwrap();
        assert_eq!(report.kind, Kind::Authorization);
        assert_eq!(report.payment_hash, preimage.hash().to_hex());
        assert!(report.preimage.as_ref().unwrap().matches_payment_hash);
        let meanings: Vec<&str> = report.caveats.iter().map(|c| c.meaning.as_str()).collect();
        assert_eq!(meanings[0], "valid only for the services loop (tier 0)");
        assert_eq!(
            meanings[1],
            "grants only these capabilities of loop: loop_out"
        );
        assert!(
            meanings[2].starts_with("valid for loop until 2001-09-"),
            "{}",
            meanings[2]
        );
        assert!(meanings[2].ends_with("(expired)"), "{}", meanings[2]);
        let json = serde_json::to_string(&report).unwrap();
        assert!(
            !json.contains(&preimage.to_hex()),
            "the preimage is a secret: {json}"
        );
        assert!(!crate::render::text(&report).contains(&preimage.to_hex()));
    }

    #[test]
    fn a_preimage_that_does_not_pay_the_hash_is_called_out() {
        let paid = Preimage::from_slice(&[7; 32]).unwrap();
        let other = Preimage::from_slice(&[8; 32]).unwrap();
        let credential = Credential::new(macaroon(paid.hash()), other);
        let report =
            decode_text(&credential.to_authorization_with(AuthScheme::Lsat), false).unwrap();
        assert!(!report.preimage.as_ref().unwrap().matches_payment_hash);
        assert!(crate::render::text(&report).contains("DOES NOT pay the payment hash"));
    }

    #[test]
    fn a_challenge_and_its_invoice_are_decoded() {
        let invoice: lightning_invoice::Bolt11Invoice = INVOICE.parse().unwrap();
        let hash = PaymentHash::from_slice(invoice.payment_hash().as_ref()).unwrap();
        let challenge = Challenge::new(macaroon(hash), INVOICE).unwrap();
        let value = format!(
            "WWW-Authenticate: {}",
            challenge.header_value(AuthScheme::L402)
        );
        let report = decode_text(&value, true).unwrap();
        assert_eq!(report.kind, Kind::Challenge);
        assert!(report.preimage.is_none(), "a challenge carries no preimage");
        let invoice = report.invoice.unwrap();
        assert_eq!(invoice.network, "testnet");
        assert_eq!(invoice.amount_msat, Some(500_000));
        assert!(invoice.matches_identifier);
        // --invoice on something that has no invoice is a usage error, not an empty answer.
        assert!(decode_text(&challenge.macaroon().to_hex(), true).is_err());
    }

    #[test]
    fn macaroons_in_hex_and_base64_and_token_files_are_read() {
        let macaroon = macaroon(Preimage::from_slice(&[9; 32]).unwrap().hash());
        for text in [macaroon.to_hex(), macaroon.to_base64()] {
            let report = decode_text(&text, false).unwrap();
            assert_eq!(report.kind, Kind::Macaroon);
            assert_eq!(report.token_id, macaroon.token_id().to_hex());
        }
        let token = Token::pending(
            macaroon.clone(),
            macaroon.payment_hash(),
            std::time::SystemTime::now(),
        );
        let report = decode_token_file(&token.encode()).unwrap();
        assert_eq!(report.kind, Kind::TokenFile);
        assert!(report.token_file.unwrap().pending);
        assert!(report.preimage.is_none());
        assert!(decode_text("not a token", false).is_err());
        assert!(decode_token_file(b"half a token").is_err());
    }
}
