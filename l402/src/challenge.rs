//! The server's payment challenge: a macaroon plus the invoice that pays for it, sent in
//! `WWW-Authenticate` headers.
//!
//! Built, in [`ChallengeForm::Aperture`] (the default), as two header values, `LSAT` first (old Loop clients
//! only read the first line), then `L402`: `LSAT macaroon="<std base64>", invoice="<bolt11>"`. The spec's
//! form ([`ChallengeForm::Spec`]) is one value, `L402 version="0", token="<std base64>", invoice="<bolt11>"`;
//! [`ChallengeForm::Both`] sends Aperture's two and then the spec's. Parsed from any of:
//! * `LSAT|L402 macaroon="…", invoice="…"` (Aperture),
//! * `L402 version="0", token="…", invoice="…"` (the newer L402 spec),
//!
//! with parameters in any order, unknown parameters ignored, scheme and parameter names case-insensitive,
//! quoted or bare values, standard or URL-safe base64. One header value may hold several challenges
//! (RFC 9110 §11.6.1); challenges of other schemes are skipped. With several header values
//! ([`Challenge::from_header_values`]) the first value holding a valid L402/LSAT challenge wins, like Loop.

use std::fmt;
use std::str::FromStr;

use lightning_invoice::Bolt11Invoice;

use crate::credential::{AuthScheme, Credential};
use crate::limits::{MAX_AUTH_PARAMS, MAX_HEADER_LEN, MAX_HEADER_VALUES, MAX_INVOICE_LEN};
use crate::macaroon::{Macaroon, MacaroonError};
use crate::types::{PaymentHash, Preimage};

/// Name of the challenge header.
pub const HEADER_WWW_AUTHENTICATE: &str = "www-authenticate";

/// Error building or parsing a challenge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// No `L402`/`LSAT` challenge in the header value(s).
    #[error("no L402 or LSAT challenge found")]
    NoChallenge,
    /// A header value longer than [`MAX_HEADER_LEN`].
    #[error("header value is {0} bytes, more than the limit of {MAX_HEADER_LEN}")]
    TooLong(usize),
    /// More than [`MAX_HEADER_VALUES`] header values or [`MAX_AUTH_PARAMS`] parameters.
    #[error("too many challenge header values or parameters")]
    TooMany,
    /// The auth-param syntax is broken (e.g. an unterminated quoted string).
    #[error("malformed challenge: {0}")]
    Syntax(&'static str),
    /// A required parameter is missing (`macaroon`/`token` or `invoice`).
    #[error("challenge is missing the {0} parameter")]
    MissingParam(&'static str),
    /// A parameter appears twice with different values, or `macaroon` and `token` disagree.
    #[error("challenge has conflicting {0} parameters")]
    DuplicateParam(&'static str),
    /// `version` is present and not `0`.
    #[error("unsupported L402 version {0:?}")]
    UnsupportedVersion(String),
    /// The macaroon did not decode.
    #[error("invalid macaroon: {0}")]
    Macaroon(#[from] MacaroonError),
    /// The invoice is not a valid bolt11 invoice (or longer than [`MAX_INVOICE_LEN`]).
    #[error("invalid invoice: {0}")]
    Invoice(String),
}

/// Which `WWW-Authenticate` values a server sends.
///
/// Go clients (Loop, and Aperture's `l402` client interceptor) match `(LSAT|L402) macaroon="…", invoice="…"`
/// against each value and take the first match: they read [`Aperture`](ChallengeForm::Aperture) and
/// [`Both`](ChallengeForm::Both), not [`Spec`](ChallengeForm::Spec). [`Challenge::parse`] reads all three.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ChallengeForm {
    /// `LSAT macaroon="…", invoice="…"` then `L402 macaroon="…", invoice="…"`: Aperture's bytes.
    #[default]
    Aperture,
    /// `L402 version="0", token="…", invoice="…"`: the L402 specification's form alone.
    Spec,
    /// Aperture's two values, then the spec's.
    Both,
}

impl ChallengeForm {
    /// The configuration name: `aperture`, `spec` or `both`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChallengeForm::Aperture => "aperture",
            ChallengeForm::Spec => "spec",
            ChallengeForm::Both => "both",
        }
    }
}

