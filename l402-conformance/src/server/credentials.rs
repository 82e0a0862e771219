//! The forms a paid credential can be presented in, and the headers each one is.

use http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use l402::Credential;

use crate::server::forge;

/// How a paid credential is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `Authorization: <scheme> <base64 macaroon>:<hex preimage>`, the preimage in upper case if asked.
    Authorization {
        /// The scheme exactly as sent (`L402`, `LSAT`, `l402`).
        scheme: &'static str,
        /// Upper-case hex instead of the canonical lower case.
        upper_hex: bool,
    },
    /// `<header>: <hex of the macaroon plus a preimage caveat>` (`macaroon`, `grpc-metadata-macaroon`,
    /// `token`).
    Metadata(&'static str),
    /// `Authorization: L402 <mac>,<mac>:<preimage>`.
    SeveralMacaroons,
}

/// The headers presenting `credential` in `form`.
pub fn present(
    form: Form,
    credential: &Credential,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let (name, value) = match form {
        Form::Authorization { scheme, upper_hex } => (
            AUTHORIZATION,
            match scheme.parse::<l402::AuthScheme>() {
                // The canonical spellings come from l402 itself, any other spelling from the forge.
                Ok(parsed) if parsed.as_str() == scheme && !upper_hex => {
                    credential.to_authorization_with(parsed)
                }
                _ => forge::authorization_spelled(credential, scheme, upper_hex),
            },
        ),
        Form::Metadata(header) => (
            HeaderName::from_static(header),
            credential
                .to_macaroon_metadata()
                .map_err(|e| format!("cannot add the preimage caveat: {e}"))?,
        ),
        Form::SeveralMacaroons => (AUTHORIZATION, forge::several_macaroons(credential)),
    };
    let value = HeaderValue::try_from(value).map_err(|e| format!("not header text: {e}"))?;
    Ok(vec![(name, value)])
}
