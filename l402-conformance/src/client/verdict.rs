//! Judging a client from what it did: the requests that reached the test server and the payments its
//! node started. What the client printed or its exit code is reported, never judged: clients differ
//! in how they end, the protocol only in what they send and pay.

use crate::case::Outcome;
use crate::client::cases::{Scenario, Trap};
use crate::client::network::Payment;
use crate::client::test_server::{Presented, Seen};

/// Everything seen while one case ran.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Every request the case's server answered, in order.
    pub seen: Vec<Seen>,
    /// [`Scenario::Reuse`]: where in `seen` the second run's requests begin.
    pub second_run_from: Option<usize>,
    /// The payments the payer's node started; `Err` when they could not be known.
    pub payments: Result<Vec<Payment>, String>,
    /// How each run of the client ended, in words.
    pub runs: Vec<String>,
}

/// The verdict of `scenario` on what was observed.
pub fn judge(scenario: Scenario, observed: &Observation) -> Outcome {
    let payments = match &observed.payments {
        Ok(payments) => payments,
        Err(reason) => return Outcome::skip(reason.clone()),
    };
    let paid = payments.len();
    let admitted = observed.seen.iter().any(|s| s.admitted);
    let detail = describe(observed, payments);
    match scenario {
        Scenario::Dialect(_) => match (paid, admitted) {
            (1, true) => Outcome::pass(detail),
            (0, _) => Outcome::fail(format!("never paid: {detail}")),
            (1, false) => Outcome::fail(format!("paid, never presented the token: {detail}")),
            _ => Outcome::fail(format!("paid {paid} times: {detail}")),
        },
        Scenario::Trap(trap) => {
            let note = match trap {
                // lnd itself refuses an invoice for another chain, so a client can only be seen
                // sending it to lnd.
                Trap::OtherNetwork if paid == 0 => " (lnd would refuse it too)",
                _ => "",
            };
            Outcome::check(paid == 0, format!("{detail}{note}"))
        }
        Scenario::RejectFirstToken => {
            let presented_token = observed
                .seen
                .iter()
                .any(|s| matches!(s.presented, Presented::Valid(_)));
            match paid {
                0 => Outcome::fail(format!("never paid the first challenge: {detail}")),
                _ if !presented_token => Outcome::skip(format!(
                    "never presented a valid token, so none was refused: {detail}"
                )),
                1 | 2 => Outcome::pass(detail),
                _ => Outcome::fail(format!("bought {paid} tokens: {detail}")),
            }
        }
        Scenario::Reuse => {
            let second_run = observed
                .second_run_from
                .and_then(|from| observed.seen.get(from));
            let reused = second_run.is_some_and(|first| {
                matches!(first.presented, Presented::Valid(_)) && first.admitted
            });
            match (paid, reused) {
                (1, true) => Outcome::pass(detail),
                (0, _) => Outcome::fail(format!("never paid: {detail}")),
                (1, false) => Outcome::fail(format!(
                    "the second run did not start with the token: {detail}"
                )),
                _ => Outcome::fail(format!("paid {paid} times: {detail}")),
            }
        }
    }
}

/// What was seen, on one line: payments, requests, how the client ended.
fn describe(observed: &Observation, payments: &[Payment]) -> String {
    let paid = match payments {
        [] => "paid nothing".to_owned(),
        payments => format!(
            "paid {}",
            payments
                .iter()
                .map(|p| format!("{} sat", p.amount_msat / 1000))
                .collect::<Vec<_>>()
                .join(" + ")
        ),
    };
    let requests = observed
        .seen
        .iter()
        .map(|seen| {
            let presented = match &seen.presented {
                Presented::Nothing => "no credential".to_owned(),
                Presented::Valid(_) => "the paid token".to_owned(),
                Presented::Refused(reason) => format!("a refused credential ({reason})"),
            };
            let answer = if seen.admitted {
                "admitted"
            } else {
                "challenged"
            };
            format!("{presented} → {answer}")
        })
        .collect::<Vec<_>>();
    let requests = match requests.as_slice() {
        [] => "no request reached the server".to_owned(),
        requests => format!("requests: {}", requests.join(", ")),
    };
    format!(
        "{paid}; {requests}; client: {}",
        observed.runs.join(", then ")
    )
}