impl fmt::Display for ChallengeForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not `aperture`, `spec` or `both`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown challenge form {0:?} (expected aperture, spec or both)")]
pub struct UnknownChallengeForm(pub String);

impl FromStr for ChallengeForm {
    type Err = UnknownChallengeForm;

    fn from_str(s: &str) -> Result<Self, UnknownChallengeForm> {
        match s.trim().to_ascii_lowercase().as_str() {
            "aperture" => Ok(ChallengeForm::Aperture),
            "spec" => Ok(ChallengeForm::Spec),
            "both" => Ok(ChallengeForm::Both),
            _ => Err(UnknownChallengeForm(s.to_owned())),
        }
    }
}

/// A payment challenge: the macaroon to use once the invoice is paid.
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    macaroon: Macaroon,
    invoice: Bolt11Invoice,
    invoice_str: String,
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("macaroon", &self.macaroon)
            .field("payment_hash", &self.payment_hash())
            .field("amount_msat", &self.amount_msat())
            .finish()
    }
}

fn parse_invoice(invoice: &str) -> Result<Bolt11Invoice, ChallengeError> {
    if invoice.len() > MAX_INVOICE_LEN {
        return Err(ChallengeError::Invoice(format!(
            "{} characters, more than the limit of {MAX_INVOICE_LEN}",
            invoice.len()
        )));
    }
    invoice
        .parse::<Bolt11Invoice>()
        .map_err(|e| ChallengeError::Invoice(e.to_string()))
}

impl Challenge {
    /// A challenge for this macaroon and bolt11 invoice string (the invoice is decoded and checked).
    pub fn new(macaroon: Macaroon, invoice: &str) -> Result<Self, ChallengeError> {
        let parsed = parse_invoice(invoice)?;
        Ok(Self {
            macaroon,
            invoice: parsed,
            invoice_str: invoice.to_owned(),
        })
    }

    /// A challenge for this macaroon and an already decoded invoice.
    pub fn from_invoice(macaroon: Macaroon, invoice: Bolt11Invoice) -> Self {
        let invoice_str = invoice.to_string();
        Self {
            macaroon,
            invoice,
            invoice_str,
        }
    }

    /// The macaroon (the "base macaroon" a client stores in its token).
    pub fn macaroon(&self) -> &Macaroon {
        &self.macaroon
    }

    /// The decoded invoice.
    pub fn invoice(&self) -> &Bolt11Invoice {
        &self.invoice
    }

    /// The invoice string as received (what a client passes to its lnd to pay).
    pub fn invoice_str(&self) -> &str {
        &self.invoice_str
    }

    /// The invoice's payment hash.
    pub fn payment_hash(&self) -> PaymentHash {
        let mut h = [0u8; 32];
        h.copy_from_slice(self.invoice.payment_hash().as_ref());
        PaymentHash(h)
    }

    /// The invoice amount in millisatoshis, if the invoice has one.
    pub fn amount_msat(&self) -> Option<u64> {
        self.invoice.amount_milli_satoshis()
    }

    /// Whether the invoice's payment hash is the one in the macaroon identifier. If not, paying the invoice
    /// cannot produce a valid credential: a client should refuse to pay.
    pub fn is_consistent(&self) -> bool {
        self.payment_hash() == self.macaroon.payment_hash()
    }

    /// The credential after paying the invoice and learning `preimage`.
    pub fn into_credential(self, preimage: Preimage) -> Credential {
        Credential::new(self.macaroon, preimage)
    }

    /// The value of one `WWW-Authenticate` header: `<scheme> macaroon="<base64>", invoice="<bolt11>"`.
    pub fn header_value(&self, scheme: AuthScheme) -> String {
        format!(
            "{scheme} macaroon=\"{}\", invoice=\"{}\"",
            self.macaroon.to_base64(),
            self.invoice_str
        )
    }

