//! `callout-conformance bench`: how fast a responder is, measured only through what crosses the
//! wire, so that any responder can be compared with the reference on the same server.
//!
//! Two measurements per responder:
//! - **Connect latency.** N sequential connects through the callout on a real `auth_callout`
//!   server, interleaved with N connects by an auth user that bypasses the callout on the same
//!   server. The difference of the two medians is the latency the callout adds.
//! - **Wire throughput.** The harness plays the server, as in wire mode (`wire/`): a server
//!   without `auth_callout`, the responder connected as usual, and the harness publishing forged
//!   requests to `$SYS.REQ.USER.AUTH`. It keeps K requests in flight, for several K and for 1, 2
//!   or 4 instances of the responder. Instances share the load only through a queue group (the
//!   reference joins `q`); the bench counts duplicate replies, so a responder without a queue
//!   group shows up as doing the same work several times. Every request is signed (and
//!   sealed) before the clock starts, so the harness's own crypto is not measured.
//!
//! Every loop is bounded by a count and a deadline, everything binds to loopback, and every
//! process the bench starts is stopped by PID before it returns.
//!
//! This file holds the options, the configuration both rigs share and the run of one
//! responder; `args` is its command line (clap), `connect` and `throughput` are the two rigs,
//! `stats` the percentiles, `table` and `svg` the two human outputs. The JSON output is the
//! `serde` form of [`BenchReport`].

mod args;
mod connect;

pub mod subject;
mod svg;
mod table;
mod throughput;

use std::path::PathBuf;

use serde::Serialize;

use crate::provision::{self, ServerBinary};
use crate::sut::ResponderSpec;

pub use args::{BenchArgs, Sizes};
pub use callout_leaves::stats::{self, Percentiles};
pub use connect::{ConnectResult, ConnectRig, Route};
pub use subject::BenchProfile;
pub use svg::svg;
pub use table::{fmt_us, terminal};
pub use throughput::{WirePoint, WireRig};

const BENCH_USER: &str = "bench";
const BENCH_PASS: &str = "bench-pw-4Tz";
const BYPASS_USER: &str = "bench-bypass";
const BYPASS_PASS: &str = "bench-bypass-pw-8Lm";
const HARNESS_USER: &str = "callout-bench-harness";
const SYS_USER: &str = "callout-bench-sys";
const SYS_ACCOUNT: &str = "SYS";

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Sequential connects per route (0 = skip).
    pub connects: usize,
    /// Requests per throughput point (0 = skip).
    pub requests: usize,
    /// Requests kept in flight.
    pub inflight: Vec<usize>,
    /// Responder instances.
    pub instances: Vec<usize>,
    /// Seal requests and replies (an xkey is configured).
    pub xkey: bool,
    /// `--json`.
    pub json: Option<PathBuf>,
    /// `--svg`.
    pub svg: Option<PathBuf>,
    /// `--profile`: the profile's world and identities.
    pub profile: Option<BenchProfile>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            connects: 200,
            requests: 4000,
            inflight: vec![1, 8, 64, 256],
            instances: vec![1, 2, 4],
            xkey: true,
            json: None,
            svg: None,
            profile: None,
        }
    }
}

/// Everything measured for one responder on one server.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BenchRun {
    /// Column name.
    pub responder: String,
    /// The command template.
    pub command: String,
    /// nats-server version.
    pub server_version: String,
    /// Cores available to this machine.
    pub cores: usize,
    /// Build profile of the harness (the reference responder found beside it shares it).
    pub build_profile: String,
    /// Sealed requests and replies.
    pub xkey: bool,
    /// Connect latency, unless skipped.
    pub connect: Option<ConnectResult>,
    /// Throughput points.
    pub wire: Vec<WirePoint>,
    /// Set-up errors, if any.
    pub errors: Vec<String>,
}

/// The whole `bench` output.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BenchReport {
    /// Harness version.
    pub tool_version: String,
    /// One per responder and server version.
    pub runs: Vec<BenchRun>,
}