#[cfg(test)]
mod tests {
    use l402::{Preimage, TokenId};

    use super::*;
    use crate::case::Verdict;
    use crate::client::cases::Dialect;

    fn seen(presented: Presented, admitted: bool) -> Seen {
        Seen {
            presented,
            admitted,
            grpc: false,
        }
    }

    fn payment() -> Payment {
        Payment {
            payment_hash: Preimage::random().hash(),
            amount_msat: 100_000,
        }
    }

    fn observed(seen: Vec<Seen>, payments: usize) -> Observation {
        Observation {
            seen,
            second_run_from: None,
            payments: Ok((0..payments).map(|_| payment()).collect()),
            runs: vec!["exit 0".into()],
        }
    }

    fn token() -> Presented {
        Presented::Valid(TokenId::random())
    }

    #[test]
    fn a_dialect_passes_on_one_payment_and_an_admitted_token() {
        let good = observed(
            vec![seen(Presented::Nothing, false), seen(token(), true)],
            1,
        );
        let outcome = judge(Scenario::Dialect(Dialect::Aperture), &good);
        assert_eq!(outcome.verdict, Verdict::Pass, "{}", outcome.detail);
        assert!(
            outcome.detail.contains("paid 100 sat"),
            "{}",
            outcome.detail
        );
        let twice = observed(good.seen.clone(), 2);
        let outcome = judge(Scenario::Dialect(Dialect::Aperture), &twice);
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert!(
            outcome.detail.starts_with("paid 2 times"),
            "{}",
            outcome.detail
        );
        let unread = observed(vec![seen(Presented::Nothing, false)], 0);
        assert_eq!(
            judge(Scenario::Dialect(Dialect::L402Only), &unread).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn a_trap_fails_on_any_payment() {
        let paid = observed(vec![seen(Presented::Nothing, false)], 1);
        assert_eq!(
            judge(Scenario::Trap(Trap::OverPriced), &paid).verdict,
            Verdict::Fail
        );
        let refused = observed(vec![seen(Presented::Nothing, false)], 0);
        assert_eq!(
            judge(Scenario::Trap(Trap::OverPriced), &refused).verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn a_rebuy_is_allowed_once() {
        let requests = vec![seen(Presented::Nothing, false), seen(token(), false)];
        for (payments, verdict) in [
            (0, Verdict::Fail),
            (1, Verdict::Pass),
            (2, Verdict::Pass),
            (3, Verdict::Fail),
        ] {
            let outcome = judge(
                Scenario::RejectFirstToken,
                &observed(requests.clone(), payments),
            );
            assert_eq!(
                outcome.verdict, verdict,
                "{payments} payments: {}",
                outcome.detail
            );
        }
        // A client that never got a valid token to the server was never refused one.
        let garbled = vec![
            seen(Presented::Nothing, false),
            seen(Presented::Refused("bad preimage".into()), false),
        ];
        let outcome = judge(Scenario::RejectFirstToken, &observed(garbled, 1));
        assert_eq!(outcome.verdict, Verdict::Skip, "{}", outcome.detail);
    }

    #[test]
    fn reuse_needs_the_second_run_to_start_with_the_token() {
        let mut reused = observed(
            vec![
                seen(Presented::Nothing, false),
                seen(token(), true),
                seen(token(), true),
            ],
            1,
        );
        reused.second_run_from = Some(2);
        assert_eq!(judge(Scenario::Reuse, &reused).verdict, Verdict::Pass);
        let mut forgot = observed(
            vec![
                seen(Presented::Nothing, false),
                seen(token(), true),
                seen(Presented::Nothing, false),
            ],
            1,
        );
        forgot.second_run_from = Some(2);
        assert_eq!(judge(Scenario::Reuse, &forgot).verdict, Verdict::Fail);
    }

    #[test]
    fn an_unknown_payment_count_is_a_skip() {
        let mut unknown = observed(Vec::new(), 0);
        unknown.payments = Err("lagged".into());
        assert_eq!(
            judge(Scenario::Dialect(Dialect::Aperture), &unknown).verdict,
            Verdict::Skip
        );
    }
}
