//! Go's `time.Duration` in text, as `time.ParseDuration` reads it: `"60s"`, `"1h30m"`, `"1.5m"`, `"300ms"`,
//! `"-2m"`, `"0"` (units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`). Aperture's YAML and Loop's command-line flags
//! hold durations this way, so both our Aperture and our `loop` read them with this one parser.
//!
//! The arithmetic is exact (integer nanoseconds), so `"1.5s"` is 1 500 000 000 ns and a fraction of a second
//! is never rounded into a whole one.

use std::time::Duration;

/// The duration in nanoseconds, negative allowed; `None` when `text` is not a Go duration or overflows `i128`.
pub fn parse_nanos(text: &str) -> Option<i128> {
    let (negative, mut rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return None;
        }
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut value = whole.checked_mul(scale)?;
        let mut place = scale;
        for digit in fraction.bytes() {
            place /= 10;
            value += i128::from(digit - b'0') * place;
        }
        total = total.checked_add(value)?;
        rest = tail;
    }
    Some(if negative { -total } else { total })
}

/// A non-negative Go duration; `None` for a negative one, a malformed one, or one beyond `u64` nanoseconds.
pub fn parse(text: &str) -> Option<Duration> {
    let nanos = u64::try_from(parse_nanos(text)?).ok()?;
    Some(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_go_reads() {
        assert_eq!(parse_nanos("2h45m1.5s"), Some(9_901_500_000_000));
        assert_eq!(parse_nanos("300\u{b5}s"), Some(300_000));
        assert_eq!(parse_nanos("0"), Some(0));
        assert_eq!(parse_nanos("-1m"), Some(-60_000_000_000));
        assert_eq!(parse("0.25m"), Some(Duration::from_secs(15)));
        assert_eq!(parse("+15000ms"), Some(Duration::from_secs(15)));
        assert_eq!(parse("-1m"), None);
    }

    #[test]
    fn refuses_what_go_refuses_without_panicking() {
        // "1.5.5s" once reached `b'.' - b'0'` in the fraction loop: an overflow panic in debug builds.
        for bad in ["", "60", "1x", "m", "1 m", ".s", "1.5.5s", "1..5s", "-"] {
            assert_eq!(parse_nanos(bad), None, "{bad:?}");
        }
        // Beyond u64 nanoseconds: no `Duration` (callers with a range of their own read `parse_nanos`).
        assert_eq!(parse("99999999999999999999999h"), None);
    }
}
