//! From the programs' own instrumentation to rows of the diagram: one task per feed — the proxy's
//! decisions, loopd's L402 client events, mock-lnd's invoice and payment events, swap-server's swap
//! updates — each turning what its program reports into [`NewEvent`]s on the page's [`Feed`].
//! Nothing here invents a step: a row exists because a program reported it.

use std::sync::Arc;

use auth_proxy::{Decision, Outcome};
use l402_client::{L402Client, L402Event};
use mock_lnd::{InvoiceEvent, NetworkEvent, PaymentEvent};
use swap_server::swap::SwapUpdate;
use testkit::stack::{CLIENT_NODE, PROXY_NODE, SERVER_NODE};
use tokio::sync::broadcast;
use tokio::task::JoinSet;

use super::detail::{self, Section};
use super::feed::{Feed, Kind, NewEvent, Party};
use crate::demo::short;
use crate::programs::{Programs, ProgramsRef};
use crate::remote::{FeedGap, RemoteFeed};

const PROXY: &str = "auth-proxy decision feed";
const CLIENT: &str = "loopd's L402 client events";
const NETWORK: &str = "mock-lnd invoice and payment events";
const SWAPS: &str = "swap-server swap updates";
const GAPS: &str = "loop-demo's readers of the remote feeds";

/// Subscribes to every feed now and translates until the feeds close or the set is dropped.
pub fn spawn_all(shared: &Arc<Programs>, feed: &Feed) -> JoinSet<()> {
    let programs = shared.by_ref();
    let mut tasks = JoinSet::new();
    let l402 = programs.l402().clone();
    tasks.spawn(follow(
        programs.decisions(),
        feed.clone(),
        (PROXY, Party::Proxy),
        move |decision| decision_rows(&decision, &l402),
    ));
    let l402 = programs.l402().clone();
    tasks.spawn(follow(
        programs.l402().subscribe_events(),
        feed.clone(),
        (CLIENT, Party::Loopd),
        move |event| client_rows(event, &l402),
    ));
    tasks.spawn(follow(
        programs.network_events(),
        feed.clone(),
        (NETWORK, Party::ClientLnd),
        network_rows,
    ));
    tasks.spawn(follow(
        programs.swap_updates(),
        feed.clone(),
        (SWAPS, Party::SwapServer),
        |update| vec![swap_row(&update)],
    ));
    if let Some(gaps) = programs.feed_gaps() {
        tasks.spawn(follow(gaps, feed.clone(), (GAPS, Party::User), |gap| {
            vec![gap_row(&gap)]
        }));
    }
    tasks.spawn(follow_balances(shared.clone(), feed.clone()));
    tasks
}

/// The balances panel's event: the three nodes' balances now (an error row if they cannot be read).
pub async fn balances(programs: ProgramsRef<'_>) -> NewEvent {
    match programs.balances().await {
        Ok(balances) => NewEvent::state(
            Kind::Balances,
            serde_json::to_value(balances).unwrap_or_default(),
        ),
        Err(error) => NewEvent::note(
            Kind::Error,
            Party::ClientLnd,
            format!("cannot read the balances: {error:#}"),
        ),
    }
    .from_source(NETWORK)
}

