//! One round of the benchmark: every measurement once, one after the other, each recorded in the report.
//!
//! In order: HTTP/1.1 to the backend, nginx, hyper-passthrough and auth-proxy (and the baseline build), gRPC
//! to the backend, through hyper-passthrough and through auth-proxy (and the baseline), gRPC paced at half
//! the rate auth-proxy just reached (to the backend, through hyper-passthrough, through auth-proxy), and
//! requests without a token to each proxy (ours on SQLite, the baseline, ours on PostgreSQL). Measuring
//! everything in every round interleaves the targets, so that a machine that gets slower or faster during
//! the run affects them all alike.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;

use crate::latency::Percentiles;
use crate::load::{Load, Run};
use crate::report::{Measurement, Paced, Report};
use crate::setup::{grpc_url as grpc, http_url as http, Setup};
use crate::{cpu, paced};

/// What every round drives, and with which credentials.
pub struct Rounds<'a> {
    /// The load of every run.
    pub load: &'a Load,
    /// The programs under test.
    pub setup: &'a Setup,
    /// The HTTP token's `Authorization` header.
    pub http_auth: [String; 1],
    /// The gRPC token's `authorization` header, for h2load and the paced calls.
    pub grpc_auth: [String; 1],
    /// The gRPC request body h2load sends.
    pub grpc_body: PathBuf,
}

/// One load run, started when called.
type Driver<'a> = Box<dyn Fn() -> anyhow::Result<Run> + 'a>;

impl Rounds<'_> {
    /// Runs one round, adding every run to `report`.
    pub fn round(&self, report: &mut Report) -> anyhow::Result<()> {
        let (load, setup) = (self.load, self.setup);
        let (http_auth, grpc_auth, grpc_body) = (&self.http_auth, &self.grpc_auth, &self.grpc_body);
        let (nginx, passthrough, proxy) = (
            Some(setup.nginx_pid()),
            Some(setup.passthrough_pid()),
            Some(setup.proxy_pid()),
        );
        let baseline = setup
            .baseline
            .as_ref()
            .map(|(addr, program)| (*addr, program.pid()));
        let mut paid: Vec<(Measurement, Option<u32>, Driver<'_>)> = vec![
            (
                Measurement::HttpDirect,
                None,
                Box::new(|| load.wrk(&http(setup.backend), &[])),
            ),
            (
                Measurement::HttpNginx,
                nginx,
                Box::new(|| load.wrk(&http(setup.nginx), &[])),
            ),
            (
                Measurement::HttpPassthrough,
                passthrough,
                Box::new(|| load.wrk(&http(setup.passthrough), http_auth)),
            ),
            (
                Measurement::HttpProxy,
                proxy,
                Box::new(|| load.wrk(&http(setup.proxy), http_auth)),
            ),
            (
                Measurement::GrpcDirect,
                None,
                Box::new(|| load.h2load_grpc(&grpc(setup.grpc_backend), grpc_body, &[])),
            ),
            (
                Measurement::GrpcPassthrough,
                passthrough,
                Box::new(|| load.h2load_grpc(&grpc(setup.passthrough), grpc_body, grpc_auth)),
            ),
            (
                Measurement::GrpcProxy,
                proxy,
                Box::new(|| load.h2load_grpc(&grpc(setup.proxy), grpc_body, grpc_auth)),
            ),
        ];
        if let Some((addr, pid)) = baseline {
            paid.insert(
                4,
                (
                    Measurement::HttpBaseline,
                    Some(pid),
                    Box::new(move || load.wrk(&http(addr), http_auth)),
                ),
            );
            paid.push((
                Measurement::GrpcBaseline,
                Some(pid),
                Box::new(move || load.h2load_grpc(&grpc(addr), grpc_body, grpc_auth)),
            ));
        }
        let mut grpc_saturated = None;
        for (measurement, pid, drive) in paid {
            let (run, cpu) = measured(pid, drive)?;
            run.all_admitted(measurement)?;
            if measurement == Measurement::GrpcProxy {
                grpc_saturated = Some(run.rate);
            }
            report.add(measurement, run, cpu);
        }
        if let Some(rate) = grpc_saturated {
            self.paced(report, (rate / 2.0).round() as u64)?;
        }
        let postgres = setup
            .postgres
            .as_ref()
            .map(|(addr, program)| (Measurement::MintPostgres, *addr, Some(program.pid())));
        let minting = [(Measurement::Mint, setup.proxy, proxy)]
            .into_iter()
            .chain(baseline.map(|(addr, pid)| (Measurement::MintBaseline, addr, Some(pid))))
            .chain(postgres);
        for (measurement, addr, pid) in minting {
            let (minted, cpu) = measured(pid, || load.wrk(&http(addr), &[]))?;
            if minted.non_success != minted.requests {
                bail!("{measurement:?}: requests without a token were admitted: {minted:?}");
            }
            report.add(measurement, minted, cpu);
        }
        Ok(())
    }

    /// gRPC at `rate` calls a second, to the backend, through hyper-passthrough and through auth-proxy, with
    /// every call's latency.
    fn paced(&self, report: &mut Report, rate: u64) -> anyhow::Result<()> {
        let setup = self.setup;
        let targets = [
            (Paced::Direct, setup.grpc_backend, None, &[][..]),
            (
                Paced::Passthrough,
                setup.passthrough,
                Some(setup.passthrough_pid()),
                &self.grpc_auth[..],
            ),
            (
                Paced::Proxy,
                setup.proxy,
                Some(setup.proxy_pid()),
                &self.grpc_auth[..],
            ),
        ];
        for (target, addr, pid, headers) in targets {
            let (paced, cpu) =
                measured(pid, || paced::grpc(addr, headers, rate, self.load.duration))?;
            paced.run.all_admitted(target)?;
            let percentiles = Percentiles::of(paced.latencies)
                .ok_or_else(|| anyhow::anyhow!("{target:?}: no paced call completed"))?;
            report.add_paced(target, paced.run, percentiles, cpu);
        }
        Ok(())
    }
}

/// Runs `drive`, and measures the CPU time the process tree `pid` used meanwhile.
fn measured<T>(
    pid: Option<u32>,
    drive: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(T, Option<Duration>)> {
    let before = pid.map(cpu::tree_time);
    let run = drive()?;
    let used = pid
        .zip(before)
        .map(|(pid, before)| cpu::tree_time(pid).saturating_sub(before));
    Ok((run, used))
}