    /// The L402 specification's `WWW-Authenticate` value:
    /// `L402 version="0", token="<base64>", invoice="<bolt11>"`.
    pub fn spec_header_value(&self) -> String {
        format!(
            "L402 version=\"0\", token=\"{}\", invoice=\"{}\"",
            self.macaroon.to_base64(),
            self.invoice_str
        )
    }

    /// The `WWW-Authenticate` values of `form`, in the order to send them.
    pub fn header_values_in(&self, form: ChallengeForm) -> Vec<String> {
        match form {
            ChallengeForm::Aperture => self.header_values().to_vec(),
            ChallengeForm::Spec => vec![self.spec_header_value()],
            ChallengeForm::Both => {
                let [lsat, l402] = self.header_values();
                vec![lsat, l402, self.spec_header_value()]
            }
        }
    }

    /// Both `WWW-Authenticate` values, in the order to send them: `LSAT` first, then `L402`.
    pub fn header_values(&self) -> [String; 2] {
        [
            self.header_value(AuthScheme::Lsat),
            self.header_value(AuthScheme::L402),
        ]
    }

    /// Parses the first valid L402/LSAT challenge in one `WWW-Authenticate` value.
    pub fn parse(value: &str) -> Result<Self, ChallengeError> {
        if value.len() > MAX_HEADER_LEN {
            return Err(ChallengeError::TooLong(value.len()));
        }
        let mut first_err = None;
        for raw in parse_challenges(value)? {
            if raw.scheme.parse::<AuthScheme>().is_err() {
                continue;
            }
            match Self::from_params(&raw.params) {
                Ok(c) => return Ok(c),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or(ChallengeError::NoChallenge))
    }

    /// Parses several `WWW-Authenticate` values: the first one holding a valid challenge wins; if none does,
    /// the first error is returned.
    pub fn from_header_values<'a>(
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, ChallengeError> {
        let mut first_err = None;
        for (i, value) in values.into_iter().enumerate() {
            if i >= MAX_HEADER_VALUES {
                return Err(ChallengeError::TooMany);
            }
            match Self::parse(value) {
                Ok(c) => return Ok(c),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or(ChallengeError::NoChallenge))
    }

    /// Parses the challenge from response headers (HTTP headers or gRPC trailers/metadata).
    pub fn from_headers(headers: &http::HeaderMap) -> Result<Self, ChallengeError> {
        let values: Vec<&str> = headers
            .get_all(HEADER_WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Self::from_header_values(values)
    }

    fn from_params(params: &[(&str, String)]) -> Result<Self, ChallengeError> {
        let get = |name: &'static str| -> Result<Option<&str>, ChallengeError> {
            let mut found: Option<&str> = None;
            let values = params.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name));
            for (_, v) in values {
                match found {
                    Some(prev) if prev != v => return Err(ChallengeError::DuplicateParam(name)),
                    _ => found = Some(v),
                }
            }
            Ok(found)
        };
        if let Some(version) = get("version")? {
            if version != "0" {
                return Err(ChallengeError::UnsupportedVersion(version.to_owned()));
            }
        }
        let mac = match (get("macaroon")?, get("token")?) {
            (Some(m), Some(t)) if m != t => return Err(ChallengeError::DuplicateParam("macaroon")),
            (Some(m), _) | (None, Some(m)) => m,
            (None, None) => return Err(ChallengeError::MissingParam("macaroon")),
        };
        let invoice = get("invoice")?.ok_or(ChallengeError::MissingParam("invoice"))?;
        let macaroon = Macaroon::from_base64(mac)?;
        Self::new(macaroon, invoice)
    }
}

impl fmt::Display for Challenge {
    /// The `L402` header value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header_value(AuthScheme::L402))
    }
}

impl FromStr for Challenge {
    type Err = ChallengeError;

