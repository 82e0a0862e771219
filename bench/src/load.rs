//! The load generators, Debian's `wrk` (HTTP/1.1) and `h2load` (HTTP/2, here gRPC), and what their
//! reports say.
//!
//! Both run with one thread and a fixed concurrency, for a fixed time, against one URL; every target in a
//! comparison gets exactly the same command line apart from the URL and the credential header. (Latency
//! below saturation is measured by [`crate::paced`], not by h2load, whose `--rps` releases requests in
//! bursts.)

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};

/// What one run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    /// Completed requests per second.
    pub rate: f64,
    /// Responses that were not 2xx (or 3xx).
    pub non_success: u64,
    /// Total completed requests.
    pub requests: u64,
}

impl Run {
    /// Fails unless every response was 2xx: the requests of `what` carried a valid token.
    pub fn all_admitted(&self, what: impl std::fmt::Debug) -> anyhow::Result<()> {
        if self.non_success > 0 {
            bail!(
                "{what:?}: {} of {} responses were not 2xx",
                self.non_success,
                self.requests
            );
        }
        Ok(())
    }
}

/// One HTTP/1.1 load: `connections` keep-alive connections for `duration`.
#[derive(Debug, Clone)]
pub struct Load {
    /// Concurrent connections (HTTP/1.1) or concurrent streams on one connection (h2).
    pub connections: u32,
    /// How long each run lasts.
    pub duration: Duration,
}

impl Load {
    /// Drives `url` with wrk, sending `headers` (`Name: value`) with every request.
    pub fn wrk(&self, url: &str, headers: &[String]) -> anyhow::Result<Run> {
        let mut command = Command::new("wrk");
        command
            .arg("-t1")
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", self.duration.as_secs().max(1)));
        for header in headers {
            command.arg("-H").arg(header);
        }
        let output = run(command.arg(url), "wrk (apt-get install wrk)")?;
        parse_wrk(&output).with_context(|| format!("unexpected wrk output:\n{output}"))
    }

    /// Drives `url` with h2load as gRPC unary calls: POSTs of `body` (a gRPC-framed message) on one
    /// connection with `connections` concurrent streams.
    pub fn h2load_grpc(&self, url: &str, body: &Path, headers: &[String]) -> anyhow::Result<Run> {
        let mut command = Command::new("h2load");
        command
            .args(["-t1", "-c1"])
            .arg(format!("-m{}", self.connections))
            .arg(format!("-D{}", self.duration.as_secs().max(1)))
            .arg("-d")
            .arg(body)
            .args(["-H", "content-type: application/grpc", "-H", "te: trailers"]);
        for header in headers {
            command.arg("-H").arg(header);
        }
        let output = run(command.arg(url), "h2load (apt-get install nghttp2-client)")?;
        parse_h2load(&output).with_context(|| format!("unexpected h2load output:\n{output}"))
    }
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<String> {
    let output = command
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}

/// Reads `Requests/sec:`, the request count and `Non-2xx or 3xx responses:` from wrk's report.
fn parse_wrk(output: &str) -> anyhow::Result<Run> {
    let rate = value_after(output, "Requests/sec:").context("no Requests/sec")?;
    // "  123456 requests in 4.00s, 10.20MB read"
    let requests = output
        .lines()
        .find(|line| line.contains(" requests in "))
        .and_then(|line| line.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .context("no request count")?;
    let non_success = value_after(output, "Non-2xx or 3xx responses:").unwrap_or(0.0) as u64;
    Ok(Run {
        rate,
        non_success,
        requests,
    })
}

/// Reads the rate from `finished in 4.00s, 25000.00 req/s, …` and the counts from
/// `requests: N total, … S succeeded, …` and `status codes: A 2xx, B 3xx, C 4xx, D 5xx`.
fn parse_h2load(output: &str) -> anyhow::Result<Run> {
    let finished = output
        .lines()
        .find(|line| line.starts_with("finished in"))
        .context("no 'finished in' line")?;
    let rate = finished
        .split(", ")
        .find_map(|part| part.strip_suffix(" req/s"))
        .and_then(|n| n.trim().parse().ok())
        .context("no req/s")?;
    let count = |line_start: &str, label: &str| -> Option<u64> {
        let line = output.lines().find(|line| line.starts_with(line_start))?;
        line.trim_start_matches(line_start)
            .split(", ")
            .find_map(|part| part.trim().strip_suffix(label))
            .and_then(|n| n.trim().parse().ok())
    };
    let requests = count("requests:", " done").context("no request count")?;
    let success = count("status codes:", " 2xx").unwrap_or(0);
    Ok(Run {
        rate,
        non_success: requests.saturating_sub(success),
        requests,
    })
}

fn value_after(output: &str, label: &str) -> Option<f64> {
    let line = output
        .lines()
        .find(|line| line.trim_start().starts_with(label))?;
    line.trim_start()[label.len()..].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_reports() {
        let report = "Running 4s test @ http://127.0.0.1:1/\n  1 threads and 32 connections\n  \
            Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   1.00ms  0.10ms   5.00ms   90.00%\n  \
            96000 requests in 4.00s, 10.00MB read\n  Non-2xx or 3xx responses: 12\nRequests/sec:  24000.50\n\
            Transfer/sec:      2.50MB\n";
        assert_eq!(
            parse_wrk(report).unwrap(),
            Run {
                rate: 24000.5,
                non_success: 12,
                requests: 96000
            }
        );
        assert!(parse_wrk("connection refused").is_err());
    }

    #[test]
    fn reads_h2load_reports() {
        let report = "starting benchmark...\n\nfinished in 4.00s, 25000.00 req/s, 1.20MB/s\n\
            requests: 100000 total, 100000 started, 100000 done, 99990 succeeded, 10 failed, 0 errored, 0 timeout\n\
            status codes: 99990 2xx, 0 3xx, 10 4xx, 0 5xx\n";
        assert_eq!(
            parse_h2load(report).unwrap(),
            Run {
                rate: 25000.0,
                non_success: 10,
                requests: 100000
            }
        );
    }
}
