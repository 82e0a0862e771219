//! One structured log line per decision, and never a secret in the logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::support::{get_with, TestEnv};

/// A log sink shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_decision_is_one_json_line_without_secrets() {
    // tracing caches whether a log line is wanted once per line of code, for the whole process. While a
    // single dispatcher is registered, that answer comes from the default of whichever thread first reaches
    // the line: a sibling test's thread, with no logger, would switch the decision line off for this test
    // too. With the global test logger registered as well, every registered dispatcher is asked, the
    // capture below included, and each line is then checked against the logging thread's own dispatcher.
    testkit::init_test_logging();
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    // The test runtime is single-threaded, so the proxy's tasks log into this subscriber too.
    let _guard = tracing::subscriber::set_default(subscriber);

    let env = TestEnv::start().await;
    let proxy = env.proxy().await;
    let credential = env.paid_http(&proxy, "/http/data").await;
    let authorization = credential.to_authorization();
    assert_eq!(
        get_with(&proxy, "/http/data", ("authorization", &authorization))
            .await
            .status(),
        200
    );
    proxy.stop().await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let decisions: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["target"] == "auth_proxy::decision")
        .collect();
    assert_eq!(decisions.len(), 2, "one line per request:\n{text}");
    assert_eq!(decisions[0]["fields"]["decision"], "challenged");
    assert_eq!(decisions[0]["fields"]["reason"], "missing");
    assert_eq!(decisions[1]["fields"]["decision"], "accepted");
    assert_eq!(
        decisions[1]["fields"]["token_id"],
        credential.token_id().to_hex()
    );
    assert_eq!(decisions[1]["fields"]["upstream_status"], 200);

    let secrets = [
        credential.preimage().to_hex(),
        credential.macaroon().to_base64(),
        credential.macaroon().to_hex(),
        hex::encode(credential.macaroon().signature()),
    ];
    for secret in secrets {
        assert!(!text.contains(&secret), "a secret reached the logs");
    }
}