    fn from_str(s: &str) -> Result<Self, ChallengeError> {
        Self::parse(s)
    }
}

/// One challenge as written: scheme and raw auth-params.
struct RawChallenge<'a> {
    scheme: &'a str,
    params: Vec<(&'a str, String)>,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Splits a `WWW-Authenticate` value into challenges. Lenient towards other schemes' syntax (token68 and
/// stray characters are skipped), strict about quoted strings.
fn parse_challenges(value: &str) -> Result<Vec<RawChallenge<'_>>, ChallengeError> {
    let b = value.as_bytes();
    let mut i = 0;
    let mut out: Vec<RawChallenge<'_>> = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t') {
            *i += 1;
        }
    };
    while i < b.len() {
        skip_ws(&mut i);
        if i < b.len() && b[i] == b',' {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_tchar(b[i]) {
            i += 1;
        }
        if start == i {
            // Not a token (e.g. token68 padding of another scheme): skip the character.
            i += usize::from(i < b.len());
            continue;
        }
        let token = &value[start..i];
        skip_ws(&mut i);
        if i < b.len() && b[i] == b'=' {
            i += 1;
            skip_ws(&mut i);
            let v = parse_param_value(value, &mut i)?;
            let Some(current) = out.last_mut() else {
                continue;
            };
            if current.params.len() >= MAX_AUTH_PARAMS {
                return Err(ChallengeError::TooMany);
            }
            current.params.push((token, v));
        } else {
            out.push(RawChallenge {
                scheme: token,
                params: Vec::new(),
            });
        }
    }
    Ok(out)
}

/// A quoted-string (with `\` escapes) or a bare value running to the next `,` or whitespace.
fn parse_param_value(value: &str, i: &mut usize) -> Result<String, ChallengeError> {
    let b = value.as_bytes();
    if *i < b.len() && b[*i] == b'"' {
        *i += 1;
        let mut out = String::new();
        let mut chars = value[*i..].char_indices();
        while let Some((off, c)) = chars.next() {
            match c {
                '"' => {
                    *i += off + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, esc)) => out.push(esc),
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err(ChallengeError::Syntax("unterminated quoted string"));
    }
    let start = *i;
    while *i < b.len() && !matches!(b[*i], b',' | b' ' | b'\t' | b'"') {
        *i += 1;
    }
    Ok(value[start..*i].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_handles_multiple_challenges_and_quotes() {
        let v = r#"Basic realm="a\"b", L402 macaroon="x", invoice=y, Bearer abc=="#;
        let c = parse_challenges(v).unwrap();
        let schemes: Vec<&str> = c.iter().map(|c| c.scheme).collect();
        assert_eq!(schemes, ["Basic", "L402", "Bearer"]);
        assert_eq!(c[0].params, [("realm", "a\"b".to_owned())]);
        assert_eq!(
            c[1].params,
            [("macaroon", "x".to_owned()), ("invoice", "y".to_owned())]
        );
        assert!(parse_challenges(r#"L402 macaroon="x"#).is_err());
    }

    #[test]
    fn missing_and_conflicting_params() {
        assert_eq!(
            Challenge::parse(r#"L402 invoice="x""#),
            Err(ChallengeError::MissingParam("macaroon"))
        );
        assert_eq!(
            Challenge::parse(r#"L402 macaroon="AA==""#),
            Err(ChallengeError::MissingParam("invoice"))
        );
        assert_eq!(
            Challenge::parse(r#"L402 version="1", token="AA==", invoice="x""#),
            Err(ChallengeError::UnsupportedVersion("1".into()))
        );
        assert_eq!(
            Challenge::parse(r#"L402 macaroon="AA==", macaroon="AB==", invoice="x""#),
            Err(ChallengeError::DuplicateParam("macaroon"))
        );
        assert_eq!(
            Challenge::parse("Basic realm=x"),
            Err(ChallengeError::NoChallenge)
        );
    }
}
