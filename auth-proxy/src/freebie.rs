//! Aperture's `auth: freebie N`: the first N unauthenticated requests per client network are let through.
//!
//! Counted in memory per masked IP (IPv4 /24, IPv6 /48), like Aperture's in-memory store; a restart resets
//! the counts.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::ratelimit::mask;

/// Free requests used, per client network, for one service.
#[derive(Debug, Default)]
pub struct Freebies {
    used: Mutex<HashMap<IpAddr, u32>>,
}

impl Freebies {
    /// Takes one free request for `ip` if fewer than `allowed` were used.
    pub fn take(&self, ip: IpAddr, allowed: u32) -> bool {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let count = used.entry(mask(ip)).or_insert(0);
        if *count < allowed {
            *count += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_network() {
        let freebies = Freebies::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let same_net: IpAddr = "10.0.0.2".parse().unwrap();
        let other: IpAddr = "10.0.1.1".parse().unwrap();
        assert!(freebies.take(a, 2));
        assert!(freebies.take(same_net, 2));
        assert!(!freebies.take(a, 2));
        assert!(freebies.take(other, 2));
    }
}
