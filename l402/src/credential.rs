//! The client's proof of payment, in every form Aperture accepts:
//!
//! * `Authorization: L402 <base64 macaroon>:<hex preimage>` (and the same with `LSAT`; the scheme name is
//!   case-insensitive);
//! * gRPC metadata / HTTP header `macaroon: <hex macaroon>` where the macaroon carries a `preimage=<hex>`
//!   caveat (what Loop's gRPC client sends), and the legacy `Grpc-Metadata-Macaroon: <hex>`;
//! * the L402 spec's gRPC metadata key `token: <hex>`: "the hex-encoded serialized token", which for a
//!   macaroon token is the same paid macaroon (with its `preimage` caveat) as `macaroon` carries.
//!
//! # Several macaroons in `Authorization`
//!
//! The spec allows `L402 <mac1>,<mac2>,…:<preimage>`. The first macaroon is the L402 token. The others can
//! only be discharge macaroons for third-party caveats of the first; L402 macaroons carry no third-party
//! caveats (a macaroon with one does not parse), so no extra macaroon can ever be bound to the token and
//! verified. A credential with extra macaroons is therefore refused ([`CredentialError::ExtraMacaroons`]),
//! never admitted on the first one alone: go-macaroon's verifier refuses unused discharges the same way.
//!
//! # Several header values
//!
//! [`Credential::from_authorization_values`] and [`Credential::from_headers`] apply one rule:
//! 1. At most [`MAX_HEADER_VALUES`] `Authorization` values are looked at; more is an error.
//! 2. Values whose scheme is not `L402`/`LSAT` (e.g. `Basic`, `Bearer`) are ignored.
//! 3. Every `L402`/`LSAT` value must parse: a malformed one is an error, never skipped.
//! 4. All of them must carry the same credential (same macaroon bytes and preimage): Loop sends an `LSAT`
//!    and an `L402` line with the same payload; two different tokens in one request are an error.
//! 5. Only if no `Authorization` value is `L402`/`LSAT`: `Grpc-Metadata-Macaroon`, then `macaroon` (Aperture's
//!    precedence), then `token`. The first present decides; it must have exactly one value.

use std::fmt;
use std::str::FromStr;

use crate::caveat::CaveatError;
use crate::encoding::b64_decode;
use crate::limits::{MAX_HEADER_LEN, MAX_HEADER_VALUES};
use crate::macaroon::{Macaroon, MacaroonError};
use crate::types::{HexError, Preimage, TokenId};

/// Name of the header carrying `L402 <mac>:<preimage>`.
pub const HEADER_AUTHORIZATION: &str = "authorization";
/// gRPC metadata key (and HTTP header) carrying the hex "paid macaroon".
pub const HEADER_MACAROON: &str = "macaroon";
/// Legacy grpc-gateway header carrying the hex "paid macaroon".
pub const HEADER_GRPC_METADATA_MACAROON: &str = "grpc-metadata-macaroon";
/// The L402 spec's gRPC metadata key (and HTTP header) carrying the hex "paid macaroon".
pub const HEADER_TOKEN: &str = "token";
/// Every header other than `Authorization` that can carry a credential, in the order they are looked at
/// (Aperture's two first). A proxy removes all of them before forwarding.
pub const CREDENTIAL_METADATA_HEADERS: [&str; 3] =
    [HEADER_GRPC_METADATA_MACAROON, HEADER_MACAROON, HEADER_TOKEN];

/// The HTTP authentication scheme name: `L402`, or the legacy `LSAT`. Parsed case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthScheme {
    /// `L402`, the current name.
    L402,
    /// `LSAT`, the legacy name old Loop clients look for.
    Lsat,
}

impl AuthScheme {
    /// The canonical spelling (`L402` or `LSAT`).
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthScheme::L402 => "L402",
            AuthScheme::Lsat => "LSAT",
        }
    }
}

impl fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthScheme {
    type Err = CredentialError;

    fn from_str(s: &str) -> Result<Self, CredentialError> {
        if s.eq_ignore_ascii_case("L402") {
            Ok(AuthScheme::L402)
        } else if s.eq_ignore_ascii_case("LSAT") {
            Ok(AuthScheme::Lsat)
        } else {
            Err(CredentialError::UnsupportedScheme)
        }
    }
}

