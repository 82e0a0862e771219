//! Reading the client's L402 identity from a forwarded credential.
//!
//! The auth proxy has already verified the token; it forwards it as
//! `Authorization: L402 <base64 macaroon>:<hex preimage>` (or `LSAT …`).
//! Like Loop's server, we use the token id from the macaroon identifier as
//! the client's identity. A missing or unreadable credential is simply no
//! identity: the server also runs without a proxy in front.

use base64::Engine;
use http::HeaderMap;

/// The L402 token id (64 lowercase hex characters) of the credential in
/// `headers`, if there is a readable one.
pub fn token_id_from_headers(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(token_id_from_authorization)
}

/// The token id of one `Authorization` header value.
pub fn token_id_from_authorization(value: &str) -> Option<String> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("L402") && !scheme.eq_ignore_ascii_case("LSAT") {
        return None;
    }
    let (macaroon_b64, _preimage) = rest.trim().rsplit_once(':')?;
    let macaroon = decode_base64(macaroon_b64)?;
    let identifier = macaroon_identifier(&macaroon)?;
    token_id_from_identifier(identifier).map(hex::encode)
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

/// The identifier field of a binary V2 macaroon (go-macaroon layout:
/// `0x02`, optional location field (type 1), identifier field (type 2), …).
fn macaroon_identifier(bytes: &[u8]) -> Option<&[u8]> {
    let (&version, mut rest) = bytes.split_first()?;
    if version != 2 {
        return None;
    }
    loop {
        let (field_type, after_type) = read_uvarint(rest)?;
        match field_type {
            0 => return None,
            1 | 2 => {
                let (len, after_len) = read_uvarint(after_type)?;
                let len = usize::try_from(len).ok()?;
                let data = after_len.get(..len)?;
                if field_type == 2 {
                    return Some(data);
                }
                rest = &after_len[len..];
            }
            _ => return None,
        }
    }
}

fn read_uvarint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// The token id of a version-0 identifier: `u16 0 ‖ payment_hash[32] ‖ token_id[32]`.
fn token_id_from_identifier(identifier: &[u8]) -> Option<&[u8]> {
    if identifier.len() != 66 || identifier[..2] != [0, 0] {
        return None;
    }
    Some(&identifier[34..])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test vector B of PROTOCOL.md.
    const MACAROON_B64: &str = "AgEEbHNhdAJCAABjDc0pZsQzZpESVEi7sltP9BKknHMtssirwbhYG9cQ3SAfHh0cGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwIBAAIPc2VydmljZXM9bG9vcDowAAISbG9vcF9jYXBhYmlsaXRpZXM9AAIbbG9vcF92YWxpZF91bnRpbD0xNzAwMDAwMDAwAAAGIE4NjUqYEroD6mCWManYOtZIJPd82w8zQXls6f4w/vWd";
    const TOKEN_ID: &str = "201f1e1d1c1b1a191817161514131211100f0e0d0c0b0a090807060504030201";
    const PREIMAGE: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn reads_token_id_from_l402_and_lsat() {
        for scheme in ["L402", "LSAT", "l402"] {
            let value = format!("{scheme} {MACAROON_B64}:{PREIMAGE}");
            assert_eq!(
                token_id_from_authorization(&value).as_deref(),
                Some(TOKEN_ID)
            );
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            format!("L402 {MACAROON_B64}:{PREIMAGE}").parse().unwrap(),
        );
        assert_eq!(token_id_from_headers(&headers).as_deref(), Some(TOKEN_ID));
    }

    #[test]
    fn ignores_other_credentials() {
        assert_eq!(token_id_from_authorization("Bearer abc"), None);
        assert_eq!(token_id_from_authorization("L402 notbase64!:00"), None);
        assert_eq!(token_id_from_authorization("L402 AgEE"), None);
        assert_eq!(token_id_from_headers(&HeaderMap::new()), None);
    }
}
