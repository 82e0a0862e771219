//! The results table: the median of each measurement over the rounds, and the ratios that matter.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::load::Run;

/// Each thing the benchmark measures, in the order of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Measurement {
    /// HTTP/1.1 straight to the nginx backend.
    HttpDirect,
    /// HTTP/1.1 through nginx `proxy_pass`.
    HttpNginx,
    /// HTTP/1.1 through auth-proxy with a valid token.
    HttpProxy,
    /// The same through the `--baseline` build.
    HttpBaseline,
    /// gRPC unary calls straight to swap-server.
    GrpcDirect,
    /// gRPC unary calls through auth-proxy with a valid token.
    GrpcProxy,
    /// The same through the `--baseline` build.
    GrpcBaseline,
    /// Requests without a token: each one a 402 with a freshly minted challenge.
    Mint,
    /// The same through the `--baseline` build.
    MintBaseline,
}

impl Measurement {
    fn label(self) -> &'static str {
        match self {
            Self::HttpDirect => "HTTP/1.1, backend directly",
            Self::HttpNginx => "HTTP/1.1, nginx proxy_pass (keep-alive upstream)",
            Self::HttpProxy => "HTTP/1.1, auth-proxy, valid token",
            Self::HttpBaseline => "HTTP/1.1, baseline auth-proxy, valid token",
            Self::GrpcDirect => "gRPC unary, backend directly (h2c)",
            Self::GrpcProxy => "gRPC unary, auth-proxy, valid token",
            Self::GrpcBaseline => "gRPC unary, baseline auth-proxy, valid token",
            Self::Mint => "402 challenges minted (no token, SQLite, mock-lnd)",
            Self::MintBaseline => "402 challenges minted by the baseline auth-proxy",
        }
    }
}

/// The runs of every measurement, and auth-proxy's memory.
#[derive(Debug, Default)]
pub struct Report {
    runs: BTreeMap<Measurement, Vec<Run>>,
    /// CPU time the proxy under test used per request, per run (µs), where it was measured.
    cpu_per_request_us: BTreeMap<Measurement, Vec<f64>>,
    /// auth-proxy's RSS (KiB) after start-up and after all the load.
    pub rss_kib: (u64, u64),
}

impl Report {
    /// Records one run.
    pub fn add(&mut self, measurement: Measurement, run: Run, proxy_cpu: Option<Duration>) {
        if let Some(cpu) = proxy_cpu.filter(|_| run.requests > 0) {
            let per_request = cpu.as_secs_f64() * 1e6 / run.requests as f64;
            self.cpu_per_request_us
                .entry(measurement)
                .or_default()
                .push(per_request);
        }
        self.runs.entry(measurement).or_default().push(run);
    }

    fn median(&self, measurement: Measurement) -> Option<f64> {
        median(
            self.runs
                .get(&measurement)?
                .iter()
                .map(|r| r.rate)
                .collect(),
        )
    }

    fn ratio(&self, numerator: Measurement, denominator: Measurement) -> Option<f64> {
        Some(self.median(numerator)? / self.median(denominator)?)
    }

    /// The table, in Markdown.
    pub fn table(&self) -> String {
        use Measurement::*;
        let rounds = self.runs.values().map(Vec::len).max().unwrap_or(0);
        let mut out = format!(
            "| measurement | req/s (median of {rounds}) | ratio | proxy CPU per request |\n\
             |---|---:|---|---:|\n"
        );
        let ratios: [(Measurement, Vec<(Measurement, &str)>); 9] = [
            (HttpDirect, vec![]),
            (HttpNginx, vec![(HttpDirect, "backend")]),
            (
                HttpProxy,
                vec![(HttpNginx, "nginx"), (HttpDirect, "backend")],
            ),
            (HttpBaseline, vec![(HttpProxy, "auth-proxy")]),
            (GrpcDirect, vec![]),
            (GrpcProxy, vec![(GrpcDirect, "backend")]),
            (GrpcBaseline, vec![(GrpcProxy, "auth-proxy")]),
            (Mint, vec![]),
            (MintBaseline, vec![(Mint, "auth-proxy")]),
        ];
        for (measurement, against) in ratios {
            let Some(rate) = self.median(measurement) else {
                continue;
            };
            let ratio: Vec<String> = against
                .iter()
                .filter_map(|(other, name)| {
                    self.ratio(measurement, *other)
                        .map(|r| format!("{r:.2}× {name}"))
                })
                .collect();
            let cpu = self
                .cpu_per_request_us
                .get(&measurement)
                .and_then(|runs| median(runs.clone()))
                .map_or(String::new(), |us| format!("{us:.1} µs"));
            out += &format!(
                "| {} | {rate:.0} | {} | {cpu} |\n",
                measurement.label(),
                ratio.join(", ")
            );
        }
        let (idle, loaded) = self.rss_kib;
        out += &format!(
            "| auth-proxy RSS, idle → after the load | {:.1} → {:.1} MiB | | |\n",
            idle as f64 / 1024.0,
            loaded as f64 / 1024.0
        );
        out
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rate: f64) -> Run {
        Run {
            rate,
            non_success: 0,
            requests: 1,
        }
    }

    #[test]
    fn medians_and_ratios() {
        let mut report = Report::default();
        for rate in [30.0, 10.0, 20.0] {
            report.add(Measurement::HttpNginx, run(rate), None);
            report.add(
                Measurement::HttpProxy,
                run(rate * 2.0),
                Some(Duration::from_micros(5)),
            );
        }
        assert_eq!(report.median(Measurement::HttpNginx), Some(20.0));
        assert_eq!(
            report.ratio(Measurement::HttpProxy, Measurement::HttpNginx),
            Some(2.0)
        );
        assert!(report.table().contains("| 40 | 2.00× nginx | 5.0 µs |"));
    }
}
