//! Small encoding helpers shared by the header parsers: lenient base64 decoding.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Standard base64 with padding: what Aperture writes and what we emit.
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard or URL-safe base64, padded or not (the alphabets are not mixed in one string).
pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    if s.bytes().any(|b| b == b'-' || b == b'_') {
        URL_LENIENT.decode(s).ok()
    } else {
        STD_LENIENT.decode(s).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_alphabets_with_and_without_padding() {
        let val = b"Ou?T\xfb\xff".to_vec();
        for s in ["T3U/VPv/", "T3U_VPv_", "T3U/VA==", "T3U/VA", "T3U_VA"] {
            let d = b64_decode(s).unwrap();
            assert_eq!(&d[..4], &val[..4], "{s}");
        }
        assert!(b64_decode("T3U/V_==").is_none());
        assert!(b64_decode("...").is_none());
        assert_eq!(b64_encode(&[0xff]), "/w==");
    }
}
