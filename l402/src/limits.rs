//! Size limits applied to every untrusted input, so that hostile input is rejected after little work.
//!
//! A real Aperture token is about 200 bytes (66-byte identifier, three short caveats, 32-byte signature);
//! a bolt11 invoice is usually under 1 KiB. The limits leave generous room above that.

/// Largest accepted macaroon, in bytes of its V2 binary encoding.
pub const MAX_MACAROON_LEN: usize = 4096;
/// Most first-party caveats accepted in one macaroon.
pub const MAX_CAVEATS: usize = 32;
/// Longest accepted single caveat, in bytes.
pub const MAX_CAVEAT_LEN: usize = 1024;
/// Most services listed in one `services` caveat.
pub const MAX_SERVICES: usize = 32;
/// Most capabilities listed in one `_capabilities` caveat.
pub const MAX_CAPABILITIES: usize = 64;
/// Longest accepted bolt11 invoice string.
pub const MAX_INVOICE_LEN: usize = 7168;
/// Longest accepted single header value (`WWW-Authenticate`, `Authorization`, `macaroon`).
pub const MAX_HEADER_LEN: usize = 16 * 1024;
/// Most header values of one kind looked at (several `Authorization` or `WWW-Authenticate` lines).
pub const MAX_HEADER_VALUES: usize = 8;
/// Most auth-params accepted in one challenge.
pub const MAX_AUTH_PARAMS: usize = 16;
/// Largest accepted encoded [`crate::Token`]: `u32` length, macaroon, 32 + 32 + 8 + 8 + 8 bytes.
pub const MAX_TOKEN_LEN: usize = 4 + MAX_MACAROON_LEN + 32 + 32 + 8 + 8 + 8;
