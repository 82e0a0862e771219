//! The table of `client` cases: every id, level, clause and check, and the scenario the test server
//! plays for it, written once.
//!
//! Clauses name sections of the repository's docs/PROTOCOL.md (`§ n`; § 8's numbered rules are the
//! client's), and RFC 9110 or the L402 specification where that is the authority.

use crate::case::{case, CaseSpec};

/// A form of the challenge the test server sends, as deployed servers send them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Aperture's two values: `LSAT macaroon="…", invoice="…"` then the same with `L402`.
    Aperture,
    /// One value, `L402 macaroon="…", invoice="…"`.
    L402Only,
    /// One value, `LSAT macaroon="…", invoice="…"`: servers from before the rename.
    LsatOnly,
    /// The specification's form, `L402 version="0", token="…", invoice="…"`.
    SpecToken,
    /// `L402 macaroon="…", invoice="…"` followed by parameters the client does not know.
    ExtraParams,
    /// `L402 invoice="…", macaroon="…"`: the parameters in the other order.
    Reordered,
    /// `l402 macaroon="…", invoice="…"`: the scheme in lower case.
    LowercaseScheme,
}

/// A challenge that the client must not pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trap {
    /// The invoice asks far more than any sane limit: [`OVER_PRICE_SAT`].
    OverPriced,
    /// The invoice is for mainnet; the payer's node is on regtest.
    OtherNetwork,
    /// A payable invoice whose payment hash is not the one in the macaroon.
    HashMismatch,
}

/// What the test server does in one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Challenge in this dialect, then admit the paid token: the client pays once and retries with it.
    Dialect(Dialect),
    /// Challenge with a trap: the client must pay nothing.
    Trap(Trap),
    /// Refuse the first paid token with a fresh challenge, as a server does for a revoked token, and
    /// admit the next: the client may buy anew, at most once.
    RejectFirstToken,
    /// Run the client twice with the same token directory: the second run presents the token it
    /// bought in the first, without paying.
    Reuse,
}

/// What a token costs in every case but [`Trap::OverPriced`], in satoshis.
pub const PRICE_SAT: u64 = 100;
/// The price limit the kit tells the client (`L402_MAX_PRICE_SAT`), in satoshis.
pub const MAX_PRICE_SAT: u64 = 1_000;
/// What the over-priced invoice asks, in satoshis: a thousand times the limit, and still payable
/// from the payer's balance, so that a client that pays it is seen paying.
pub const OVER_PRICE_SAT: u64 = 1_000_000;

/// Every case with its scenario, in the order they run.
pub const CASES: &[(CaseSpec, Scenario)] = &[
    (case!("dialect", "aperture", Must, "§ 5.2, § 5.4",
        "Aperture's two values (LSAT, then L402): the client pays once and retries with the token, which the server admits"),
        Scenario::Dialect(Dialect::Aperture)),
    (case!("dialect", "l402-only", Must, "§ 5.2, § 5.4",
        "one value, L402 macaroon=\"…\", invoice=\"…\": paid once, the token admitted"),
        Scenario::Dialect(Dialect::L402Only)),
    (case!("dialect", "lsat-only", Should, "§ 5.2, § 5.4",
        "one value, LSAT macaroon=\"…\", invoice=\"…\" (servers from before the rename): paid once, the token admitted"),
        Scenario::Dialect(Dialect::LsatOnly)),
    (case!("dialect", "spec-token", May, "§ 5.4, L402 spec: WWW-Authenticate",
        "the specification's form L402 version=\"0\", token=\"…\", invoice=\"…\": paid once, the token admitted"),
        Scenario::Dialect(Dialect::SpecToken)),
    (case!("dialect", "extra-params", Should, "§ 5.4, RFC 9110 § 11.2",
        "unknown parameters after macaroon and invoice are ignored: paid once, the token admitted"),
        Scenario::Dialect(Dialect::ExtraParams)),
    (case!("dialect", "reordered", Should, "§ 5.4, RFC 9110 § 11.2",
        "invoice=\"…\" before macaroon=\"…\": paid once, the token admitted"),
        Scenario::Dialect(Dialect::Reordered)),
    (case!("dialect", "lowercase-scheme", Should, "§ 5.4, RFC 9110 § 11.1",
        "the scheme in lower case, l402 …: paid once, the token admitted"),
        Scenario::Dialect(Dialect::LowercaseScheme)),
    (case!("refuse", "over-priced", Must, "§ 8 rule 1",
        "an invoice of 1,000,000 sat, a thousand times L402_MAX_PRICE_SAT, is not paid"),
        Scenario::Trap(Trap::OverPriced)),
    (case!("refuse", "other-network", Must, "§ 5.4, § 7.3",
        "an invoice for mainnet, the payer's node being on regtest, is not paid"),
        Scenario::Trap(Trap::OtherNetwork)),
    (case!("refuse", "hash-mismatch", Must, "§ 5.4, § 8 rule 1",
        "a payable invoice whose payment hash is not the macaroon's is not paid"),
        Scenario::Trap(Trap::HashMismatch)),
    (case!("rebuy", "rejected-token", Must, "§ 8 rule 5",
        "when the server refuses the paid token with a fresh challenge, the client buys anew at most once"),
        Scenario::RejectFirstToken),
    (case!("reuse", "second-run", Should, "§ 8 rule 3, L402 spec: reusing credentials",
        "run again with the same L402_TOKEN_DIR, the client presents the token it bought and pays nothing"),
        Scenario::Reuse),
];

/// Every case, in table order.
pub fn all() -> Vec<CaseSpec> {
    CASES.iter().map(|(spec, _)| *spec).collect()
}