/// Error parsing a credential from headers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// No L402 credential in any accepted header.
    #[error("no L402 credential in the request")]
    Missing,
    /// A header value longer than [`MAX_HEADER_LEN`].
    #[error("header value is {0} bytes, more than the limit of {MAX_HEADER_LEN}")]
    TooLong(usize),
    /// More header values than [`MAX_HEADER_VALUES`], or several values where exactly one is allowed.
    #[error("too many credential header values ({0})")]
    TooManyValues(usize),
    /// A header value that is not visible ASCII.
    #[error("header value is not valid ASCII text")]
    NotText,
    /// The scheme is not `L402` or `LSAT`.
    #[error("authorization scheme is not L402 or LSAT")]
    UnsupportedScheme,
    /// The value is not `<scheme> <base64>:<hex>`.
    #[error("malformed L402 authorization value: {0}")]
    Malformed(&'static str),
    /// The macaroon did not decode.
    #[error("invalid macaroon: {0}")]
    Macaroon(#[from] MacaroonError),
    /// The preimage is not 64 hex characters.
    #[error("invalid preimage: {0}")]
    Preimage(#[from] HexError),
    /// The macaroon metadata form has no `preimage` caveat.
    #[error("macaroon has no preimage caveat")]
    MissingPreimageCaveat,
    /// A `preimage` caveat does not parse, or two disagree.
    #[error("invalid preimage caveat: {0}")]
    PreimageCaveat(#[from] CaveatError),
    /// `Authorization` lists macaroons after the first: discharges that cannot be bound to an L402 macaroon.
    #[error("{0} macaroon(s) after the first in the credential; L402 macaroons have no third-party caveats, so they cannot be verified")]
    ExtraMacaroons(usize),
    /// Several L402 values carry different credentials.
    #[error("conflicting L402 credentials in one request")]
    Conflicting,
}

/// A macaroon plus the preimage that proves its invoice was paid.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    macaroon: Macaroon,
    preimage: Preimage,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("macaroon", &self.macaroon)
            .finish_non_exhaustive()
    }
}

fn check_len(value: &str) -> Result<(), CredentialError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(CredentialError::TooLong(value.len()));
    }
    Ok(())
}

impl Credential {
    /// Pairs a macaroon (usually the base macaroon from the challenge) with the payment preimage.
    pub fn new(macaroon: Macaroon, preimage: Preimage) -> Self {
        Self { macaroon, preimage }
    }

    /// The macaroon as presented.
    pub fn macaroon(&self) -> &Macaroon {
        &self.macaroon
    }

    /// The payment preimage (a secret: do not log).
    pub fn preimage(&self) -> &Preimage {
        &self.preimage
    }

    /// The token id from the macaroon identifier.
    pub fn token_id(&self) -> TokenId {
        self.macaroon.token_id()
    }

    /// `L402 <base64 macaroon>:<hex preimage>`: the value of the `Authorization` header.
    pub fn to_authorization(&self) -> String {
        self.to_authorization_with(AuthScheme::L402)
    }

    /// The `Authorization` value with an explicit scheme (`LSAT` for old servers).
    pub fn to_authorization_with(&self, scheme: AuthScheme) -> String {
        format!(
            "{scheme} {}:{}",
            self.macaroon.to_base64(),
            self.preimage.to_hex()
        )
    }

    /// The hex "paid macaroon" for the gRPC `macaroon` metadata (or `Grpc-Metadata-Macaroon`): the macaroon
    /// with a `preimage=<hex>` caveat added, unless it already carries this preimage.
    pub fn to_macaroon_metadata(&self) -> Result<String, MacaroonError> {
        if self.macaroon.preimage_caveat().ok().flatten().as_ref() == Some(&self.preimage) {
            return Ok(self.macaroon.to_hex());
        }
        Ok(self.macaroon.with_preimage(&self.preimage)?.to_hex())
    }

    /// Parses one `Authorization` value: `L402|LSAT <base64 macaroon>:<64 hex preimage>`. The scheme is
    /// case-insensitive, base64 may be standard or URL-safe, surrounding whitespace is ignored. Further
    /// comma-separated macaroons are refused (module docs).
    pub fn from_authorization(value: &str) -> Result<Self, CredentialError> {
        check_len(value)?;
        let value = value.trim_matches([' ', '\t']);
        let (scheme, rest) = value
            .split_once([' ', '\t'])
            .ok_or(CredentialError::Malformed("missing scheme"))?;
        scheme.parse::<AuthScheme>()?;
        let rest = rest.trim_start_matches([' ', '\t']);
        let (mac, preimage) = rest.rsplit_once(':').ok_or(CredentialError::Malformed(
            "missing ':' between macaroon and preimage",
        ))?;
        let preimage = Preimage::from_hex(preimage)?;
        let mut macaroons = mac.split(',').map(|m| m.trim_matches([' ', '\t']));
        let first = macaroons.next().unwrap_or_default();
        let extra = macaroons.collect::<Vec<_>>();
        if first.is_empty() || extra.iter().any(|m| m.is_empty()) {
            return Err(CredentialError::Malformed("empty macaroon in the list"));
        }
        let bytes = b64_decode(first).ok_or(MacaroonError::Base64)?;
        let macaroon = Macaroon::from_bytes(&bytes)?;
        if !extra.is_empty() {
            return Err(CredentialError::ExtraMacaroons(extra.len()));
        }
        Ok(Self::new(macaroon, preimage))
    }

