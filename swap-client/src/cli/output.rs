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

/// Loop's `blkFmt`: `%-36s %12d block`.
pub fn block_line(out: &mut dyn Write, label: &str, blocks: i32) -> io::Result<()> {
    writeln!(out, "{label:<36} {blocks:>12} block")
}

/// Loop's `printQuoteOutResp` (`deadline`: the request's publication deadline, Unix seconds).
pub fn print_quote(
    out: &mut dyn Write,
    amount_sat: i64,
    quote: &OutQuoteResponse,
    deadline: u64,
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
    block_line(out, "Conf target:", quote.conf_target)?;
    block_line(out, "CLTV expiry delta:", quote.cltv_delta)?;
    writeln!(
        out,
        "{:<38} {}",
        "Publication deadline:",
        go_time_string(deadline as i64)
    )
}

/// Loop's `displayOutDetails` before `CONTINUE SWAP? (y/n): `: the quote, and with
/// `verbose` the fee limits.
pub fn print_out_details(
    out: &mut dyn Write,
    amount_sat: i64,
    quote: &OutQuoteResponse,
    limits: &crate::swap::OutLimits,
    deadline: u64,
    verbose: bool,
) -> io::Result<()> {
    print_quote(out, amount_sat, quote, deadline, verbose)?;
    if verbose {
        writeln!(out)?;
        sat_line(out, "Max on-chain fee:", limits.max_miner_fee as i64)?;
        sat_line(
            out,
            "Max off-chain swap routing fee:",
            limits.max_swap_routing_fee as i64,
        )?;
        sat_line(
            out,
            "Max off-chain prepay routing fee:",
            limits.max_prepay_routing_fee as i64,
        )?;
    }
    Ok(())
}

/// A duration as Go's `time.Duration` prints whole seconds: `30m0s`, `1h0m0s`, `45s`.
pub fn go_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// A Unix time as Go's `time.Unix(secs, 0).String()` in local time:
/// `2006-01-02 15:04:05 -0700 MST`. chrono knows no zone abbreviations, so the name is
/// `UTC` at offset 0 and Go's numeric form (`+01`, `+0530`) otherwise.
pub fn go_time_string(secs: i64) -> String {
    let Some(time) = chrono::DateTime::from_timestamp(secs, 0) else {
        return secs.to_string();
    };
    let local = time.with_timezone(&chrono::Local);
    let offset = chrono::Offset::fix(local.offset()).local_minus_utc();
    let name = if offset == 0 {
        "UTC".to_owned()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let (h, m) = (offset.abs() / 3600, offset.abs() / 60 % 60);
        if m == 0 {
            format!("{sign}{h:02}")
        } else {
            format!("{sign}{h:02}{m:02}")
        }
    };
    format!("{} {name}", local.format("%Y-%m-%d %H:%M:%S %z"))
}

/// A Unix time as Go's `time.Unix(secs, 0).Format(time.RFC3339)`: local time,
/// `2006-01-02T15:04:05+01:00`, `Z` at offset 0.
pub fn rfc3339_local(secs: i64) -> String {
    let Some(time) = chrono::DateTime::from_timestamp(secs, 0) else {
        return secs.to_string();
    };
    time.with_timezone(&chrono::Local)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
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

/// One token as `loop listauth` prints it: Loop's `printableToken` fields in Loop's order,
/// then our extra `storage_name` (the RPC's name of `file_name`).
#[derive(Debug, Serialize)]
pub struct PrintableToken {
    /// Token id (hex).
    pub id: String,
    /// When the token expires: the earliest `<service>_valid_until` caveat of its macaroon, local-time
    /// RFC 3339; empty for a token without one (Loop always prints it empty).
    pub valid_until: String,
    /// Hex of the base macaroon.
    pub base_macaroon: String,
    /// Hex payment hash.
    pub payment_hash: String,
    /// Hex preimage (zeros while pending).
    pub payment_preimage: String,
    /// Token amount paid, msat.
    pub amount_paid_msat: i64,
    /// Routing fee paid, msat.
    pub routing_fee_paid_msat: i64,
    /// Creation time, local-time RFC 3339 (Go's `time.RFC3339`).
    pub time_created: String,
    /// Whether the token was rejected by the server (evicted).
    pub expired: bool,
    /// The token file (Loop's CLI name).
    pub file_name: String,
    /// The token file (the RPC's name; not in Loop).
    pub storage_name: String,
}

impl From<&L402Token> for PrintableToken {
    fn from(t: &L402Token) -> Self {
        Self {
            id: t.id.clone(),
            valid_until: valid_until(&t.base_macaroon).map_or_else(String::new, rfc3339_local),
            base_macaroon: hex::encode(&t.base_macaroon),
            payment_hash: hex::encode(&t.payment_hash),
            payment_preimage: hex::encode(&t.payment_preimage),
            amount_paid_msat: t.amount_paid_msat,
            routing_fee_paid_msat: t.routing_fee_paid_msat,
            time_created: rfc3339_local(t.time_created),
            expired: t.expired,
            file_name: t.storage_name.clone(),
            storage_name: t.storage_name.clone(),
        }
    }
}

/// The earliest `<service>_valid_until` of a macaroon, Unix seconds; `None` for none, or a macaroon that
/// does not parse (listing tokens never fails on one).
fn valid_until(macaroon: &[u8]) -> Option<i64> {
    let caveats = l402::Macaroon::from_bytes(macaroon).ok()?.caveats().ok()?;
    caveats
        .iter()
        .filter_map(|caveat| match caveat {
            l402::Caveat::ValidUntil { unix_secs, .. } => Some(*unix_secs),
            _ => None,
        })
        .min()
}

/// Writes `value` as JSON with Loop's 4-space indent (`printRespJSON`) and a final newline.
pub fn write_json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    write_json_indented(out, value, b"    ")
}

