//! Aperture's `auth: freebie N`: the first N unauthenticated requests per client network are let through.
//!
//! Counted in memory per masked IP (IPv4 /24, IPv6 /48), like Aperture's in-memory store; a restart resets
//! the counts. At most [`MAX_NETWORKS`] networks are counted (IPv6 hands out /48s by the million): once that
//! many have had their freebies, a network not seen before gets none, so memory stays bounded and nothing is
//! given away that was not counted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::ratelimit::mask;

/// The most client networks counted per service.
pub const MAX_NETWORKS: usize = 100_000;

/// Free requests used, per client network, for one service.
#[derive(Debug, Default)]
pub struct Freebies {
    used: Mutex<HashMap<IpAddr, u32>>,
}

impl Freebies {
    /// Takes one free request for `ip` if fewer than `allowed` were used.
    pub fn take(&self, ip: IpAddr, allowed: u32) -> bool {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let network = mask(ip);
        if used.len() >= MAX_NETWORKS && !used.contains_key(&network) {
            return false;
        }
        let count = used.entry(network).or_insert(0);
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

    #[test]
    fn networks_beyond_the_cap_get_no_freebie() {
        let freebies = Freebies::default();
        for n in 0..MAX_NETWORKS as u32 {
            let ip = std::net::Ipv4Addr::from(n << 8);
            assert!(freebies.take(IpAddr::V4(ip), 1));
        }
        let known: IpAddr = "0.0.1.7".parse().unwrap();
        let new: IpAddr = "200.0.0.1".parse().unwrap();
        assert!(!freebies.take(known, 1), "its freebie was used");
        assert!(!freebies.take(new, 1), "beyond the cap");
        assert_eq!(freebies.used.lock().unwrap().len(), MAX_NETWORKS);
    }
}
