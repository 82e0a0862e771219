//! The report as text for a person: one line per fact, caveats with their meaning.

use crate::decode::Report;

/// The report, one fact per line.
pub fn text(report: &Report) -> String {
    let mut out = format!("{}\n", report.kind.label());
    let mut line = |label: &str, value: &str| out += &format!("  {label:<16}{value}\n");
    line("location", report.location.as_deref().unwrap_or("(none)"));
    line("identifier", &format!("version {}", report.version));
    line("payment hash", &report.payment_hash);
    line("token id", &report.token_id);
    match &report.preimage {
        None => line("preimage", "absent: this is not yet a credential"),
        Some(p) if p.matches_payment_hash => line(
            "preimage",
            &format!("present ({}), pays the payment hash", p.source),
        ),
        Some(p) => line(
            "preimage",
            &format!(
                "present ({}), DOES NOT pay the payment hash: refused",
                p.source
            ),
        ),
    }
    if let Some(file) = &report.token_file {
        let state = if file.pending {
            "pending: the payment's outcome is not known"
        } else {
            "paid"
        };
        line("token file", state);
        line(
            "paid",
            &format!(
                "{} msat + {} msat routing fee",
                file.amount_paid_msat, file.routing_fee_paid_msat
            ),
        );
        line("created", &file.created);
    }
    if let Some(invoice) = &report.invoice {
        let amount = invoice
            .amount_msat
            .map_or("any amount".into(), |a| format!("{a} msat"));
        line("invoice", &format!("{} network, {amount}", invoice.network));
        let matches = if invoice.matches_identifier {
            "the identifier's"
        } else {
            "NOT the identifier's: refuse to pay"
        };
        line(
            "  payment hash",
            &format!("{} ({matches})", invoice.payment_hash),
        );
        line("  created", &invoice.created);
        line("  expires", &invoice.expires);
        line("  payee", &invoice.payee);
    }
    out += &format!("  caveats ({})\n", report.caveats.len());
    for caveat in &report.caveats {
        out += &format!("    {}\n      {}\n", caveat.caveat, caveat.meaning);
    }
    out
}
