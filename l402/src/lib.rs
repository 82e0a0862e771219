//! The L402 (formerly LSAT) protocol: identifiers, macaroons, caveats, challenges, credentials and tokens.
//!
//! Pure: no network or file I/O. Interoperates byte-for-byte with Lightning Labs' Aperture (server) and Loop
//! (client). See the crate README for the protocol walk-through and the public API summary.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod caveat;
pub mod challenge;
pub mod credential;
mod encoding;
pub mod error;
pub mod identifier;
pub mod limits;
pub mod macaroon;
pub mod mint;
pub mod satisfier;
pub mod token;
pub mod types;
pub mod verify;

pub use caveat::{Caveat, CaveatError, Service};
pub use challenge::{Challenge, ChallengeError};
pub use credential::{AuthScheme, Credential, CredentialError};
pub use error::Error;
pub use identifier::{Identifier, IdentifierError};
pub use macaroon::{Macaroon, MacaroonError};
pub use mint::{mint, MintRequest, Minted};
pub use satisfier::{
    verify_caveats, CapabilitiesSatisfier, PreimageSatisfier, Satisfier, ServicesSatisfier,
    ValidUntilSatisfier,
};
pub use token::{Token, TokenError};
pub use types::{HexError, IdentifierHash, PaymentHash, Preimage, RootKey, TokenId};
pub use verify::{
    check_keyless, verify, verify_with_lookup, verify_with_satisfiers, RequestContext, Verified,
    VerifyError,
};
