//! Aperture's `ratelimits`: a token bucket per rule and client (the token id when authenticated, else the
//! client's network, IPv4 /24 or IPv6 /48). Every matching rule must allow the request; a denied request
//! consumes from no bucket.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::service::RateLimitRule;

/// Buckets beyond this many are dropped (the fullest first), bounding memory under many clients.
const MAX_BUCKETS: usize = 10_000;

/// Who a bucket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An authenticated token (hex id).
    Token(String),
    /// An unauthenticated client network.
    Network(IpAddr),
}

impl ClientKey {
    /// The masked network of `ip` (IPv4 /24, IPv6 /48), as Aperture keys freebies and rate limits.
    pub fn network(ip: IpAddr) -> ClientKey {
        ClientKey::Network(mask(ip))
    }
}

/// Aperture's `MaskIP`: IPv4 /24, IPv6 /48.
pub fn mask(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::from([a, b, c, 0])
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => mask(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], 0, 0, 0, 0, 0])
            }
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The rate limiter of one service.
#[derive(Debug)]
pub struct RateLimiter {
    rules: Vec<RateLimitRule>,
    buckets: Mutex<HashMap<(usize, ClientKey), Bucket>>,
}

impl RateLimiter {
    /// A limiter for these rules (may be empty: then everything is allowed).
    pub fn new(rules: Vec<RateLimitRule>) -> Self {
        RateLimiter {
            rules,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether there is no rule at all: then every request is allowed, and callers need not build a key.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// `Ok(())` if every rule matching `path` has a token for `client` (and takes it), else how long to wait.
    pub fn check(&self, path: &str, client: &ClientKey) -> Result<(), Duration> {
        self.check_at(path, client, Instant::now())
    }

    fn check_at(&self, path: &str, client: &ClientKey, now: Instant) -> Result<(), Duration> {
        let matching: Vec<usize> = (0..self.rules.len())
            .filter(|&i| self.rules[i].path.as_ref().is_none_or(|p| p.is_match(path)))
            .collect();
        if matching.is_empty() {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::ZERO;
        let mut refilled = Vec::with_capacity(matching.len());
        for &i in &matching {
            let rule = &self.rules[i];
            let rate = f64::from(rule.requests) / rule.per.as_secs_f64();
            let burst = f64::from(rule.burst);
            let bucket = buckets
                .get(&(i, client.clone()))
                .copied()
                .unwrap_or(Bucket {
                    tokens: burst,
                    updated: now,
                });
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            let tokens = (bucket.tokens + elapsed * rate).min(burst);
            if tokens < 1.0 {
                wait = wait.max(Duration::from_secs_f64((1.0 - tokens) / rate));
            }
            refilled.push((i, tokens));
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        if buckets.len() + refilled.len() > MAX_BUCKETS {
            evict_fullest(&mut buckets, &self.rules, now);
        }
        for (i, tokens) in refilled {
            buckets.insert(
                (i, client.clone()),
                Bucket {
                    tokens: tokens - 1.0,
                    updated: now,
                },
            );
        }
        Ok(())
    }
}

/// Drops buckets that have refilled completely (indistinguishable from new ones); if none has, drops all.
fn evict_fullest(
    buckets: &mut HashMap<(usize, ClientKey), Bucket>,
    rules: &[RateLimitRule],
    now: Instant,
) {
    let before = buckets.len();
    buckets.retain(|(i, _), bucket| {
        let rule = &rules[*i];
        let rate = f64::from(rule.requests) / rule.per.as_secs_f64();
        bucket.tokens + now.saturating_duration_since(bucket.updated).as_secs_f64() * rate
            < f64::from(rule.burst)
    });
    if buckets.len() == before {
        buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn limiter(requests: u32, per: Duration, burst: u32, path: Option<&str>) -> RateLimiter {
        RateLimiter::new(vec![RateLimitRule {
            path: path.map(|p| Regex::new(p).unwrap()),
            requests,
            per,
            burst,
        }])
    }

    #[test]
    fn burst_then_refill() {
        let limiter = limiter(1, Duration::from_secs(1), 2, None);
        let client = ClientKey::Token("a".into());
        let t0 = Instant::now();
        assert!(limiter.check_at("/", &client, t0).is_ok());
        assert!(limiter.check_at("/", &client, t0).is_ok());
        let wait = limiter.check_at("/", &client, t0).unwrap_err();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(limiter
            .check_at("/", &client, t0 + Duration::from_secs(1))
            .is_ok());
    }

    #[test]
    fn clients_and_paths_are_separate() {
        let limiter = limiter(1, Duration::from_secs(60), 1, Some("^/limited"));
        let t0 = Instant::now();
        let a = ClientKey::Token("a".into());
        let b = ClientKey::Token("b".into());
        assert!(limiter.check_at("/limited", &a, t0).is_ok());
        assert!(limiter.check_at("/limited", &a, t0).is_err());
        assert!(limiter.check_at("/limited", &b, t0).is_ok());
        assert!(limiter.check_at("/free", &a, t0).is_ok());
    }

    #[test]
    fn only_a_limiter_without_rules_is_empty() {
        assert!(RateLimiter::new(Vec::new()).is_empty());
        assert!(!limiter(1, Duration::from_secs(1), 1, Some("^/never")).is_empty());
    }

    #[test]
    fn networks_are_masked_like_aperture() {
        assert_eq!(
            mask("192.168.7.9".parse().unwrap()),
            "192.168.7.0".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            mask("2001:db8:1:2::5".parse().unwrap()),
            "2001:db8:1::".parse::<IpAddr>().unwrap()
        );
    }
}
