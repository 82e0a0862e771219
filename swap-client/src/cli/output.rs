//! What `loop` prints, in Loop's formats.
//!
//! - Swap lists and infos: Loop's protojson (proto field names, sorted keys,
//!   64-bit integers as strings, bytes as hex, enums by name, 4-space indent).
//! - `listauth`: Loop's `printableToken` objects.
//! - Quotes, terms and monitor lines: Loop's text layouts.

use std::io::{self, Write};
use std::time::{Duration, UNIX_EPOCH};

use proto::looprpc::{
    FailureReason, L402Token, OutQuoteResponse, OutTermsResponse, SwapState, SwapStatus, SwapType,
};
use serde::Serialize;
use serde_json::{json, Value};

/// Loop's `satAmtFmt`: `%-36s %12d sat`.
pub fn sat_line(out: &mut dyn Write, label: &str, sat: i64) -> io::Result<()> {
    writeln!(out, "{label:<36} {sat:>12} sat")
}

/// Loop's `printQuoteOutResp`.
pub fn print_quote(
    out: &mut dyn Write,
    amount_sat: i64,
    quote: &OutQuoteResponse,
    verbose: bool,
) -> io::Result<()> {
    let total_fee = quote.htlc_sweep_fee_sat + quote.swap_fee_sat;
    sat_line(out, "Send off-chain:", amount_sat)?;
    sat_line(out, "Receive on-chain:", amount_sat - total_fee)?;
    if !verbose {
        return sat_line(out, "Estimated total fee:", total_fee);
    }
    writeln!(out)?;
    sat_line(out, "Estimated on-chain fee:", quote.htlc_sweep_fee_sat)?;
    sat_line(out, "Loop service fee:", quote.swap_fee_sat)?;
    sat_line(out, "Estimated total fee:", total_fee)?;
    writeln!(out)?;
    sat_line(out, "No show penalty (prepay):", quote.prepay_amt_sat)?;
    writeln!(
        out,
        "{:<36} {:>12} blocks",
        "Conf target:", quote.conf_target
    )?;
    writeln!(
        out,
        "{:<36} {:>12} blocks",
        "CLTV expiry delta:", quote.cltv_delta
    )?;
    Ok(())
}

/// Loop's `loop terms` (loop out part; loop in is not offered by this server).
pub fn print_terms(out: &mut dyn Write, terms: &OutTermsResponse) -> io::Result<()> {
    writeln!(out, "Loop Out")?;
    writeln!(out, "--------")?;
    writeln!(
        out,
        "Amount: {} - {}",
        terms.min_swap_amount, terms.max_swap_amount
    )?;
    writeln!(
        out,
        "Cltv delta: {} - {}",
        terms.min_cltv_delta, terms.max_cltv_delta
    )?;
    writeln!(out)?;
    writeln!(out, "Loop In")?;
    writeln!(out, "------")?;
    writeln!(out, "not offered by this swap server")
}

/// An amount as btcutil prints it: `0.00250000 BTC`.
pub fn btc(sat: i64) -> String {
    let sign = if sat < 0 { "-" } else { "" };
    let sat = sat.unsigned_abs();
    format!("{sign}{}.{:08} BTC", sat / 100_000_000, sat % 100_000_000)
}

/// RFC 3339 (UTC, seconds) of a Unix time in nanoseconds.
pub fn rfc3339_nanos(nanos: i64) -> String {
    rfc3339_secs(nanos.max(0) / 1_000_000_000)
}

/// RFC 3339 (UTC, seconds) of a Unix time in seconds.
pub fn rfc3339_secs(secs: i64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64))
        .to_string()
}

/// The state as Loop's monitor shows it: `FAILED (FAILURE_REASON_…)` for failures.
pub fn state_label(swap: &SwapStatus) -> String {
    let state = state_name(swap.state);
    if swap.state == SwapState::Failed as i32 {
        format!("{state} ({})", failure_name(swap.failure_reason))
    } else {
        state.to_owned()
    }
}

/// Loop's monitor line.
pub fn monitor_line(swap: &SwapStatus) -> String {
    let mut line = format!(
        "{} {} {} {} - {}",
        rfc3339_nanos(swap.last_update_time),
        type_name(swap.r#type),
        state_label(swap),
        btc(swap.amt),
        swap.htlc_address_p2wsh,
    );
    let state = SwapState::try_from(swap.state).unwrap_or(SwapState::Initiated);
    if !matches!(
        state,
        SwapState::Initiated | SwapState::HtlcPublished | SwapState::PreimageRevealed
    ) {
        line.push_str(&format!(
            " (cost: server {}, onchain {}, offchain {})",
            swap.cost_server, swap.cost_onchain, swap.cost_offchain
        ));
    }
    line
}

fn state_name(state: i32) -> &'static str {
    SwapState::try_from(state)
        .map(|s| s.as_str_name())
        .unwrap_or("UNKNOWN")
}

