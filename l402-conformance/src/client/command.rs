//! The client under test as a command: run once per case (twice for the reuse case) with the case's
//! environment, in a process group of its own so that whatever it started ends with it.

use std::process::Stdio;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::process::Command;

use crate::client::ClientUnderTest;

/// How much of the command's output a report quotes.
const QUOTED_CHARS: usize = 240;

/// A command line, e.g. `l402 get` or `python3 client.py`.
#[derive(Debug, Clone)]
pub struct CommandClient {
    program: String,
    args: Vec<String>,
    timeout: Duration,
}

impl CommandClient {
    /// The command `argv` (program first), killed when a run takes longer than `timeout`.
    /// `None` when `argv` is empty.
    pub fn new(argv: &[String], timeout: Duration) -> Option<Self> {
        let (program, args) = argv.split_first()?;
        Some(Self {
            program: program.clone(),
            args: args.to_vec(),
            timeout,
        })
    }
}

impl ClientUnderTest for CommandClient {
    fn describe(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn run<'a>(&'a self, env: &'a [(String, String)]) -> BoxFuture<'a, String> {
        Box::pin(async move {
            let mut command = Command::new(&self.program);
            command
                .args(&self.args)
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0)
                .kill_on_drop(true);
            let child = match command.spawn() {
                Ok(child) => child,
                Err(e) => return format!("could not start {}: {e}", self.program),
            };
            let group = child.id();
            let ended = tokio::time::timeout(self.timeout, child.wait_with_output()).await;
            // Whatever the command left running (a daemon it started) ends with the case.
            if let Some(group) = group {
                kill_group(group).await;
            }
            match ended {
                Err(_) => format!("killed after {:?}", self.timeout),
                Ok(Err(e)) => format!("lost: {e}"),
                Ok(Ok(output)) => {
                    let status = match output.status.code() {
                        Some(code) => format!("exit {code}"),
                        None => "killed by a signal".to_owned(),
                    };
                    match last_line(&output.stderr).or_else(|| last_line(&output.stdout)) {
                        Some(line) if !output.status.success() => format!("{status} ({line})"),
                        _ => status,
                    }
                }
            }
        })
    }
}

/// Sends `SIGKILL` to the process group `group`, with the system's `kill` (no unsafe code here).
async fn kill_group(group: u32) {
    // A group that is already gone is the usual case: nothing to report.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}

/// The last non-empty line of `output`, shortened to [`QUOTED_CHARS`].
fn last_line(output: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(output);
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    Some(match line.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_report_the_exit_and_the_last_line_of_a_failure() {
        let env = [("GREETING".to_owned(), "hello".to_owned())];
        let argv = |script: &str| vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()];
        let ok = CommandClient::new(&argv("test \"$GREETING\" = hello"), Duration::from_secs(10))
            .unwrap();
        assert_eq!(ok.run(&env).await, "exit 0");
        let failing = CommandClient::new(
            &argv("echo first >&2; echo 'no route' >&2; exit 3"),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(failing.run(&env).await, "exit 3 (no route)");
        let hanging = CommandClient::new(&argv("sleep 30"), Duration::from_millis(200)).unwrap();
        assert_eq!(hanging.run(&env).await, "killed after 200ms");
        assert!(CommandClient::new(&[], Duration::from_secs(1)).is_none());
    }
}
