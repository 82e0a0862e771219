//! The results tables: the median of each measurement over the rounds and the ratios that matter, then
//! the latencies of the paced gRPC runs.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::latency::Percentiles;
use crate::load::Run;
use crate::rss::Samples;

/// Each thing the benchmark measures, in the order of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Measurement {
    /// HTTP/1.1 straight to the nginx backend.
    HttpDirect,
    /// HTTP/1.1 through nginx `proxy_pass`.
    HttpNginx,
    /// HTTP/1.1 through hyper-passthrough: the HTTP stack alone, without L402.
    HttpPassthrough,
    /// HTTP/1.1 through auth-proxy with a valid token.
    HttpProxy,
    /// The same through the `--baseline` build.
    HttpBaseline,
    /// gRPC unary calls straight to swap-server.
    GrpcDirect,
    /// gRPC unary calls through hyper-passthrough.
    GrpcPassthrough,
    /// gRPC unary calls through auth-proxy with a valid token.
    GrpcProxy,
    /// The same through the `--baseline` build.
    GrpcBaseline,
    /// Requests without a token: each one a 402 with a freshly minted challenge.
    Mint,
    /// The same through the `--baseline` build.
    MintBaseline,
    /// The same through our build on PostgreSQL (`--postgres`).
    MintPostgres,
}

impl Measurement {
    fn label(self) -> &'static str {
        match self {
            Self::HttpDirect => "HTTP/1.1, backend directly",
            Self::HttpNginx => "HTTP/1.1, nginx proxy_pass (keep-alive upstream)",
            Self::HttpPassthrough => "HTTP/1.1, hyper-passthrough (the stack alone, no L402)",
            Self::HttpProxy => "HTTP/1.1, auth-proxy, valid token",
            Self::HttpBaseline => "HTTP/1.1, baseline auth-proxy, valid token",
            Self::GrpcDirect => "gRPC unary, backend directly (h2c)",
            Self::GrpcPassthrough => "gRPC unary, hyper-passthrough (no L402)",
            Self::GrpcProxy => "gRPC unary, auth-proxy, valid token",
            Self::GrpcBaseline => "gRPC unary, baseline auth-proxy, valid token",
            Self::Mint => "402 challenges minted (no token, SQLite, mock-lnd)",
            Self::MintBaseline => "402 challenges minted by the baseline auth-proxy",
            Self::MintPostgres => "402 challenges minted (no token, PostgreSQL, mock-lnd)",
        }
    }
}

/// The targets of the paced gRPC runs, which measure latency below saturation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Paced {
    /// Straight to swap-server.
    Direct,
    /// Through hyper-passthrough.
    Passthrough,
    /// Through auth-proxy with a valid token.
    Proxy,
}

impl Paced {
    fn label(self) -> &'static str {
        match self {
            Self::Direct => "backend directly (h2c)",
            Self::Passthrough => "hyper-passthrough (no L402)",
            Self::Proxy => "auth-proxy, valid token",
        }
    }

    /// The program itself, for the rows of what it adds.
    fn program(self) -> &'static str {
        match self {
            Self::Direct => "swap-server",
            Self::Passthrough => "hyper-passthrough",
            Self::Proxy => "auth-proxy",
        }
    }
}

/// What one paced run measured.
#[derive(Debug, Clone, Copy)]
struct PacedRun {
    rate: f64,
    percentiles: Percentiles,
    /// CPU time the proxy used per call (µs), where measured.
    cpu_per_call_us: Option<f64>,
}

/// The runs of every measurement, and auth-proxy's memory.
#[derive(Debug, Default)]
pub struct Report {
    runs: BTreeMap<Measurement, Vec<Run>>,
    /// CPU time the proxy under test used per request, per run (µs), where it was measured.
    cpu_per_request_us: BTreeMap<Measurement, Vec<f64>>,
    /// Latencies of the paced gRPC runs, per run.
    paced: BTreeMap<Paced, Vec<PacedRun>>,
    /// auth-proxy's RSS (KiB) after start-up and after all the load.
    pub rss_kib: (u64, u64),
    /// Synthetic tokens added to each database before the rounds (`--prefill-tokens`).
    pub prefilled_tokens: Option<u64>,
    /// auth-proxy's RSS along the long authenticated load (`--rss-requests`).
    pub rss_samples: Option<Samples>,
}