/// Writes `value` as Loop's `printJSON` does (`json.Indent` with a tab) and a final newline.
pub fn write_json_tabs(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    write_json_indented(out, value, b"\t")
}

fn write_json_indented(
    out: &mut dyn Write,
    value: &impl Serialize,
    indent: &[u8],
) -> io::Result<()> {
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent);
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
        print_quote(&mut out, 500_000, &quote, 0, false).unwrap();
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
    fn loops_verbose_quote_and_fee_limits() {
        let quote = OutQuoteResponse {
            swap_fee_sat: 7668,
            htlc_sweep_fee_sat: 300,
            prepay_amt_sat: 1337,
            conf_target: 9,
            cltv_delta: 144,
            ..Default::default()
        };
        let limits = crate::swap::OutLimits {
            max_swap_routing_fee: 5010,
            max_prepay_routing_fee: 36,
            max_swap_fee: 7668,
            max_prepay_amt: 1337,
            max_miner_fee: 900,
        };
        let mut out = Vec::new();
        print_out_details(&mut out, 500_000, &quote, &limits, 1_700_000_000, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected = "Send off-chain:                            500000 sat\n\
             Receive on-chain:                          492032 sat\n\
             \n\
             Estimated on-chain fee:                       300 sat\n\
             Loop service fee:                            7668 sat\n\
             Estimated total fee:                         7968 sat\n\
             \n\
             No show penalty (prepay):                    1337 sat\n\
             Conf target:                                    9 block\n\
             CLTV expiry delta:                            144 block\n";
        assert!(text.starts_with(expected), "{text}");
        let rest = &text[expected.len()..];
        let (deadline, limits) = rest.split_once('\n').unwrap();
        assert_eq!(
            deadline,
            format!(
                "Publication deadline:                  {}",
                go_time_string(1_700_000_000)
            )
        );
        assert_eq!(
            limits,
            "\nMax on-chain fee:                             900 sat\n\
             Max off-chain swap routing fee:              5010 sat\n\
             Max off-chain prepay routing fee:              36 sat\n"
        );
        assert_eq!(go_duration(Duration::from_secs(1800)), "30m0s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_secs(45)), "45s");
    }

    #[test]
    fn go_and_rfc3339_times_are_local() {
        // The offset is whatever this machine's zone is; the instant is the same.
        let text = rfc3339_local(1_700_000_000);
        let parsed = chrono::DateTime::parse_from_rfc3339(&text).unwrap();
        assert_eq!(parsed.timestamp(), 1_700_000_000);
        let local = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .with_timezone(&chrono::Local);
        assert_eq!(
            parsed.offset().local_minus_utc(),
            chrono::Offset::fix(local.offset()).local_minus_utc()
        );
        if parsed.offset().local_minus_utc() == 0 {
            assert_eq!(text, "2023-11-14T22:13:20Z");
            assert_eq!(
                go_time_string(1_700_000_000),
                "2023-11-14 22:13:20 +0000 UTC"
            );
        }
    }

    #[test]
    fn listauth_prints_loops_field_order_then_ours() {
        let token = L402Token {
            id: "ab".into(),
            base_macaroon: vec![1],
            payment_hash: vec![2],
            payment_preimage: vec![3],
            amount_paid_msat: 1000,
            routing_fee_paid_msat: 5,
            time_created: 1_700_000_000,
            expired: false,
            storage_name: "l402.token".into(),
        };
        let mut out = Vec::new();
        write_json_tabs(&mut out, &vec![PrintableToken::from(&token)]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected = format!(
            "[\n\t{{\n\t\t\"id\": \"ab\",\n\t\t\"valid_until\": \"\",\n\
             \t\t\"base_macaroon\": \"01\",\n\t\t\"payment_hash\": \"02\",\n\
             \t\t\"payment_preimage\": \"03\",\n\t\t\"amount_paid_msat\": 1000,\n\
             \t\t\"routing_fee_paid_msat\": 5,\n\t\t\"time_created\": \"{}\",\n\
             \t\t\"expired\": false,\n\t\t\"file_name\": \"l402.token\",\n\
             \t\t\"storage_name\": \"l402.token\"\n\t}}\n]\n",
            rfc3339_local(1_700_000_000)
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn listauth_shows_the_earliest_valid_until_of_the_macaroon() {
        let minted = l402::MintRequest::new(l402::PaymentHash::from_bytes([7; 32]))
            .valid_until("loop", 1_800_000_000)
            .mint()
            .unwrap();
        // The holder narrowed it further (attenuation): the earlier time is when it expires.
        let macaroon = minted
            .macaroon
            .with_caveat(&l402::Caveat::valid_until("loop", 1_700_000_000).unwrap())
            .unwrap();
        let token = |base_macaroon: Vec<u8>| L402Token {
            base_macaroon,
            ..Default::default()
        };
        let printed = PrintableToken::from(&token(macaroon.as_bytes().to_vec()));
        assert_eq!(printed.valid_until, rfc3339_local(1_700_000_000));
        let without = l402::MintRequest::new(l402::PaymentHash::from_bytes([7; 32]))
            .mint()
            .unwrap();
        let printed = PrintableToken::from(&token(without.macaroon.as_bytes().to_vec()));
        assert_eq!(printed.valid_until, "", "no expiry caveat");
        assert_eq!(PrintableToken::from(&token(vec![1, 2])).valid_until, "");
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
