//! Fuzz credential parsing (`Authorization` values and `macaroon` metadata): never panics; a parsed
//! credential round-trips through its own encodings.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cred) = l402::Credential::from_authorization(text) {
        let again = l402::Credential::from_authorization(&cred.to_authorization());
        assert_eq!(again.as_ref(), Ok(&cred));
    }
    let _ = l402::Credential::from_authorization_values(text.split('\n'));
    if let Ok(cred) = l402::Credential::from_macaroon_metadata(text) {
        let _ = cred.to_macaroon_metadata();
    }
});