impl Report {
    /// Records one run.
    pub fn add(&mut self, measurement: Measurement, run: Run, proxy_cpu: Option<Duration>) {
        if let Some(per_request) = per_request_us(proxy_cpu, &run) {
            self.cpu_per_request_us
                .entry(measurement)
                .or_default()
                .push(per_request);
        }
        self.runs.entry(measurement).or_default().push(run);
    }

    /// Records one paced run, its latencies and the CPU time the proxy under test used meanwhile.
    pub fn add_paced(
        &mut self,
        target: Paced,
        run: Run,
        percentiles: Percentiles,
        proxy_cpu: Option<Duration>,
    ) {
        self.paced.entry(target).or_default().push(PacedRun {
            rate: run.rate,
            percentiles,
            cpu_per_call_us: per_request_us(proxy_cpu, &run),
        });
    }

    /// The median rate of `measurement` over the rounds.
    pub fn median(&self, measurement: Measurement) -> Option<f64> {
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
        let ratios: [(Measurement, Vec<(Measurement, &str)>); 12] = [
            (HttpDirect, vec![]),
            (HttpNginx, vec![(HttpDirect, "backend")]),
            (
                HttpPassthrough,
                vec![(HttpNginx, "nginx"), (HttpDirect, "backend")],
            ),
            (
                HttpProxy,
                vec![
                    (HttpNginx, "nginx"),
                    (HttpDirect, "backend"),
                    (HttpPassthrough, "pass-through"),
                ],
            ),
            (HttpBaseline, vec![(HttpProxy, "auth-proxy")]),
            (GrpcDirect, vec![]),
            (GrpcPassthrough, vec![(GrpcDirect, "backend")]),
            (
                GrpcProxy,
                vec![(GrpcDirect, "backend"), (GrpcPassthrough, "pass-through")],
            ),
            (GrpcBaseline, vec![(GrpcProxy, "auth-proxy")]),
            (Mint, vec![]),
            (MintBaseline, vec![(Mint, "auth-proxy")]),
            (MintPostgres, vec![(Mint, "SQLite")]),
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
        if let Some(rows) = self.prefilled_tokens {
            out += &format!(
                "| tokens in each database before the rounds (prefilled) | {rows} | | |\n"
            );
        }
        let (idle, loaded) = self.rss_kib;
        out += &format!(
            "| auth-proxy RSS, idle → after the load | {} → {} | | |\n",
            mib(idle),
            mib(loaded)
        );
        if let Some(samples) = &self.rss_samples {
            out += &format!(
                "| auth-proxy RSS over {} more authenticated requests ({} samples): first, max, last | \
                 {}, {}, {} | spread {:.1} % | |\n",
                samples.last().requests,
                samples.len(),
                mib(samples.first().rss_kib),
                mib(samples.max_kib()),
                mib(samples.last().rss_kib),
                samples.spread_percent()
            );
        }
        out + &self.paced_table()
    }

    /// The paced gRPC runs' table (empty without them): the medians of the rate, p50 and p99 of each
    /// target, and their differences from the backend's: the latency each proxy adds.
    fn paced_table(&self) -> String {
        let medians = |target| {
            let runs = self.paced.get(&target)?;
            let of = |f: fn(&PacedRun) -> f64| median(runs.iter().map(f).collect());
            let cpu = median(runs.iter().filter_map(|r| r.cpu_per_call_us).collect())
                .map_or(String::new(), |us| format!("{us:.1} µs"));
            Some((
                [
                    of(|r| r.rate)?,
                    of(|r| r.percentiles.p50.as_secs_f64())?,
                    of(|r| r.percentiles.p99.as_secs_f64())?,
                ],
                cpu,
            ))
        };
        let Some((direct, _)) = medians(Paced::Direct) else {
            return String::new();
        };
        let proxies: Vec<_> = [Paced::Passthrough, Paced::Proxy]
            .into_iter()
            .filter_map(|target| Some((target, medians(target)?)))
            .collect();
        let rounds = self.paced.values().map(Vec::len).max().unwrap_or(0);
        let mut out = format!(
            "\n| gRPC unary at half auth-proxy's saturating rate (open-loop) | \
             req/s (median of {rounds}) | p50 | p99 | proxy CPU per call |\n|---|---:|---:|---:|---:|\n"
        );
        let rows = std::iter::once((Paced::Direct, (direct, String::new()))).chain(proxies.clone());
        for (target, ([rate, p50, p99], cpu)) in rows {
            out += &format!(
                "| {} | {rate:.0} | {} | {} | {cpu} |\n",
                target.label(),
                ms(p50),
                ms(p99)
            );
        }
        for (target, ([_, p50, p99], _)) in proxies {
            let goal = if target == Paced::Proxy {
                " (goal: p99 < 1 ms)"
            } else {
                ""
            };
            out += &format!(
                "| added by {}{goal} | | {} | {} | |\n",
                target.program(),
                ms(p50 - direct[1]),
                ms(p99 - direct[2])
            );
        }
        out
    }
}

/// The CPU time `cpu` per request of `run`, in µs (none without a measurement or a request).
fn per_request_us(cpu: Option<Duration>, run: &Run) -> Option<f64> {
    cpu.filter(|_| run.requests > 0)
        .map(|cpu| cpu.as_secs_f64() * 1e6 / run.requests as f64)
}

/// KiB as MiB, for the table.
fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Seconds as milliseconds, for the table.
fn ms(seconds: f64) -> String {
    format!("{:.2} ms", seconds * 1e3)
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
        assert!(
            !report.table().contains("gRPC unary at half"),
            "no paced runs, no latency table"
        );
    }

