//! Reading the client's L402 identity from a forwarded credential.
//!
//! The auth proxy has already verified the token; it forwards it as
//! `Authorization: L402 <base64 macaroon>:<hex preimage>` (or `LSAT …`; a
//! client talking to us directly may also send Loop's `macaroon: <hex>`
//! metadata). Like Loop's server, we use the token id from the macaroon
//! identifier as the client's identity. A missing or unreadable credential is
//! simply no identity: the server also runs without a proxy in front.

use http::HeaderMap;
use l402::{Credential, CredentialError};

/// The L402 token id (64 lowercase hex characters) of the credential in
/// `headers`, if there is a readable one.
pub fn token_id_from_headers(headers: &HeaderMap) -> Option<String> {
    match Credential::from_headers(headers) {
        Ok(credential) => Some(credential.token_id().to_hex()),
        Err(CredentialError::Missing) => None,
        Err(e) => {
            tracing::debug!(error = %e, "ignoring unreadable L402 credential");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test vector B of docs/PROTOCOL.md.
    const MACAROON_B64: &str = "AgEEbHNhdAJCAABjDc0pZsQzZpESVEi7sltP9BKknHMtssirwbhYG9cQ3SAfHh0cGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwIBAAIPc2VydmljZXM9bG9vcDowAAISbG9vcF9jYXBhYmlsaXRpZXM9AAIbbG9vcF92YWxpZF91bnRpbD0xNzAwMDAwMDAwAAAGIE4NjUqYEroD6mCWManYOtZIJPd82w8zQXls6f4w/vWd";
    const TOKEN_ID: &str = "201f1e1d1c1b1a191817161514131211100f0e0d0c0b0a090807060504030201";
    const PREIMAGE: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
        headers
    }

    #[test]
    fn reads_token_id_from_l402_and_lsat() {
        for scheme in ["L402", "LSAT"] {
            let value = format!("{scheme} {MACAROON_B64}:{PREIMAGE}");
            assert_eq!(
                token_id_from_headers(&headers("authorization", &value)).as_deref(),
                Some(TOKEN_ID)
            );
        }
    }

    #[test]
    fn ignores_missing_and_other_credentials() {
        assert_eq!(token_id_from_headers(&HeaderMap::new()), None);
        assert_eq!(
            token_id_from_headers(&headers("authorization", "Bearer abc")),
            None
        );
        assert_eq!(
            token_id_from_headers(&headers("authorization", "L402 notbase64!:00")),
            None
        );
    }
}
