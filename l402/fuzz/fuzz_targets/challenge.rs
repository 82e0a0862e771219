//! Fuzz `WWW-Authenticate` parsing: never panics; a parsed challenge re-parses from its own header values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(challenge) = l402::Challenge::parse(text) {
        for value in challenge.header_values() {
            assert_eq!(l402::Challenge::parse(&value).as_ref(), Ok(&challenge));
        }
    }
    let _ = l402::Challenge::from_header_values(text.split('\n'));
});
