//! Log lines are written by a background thread: none may be lost, or come after the exit report, when a
//! program ends.

use std::process::Command;

use service_kit::exit::{report, ExitError};

/// Set in the child process this test starts.
const CHILD: &str = "SERVICE_KIT_LOGGING_TEST_CHILD";
/// More lines than the writer thread can write before an unflushed exit.
const LINES: usize = 20_000;

#[test]
fn every_line_logged_before_the_exit_report_is_written_before_it() {
    if std::env::var_os(CHILD).is_some() {
        service_kit::logging::init("info");
        for line in 0..LINES {
            tracing::info!(line, "queued line");
        }
        let _ = report("child:", Err(ExitError::failure("stopping")));
        // Leave at once, as a program does when `main` returns: only `report` can have written the queue.
        std::process::exit(1);
    }
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "every_line_logged_before_the_exit_report_is_written_before_it",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("RUST_LOG", "info")
        .output()
        .expect("child runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let logged = stderr.lines().filter(|l| l.contains("queued line")).count();
    assert_eq!(logged, LINES, "every line written");
    let last_log = stderr.rfind("queued line").expect("lines");
    let exit_line = stderr.find("child: stopping").expect("the exit report");
    assert!(exit_line > last_log, "the exit report comes last");
}
