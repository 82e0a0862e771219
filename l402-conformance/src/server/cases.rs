//! The table of `server` cases: every id, level, clause and check, written once. HTTP and gRPC have the
//! same groups (`challenge`, `paid`, `reject`; `grpc-challenge`, `grpc-paid`, `grpc-reject`) where the
//! protocol is the same, and their own cases where the bindings differ.
//!
//! Clauses name sections of the repository's docs/PROTOCOL.md (`§ n`), and the L402 specification's
//! sections where that is the authority.

use crate::case::{case, CaseSpec};
use crate::server::credentials::Form;
use crate::server::forge::Forgery;
use crate::server::transport::Binding;

/// The checks of a challenge, for one binding.
#[derive(Debug)]
pub struct ChallengeCases {
    /// The binding's status: `402`, or HTTP `200` for gRPC.
    pub status: CaseSpec,
    /// gRPC only: `grpc-status: 13`.
    pub grpc_status: Option<CaseSpec>,
    /// gRPC only: `grpc-message` says "payment required".
    pub grpc_message: Option<CaseSpec>,
    /// A `WWW-Authenticate` value holds a challenge the spec's grammar reads.
    pub www_authenticate: CaseSpec,
    /// A value in the exact form Loop's and Aperture's Go clients match.
    pub go_client_form: CaseSpec,
    /// A value in the specification's `version="0", token=` form.
    pub spec_form: CaseSpec,
    /// The macaroon is a V2 binary macaroon.
    pub macaroon_v2: CaseSpec,
    /// Its identifier is version 0.
    pub identifier_v0: CaseSpec,
    /// The identifier's payment hash is the invoice's.
    pub payment_hash: CaseSpec,
    /// The invoice is a validly signed BOLT11 invoice.
    pub invoice_signed: CaseSpec,
    /// For the payer's network.
    pub invoice_network: CaseSpec,
    /// With an amount.
    pub invoice_amount: CaseSpec,
    /// Not expired.
    pub invoice_expiry: CaseSpec,
    /// Paying it gives a preimage of the payment hash.
    pub invoice_paid: CaseSpec,
}

macro_rules! challenge_cases {
    ($group:literal, $status_clause:literal, $status_checks:literal, $grpc_status:expr, $grpc_message:expr) => {
        ChallengeCases {
            status: case!($group, "status", Must, $status_clause, $status_checks),
            grpc_status: $grpc_status,
            grpc_message: $grpc_message,
            www_authenticate: case!($group, "www-authenticate", Must, "§ 5.4",
                "a WWW-Authenticate value holds an L402 or LSAT challenge (macaroon or token, invoice) that parses"),
            go_client_form: case!($group, "go-client-form", Should, "§ 5.2",
                "a value matches (LSAT|L402) macaroon=\"…\", invoice=\"…\", the only form Loop's and Aperture's Go clients read"),
            spec_form: case!($group, "spec-form", May, "§ 5.2, L402 spec: WWW-Authenticate",
                "a value in the specification's form L402 version=\"0\", token=\"…\", invoice=\"…\""),
            macaroon_v2: case!($group, "macaroon-v2", Must, "§ 3.1",
                "the macaroon is base64 of a canonical V2 binary macaroon"),
            identifier_v0: case!($group, "identifier-version", Must, "§ 2",
                "the macaroon identifier is version 0, 66 bytes"),
            payment_hash: case!($group, "payment-hash", Must, "§ 5.4, § 2",
                "the identifier's payment hash is the invoice's"),
            invoice_signed: case!($group, "invoice-signed", Must, "§ 5.4, BOLT 11",
                "the invoice is a BOLT11 invoice with a valid signature"),
            invoice_network: case!($group, "invoice-network", Must, "§ 7.3",
                "the invoice is for the payer's network"),
            invoice_amount: case!($group, "invoice-amount", Must, "§ 8 rule 1",
                "the invoice has a non-zero amount"),
            invoice_expiry: case!($group, "invoice-expiry", Must, "BOLT 11 (x field)",
                "the invoice has not expired when it is received"),
            invoice_paid: case!($group, "invoice-paid", Must, "§ 5.1",
                "the invoice can be paid through lnd and its preimage hashes to the payment hash"),
        }
    };
}

