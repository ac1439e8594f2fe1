//! The command line of `bench`, as clap parses it: its own flags and the flags it shares with
//! `run` (through [`crate::flags`]). The flags are a stable interface.

use std::path::PathBuf;

use crate::flags::{not_an_option, path, TargetArgs, Targets};
use crate::provision::DEFAULT_SERVER_VERSION;

use super::BenchOptions;

/// What `bench --help` prints after the options.
const NOTES: &str = "\
Connect latency: N sequential connects through the callout, interleaved with N connects by an
auth user that bypasses it, on the same server; added latency = callout p50 - bypass p50.
Throughput: the harness plays the server (a server without auth_callout, forged requests
published to $SYS.REQ.USER.AUTH, prepared before the clock starts) with K requests in flight.
Instances share the load only through a queue group: the reference responder joins queue group
\"q\". A responder that subscribes without one answers every request once per instance; the
bench counts those duplicate replies, and the instance sweep then measures repeated work.
Limits: a row stops after 20 s and says so (how many requests it answered); a connect waits 5 s.
Every row and the connect block give the responder's CPU time (user + system) per
authorization and its peak RSS, read from /proc for its whole process group.
With --profile, the identity the profile's wire cases use is measured; a cred_cmd runs before
each connect, outside the clock, and its time is reported on a line of its own.

Exit codes: 0 measured, 2 a set-up or usage error.";

/// `callout-conformance bench`: the responders and servers to measure, and how.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = NOTES)]
pub struct BenchArgs {
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Sequential connects per route (default 200, at most 100000; 0 skips them)
    #[arg(long, value_name = "N", value_parser = count)]
    pub connects: Option<usize>,
    /// Requests per throughput point (default 4000, at most 1000000; 0 skips them)
    #[arg(long, value_name = "N", value_parser = count)]
    pub requests: Option<usize>,
    /// Requests kept in flight (default 1,8,64,256)
    #[arg(long, value_name = "K[,K...]", value_parser = list)]
    pub inflight: Option<Sizes>,
    /// Responder instances in one queue group (default 1,2,4)
    #[arg(long, value_name = "M[,M...]", value_parser = list)]
    pub instances: Option<Sizes>,
    /// No xkey: requests and replies are not sealed (default sealed)
    #[arg(long)]
    pub plain: bool,
    /// Write the results as JSON
    #[arg(long, value_name = "FILE", value_parser = path)]
    pub json: Option<PathBuf>,
    /// Write a plot of latency percentiles and throughput
    #[arg(long, value_name = "FILE", value_parser = path)]
    pub svg: Option<PathBuf>,
    /// Bench the responder a profile describes (see run --profile): connect latency with the
    /// identity its wire cases use (a password or a token; a cred_cmd mints it before each
    /// connect, outside the clock, and its minting time is reported apart), throughput with
    /// requests carrying that identity
    #[arg(long, value_name = "FILE", value_parser = path, conflicts_with_all = ["responder", "responder_cmd", "name"])]
    pub profile: Option<PathBuf>,
    /// Accepted as `run` accepts it, without effect: the table has no colour.
    #[arg(long, hide = true)]
    pub no_color: bool,
    /// Accepted as `run` accepts it, without effect: the bench writes no HTML.
    #[arg(long, hide = true, value_name = "FILE", value_parser = path)]
    pub html: Option<PathBuf>,
    /// `bench run` is `bench`, as it always was; any other word is refused.
    #[arg(hide = true)]
    pub words: Vec<String>,
}

/// A comma-separated list of positive counts (`--inflight 1,8,64`).
#[derive(Clone, Debug, PartialEq)]
pub struct Sizes(pub Vec<usize>);

fn count(v: &str) -> Result<usize, String> {
    not_an_option(v)?
        .parse::<usize>()
        .map_err(|_| format!("{v:?}: give a whole number"))
}

fn list(v: &str) -> Result<Sizes, String> {
    let list: Result<Vec<usize>, _> = not_an_option(v)?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse::<usize>)
        .collect();
    match list {
        Ok(l) if !l.is_empty() && l.iter().all(|n| *n > 0 && *n <= 4096) => Ok(Sizes(l)),
        _ => Err(format!(
            "{v:?}: give positive numbers separated by commas, e.g. 1,8,64"
        )),
    }
}

