//! Fuzz `Identifier::decode`: never panics; whatever decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = l402::Identifier::decode(data) {
        assert_eq!(&id.encode()[..], data);
    }
});
