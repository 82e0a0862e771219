//! lnd's macaroon permissions: what `admin.macaroon` and `invoice.macaroon` grant, and what each
//! served method requires.
//!
//! The format, baking and verification are lnd's and shared with loopd, in
//! [`lnd_client::macaroon`]; the per-call check is [`lnd_client::macaroon_auth`] with
//! [`required_permission`] as its table. This module re-exports what the rest of mock-lnd uses.

pub use lnd_client::macaroon::{
    Macaroon, MacaroonError, MacaroonService, Permission, LND_LOCATION,
};

/// Everything `admin.macaroon` grants (lnd's read + write permissions).
pub const ADMIN_PERMISSIONS: &[Permission] = &[
    Permission::new("address", "read"),
    Permission::new("address", "write"),
    Permission::new("info", "read"),
    Permission::new("info", "write"),
    Permission::new("invoices", "read"),
    Permission::new("invoices", "write"),
    Permission::new("macaroon", "generate"),
    Permission::new("macaroon", "read"),
    Permission::new("macaroon", "write"),
    Permission::new("message", "read"),
    Permission::new("message", "write"),
    Permission::new("offchain", "read"),
    Permission::new("offchain", "write"),
    Permission::new("onchain", "read"),
    Permission::new("onchain", "write"),
    Permission::new("peers", "read"),
    Permission::new("peers", "write"),
    Permission::new("signer", "generate"),
    Permission::new("signer", "read"),
];

/// What `invoice.macaroon` grants: invoices, addresses and reading on-chain state, as in lnd.
pub const INVOICE_PERMISSIONS: &[Permission] = &[
    Permission::new("address", "read"),
    Permission::new("address", "write"),
    Permission::new("invoices", "read"),
    Permission::new("invoices", "write"),
    Permission::new("onchain", "read"),
];

const INFO_READ: &[Permission] = &[Permission::new("info", "read")];
const OFFCHAIN_READ: &[Permission] = &[Permission::new("offchain", "read")];
const OFFCHAIN_WRITE: &[Permission] = &[Permission::new("offchain", "write")];
const INVOICES_READ: &[Permission] = &[Permission::new("invoices", "read")];
const INVOICES_WRITE: &[Permission] = &[Permission::new("invoices", "write")];

/// The permission each gRPC method served by mock-lnd requires (lnd's own table for these calls).
/// Empty for a path we do not serve: the call is then answered `Unimplemented` after authentication.
pub fn required_permission(path: &str) -> &'static [Permission] {
    match path {
        "/lnrpc.Lightning/GetInfo" => INFO_READ,
        "/lnrpc.Lightning/ChannelBalance" | "/lnrpc.Lightning/DecodePayReq" => OFFCHAIN_READ,
        "/lnrpc.Lightning/AddInvoice" => INVOICES_WRITE,
        "/lnrpc.Lightning/LookupInvoice"
        | "/lnrpc.Lightning/ListInvoices"
        | "/lnrpc.Lightning/SubscribeInvoices"
        | "/invoicesrpc.Invoices/SubscribeSingleInvoice" => INVOICES_READ,
        "/lnrpc.Lightning/SendPaymentSync" | "/routerrpc.Router/SendPaymentV2" => OFFCHAIN_WRITE,
        "/routerrpc.Router/TrackPaymentV2" => OFFCHAIN_READ,
        "/invoicesrpc.Invoices/AddHoldInvoice"
        | "/invoicesrpc.Invoices/SettleInvoice"
        | "/invoicesrpc.Invoices/CancelInvoice" => INVOICES_WRITE,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> MacaroonService {
        MacaroonService::new([7u8; 32], LND_LOCATION)
    }

    #[test]
    fn admin_macaroon_grants_everything_we_serve() {
        let service = service();
        let admin = service.bake(ADMIN_PERMISSIONS).encode();
        for path in [
            "/lnrpc.Lightning/GetInfo",
            "/routerrpc.Router/SendPaymentV2",
            "/invoicesrpc.Invoices/SettleInvoice",
        ] {
            service.verify(&admin, required_permission(path)).unwrap();
        }
    }

    #[test]
    fn invoice_macaroon_cannot_pay() {
        let service = service();
        let invoice = service.bake(INVOICE_PERMISSIONS).encode();
        service
            .verify(&invoice, required_permission("/lnrpc.Lightning/AddInvoice"))
            .unwrap();
        assert_eq!(
            service.verify(
                &invoice,
                required_permission("/routerrpc.Router/SendPaymentV2")
            ),
            Err(MacaroonError::PermissionDenied {
                entity: "offchain",
                action: "write"
            })
        );
    }
}