impl BenchArgs {
    /// The options and the targets. `m` holds `bench`'s matches (see
    /// [`TargetArgs::targets`]). Versions default to the one `run` uses.
    pub fn resolve(self, m: &clap::ArgMatches) -> Result<(BenchOptions, Targets), String> {
        let extra: Vec<&str> = self
            .words
            .iter()
            .map(String::as_str)
            .filter(|w| *w != "run")
            .collect();
        if !extra.is_empty() || self.words.len() > 1 {
            return Err(format!(
                "bench takes no case filters (got {}); see bench --help",
                self.words.join(" ")
            ));
        }
        let d = BenchOptions::default();
        let mut o = BenchOptions {
            connects: self.connects.map_or(d.connects, |n| n.min(100_000)),
            requests: self.requests.map_or(d.requests, |n| n.min(1_000_000)),
            inflight: self.inflight.map_or(d.inflight, |s| s.0),
            instances: self.instances.map_or(d.instances, |s| s.0),
            xkey: !self.plain,
            json: self.json,
            svg: self.svg,
            profile: None,
        };
        let mut targets = self.targets.targets(m)?;
        if let Some(path) = &self.profile {
            let p = crate::profile::load(path).map_err(|e| e.to_string())?;
            if p.scenario.world.attach.is_some() {
                return Err(format!("{}: bench --profile needs [responder] cmd: the bench starts and stops the responder's instances itself", path.display()));
            }
            let ids = p.responder.identities.clone().ok_or_else(|| {
                format!(
                    "{}: the profile declares no identity the bench can use",
                    path.display()
                )
            })?;
            if let Some(why) = &ids.unusable {
                return Err(format!("{}: {why}", path.display()));
            }
            o.profile = Some(super::BenchProfile {
                world: p.scenario.world,
                ids,
            });
            targets.responders = vec![p.responder];
        }
        if targets.versions.is_empty() {
            targets.versions.push(DEFAULT_SERVER_VERSION.into());
        }
        Ok((o, targets))
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    /// Parses `bench ARGS` as the top-level command line would.
    fn parse(a: &[&str]) -> Result<(BenchOptions, Targets), String> {
        #[derive(clap::Parser)]
        struct Top {
            #[command(flatten)]
            bench: BenchArgs,
        }
        let m = Top::command()
            .try_get_matches_from(std::iter::once("bench").chain(a.iter().copied()))
            .map_err(|e| e.to_string())?;
        let top = Top::from_arg_matches(&m).map_err(|e| e.to_string())?;
        top.bench.resolve(&m)
    }

    #[test]
    fn bench_flags_and_shared_flags() {
        let (o, a) = parse(&[
            "--connects",
            "50",
            "--inflight=1,4",
            "--plain",
            "--responder-cmd",
            "./svc {url}",
            "--server-version",
            "2.10.26",
        ])
        .unwrap();
        assert_eq!(
            (o.connects, o.inflight.clone(), o.xkey),
            (50, vec![1, 4], false)
        );
        assert_eq!(
            a.responders
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            vec!["svc"]
        );
        assert_eq!(a.versions, vec!["2.10.26"]);
        let (o, a) = parse(&["run", "--connects", "999999", "--no-color"]).unwrap();
        assert_eq!((o.connects, o.requests), (100_000, 4000));
        assert_eq!(o.instances, vec![1, 2, 4]);
        assert_eq!(a.responders[0].name, "reference");
        assert_eq!(a.versions, vec![DEFAULT_SERVER_VERSION]);
        let e = parse(&["--inflight", "0"]).unwrap_err();
        assert!(e.contains("--inflight") && e.contains("positive"), "{e}");
        assert!(parse(&["e2e.seed"])
            .unwrap_err()
            .contains("no case filters"));
        let e = parse(&["--strict"]).unwrap_err();
        assert!(e.contains("unexpected argument '--strict'"), "{e}");
        let e = parse(&["--json", "--plain"]).unwrap_err();
        assert!(e.contains("'--json <FILE>'"), "{e}");
    }
}