/// `debug` or `release`: numbers of a debug build say little.
pub fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Measures one responder on one server.
pub async fn bench_responder(
    bin: &ServerBinary,
    responder: &ResponderSpec,
    opts: &BenchOptions,
) -> BenchRun {
    let mut run = BenchRun {
        responder: responder.name.clone(),
        command: responder.template.clone(),
        server_version: bin.version.clone(),
        cores: cores(),
        build_profile: build_profile().into(),
        xkey: opts.xkey && opts.profile.as_ref().is_none_or(|p| p.ids.sealing),
        ..Default::default()
    };
    if opts.connects > 0 {
        eprintln!(
            "bench {} on nats-server {}: {} connects through the callout and {} bypassing it",
            responder.name, bin.version, opts.connects, opts.connects
        );
        let world = subject::world(opts.xkey, opts.profile.as_ref());
        let login = subject::admitted(opts.profile.as_ref());
        match ConnectRig::start(bin, responder, &world, login).await {
            Ok(rig) => {
                let r = rig.measure(opts.connects).await;
                let tail = rig.stop();
                if r.failures > 0 {
                    run.errors.push(format!(
                        "{} connect(s) were not admitted; responder stderr:\n{tail}",
                        r.failures
                    ));
                }
                run.connect = Some(r);
            }
            Err(e) => run.errors.push(format!("connect latency: {e}")),
        }
    }
    if opts.requests > 0 {
        let world = subject::world(opts.xkey, opts.profile.as_ref());
        let login = subject::admitted(opts.profile.as_ref());
        match WireRig::start(bin, responder, world, login).await {
            Ok(mut rig) => {
                'sweep: for &m in &opts.instances {
                    if let Err(e) = rig.set_instances(m).await {
                        run.errors
                            .push(format!("throughput with {m} instance(s): {e}"));
                        break 'sweep;
                    }
                    // Warm-up: not recorded.
                    rig.run_point(m, 8, 400, false).await;
                    for &k in &opts.inflight {
                        let p = rig.run_point(m, k, opts.requests, true).await;
                        eprintln!(
                            "  {m} instance(s), {k:>3} in flight: {:>8.0} auths/s, p50 {}",
                            p.auths_per_sec,
                            fmt_us(p.latency.p50_us)
                        );
                        run.wire.push(p);
                    }
                }
                rig.stop();
            }
            Err(e) => run.errors.push(format!("throughput: {e}")),
        }
    }
    run
}

/// `callout-conformance bench`, its command line parsed (see [`BenchArgs::resolve`]);
/// returns the exit code.
pub fn main(opts: BenchOptions, a: crate::flags::Targets) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("callout-conformance bench: cannot start the runtime: {e}");
            return 2;
        }
    };
    if build_profile() == "debug" {
        eprintln!("callout-conformance bench: warning: this is a debug build; build with --release (cargo run --release -p ci -- bench)");
    }
    let mut report = BenchReport {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        runs: vec![],
    };
    for version in &a.versions {
        let bin = match provision::resolve(version, a.nats_server.as_deref()) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("callout-conformance bench: {e}");
                return 2;
            }
        };
        for r in &a.responders {
            let run = rt.block_on(bench_responder(&bin, r, &opts));
            report.runs.push(run);
        }
    }
    print!("{}", terminal(&report));
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    for (path, text) in [(&opts.json, json), (&opts.svg, svg(&report))] {
        if let Some(p) = path {
            if let Err(e) = std::fs::write(p, text) {
                eprintln!(
                    "callout-conformance bench: cannot write {}: {e}",
                    p.display()
                );
                return 2;
            }
        }
    }
    if report.runs.iter().any(|r| !r.errors.is_empty()) {
        2
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_world_seals_and_gives_the_bench_user_permissions() {
        let fx = callout_world::fixture::Fixture::new(&subject::world(true, None)).unwrap();
        let users: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&fx.users_path).unwrap()).unwrap();
        assert_eq!(users[BENCH_USER]["permissions"]["resp"]["max"], 1);
        assert!(fx.conf.callout.as_ref().unwrap().xkey.is_some());
        let bypass = fx.conf.accounts.iter().flat_map(|a| &a.users);
        assert!(bypass.clone().any(|(u, _)| u == BYPASS_USER));
    }
}