fn type_name(kind: i32) -> &'static str {
    SwapType::try_from(kind)
        .map(|s| s.as_str_name())
        .unwrap_or("UNKNOWN")
}

fn failure_name(reason: i32) -> &'static str {
    FailureReason::try_from(reason)
        .map(|s| s.as_str_name())
        .unwrap_or("UNKNOWN")
}

/// A `SwapStatus` as Loop's protojson.
pub fn swap_json(swap: &SwapStatus) -> Value {
    json!({
        "amt": swap.amt.to_string(),
        "asset_info": null,
        "cost_offchain": swap.cost_offchain.to_string(),
        "cost_onchain": swap.cost_onchain.to_string(),
        "cost_server": swap.cost_server.to_string(),
        "failure_reason": failure_name(swap.failure_reason),
        "htlc_address": swap.htlc_address,
        "htlc_address_p2tr": "",
        "htlc_address_p2wsh": swap.htlc_address_p2wsh,
        "id": swap.id,
        "id_bytes": hex::encode(&swap.id_bytes),
        "initiation_time": swap.initiation_time.to_string(),
        "label": swap.label,
        "last_hop": "",
        "last_update_time": swap.last_update_time.to_string(),
        "outgoing_chan_set": [],
        "state": state_name(swap.state),
        "type": type_name(swap.r#type),
    })
}

/// `ListSwapsResponse` as Loop's protojson.
pub fn list_json(swaps: &[SwapStatus], next_start_time: i64) -> Value {
    json!({
        "next_start_time": next_start_time.to_string(),
        "swaps": swaps.iter().map(swap_json).collect::<Vec<_>>(),
    })
}

/// One token as `loop listauth` prints it (Loop's `printableToken`, plus the
/// RPC's `storage_name`).
#[derive(Debug, Serialize)]
pub struct PrintableToken {
    /// Token amount paid, msat.
    pub amount_paid_msat: i64,
    /// Hex of the base macaroon.
    pub base_macaroon: String,
    /// Whether the token was rejected by the server (evicted).
    pub expired: bool,
    /// The token file (Loop's CLI name).
    pub file_name: String,
    /// Token id (hex).
    pub id: String,
    /// Hex payment hash.
    pub payment_hash: String,
    /// Hex preimage (zeros while pending).
    pub payment_preimage: String,
    /// Routing fee paid, msat.
    pub routing_fee_paid_msat: i64,
    /// The token file (the RPC's name).
    pub storage_name: String,
    /// RFC 3339 creation time.
    pub time_created: String,
    /// Always empty (as in Loop).
    pub valid_until: String,
}

impl From<&L402Token> for PrintableToken {
    fn from(t: &L402Token) -> Self {
        Self {
            amount_paid_msat: t.amount_paid_msat,
            base_macaroon: hex::encode(&t.base_macaroon),
            expired: t.expired,
            file_name: t.storage_name.clone(),
            id: t.id.clone(),
            payment_hash: hex::encode(&t.payment_hash),
            payment_preimage: hex::encode(&t.payment_preimage),
            routing_fee_paid_msat: t.routing_fee_paid_msat,
            storage_name: t.storage_name.clone(),
            time_created: rfc3339_secs(t.time_created),
            valid_until: String::new(),
        }
    }
}

/// Writes `value` as JSON with Loop's 4-space indent and a final newline.
pub fn write_json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
    value.serialize(&mut serializer).map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_text_formats() {
        let mut out = Vec::new();
        let quote = OutQuoteResponse {
            swap_fee_sat: 7668,
            ..Default::default()
        };
        print_quote(&mut out, 500_000, &quote, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Send off-chain:                            500000 sat\n\
             Receive on-chain:                          492332 sat\n\
             Estimated total fee:                         7668 sat\n"
        );
        assert_eq!(btc(500_000), "0.00500000 BTC");
        assert_eq!(rfc3339_secs(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn swap_json_uses_loops_field_names_and_encodings() {
        let swap = SwapStatus {
            amt: 500_000,
            id: "ab".repeat(32),
            id_bytes: vec![0xab; 32],
            state: SwapState::Success as i32,
            initiation_time: 1,
            ..Default::default()
        };
        let value = swap_json(&swap);
        assert_eq!(value["amt"], "500000");
        assert_eq!(value["state"], "SUCCESS");
        assert_eq!(value["type"], "LOOP_OUT");
        assert_eq!(value["failure_reason"], "FAILURE_REASON_NONE");
        assert_eq!(value["id_bytes"], "ab".repeat(32));
        let mut out = Vec::new();
        write_json(&mut out, &value).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("{\n    \"amt\": \"500000\",\n    \"asset_info\": null,"),
            "{text}"
        );
    }
}
