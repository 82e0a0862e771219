//! Fuzz `Caveat` parsing: never panics; what parses re-parses from its display to the same caveat, and the
//! display is the input text (up to the case of a preimage's hex digits).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(caveat) = l402::Caveat::from_bytes(data) {
        let shown = caveat.to_string();
        assert_eq!(shown.parse::<l402::Caveat>().as_ref(), Ok(&caveat));
        let text = std::str::from_utf8(data).unwrap_or_default();
        match caveat {
            l402::Caveat::Preimage(_) => assert!(shown.eq_ignore_ascii_case(text)),
            _ => assert_eq!(shown, text),
        }
    }
});
