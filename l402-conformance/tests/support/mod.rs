//! What the kit's tests share: the flags of a `server` run paying through a mock-lnd node.

use l402_conformance::cli::ServerArgs;
use mock_lnd::NodeHandle;

/// `server --url <url>` paying through `payer`, no gRPC, the table output.
pub fn server_args(url: String, payer: &NodeHandle) -> ServerArgs {
    ServerArgs {
        url,
        grpc: None,
        grpc_method: None,
        tls_path: None,
        lnd_host: payer.host(),
        lnd_tls_path: payer.tls_cert_path(),
        lnd_macaroon_path: payer.admin_macaroon_path(),
        max_price_sat: 1000,
        json: false,
        only: None,
    }
}
