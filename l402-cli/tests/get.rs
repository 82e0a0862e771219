//! `l402 get` as a command: its unhappy paths end with a precise message and exit code. (Its paid
//! flow is tested by the conformance kit, `l402-conformance/tests/clients.rs`, every client case.)

use std::process::Command;

fn l402_get(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_l402"))
        .arg("get")
        .args(args)
        .env_remove("L402_URL")
        .output()
        .expect("l402 runs")
}

#[test]
fn a_missing_macaroon_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("admin.macaroon");
    let output = l402_get(&[
        "http://127.0.0.1:9/paid",
        "--lnd.macaroonpath",
        missing.to_str().unwrap(),
        "--tokendir",
        dir.path().join("tokens").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("lnd:") && stderr.contains("admin.macaroon"),
        "{stderr}"
    );
}

#[test]
fn a_url_that_is_no_url_is_refused() {
    let output = l402_get(&["not a url", "--lnd.macaroonpath", "/nonexistent"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a url"));
}
