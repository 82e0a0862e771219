//! The L402 (formerly LSAT) protocol: identifiers, macaroons, caveats, challenges, credentials and tokens.
//!
//! Pure: no network or file I/O. Interoperates byte-for-byte with Lightning Labs' Aperture (the server side)
//! and Loop (the client side). The crate README lists the public API in one page.
//!
//! # The protocol in one page
//!
//! L402 sells access to an API for a Lightning payment. The server hands out a *macaroon* (a bearer token
//! that anyone holding it can restrict further but nobody can widen) bound to a Lightning *invoice*; paying
//! the invoice reveals the *preimage*, and macaroon + preimage together are the credential.
//!
//! 1. **Challenge.** A request without a valid credential gets HTTP `402` (for gRPC: HTTP `200` with
//!    `grpc-status: 13`, `grpc-message: payment required`) and two headers, `LSAT` first because old Loop
//!    clients read only the first one:
//!    `WWW-Authenticate: LSAT macaroon="<base64>", invoice="<bolt11>"` and the same with `L402`.
//!    See [`Challenge`].
//! 2. **Minting.** The server asks its lnd for an invoice (payment hash `H`), draws a random 32-byte token id
//!    and root key, and builds the [`Identifier`] `u16 0 ‖ H ‖ token_id`. The root key is stored under
//!    `sha256(identifier)` ([`IdentifierHash`]); deleting it revokes the token. The macaroon (location `lsat`)
//!    is signed with an HMAC-SHA256 chain: `k = HMAC("macaroons-key-generator", root_key)`,
//!    `sig = HMAC(k, identifier)`, then `sig = HMAC(sig, caveat)` for each caveat. See [`MintRequest`],
//!    [`Macaroon`].
//! 3. **Caveats** restrict the token: `services=loop:0` (valid only for these services),
//!    `loop_capabilities=out,in` (only these capabilities), `loop_valid_until=<unix>` (expires). Because
//!    anyone can append caveats, a later caveat with the same condition may only *narrow* an earlier one.
//!    See [`Caveat`], [`satisfier`].
//! 4. **Payment.** The client pays the invoice and learns the preimage `P` with `sha256(P) = H`. Loop stores
//!    a pending token before paying and the paid token after ([`Token`], Loop's `l402.token` layout).
//! 5. **Credential.** The client retries with `Authorization: L402 <base64 macaroon>:<hex P>`, or (Loop's gRPC
//!    client) with metadata `macaroon: <hex>` of the macaroon plus a `preimage=<hex P>` caveat. See
//!    [`Credential`].
//! 6. **Verification.** The server decodes the identifier, checks `sha256(P) == H`, looks the root key up by
//!    `sha256(identifier)`, recomputes the HMAC chain (constant-time comparison) and checks every caveat
//!    against the request (service, capability, time). Failures carry a typed reason ([`VerifyError`]).
//!
//! # Example: mint → challenge → pay (simulated) → credential → verify
//!
//! ```
//! use std::collections::HashMap;
//! use std::time::{SystemTime, UNIX_EPOCH};
//! use l402::{verify_with_lookup, Challenge, Credential, MintRequest, Preimage, RequestContext, Service, Token};
//! # fn simulated_lnd_add_invoice(preimage: &Preimage, amount_msat: u64) -> String {
//! #     use bitcoin_hashes::{sha256, Hash};
//! #     use lightning_invoice::{Currency, InvoiceBuilder, PaymentSecret};
//! #     use secp256k1::{Secp256k1, SecretKey};
//! #     let node_key = SecretKey::from_slice(&[0x42; 32]).unwrap();
//! #     InvoiceBuilder::new(Currency::Regtest)
//! #         .description("L402".into())
//! #         .payment_hash(sha256::Hash::from_byte_array(*preimage.hash().as_bytes()))
//! #         .payment_secret(PaymentSecret([7; 32]))
//! #         .current_timestamp()
//! #         .min_final_cltv_expiry_delta(144)
//! #         .amount_milli_satoshis(amount_msat)
//! #         .build_signed(|m| Secp256k1::new().sign_ecdsa_recoverable(m, &node_key))
//! #         .unwrap()
//! #         .to_string()
//! # }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = SystemTime::now();
//! let now_secs = now.duration_since(UNIX_EPOCH)?.as_secs() as i64;
//!
//! // Server: an invoice from its lnd (simulated), then a token bound to the invoice's payment hash.
//! let preimage = Preimage::random(); // known to the server's lnd only
//! let invoice = simulated_lnd_add_invoice(&preimage, 1_000_000);
//! let minted = MintRequest::new(preimage.hash())
//!     .service(Service::new("loop", 0)?)
//!     .capabilities("loop", ["out"])
//!     .valid_until("loop", now_secs + 3600)
//!     .mint()?;
//! let mut root_keys = HashMap::new(); // the proxy's root-key store
//! root_keys.insert(minted.identifier_hash, minted.root_key.clone());
//! let [lsat_header, _l402_header] = Challenge::new(minted.macaroon, &invoice)?.header_values();
//!
//! // Client: parse the first WWW-Authenticate line, store a pending token, pay, store the paid token.
//! let challenge: Challenge = lsat_header.parse()?;
//! assert!(challenge.is_consistent());
//! let mut token = Token::pending(challenge.macaroon().clone(), challenge.payment_hash(), now);
//! let pending_file = token.encode(); // -> l402.token.pending
//! let paid_preimage = preimage.clone(); // simulated payment: lnd returns the preimage
//! assert!(token.mark_paid(paid_preimage, challenge.amount_msat().unwrap_or(0), 1_000));
//! assert_eq!(Token::decode(&token.encode())?, token); // -> l402.token
//! # assert!(Token::decode(&pending_file)?.is_pending());
//! let authorization = token.credential().expect("paid").to_authorization();
//!
//! // Server: verify the retried request.
//! let credential = Credential::from_authorization(&authorization)?;
//! let ctx = RequestContext::new("loop", now).with_capability("out");
//! let verified = verify_with_lookup(&credential, |h| root_keys.get(h).cloned(), &ctx)?;
//! assert_eq!(verified.token_id(), token.token_id());
//!
//! // The same token is refused for another service, with a reason for the metrics.
//! let err = verify_with_lookup(&credential, |h| root_keys.get(h).cloned(), &RequestContext::new("pool", now));
//! assert_eq!(err.unwrap_err().reason(), "wrong_service");
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//! [`types`] (32-byte values), [`identifier`], [`macaroon`], [`caveat`], [`satisfier`], [`verify`](mod@verify), [`verify_error`], [`mint`](mod@mint),
//! [`challenge`], [`credential`], [`token`], [`network`], [`limits`] (size limits on every input), [`error`];
//! the wire bindings of the challenge, server and client side: [`http`](mod@http), [`grpc`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod caveat;
pub mod challenge;
pub mod credential;
mod encoding;
pub mod error;
pub mod grpc;
pub mod http;
pub mod identifier;
pub mod limits;
pub mod macaroon;
pub mod mint;
pub mod network;
pub mod satisfier;
pub mod token;
pub mod types;
pub mod verify;
pub mod verify_error;

pub use caveat::{Caveat, CaveatError, Service};
pub use challenge::{Challenge, ChallengeError, ChallengeForm, UnknownChallengeForm};
pub use credential::{AuthScheme, Credential, CredentialError};
pub use error::Error;
pub use identifier::{Identifier, IdentifierError};
pub use macaroon::{Macaroon, MacaroonError};
pub use mint::{mint, MintRequest, Minted};
pub use network::{Network, UnknownNetwork};
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
