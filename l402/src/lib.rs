//! The L402 (formerly LSAT) protocol: identifiers, macaroons, caveats, challenges, credentials and tokens.
