//! Loop's token file format and the store's file handling.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, UNIX_EPOCH};

use l402::{Macaroon, PaymentHash, Preimage, Token};
use l402_client::TokenStore;

/// docs/PROTOCOL.md's vector B macaroon.
const VECTOR_B: &str = "AgEEbHNhdAJCAABjDc0pZsQzZpESVEi7sltP9BKknHMtssirwbhYG9cQ3SAfHh0cGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwIBAAIPc2VydmljZXM9bG9vcDowAAISbG9vcF9jYXBhYmlsaXRpZXM9AAIbbG9vcF92YWxpZF91bnRpbD0xNzAwMDAwMDAwAAAGIE4NjUqYEroD6mCWManYOtZIJPd82w8zQXls6f4w/vWd";
const PAYMENT_HASH: &str = "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd";
const TOKEN_ID: &str = "201f1e1d1c1b1a191817161514131211100f0e0d0c0b0a090807060504030201";

/// The bytes Loop writes: `u32 mac_len ‖ mac ‖ hash ‖ preimage ‖ u64 amt ‖ u64 fee ‖ i64 nanos`, big-endian.
fn loop_token_bytes(preimage: [u8; 32]) -> Vec<u8> {
    use base64::Engine;
    let mac = base64::engine::general_purpose::STANDARD
        .decode(VECTOR_B)
        .unwrap();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&(mac.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&mac);
    bytes.extend_from_slice(&hex::decode(PAYMENT_HASH).unwrap());
    bytes.extend_from_slice(&preimage);
    bytes.extend_from_slice(&1_000_000u64.to_be_bytes());
    bytes.extend_from_slice(&2_000u64.to_be_bytes());
    bytes.extend_from_slice(&1_700_000_000_123_456_789i64.to_be_bytes());
    bytes
}

fn vector_preimage() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

#[test]
fn reads_a_token_file_written_by_loop_and_writes_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = loop_token_bytes(vector_preimage());
    std::fs::write(dir.path().join("l402.token"), &bytes).unwrap();

    let store = TokenStore::open(dir.path()).unwrap();
    let token = store.paid_token().unwrap().expect("token read");
    assert_eq!(token.payment_hash.to_hex(), PAYMENT_HASH);
    assert_eq!(token.token_id().to_hex(), TOKEN_ID);
    assert_eq!(
        token.preimage.as_ref().unwrap().as_bytes(),
        &vector_preimage()
    );
    assert_eq!(token.amount_paid_msat, 1_000_000);
    assert_eq!(token.routing_fee_paid_msat, 2_000);
    assert_eq!(
        token.created,
        UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789)
    );

    // Ours round-trips to Loop's exact bytes.
    let other = tempfile::tempdir().unwrap();
    let ours = TokenStore::open(other.path()).unwrap();
    ours.store_paid(&token).unwrap();
    assert_eq!(std::fs::read(ours.paid_path()).unwrap(), bytes);
}

#[test]
fn pending_then_paid_with_atomic_0600_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = TokenStore::open(dir.path().join("regtest")).unwrap();
    let mac = Macaroon::from_base64(VECTOR_B).unwrap();
    let hash: PaymentHash = PAYMENT_HASH.parse().unwrap();
    let mut token = Token::pending(mac, hash, UNIX_EPOCH + Duration::from_secs(1_700_000_000));

    store.store_pending(&token).unwrap();
    assert!(store.paid_token().unwrap().is_none());
    assert_eq!(store.pending_token().unwrap().unwrap(), token);
    let mode = std::fs::metadata(store.pending_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        store.store_paid(&token).is_err(),
        "no preimage: cannot be paid"
    );

    assert!(token.mark_paid(Preimage::from_bytes(vector_preimage()), 1_000_000, 0));
    store.store_paid(&token).unwrap();
    assert!(store.pending_token().unwrap().is_none(), "pending removed");
    assert_eq!(store.paid_token().unwrap().unwrap(), token);
    let mode = std::fs::metadata(store.paid_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Only the two token files are in the directory (no temporary file left).
    let names: Vec<_> = std::fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["l402.token".to_owned()]);

    let backup = store.evict_paid().unwrap().expect("evicted");
    assert!(store.paid_token().unwrap().is_none());
    let all = store.all_tokens().unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].rejected);
    assert_eq!(all[0].path, backup);
}

#[test]
fn renames_loops_legacy_lsat_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lsat.token"),
        loop_token_bytes(vector_preimage()),
    )
    .unwrap();
    let store = TokenStore::open(dir.path()).unwrap();
    assert!(store.paid_token().unwrap().is_some());
    assert!(!dir.path().join("lsat.token").exists());
}

#[test]
fn a_corrupt_token_file_is_moved_aside_and_the_store_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("l402.token"), b"garbage").unwrap();
    let store = TokenStore::open(dir.path()).expect("a corrupt file does not stop loopd");
    assert!(store.paid_token().unwrap().is_none());
    let moved = store.corrupt_files().unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        std::fs::read(&moved[0]).unwrap(),
        b"garbage",
        "kept for the operator"
    );
}