/// Publishes the balances after every network event (money moves only with one).
async fn follow_balances(programs: Arc<Programs>, feed: Feed) {
    let mut events = programs.by_ref().network_events();
    loop {
        match events.recv().await {
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                feed.publish(balances(programs.by_ref()).await)
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Receives from `rx` and publishes what `translate` makes of each item, tagged with the feed's name; a
/// lag (the page's translator fell behind the program) is shown as such on `party`'s lifeline.
async fn follow<T: Clone>(
    mut rx: broadcast::Receiver<T>,
    feed: Feed,
    (source, party): (&'static str, Party),
    mut translate: impl FnMut(T) -> Vec<NewEvent>,
) {
    loop {
        match rx.recv().await {
            Ok(item) => {
                for event in translate(item) {
                    feed.publish(event.from_source(source));
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => feed.publish(
                NewEvent::note(
                    Kind::Error,
                    party,
                    format!("the page missed {missed} events"),
                )
                .from_source(source),
            ),
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The last segment of a request path: the gRPC method or the HTTP resource.
fn method_of(path: &str) -> &str {
    path.rsplit('/').find(|s| !s.is_empty()).unwrap_or(path)
}

/// The rows of one proxy decision: the call, the verification of a credential sent, and the answer.
fn decision_rows(decision: &Decision, l402: &L402Client) -> Vec<NewEvent> {
    let method = method_of(&decision.path);
    let took = decision.elapsed;
    let took_ms = format!("{:.1} ms", took.as_secs_f64() * 1000.0);
    let request = Section::new("the request")
        .fact("protocol", if decision.grpc { "gRPC" } else { "HTTP" })
        .fact("method", &decision.method)
        .fact("path", &decision.path)
        .fact("service", decision.service.as_deref().unwrap_or("(none)"));
    let reason = decision.reason.as_deref();
    let sent_credential = reason != Some("missing");
    let mut call_label = format!("{method} (no token)");
    let mut call_detail = vec![request];
    if sent_credential {
        call_label = format!("{method} + L402 token");
        call_detail.push(credential_sent(l402, decision));
    }
    let call = NewEvent::arrow(Kind::Call, Party::Loopd, Party::Proxy, call_label)
        .with_detail(detail::of(call_detail))
        .earlier(took);
    let answer = Section::new("the answer")
        .fact("HTTP status", decision.status)
        .fact(
            "grpc-status",
            decision
                .grpc_status
                .map_or_else(|| "(from the backend)".to_owned(), |s| s.to_string()),
        )
        .fact("decision", decision.outcome.as_str())
        .fact("reason", reason.unwrap_or("(none)"))
        .fact("detail", decision.detail.as_deref().unwrap_or("(none)"))
        .fact("time to answer", &took_ms);
    let mut rows = vec![call];
    match decision.outcome {
        Outcome::Challenged => {
            if sent_credential {
                rows.push(
                    NewEvent::note(
                        Kind::Verify,
                        Party::Proxy,
                        format!("verification failed: {}", reason.unwrap_or("refused")),
                    )
                    .with_detail(detail::of([detail::checks(reason)]))
                    .earlier(took),
                );
            }
            let minted = decision.token_id.as_deref().unwrap_or("?");
            rows.push(
                NewEvent::arrow(
                    Kind::Challenge,
                    Party::Proxy,
                    Party::Loopd,
                    format!(
                        "402 Payment Required: macaroon (token {}) + invoice",
                        short(minted)
                    ),
                )
                .with_detail(detail::of([answer.fact("token minted", minted)])),
            );
        }
        Outcome::Accepted => {
            rows.push(
                NewEvent::note(
                    Kind::Verify,
                    Party::Proxy,
                    "verified: preimage ✓ root key ✓ signature ✓ caveats ✓",
                )
                .with_detail(detail::of([detail::checks(None)]))
                .earlier(took),
            );
            let forwarded = Section::new("forwarded to swap-server")
                .fact("token id", decision.token_id.as_deref().unwrap_or("?"))
                .secret(
                    "Authorization",
                    "L402 <macaroon>:<preimage> — the verified credential only (secret, not shown)",
                )
                .fact(
                    "backend status",
                    decision
                        .upstream_status
                        .map_or_else(|| "(none)".to_owned(), |s| s.to_string()),
                );
            rows.push(
                NewEvent::arrow(
                    Kind::Forward,
                    Party::Proxy,
                    Party::SwapServer,
                    format!("forwarded, answered in {took_ms}"),
                )
                .with_detail(detail::of([forwarded, answer])),
            );
        }
        _ => rows.push(
            NewEvent::arrow(
                Kind::Error,
                Party::Proxy,
                Party::Loopd,
                format!(
                    "{} {}: {}",
                    decision.grpc_status.map_or_else(
                        || format!("HTTP {}", decision.status),
                        |code| format!("grpc-status {code}")
                    ),
                    decision.outcome.as_str(),
                    reason.unwrap_or("")
                ),
            )
            .with_detail(detail::of([answer])),
        ),
    }
    rows
}

/// What loopd attached to a call: its current token, decoded (the preimage marked, never shown).
fn credential_sent(l402: &L402Client, decision: &Decision) -> Section {
    let title = "the credential (gRPC `macaroon` metadata: the macaroon with a preimage caveat)";
    let Some(token) = l402.current_token() else {
        return Section::new(title).fact("token", "none held now");
    };
    let hex = token.macaroon_metadata().to_str().unwrap_or_default();
    match l402_cli::decode::decode_text(hex, false) {
        Ok(report) => Section::new(title)
            .secret(
                "macaroon",
                "the paid macaroon: a bearer credential (secret, not shown)",
            )
            .report(&report)
            .fact(
                "the proxy says it is token",
                decision.token_id.as_deref().unwrap_or("(not named)"),
            ),
        Err(error) => detail::unreadable(title, error),
    }
}

/// The rows of one L402 client event.
fn client_rows(event: L402Event, l402: &L402Client) -> Vec<NewEvent> {
    let store = l402.store();
    let token_file = |path: &std::path::Path, title: &str| match std::fs::read(path) {
        Ok(bytes) => match l402_cli::decode::decode_token_file(&bytes) {
            Ok(report) => Section::new(title)
                .fact(
                    "file",
                    path.file_name().unwrap_or_default().to_string_lossy(),
                )
                .report(&report),
            Err(error) => detail::unreadable(title, error),
        },
        Err(error) => Section::new(title).fact("file", format!("not readable now: {error}")),
    };
    let row = match event {
        L402Event::Challenged { sent, challenges } => {
            let sections = challenges.iter().map(|value| {
                let title = format!(
                    "WWW-Authenticate: {}",
                    value.split_whitespace().next().unwrap_or("")
                );
                match l402_cli::decode::decode_text(value, true) {
                    Ok(report) => Section::new(title).fact("header", value).report(&report),
                    Err(error) => detail::unreadable(&title, error),
                }
            });
            let label = match sent {
                None => "challenge read: pay the invoice for the macaroon".to_owned(),
                Some(id) => format!("token {} refused: buy a new one", short(&id.to_hex())),
            };
            NewEvent::note(Kind::Token, Party::Loopd, label).with_detail(detail::of(sections))
        }
        L402Event::PendingStored { invoice_msat, .. } => NewEvent::note(
            Kind::Token,
            Party::Loopd,
            format!(
                "wrote l402.token.pending, pays {} sat",
                invoice_msat.div_ceil(1000)
            ),
        )
        .with_detail(detail::of([token_file(
            store.pending_path(),
            "the pending token file",
        )])),
        L402Event::Paid {
            amount_paid_msat,
            routing_fee_msat,
            ..
        } => NewEvent::note(
            Kind::Token,
            Party::Loopd,
            format!(
                "paid {} sat + {routing_fee_msat} msat fee; wrote l402.token",
                amount_paid_msat / 1000
            ),
        )
        .with_detail(detail::of([token_file(
            store.paid_path(),
            "the paid token file",
        )])),
        L402Event::PaymentFailed { reason, .. } => NewEvent::note(
            Kind::Error,
            Party::Loopd,
            format!("token payment failed: {reason}"),
        ),
        L402Event::Evicted { token_id } => NewEvent::note(
            Kind::Token,
            Party::Loopd,
            format!(
                "evicted token {} (kept as l402.token.rejected-…)",
                short(&token_id.to_hex())
            ),
        ),
        L402Event::Restricted { token_id, caveat } => NewEvent::note(
            Kind::Token,
            Party::Loopd,
            format!("token {} restricted: {caveat}", short(&token_id.to_hex())),
        )
        .with_detail(detail::of([token_file(
            store.paid_path(),
            "the restricted token file",
        )])),
    };
    vec![row]
}

/// The party a node name stands for.
fn party_of(node: &str) -> Option<Party> {
    match node {
        CLIENT_NODE => Some(Party::ClientLnd),
        PROXY_NODE => Some(Party::ProxyLnd),
        SERVER_NODE => Some(Party::ServerLnd),
        _ => None,
    }
}

/// The rows of one network event. A payment to the proxy's node buys a token; one to the server's node
/// is part of the swap.
fn network_rows(event: NetworkEvent) -> Vec<NewEvent> {
    match event {
        NetworkEvent::Invoice {
            node,
            payment_hash,
            value_msat,
            memo,
            state,
        } => {
            let Some(party) = party_of(&node) else {
                return Vec::new();
            };
            let detail = detail::of([Section::new(format!("invoice of {node}'s lnd"))
                .fact("payment hash", payment_hash.to_hex())
                .fact("amount", format!("{value_msat} msat"))
                .fact("memo", &memo)]);
            let sat = value_msat / 1000;
            let row = match (state, party) {
                (InvoiceEvent::Added, Party::ProxyLnd) => NewEvent::arrow(
                    Kind::Invoice,
                    Party::Proxy,
                    party,
                    format!("AddInvoice {sat} sat, memo \"{memo}\""),
                ),
                (InvoiceEvent::Added, Party::ServerLnd) => NewEvent::arrow(
                    Kind::Invoice,
                    Party::SwapServer,
                    party,
                    format!("AddHoldInvoice {sat} sat"),
                ),
                (InvoiceEvent::Added, _) => return Vec::new(),
                (InvoiceEvent::Accepted, _) => {
                    NewEvent::note(Kind::Invoice, party, format!("{sat} sat held"))
                }
                (InvoiceEvent::Settled, _) => NewEvent::note(
                    Kind::Invoice,
                    party,
                    format!("invoice of {sat} sat settled"),
                ),
                (InvoiceEvent::Canceled, _) => NewEvent::note(
                    Kind::Invoice,
                    party,
                    format!("invoice of {sat} sat canceled"),
                ),
            };
            vec![row.with_detail(detail)]
        }
        NetworkEvent::Payment {
            payer,
            payee,
            payment_hash,
            amount_msat,
            state,
        } => {
            let (Some(from), Some(to)) = (party_of(&payer), payee.as_deref().and_then(party_of))
            else {
                return Vec::new();
            };
            let buys_token = to == Party::ProxyLnd;
            let kind = if buys_token {
                Kind::TokenPayment
            } else {
                Kind::SwapPayment
            };
            let sat = amount_msat / 1000;
            let facts = Section::new("the payment")
                .fact("payer", &payer)
                .fact("payee", payee.as_deref().unwrap_or("?"))
                .fact("payment hash", payment_hash.to_hex())
                .fact("amount", format!("{amount_msat} msat"));
            let what = if buys_token { "token" } else { "swap" };
            let rows = match state {
                PaymentEvent::Started => vec![
                    NewEvent::arrow(
                        kind,
                        Party::Loopd,
                        from,
                        format!("SendPaymentV2: {what} invoice, {sat} sat"),
                    ),
                    NewEvent::arrow(kind, from, to, format!("HTLC {sat} sat")),
                ],
                PaymentEvent::Held => vec![NewEvent::note(
                    kind,
                    to,
                    format!("HTLC {sat} sat held by the hold invoice"),
                )],
                PaymentEvent::Succeeded { fee_msat } => vec![
                    NewEvent::arrow(Kind::Preimage, to, from, "preimage (secret)"),
                    NewEvent::arrow(
                        Kind::Preimage,
                        from,
                        Party::Loopd,
                        format!("payment succeeded, fee {fee_msat} msat, preimage"),
                    ),
                ],
                PaymentEvent::Failed(reason) => vec![NewEvent::arrow(
                    Kind::Error,
                    from,
                    Party::Loopd,
                    format!("payment failed: {}", reason.as_str()),
                )],
            };
            let facts = facts.secret(
                "preimage",
                "revealed to the payer on success (secret, not shown)",
            );
            rows.into_iter()
                .map(|row| row.with_detail(detail::of([facts.clone()])))
                .collect()
        }
    }
}

/// The row of an interruption of a remote feed, on the lifeline of the program whose events were missed.
fn gap_row(gap: &FeedGap) -> NewEvent {
    let (party, feed) = match gap.feed {
        RemoteFeed::Decisions => (Party::Proxy, PROXY),
        RemoteFeed::Network => (Party::ClientLnd, NETWORK),
        RemoteFeed::Swaps => (Party::SwapServer, SWAPS),
    };
    NewEvent::note(Kind::Error, party, format!("{feed}: {}", gap.what))
}

/// The row of one swap state change.
fn swap_row(update: &SwapUpdate) -> NewEvent {
    let state = update.state.as_str_name();
    NewEvent::note(Kind::SwapState, Party::SwapServer, format!("swap {state}")).with_detail(
        detail::of([Section::new("the swap, as swap-server stores it")
            .fact("swap hash", update.swap_hash)
            .fact("state", state)
            .fact("step", update.seq)]),
    )
}
