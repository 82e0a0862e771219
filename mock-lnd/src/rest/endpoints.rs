//! The REST endpoints: lnd's grpc-gateway HTTP rules (its `http.rules` for `lnrpc`, `routerrpc`
//! and `invoicesrpc`) for the gRPC methods mock-lnd serves.

use axum::routing::MethodFilter;

/// Where a request's message comes from besides its path parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    /// The whole JSON body (`body: "*"`); query parameters are not read.
    Body,
    /// Query parameters (a `get` mapping has no body).
    Query,
}

/// One HTTP mapping of a gRPC method.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The HTTP method.
    pub method: MethodFilter,
    /// The path template, `{field}` for a path parameter (axum's syntax is grpc-gateway's).
    pub path: &'static str,
    /// The gRPC method, `package.Service.Method`.
    pub grpc: &'static str,
    /// Body or query parameters.
    pub input: Input,
}

const fn get(path: &'static str, grpc: &'static str) -> Endpoint {
    Endpoint {
        method: MethodFilter::GET,
        path,
        grpc,
        input: Input::Query,
    }
}

const fn post(path: &'static str, grpc: &'static str) -> Endpoint {
    Endpoint {
        method: MethodFilter::POST,
        path,
        grpc,
        input: Input::Body,
    }
}

/// Every endpoint served. `POST /v1/channels/transactions` (`SendPaymentSync`) is lnd 0.20's
/// mapping; lnd removed that call and its mapping in 0.21, and mock-lnd still serves the call.
pub(crate) static ENDPOINTS: [Endpoint; 11] = [
    get("/v1/getinfo", "lnrpc.Lightning.GetInfo"),
    get("/v1/balance/channels", "lnrpc.Lightning.ChannelBalance"),
    post("/v1/invoices", "lnrpc.Lightning.AddInvoice"),
    get("/v1/invoice/{r_hash_str}", "lnrpc.Lightning.LookupInvoice"),
    get("/v1/payreq/{pay_req}", "lnrpc.Lightning.DecodePayReq"),
    post(
        "/v1/channels/transactions",
        "lnrpc.Lightning.SendPaymentSync",
    ),
    post("/v2/router/send", "routerrpc.Router.SendPaymentV2"),
    get(
        "/v2/router/track/{payment_hash}",
        "routerrpc.Router.TrackPaymentV2",
    ),
    post("/v2/invoices/hodl", "invoicesrpc.Invoices.AddHoldInvoice"),
    post("/v2/invoices/settle", "invoicesrpc.Invoices.SettleInvoice"),
    post("/v2/invoices/cancel", "invoicesrpc.Invoices.CancelInvoice"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::macaroon::required_permission;

    #[test]
    fn every_endpoint_is_a_served_method_with_a_permission() {
        for endpoint in &ENDPOINTS {
            let method = crate::rest::json::method(endpoint.grpc)
                .unwrap_or_else(|| panic!("{} is not in the proto crate", endpoint.grpc));
            let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
            assert!(!required_permission(&path).is_empty(), "{path}");
            for param in endpoint.path.split('{').skip(1) {
                let field = param.split('}').next().unwrap_or_default();
                assert!(
                    method.input().get_field_by_name(field).is_some(),
                    "{}: no field {field}",
                    endpoint.path
                );
            }
        }
    }
}
