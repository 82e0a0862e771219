//! Fuzz `Token::decode` (Loop's `l402.token` layout): never panics; what decodes re-encodes identically.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = l402::Token::decode(data) {
        assert_eq!(token.encode(), data);
    }
});
