//! Every credential the kit builds by hand: the forged and malformed ones a server must refuse, and the
//! unusual but valid spellings of a paid one (upper-case hex, a list of macaroons). Everything else the
//! kit sends is written by the `l402` crate's own functions.

use http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use l402::credential::HEADER_MACAROON;
use l402::{Caveat, Credential, Identifier, Macaroon, Preimage, RootKey, Service, TokenId};

use crate::server::transport::Binding;

/// The size of the oversized credential header.
const OVERSIZED_LEN: usize = 64 * 1024;

/// A credential a server must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgery {
    /// The macaroon alone: no `:<preimage>`, or (metadata) no preimage caveat.
    NoPreimage,
    /// A random preimage.
    WrongPreimage,
    /// The preimage of another invoice the kit paid to the same server.
    OtherInvoicePreimage,
    /// One bit of the signature flipped.
    FlippedSignature,
    /// Re-signed with a guessed root key.
    GuessedRootKey,
    /// A `services` caveat appended that lists one service more than the token's.
    WidenedServices,
    /// A `<service>_valid_until` in the past appended.
    PastValidUntil,
    /// A token id the server never minted (a fresh root key, the paid hash and preimage).
    UnknownTokenId,
    /// Text that is not base64 (HTTP) or not hex (gRPC metadata).
    MalformedEncoding,
    /// A credential header far beyond any sane limit.
    OversizedHeader,
}

/// What the forgeries are made from.
#[derive(Debug, Clone, Copy)]
pub struct Material<'a> {
    /// The paid credential (the challenge's macaroon and its preimage).
    pub paid: &'a Credential,
    /// The preimage of another paid invoice of the same server, if the kit could buy one.
    pub other_preimage: Option<&'a Preimage>,
    /// The time now, unix seconds.
    pub now_unix_secs: i64,
}

/// The headers carrying `forgery` for `binding`, or why it cannot be built for this token (a skip).
pub fn forge(
    forgery: Forgery,
    material: &Material<'_>,
    binding: Binding,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let paid = material.paid;
    let macaroon = paid.macaroon();
    let forged = |credential: Credential| present_primary(&credential, binding);
    match forgery {
        Forgery::NoPreimage => Ok(raw(
            binding,
            format!("L402 {}", macaroon.to_base64()),
            macaroon.to_hex(),
        )),
        Forgery::WrongPreimage => forged(Credential::new(macaroon.clone(), Preimage::random())),
        Forgery::OtherInvoicePreimage => {
            let other = material
                .other_preimage
                .ok_or("no second invoice could be bought")?;
            forged(Credential::new(macaroon.clone(), other.clone()))
        }
        Forgery::FlippedSignature => {
            let mut bytes = macaroon.as_bytes().to_vec();
            // The signature is the last field of a V2 macaroon: its last byte is the signature's.
            if let Some(last) = bytes.last_mut() {
                *last ^= 0x01;
            }
            let flipped = Macaroon::from_bytes(&bytes)
                .map_err(|e| format!("the flipped macaroon does not decode: {e}"))?;
            forged(Credential::new(flipped, paid.preimage().clone()))
        }
        Forgery::GuessedRootKey => {
            let resigned = Macaroon::mint(
                &RootKey::from_bytes([0; 32]),
                macaroon.identifier(),
                &caveats(macaroon)?,
            )
            .map_err(|e| format!("cannot re-sign the macaroon: {e}"))?;
            forged(Credential::new(resigned, paid.preimage().clone()))
        }
        Forgery::WidenedServices => {
            let mut services = first_services(macaroon)?;
            services
                .push(Service::new("conformance-widened", 0).map_err(|e| format!("service: {e}"))?);
            let caveat = Caveat::services(services).map_err(|e| format!("caveat: {e}"))?;
            forged(Credential::new(
                attenuated(macaroon, &caveat)?,
                paid.preimage().clone(),
            ))
        }
        Forgery::PastValidUntil => {
            let service = first_services(macaroon)?.remove(0);
            let caveat = Caveat::valid_until(service.name(), material.now_unix_secs - 60)
                .map_err(|e| format!("caveat: {e}"))?;
            forged(Credential::new(
                attenuated(macaroon, &caveat)?,
                paid.preimage().clone(),
            ))
        }
        Forgery::UnknownTokenId => {
            let identifier = Identifier::new(macaroon.payment_hash(), TokenId::random());
            let minted = Macaroon::mint(&RootKey::random(), &identifier, &caveats(macaroon)?)
                .map_err(|e| format!("cannot mint: {e}"))?;
            forged(Credential::new(minted, paid.preimage().clone()))
        }
        Forgery::MalformedEncoding => Ok(raw(
            binding,
            format!(
                "L402 *not-base64*{}:{}",
                macaroon.to_base64(),
                paid.preimage().to_hex()
            ),
            format!("zz{}", macaroon.to_hex()),
        )),
        Forgery::OversizedHeader => Ok(raw(
            binding,
            format!(
                "L402 {}:{}",
                "A".repeat(OVERSIZED_LEN),
                paid.preimage().to_hex()
            ),
            "0".repeat(OVERSIZED_LEN),
        )),
    }
}

/// `Authorization: <scheme> <base64>:<hex>` with the scheme spelled exactly as given (`l402`) and the
/// preimage in upper-case hex if asked.
pub fn authorization_spelled(credential: &Credential, scheme: &str, upper_hex: bool) -> String {
    let hex = credential.preimage().to_hex();
    let hex = if upper_hex { hex.to_uppercase() } else { hex };
    format!("{scheme} {}:{hex}", credential.macaroon().to_base64())
}

/// `Authorization: L402 <mac>,<mac>:<preimage>`: the specification's list of macaroons, the token's
/// macaroon given twice.
pub fn several_macaroons(credential: &Credential) -> String {
    let b64 = credential.macaroon().to_base64();
    format!("L402 {b64},{b64}:{}", credential.preimage().to_hex())
}

/// The binding's main form: `Authorization: L402` for HTTP, `macaroon` metadata for gRPC (Loop's).
fn present_primary(
    credential: &Credential,
    binding: Binding,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let metadata = credential
        .to_macaroon_metadata()
        .map_err(|e| format!("cannot add the preimage caveat: {e}"))?;
    Ok(raw(binding, credential.to_authorization(), metadata))
}

/// `authorization` for HTTP, `macaroon` for gRPC, whichever the binding uses.
fn raw(
    binding: Binding,
    authorization: String,
    metadata: String,
) -> Vec<(HeaderName, HeaderValue)> {
    let (name, value) = match binding {
        Binding::Http => (AUTHORIZATION, authorization),
        Binding::Grpc => (HeaderName::from_static(HEADER_MACAROON), metadata),
    };
    let value = HeaderValue::try_from(value).expect("base64, hex and ASCII are header text");
    vec![(name, value)]
}

fn caveats(macaroon: &Macaroon) -> Result<Vec<Caveat>, String> {
    macaroon
        .caveats()
        .map_err(|e| format!("the token's caveats do not parse: {e}"))
}

fn first_services(macaroon: &Macaroon) -> Result<Vec<Service>, String> {
    caveats(macaroon)?
        .into_iter()
        .find_map(|caveat| match caveat {
            Caveat::Services(services) if !services.is_empty() => Some(services),
            _ => None,
        })
        .ok_or_else(|| "the token has no services caveat to widen or expire".to_owned())
}

fn attenuated(macaroon: &Macaroon, caveat: &Caveat) -> Result<Macaroon, String> {
    macaroon
        .with_caveat(caveat)
        .map_err(|e| format!("cannot append {caveat}: {e}"))
}