    #[test]
    fn the_latency_table_shows_medians_and_what_the_proxy_adds() {
        let mut report = Report::default();
        let micros = |p50, p99| Percentiles {
            p50: Duration::from_micros(p50),
            p99: Duration::from_micros(p99),
        };
        for (p50, p99) in [(200, 800), (100, 900), (300, 700)] {
            let cpu = Some(Duration::from_micros(40));
            report.add_paced(Paced::Direct, run(5000.0), micros(p50, p99), None);
            report.add_paced(
                Paced::Passthrough,
                run(5001.0),
                micros(p50 + 50, p99 + 100),
                None,
            );
            report.add_paced(Paced::Proxy, run(4999.0), micros(p50 + 150, p99 + 400), cpu);
        }
        let table = report.table();
        assert!(
            table.contains("| backend directly (h2c) | 5000 | 0.20 ms | 0.80 ms |  |"),
            "{table}"
        );
        assert!(
            table.contains("| auth-proxy, valid token | 4999 | 0.35 ms | 1.20 ms | 40.0 µs |"),
            "{table}"
        );
        assert!(
            table.contains("| added by auth-proxy (goal: p99 < 1 ms) | | 0.15 ms | 0.40 ms | |"),
            "{table}"
        );
        assert!(
            table.contains("| added by hyper-passthrough | | 0.05 ms | 0.10 ms | |"),
            "{table}"
        );
    }

    #[test]
    fn prefilled_tokens_and_the_rss_samples_have_rows() {
        let mut report = Report {
            prefilled_tokens: Some(1000),
            ..Report::default()
        };
        let mut rss = [2048, 2150, 2100].into_iter();
        let served = Run {
            rate: 10.0,
            non_success: 0,
            requests: 10,
        };
        report.rss_samples =
            Some(crate::rss::follow(20, 10.0, |_| Ok(served), || Ok(rss.next().unwrap())).unwrap());
        let table = report.table();
        assert!(
            table.contains("| tokens in each database before the rounds (prefilled) | 1000 |"),
            "{table}"
        );
        assert!(
            table.contains(
                "over 20 more authenticated requests (3 samples): first, max, last | \
                 2.0 MiB, 2.1 MiB, 2.1 MiB | spread 5.0 % |"
            ),
            "{table}"
        );
    }
}