/// The cases of one binding.
#[derive(Debug)]
pub struct BindingCases {
    /// The binding.
    pub binding: Binding,
    /// The challenge.
    pub challenge: ChallengeCases,
    /// The paid token in each credential form, in order; the first is the binding's main form.
    pub paid: &'static [(CaseSpec, Form)],
    /// The same token used again, after everything else.
    pub reuse: CaseSpec,
    /// Forged and malformed credentials, each of which must not reach the backend.
    pub reject: &'static [(CaseSpec, Forgery)],
}

impl BindingCases {
    /// The binding's main credential form, the one [`reuse`](Self::reuse) sends again.
    pub fn main_form(&self) -> Form {
        self.paid[0].1
    }

    /// Every case of the binding, in table order.
    pub fn all(&self) -> Vec<CaseSpec> {
        let c = &self.challenge;
        let mut all = vec![c.status];
        all.extend(c.grpc_status);
        all.extend(c.grpc_message);
        all.extend([
            c.www_authenticate,
            c.go_client_form,
            c.spec_form,
            c.macaroon_v2,
            c.identifier_v0,
            c.payment_hash,
            c.invoice_signed,
            c.invoice_network,
            c.invoice_amount,
            c.invoice_expiry,
            c.invoice_paid,
        ]);
        all.extend(self.paid.iter().map(|(spec, _)| *spec));
        all.push(self.reuse);
        all.extend(self.reject.iter().map(|(spec, _)| *spec));
        all
    }
}

macro_rules! reject_cases {
    ($group:literal, $malformed:literal, $oversized:literal) => {
        &[
            (case!($group, "no-preimage", Must, "§ 6.1, § 6.2",
                "a macaroon without a preimage (no `:<preimage>`, or no preimage caveat)"), Forgery::NoPreimage),
            (case!($group, "wrong-preimage", Must, "§ 7.1 step 3",
                "the paid macaroon with a random preimage"), Forgery::WrongPreimage),
            (case!($group, "other-invoice-preimage", Must, "§ 7.1 step 3",
                "the paid macaroon with the preimage of another paid invoice of the same server"), Forgery::OtherInvoicePreimage),
            (case!($group, "flipped-signature", Must, "§ 7.1 step 5",
                "the paid macaroon with one bit of its signature flipped"), Forgery::FlippedSignature),
            (case!($group, "guessed-root-key", Must, "§ 3.2, § 7.1 step 5",
                "the macaroon re-signed with a guessed root key (32 zero bytes)"), Forgery::GuessedRootKey),
            (case!($group, "widened-services", Must, "§ 4.2 rule 1",
                "the paid macaroon with an appended services caveat listing one service more"), Forgery::WidenedServices),
            (case!($group, "past-valid-until", Must, "§ 4.2",
                "the paid macaroon with an appended <service>_valid_until a minute in the past"), Forgery::PastValidUntil),
            (case!($group, "unknown-token-id", Must, "§ 7.1 step 4",
                "a macaroon for the paid payment hash and preimage with a token id the server never minted"), Forgery::UnknownTokenId),
            (case!($group, "malformed-encoding", Must, "§ 6.3 rule 2", $malformed), Forgery::MalformedEncoding),
            (case!($group, "oversized-header", Must, "§ 6.3, limits", $oversized), Forgery::OversizedHeader),
        ]
    };
}