    /// Applies the rule in the module docs to several `Authorization` values.
    pub fn from_authorization_values<'a>(
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, CredentialError> {
        let mut found: Option<Credential> = None;
        for (i, value) in values.into_iter().enumerate() {
            if i >= MAX_HEADER_VALUES {
                return Err(CredentialError::TooManyValues(i + 1));
            }
            check_len(value)?;
            let scheme = value
                .trim_start_matches([' ', '\t'])
                .split([' ', '\t'])
                .next();
            if scheme
                .map(str::parse::<AuthScheme>)
                .and_then(Result::ok)
                .is_none()
            {
                continue;
            }
            let cred = Self::from_authorization(value)?;
            match &found {
                Some(prev) if *prev != cred => return Err(CredentialError::Conflicting),
                Some(_) => {}
                None => found = Some(cred),
            }
        }
        found.ok_or(CredentialError::Missing)
    }

    /// Parses the hex "paid macaroon" (`macaroon` / `Grpc-Metadata-Macaroon`), taking the preimage from its
    /// `preimage` caveat (all such caveats must agree).
    pub fn from_macaroon_metadata(value: &str) -> Result<Self, CredentialError> {
        check_len(value)?;
        let macaroon = Macaroon::from_hex(value.trim_matches([' ', '\t']))?;
        let preimage = macaroon
            .preimage_caveat()?
            .ok_or(CredentialError::MissingPreimageCaveat)?;
        Ok(Self::new(macaroon, preimage))
    }

