//! loopd's macaroon permissions, Loop's `looprpc/perms.go` (`RequiredPermissions`) for the
//! `looprpc.SwapClient` methods loopd serves, and what the `loop.macaroon` it bakes grants.

use lnd_client::macaroon::Permission;

/// Location of loopd's macaroons (Loop's `loopMacaroonLocation`, `loopd/macaroons.go`).
pub const LOCATION: &str = "loop";

const SWAP_EXECUTE: Permission = Permission::new("swap", "execute");
const SWAP_READ: Permission = Permission::new("swap", "read");
const LOOP_OUT: Permission = Permission::new("loop", "out");
const LOOP_IN: Permission = Permission::new("loop", "in");
const TERMS_READ: Permission = Permission::new("terms", "read");
const AUTH_READ: Permission = Permission::new("auth", "read");
const AUTH_WRITE: Permission = Permission::new("auth", "write");
const SUGGESTIONS_READ: Permission = Permission::new("suggestions", "read");

/// Every permission of Loop's table: what the default `loop.macaroon` grants (Loop bakes it from
/// all of `RequiredPermissions`).
pub const ALL: &[Permission] = &[
    Permission::new("auth", "read"),
    Permission::new("auth", "write"),
    Permission::new("deposit", "spend"),
    Permission::new("loop", "admin"),
    Permission::new("loop", "in"),
    Permission::new("loop", "out"),
    Permission::new("suggestions", "read"),
    Permission::new("suggestions", "write"),
    Permission::new("swap", "execute"),
    Permission::new("swap", "read"),
    Permission::new("terms", "read"),
];

/// The permissions a `looprpc.SwapClient` method requires, as in Loop; empty for a method loopd
/// does not serve (any valid macaroon, then `Unimplemented`).
pub fn required(path: &str) -> &'static [Permission] {
    match path {
        "/looprpc.SwapClient/LoopOut" => &[SWAP_EXECUTE, LOOP_OUT],
        "/looprpc.SwapClient/LoopIn" => &[SWAP_EXECUTE, LOOP_IN],
        "/looprpc.SwapClient/Monitor"
        | "/looprpc.SwapClient/ListSwaps"
        | "/looprpc.SwapClient/SwapInfo" => &[SWAP_READ],
        "/looprpc.SwapClient/LoopOutTerms" => &[TERMS_READ, LOOP_OUT],
        "/looprpc.SwapClient/LoopOutQuote" => &[SWAP_READ, LOOP_OUT],
        "/looprpc.SwapClient/GetL402Tokens" | "/looprpc.SwapClient/GetLsatTokens" => &[AUTH_READ],
        "/looprpc.SwapClient/FetchL402Token" => &[AUTH_WRITE],
        "/looprpc.SwapClient/GetInfo" => &[SUGGESTIONS_READ],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_macaroon_grants_every_served_method() {
        for path in [
            "LoopOut",
            "LoopOutTerms",
            "LoopOutQuote",
            "ListSwaps",
            "SwapInfo",
            "Monitor",
            "GetL402Tokens",
            "GetLsatTokens",
            "FetchL402Token",
            "GetInfo",
        ]
        .map(|m| format!("/looprpc.SwapClient/{m}"))
        {
            let needed = required(&path);
            assert!(!needed.is_empty(), "{path} has Loop's permissions");
            assert!(needed.iter().all(|p| ALL.contains(p)), "{path}");
        }
    }
}
