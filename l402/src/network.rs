//! The Bitcoin networks lnd and Loop run on, named once for every program of the workspace.
//!
//! A token invoice is only worth paying on the network the payer's lnd is on: the BOLT11 prefix
//! (`lnbc`, `lntb`, `lnbcrt`, `lnsb`, `lntbs`) says which. [`Network`] parses lnd's and Loop's names
//! (`mainnet`, `testnet`, `testnet4`, `signet`, `regtest`, `simnet`, plus lnd's aliases `bitcoin` and
//! `testnet3`), prints lnd's name back, and maps to and from lightning-invoice's [`Currency`].

use std::fmt;
use std::str::FromStr;

use lightning_invoice::Currency;

/// A Bitcoin network as lnd names it in `GetInfo.chains[].network` and in its `--network` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    /// The main Bitcoin network (`mainnet`, lnd's alias `bitcoin`); invoices start `lnbc`.
    Mainnet,
    /// Testnet 3 (`testnet`, alias `testnet3`); invoices start `lntb`.
    Testnet,
    /// Testnet 4 (`testnet4`); invoices start `lntb` like testnet 3.
    Testnet4,
    /// Signet (`signet`); invoices start `lntbs`.
    Signet,
    /// A local regression-test chain (`regtest`); invoices start `lnbcrt`.
    Regtest,
    /// btcd's simulation network (`simnet`); invoices start `lnsb`.
    Simnet,
}

/// A network name no program of ours knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown network {0:?} (expected one of mainnet, testnet, testnet4, signet, regtest, simnet)"
)]
pub struct UnknownNetwork(pub String);

impl Network {
    /// Every network, in the order lnd documents them.
    pub const ALL: [Network; 6] = [
        Network::Mainnet,
        Network::Testnet,
        Network::Testnet4,
        Network::Signet,
        Network::Regtest,
        Network::Simnet,
    ];

    /// lnd's canonical name: `mainnet`, `testnet`, `testnet4`, `signet`, `regtest` or `simnet`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Network::Mainnet => "mainnet",
            Network::Testnet => "testnet",
            Network::Testnet4 => "testnet4",
            Network::Signet => "signet",
            Network::Regtest => "regtest",
            Network::Simnet => "simnet",
        }
    }

    /// The BOLT11 currency (human-readable prefix) of invoices on this network.
    pub const fn currency(self) -> Currency {
        match self {
            Network::Mainnet => Currency::Bitcoin,
            Network::Testnet | Network::Testnet4 => Currency::BitcoinTestnet,
            Network::Signet => Currency::Signet,
            Network::Regtest => Currency::Regtest,
            Network::Simnet => Currency::Simnet,
        }
    }

    /// Whether an invoice of `currency` is payable on this network (testnet 3 and 4 share `lntb`).
    pub fn accepts(self, currency: &Currency) -> bool {
        self.currency() == *currency
    }

    /// The network an invoice of `currency` is for, as lnd reports it (`lntb` → testnet).
    pub const fn of_currency(currency: &Currency) -> Network {
        match currency {
            Currency::Bitcoin => Network::Mainnet,
            Currency::BitcoinTestnet => Network::Testnet,
            Currency::Signet => Network::Signet,
            Currency::Regtest => Network::Regtest,
            Currency::Simnet => Network::Simnet,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Network {
    type Err = UnknownNetwork;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(match name {
            "mainnet" | "bitcoin" => Network::Mainnet,
            "testnet" | "testnet3" => Network::Testnet,
            "testnet4" => Network::Testnet4,
            "signet" => Network::Signet,
            "regtest" => Network::Regtest,
            "simnet" => Network::Simnet,
            other => return Err(UnknownNetwork(other.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for network in Network::ALL {
            assert_eq!(network.as_str().parse::<Network>(), Ok(network));
        }
        assert_eq!("bitcoin".parse(), Ok(Network::Mainnet));
        assert_eq!("testnet3".parse(), Ok(Network::Testnet));
        assert_eq!(
            "liquid".parse::<Network>(),
            Err(UnknownNetwork("liquid".into()))
        );
    }

    #[test]
    fn currencies_match_their_networks() {
        for network in Network::ALL {
            assert!(network.accepts(&network.currency()));
        }
        assert!(Network::Testnet4.accepts(&Currency::BitcoinTestnet));
        assert!(!Network::Regtest.accepts(&Currency::Bitcoin));
        assert_eq!(Network::of_currency(&Currency::Regtest), Network::Regtest);
    }
}