/// The HTTP binding's cases.
pub const HTTP: BindingCases = BindingCases {
    binding: Binding::Http,
    challenge: challenge_cases!(
        "challenge",
        "§ 5.2",
        "a request without a credential gets HTTP 402 Payment Required",
        None,
        None
    ),
    paid: &[
        (case!("paid", "authorization-l402", Must, "§ 6.1",
            "Authorization: L402 <base64 macaroon>:<hex preimage> reaches the backend"),
            Form::Authorization { scheme: "L402", upper_hex: false }),
        (case!("paid", "authorization-lsat", Should, "§ 6.1",
            "the legacy scheme, Authorization: LSAT …, reaches the backend"),
            Form::Authorization { scheme: "LSAT", upper_hex: false }),
        (case!("paid", "lowercase-scheme", Should, "§ 6.1, RFC 9110 § 11.1",
            "the scheme in lower case, Authorization: l402 …, reaches the backend (schemes are case-insensitive)"),
            Form::Authorization { scheme: "l402", upper_hex: false }),
        (case!("paid", "uppercase-hex", May, "§ 6.1",
            "the preimage in upper-case hex reaches the backend"),
            Form::Authorization { scheme: "L402", upper_hex: true }),
        (case!("paid", "macaroon-header", Should, "§ 6.2",
            "a macaroon header with the hex macaroon plus a preimage caveat reaches the backend"),
            Form::Metadata("macaroon")),
        (case!("paid", "grpc-metadata-macaroon", Should, "§ 6.2",
            "the grpc-gateway header Grpc-Metadata-Macaroon with the paid macaroon reaches the backend"),
            Form::Metadata("grpc-metadata-macaroon")),
        (case!("paid", "token-header", May, "§ 6.2, L402 spec: gRPC",
            "the specification's token key with the paid macaroon reaches the backend"),
            Form::Metadata("token")),
        (case!("paid", "several-macaroons", May, "§ 6.1, L402 spec: credentials",
            "Authorization: L402 <mac>,<mac>:<preimage>, the specification's list of macaroons, reaches the backend"),
            Form::SeveralMacaroons),
    ],
    reuse: case!("paid", "reuse", Must, "L402 spec: reusing credentials",
        "the same Authorization: L402 token reaches the backend again after all the other requests"),
    reject: reject_cases!(
        "reject",
        "Authorization: L402 with a macaroon that is not base64",
        "an Authorization value of 64 KiB"
    ),
};

/// The gRPC binding's cases.
pub const GRPC: BindingCases = BindingCases {
    binding: Binding::Grpc,
    challenge: challenge_cases!(
        "grpc-challenge",
        "§ 5.3",
        "a call without a credential gets HTTP 200 (gRPC clients refuse any other status)",
        Some(case!("grpc-challenge", "grpc-status", Must, "§ 5.3",
            "the call fails with grpc-status 13 (INTERNAL), the code Aperture sends and Loop recognises")),
        Some(case!("grpc-challenge", "grpc-message", Must, "§ 5.3",
            "grpc-message contains \"payment required\", which Loop's client looks for"))
    ),
    paid: &[
        (case!("grpc-paid", "macaroon-metadata", Must, "§ 6.2",
            "macaroon metadata with the hex macaroon plus a preimage caveat (Loop's form) reaches the backend"),
            Form::Metadata("macaroon")),
        (case!("grpc-paid", "authorization-l402", Should, "§ 6.1",
            "authorization: L402 <base64 macaroon>:<hex preimage> metadata reaches the backend"),
            Form::Authorization { scheme: "L402", upper_hex: false }),
        (case!("grpc-paid", "grpc-metadata-macaroon", May, "§ 6.2",
            "grpc-metadata-macaroon metadata with the paid macaroon reaches the backend"),
            Form::Metadata("grpc-metadata-macaroon")),
        (case!("grpc-paid", "token-metadata", May, "§ 6.2, L402 spec: gRPC",
            "the specification's token metadata with the paid macaroon reaches the backend"),
            Form::Metadata("token")),
    ],
    reuse: case!("grpc-paid", "reuse", Must, "L402 spec: reusing credentials",
        "the same macaroon metadata reaches the backend again after all the other calls"),
    reject: reject_cases!(
        "grpc-reject",
        "macaroon metadata that is not hex",
        "macaroon metadata of 64 KiB"
    ),
};

/// Every `server` case, HTTP then gRPC.
pub fn all() -> Vec<CaseSpec> {
    let mut all = HTTP.all();
    all.extend(GRPC.all());
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_grouped() {
        let all = all();
        let mut ids: Vec<_> = all.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
        for case in &all {
            assert!(
                [
                    "challenge",
                    "paid",
                    "reject",
                    "grpc-challenge",
                    "grpc-paid",
                    "grpc-reject"
                ]
                .contains(&case.group()),
                "{}",
                case.id
            );
        }
    }
}
