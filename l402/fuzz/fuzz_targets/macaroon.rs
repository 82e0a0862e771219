//! Fuzz the macaroon decoders (binary, base64, hex): never panic; what decodes re-encodes identically.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mac) = l402::Macaroon::from_bytes(data) {
        assert_eq!(mac.as_bytes(), data);
        assert_eq!(l402::Macaroon::from_hex(&mac.to_hex()).as_ref(), Ok(&mac));
        let _ = mac.caveats();
        let _ = mac.preimage_caveat();
        let _ = mac.verify_signature(&l402::RootKey::from_bytes([0; 32]));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = l402::Macaroon::from_base64(text);
        let _ = l402::Macaroon::from_hex(text);
    }
});
