//! Paying a challenge's invoice through the kit's lnd, exactly as loopd does: `lnd-client`'s pinned TLS
//! and macaroon, `routerrpc.SendPaymentV2` with a fee limit and a timeout, the preimage checked.

use std::path::PathBuf;
use std::time::Duration;

use l402::{Challenge, Network, Preimage};
use lnd_client::{LndClient, LndConfig, LndPayer, PaymentOutcome};
use proto::lnrpc::GetInfoRequest;

/// The most routing fee the kit pays for one token, in satoshis.
const MAX_FEE_SAT: u64 = 10;
/// How long one payment may take.
const PAY_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the kit's lnd cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PayerSetupError {
    /// The certificate or macaroon cannot be read, or the address is bad.
    #[error("lnd: {0}")]
    Connect(#[from] lnd_client::LndConnectError),
    /// `GetInfo` failed: the node is down, or the macaroon is refused.
    #[error("lnd GetInfo failed: {0}")]
    GetInfo(String),
    /// The node reports a network the kit does not know.
    #[error("lnd reports an unknown network: {0}")]
    Network(String),
}

/// The kit's lnd node, ready to pay.
#[derive(Debug, Clone)]
pub struct Payer {
    payer: LndPayer,
    network: Network,
}

impl Payer {
    /// Connects to the node and asks it for its network (`GetInfo`).
    pub async fn connect(
        host: &str,
        tls_path: PathBuf,
        macaroon_path: PathBuf,
    ) -> Result<Self, PayerSetupError> {
        let lnd = LndClient::connect(&LndConfig {
            host: host.to_owned(),
            tls_cert_path: Some(tls_path),
            macaroon_path,
        })
        .await?;
        let info = lnd
            .lightning
            .clone()
            .get_info(GetInfoRequest {})
            .await
            .map_err(|status| PayerSetupError::GetInfo(status.message().to_owned()))?
            .into_inner();
        let name = info
            .chains
            .first()
            .map(|chain| chain.network.clone())
            .unwrap_or_default();
        let network = name
            .parse()
            .map_err(|_| PayerSetupError::Network(name.clone()))?;
        Ok(Self {
            payer: LndPayer::new(&lnd),
            network,
        })
    }

    /// The node's network.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Pays the challenge's invoice; the preimage, or what went wrong in words.
    pub async fn pay(&self, challenge: &Challenge) -> Result<Preimage, String> {
        let outcome = self
            .payer
            .pay(
                challenge.invoice_str(),
                challenge.payment_hash(),
                MAX_FEE_SAT,
                PAY_TIMEOUT,
            )
            .await
            .map_err(|e| e.to_string())?;
        match outcome {
            PaymentOutcome::Succeeded(success) => Ok(success.preimage),
            PaymentOutcome::Failed { reason } => Err(format!("the payment failed: {reason}")),
            PaymentOutcome::NotFound => Err("lnd has no record of the payment".into()),
            PaymentOutcome::InFlight => Err(format!(
                "the payment was still in flight after {}s",
                PAY_TIMEOUT.as_secs()
            )),
        }
    }
}