    /// Finds the credential in request headers (HTTP headers or gRPC metadata) by the rule in the module docs.
    pub fn from_headers(headers: &http::HeaderMap) -> Result<Self, CredentialError> {
        let auth: Vec<&str> = headers
            .get_all(http::header::AUTHORIZATION)
            .iter()
            .take(MAX_HEADER_VALUES + 1)
            .map(|v| v.to_str().map_err(|_| CredentialError::NotText))
            .collect::<Result<_, _>>()?;
        match Self::from_authorization_values(auth) {
            Err(CredentialError::Missing) => {}
            other => return other,
        }
        for name in CREDENTIAL_METADATA_HEADERS {
            let mut values = headers.get_all(name).iter();
            let Some(first) = values.next() else {
                continue;
            };
            if values.next().is_some() {
                return Err(CredentialError::TooManyValues(2));
            }
            return Self::from_macaroon_metadata(
                first.to_str().map_err(|_| CredentialError::NotText)?,
            );
        }
        Err(CredentialError::Missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identifier::Identifier;
    use crate::types::RootKey;

    fn cred(seed: u8) -> Credential {
        let preimage = Preimage::from_bytes([seed; 32]);
        let id = Identifier::random(preimage.hash());
        let mac = Macaroon::mint(&RootKey::random(), &id, &[]).unwrap();
        Credential::new(mac, preimage)
    }

    #[test]
    fn authorization_round_trip_any_scheme_case() {
        let c = cred(1);
        let v = c.to_authorization();
        assert!(v.starts_with("L402 "));
        assert_eq!(Credential::from_authorization(&v).unwrap(), c);
        let lsat = c.to_authorization_with(AuthScheme::Lsat);
        assert_eq!(Credential::from_authorization(&lsat).unwrap(), c);
        let lower = v.replacen("L402", "l402", 1);
        assert_eq!(Credential::from_authorization(&lower).unwrap(), c);
        assert_eq!(
            Credential::from_authorization(&v.replacen("L402", "Bearer", 1)),
            Err(CredentialError::UnsupportedScheme)
        );
        assert!(Credential::from_authorization("L402 abc").is_err());
        assert!(!format!("{c:?}").contains(&c.preimage().to_hex()));
    }

    #[test]
    fn metadata_round_trip() {
        let c = cred(2);
        let md = c.to_macaroon_metadata().unwrap();
        let parsed = Credential::from_macaroon_metadata(&md).unwrap();
        assert_eq!(parsed.preimage(), c.preimage());
        assert_eq!(parsed.to_macaroon_metadata().unwrap(), md);
        assert_eq!(
            Credential::from_macaroon_metadata(&c.macaroon().to_hex()),
            Err(CredentialError::MissingPreimageCaveat)
        );
    }

    #[test]
    fn several_authorization_values_rule() {
        let (a, b) = (cred(3), cred(4));
        let (al, a4) = (
            a.to_authorization_with(AuthScheme::Lsat),
            a.to_authorization(),
        );
        let got =
            Credential::from_authorization_values(["Basic dXNlcjpwYXNz", al.as_str(), a4.as_str()]);
        assert_eq!(got.unwrap(), a);
        let b4 = b.to_authorization();
        assert_eq!(
            Credential::from_authorization_values([a4.as_str(), b4.as_str()]),
            Err(CredentialError::Conflicting)
        );
        assert!(Credential::from_authorization_values([a4.as_str(), "L402 junk"]).is_err());
        assert_eq!(
            Credential::from_authorization_values(["Basic x"]),
            Err(CredentialError::Missing)
        );
        let many = vec![a4.as_str(); MAX_HEADER_VALUES + 1];
        assert!(matches!(
            Credential::from_authorization_values(many),
            Err(CredentialError::TooManyValues(_))
        ));
    }

    #[test]
    fn scheme_names_are_case_insensitive() {
        let c = cred(7);
        let b64 = c.macaroon().to_base64();
        let hex = c.preimage().to_hex();
        for scheme in ["L402", "l402", "L402", "lsat", "LSAT", "Lsat", "lSaT"] {
            let value = format!("{scheme} {b64}:{hex}");
            assert_eq!(
                Credential::from_authorization(&value).unwrap(),
                c,
                "{scheme}"
            );
            assert_eq!(
                Credential::from_authorization_values(["Basic x", value.as_str()]).unwrap(),
                c,
                "{scheme}"
            );
        }
    }

    #[test]
    fn extra_macaroons_are_refused_never_skipped() {
        let (a, b) = (cred(8), cred(9));
        let hex = a.preimage().to_hex();
        let (ma, mb) = (a.macaroon().to_base64(), b.macaroon().to_base64());
        assert_eq!(
            Credential::from_authorization(&format!("L402 {ma},{mb}:{hex}")),
            Err(CredentialError::ExtraMacaroons(1))
        );
        assert_eq!(
            Credential::from_authorization(&format!("L402 {ma}, {mb},{mb}:{hex}")),
            Err(CredentialError::ExtraMacaroons(2))
        );
        // Even an extra value that is no macaroon at all refuses the credential.
        assert!(Credential::from_authorization(&format!("L402 {ma},AAAA:{hex}")).is_err());
        assert_eq!(
            Credential::from_authorization(&format!("L402 {ma},:{hex}")),
            Err(CredentialError::Malformed("empty macaroon in the list"))
        );
        assert!(Credential::from_authorization(&format!("L402 ,{ma}:{hex}")).is_err());
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            format!("L402 {ma},{mb}:{hex}").parse().unwrap(),
        );
        assert_eq!(
            Credential::from_headers(&h),
            Err(CredentialError::ExtraMacaroons(1))
        );
    }

    #[test]
    fn spec_token_metadata_is_read_after_aperture_keys() {
        let (a, b) = (cred(10), cred(11));
        let mut h = http::HeaderMap::new();
        h.insert(
            HEADER_TOKEN,
            a.to_macaroon_metadata().unwrap().parse().unwrap(),
        );
        let got = Credential::from_headers(&h).unwrap();
        assert_eq!(
            (got.token_id(), got.preimage()),
            (a.token_id(), a.preimage())
        );
        h.insert(
            HEADER_MACAROON,
            b.to_macaroon_metadata().unwrap().parse().unwrap(),
        );
        assert_eq!(
            Credential::from_headers(&h).unwrap().token_id(),
            b.token_id()
        );
        let mut h = http::HeaderMap::new();
        h.insert(HEADER_TOKEN, a.macaroon().to_hex().parse().unwrap());
        assert_eq!(
            Credential::from_headers(&h),
            Err(CredentialError::MissingPreimageCaveat)
        );
    }

    #[test]
    fn header_precedence() {
        let (a, b) = (cred(5), cred(6));
        let mut h = http::HeaderMap::new();
        h.insert(
            HEADER_MACAROON,
            b.to_macaroon_metadata().unwrap().parse().unwrap(),
        );
        assert_eq!(
            Credential::from_headers(&h).unwrap().token_id(),
            b.token_id()
        );
        h.insert(
            HEADER_GRPC_METADATA_MACAROON,
            a.to_macaroon_metadata().unwrap().parse().unwrap(),
        );
        assert_eq!(
            Credential::from_headers(&h).unwrap().token_id(),
            a.token_id()
        );
        h.insert(
            http::header::AUTHORIZATION,
            b.to_authorization().parse().unwrap(),
        );
        assert_eq!(Credential::from_headers(&h).unwrap(), b);
        assert_eq!(
            Credential::from_headers(&http::HeaderMap::new()),
            Err(CredentialError::Missing)
        );
    }
}
