//! The command line of `fuzz`, as clap parses it: its own flags and the responder and server
//! flags it shares with `run` (through [`crate::flags`]). The flags are a stable interface.

use std::path::PathBuf;
use std::time::Duration;

use crate::flags::{not_an_option, path, TargetArgs, Targets};
use crate::provision::DEFAULT_SERVER_VERSION;

use super::{FuzzOptions, DEFAULT_REQUESTS, MAX_REQUESTS};

const NOTES: &str = "\
The harness plays the server (a nats-server without auth_callout; forged requests published to
$SYS.REQ.USER.AUTH), half the inputs plain, half sealed. Findings: a crash (the input that
kills the responder is saved), a hang (no answer to a good request within 5 s after a batch),
an admission of an input that must not be admitted, RSS more than doubled and 64 MiB larger.

Exit codes: 0 nothing found, 1 a finding, 2 a set-up or usage error.";

/// `callout-conformance fuzz`: which responders, how many inputs, which seed.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = NOTES)]
pub struct FuzzArgs {
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Fuzz the responder a profile describes, with its declared credentials (see run --profile)
    #[arg(long, value_name = "FILE", value_parser = path, conflicts_with_all = ["responder", "responder_cmd", "name"])]
    pub profile: Option<PathBuf>,
    /// Mutated requests per responder, at least 1 (default 5000, at most 100000000)
    #[arg(long, value_name = "N", value_parser = requests)]
    pub requests: Option<usize>,
    /// Seed of the mutations (default: from the clock, printed so that a run can be replayed)
    #[arg(long, value_name = "S", value_parser = seed)]
    pub seed: Option<u64>,
    /// Where crashing, hanging and wrongly admitted inputs are saved
    #[arg(long, value_name = "DIR", default_value = "fuzz-findings", value_parser = path)]
    pub findings: PathBuf,
    /// Write the results as JSON
    #[arg(long, value_name = "FILE", value_parser = path)]
    pub json: Option<PathBuf>,
    /// NON-STRICT findings (admissions a SHOULD rule forbids) count as failures
    #[arg(long)]
    pub strict: bool,
    /// How long a responder may take to answer its first request, in seconds (default 30)
    #[arg(long, value_name = "SECS", value_parser = secs)]
    pub ready_timeout: Option<Duration>,
}

fn requests(v: &str) -> Result<usize, String> {
    match not_an_option(v)?.trim().replace('_', "").parse::<usize>() {
        Ok(n) if (1..=MAX_REQUESTS).contains(&n) => Ok(n),
        _ => Err(format!(
            "{v:?}: give a whole number of requests from 1 to {MAX_REQUESTS}, e.g. --requests 10000"
        )),
    }
}

fn seed(v: &str) -> Result<u64, String> {
    not_an_option(v)?
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("{v:?}: give a whole number from 0 to {}", u64::MAX))
}

fn secs(v: &str) -> Result<Duration, String> {
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 3600.0 => Ok(Duration::from_secs_f64(x)),
        _ => Err("give a number of seconds greater than 0 and at most 3600".into()),
    }
}

impl FuzzArgs {
    /// The options and the targets; `m` holds `fuzz`'s matches (see [`TargetArgs::targets`]).
    pub fn resolve(self, m: &clap::ArgMatches) -> Result<(FuzzOptions, Targets), String> {
        let mut targets = self.targets.targets(m)?;
        if targets.versions.len() > 1 {
            return Err("fuzz runs on one server version; give one --server-version".into());
        }
        if targets.versions.is_empty() {
            targets.versions.push(DEFAULT_SERVER_VERSION.into());
        }
        if let Some(p) = &self.profile {
            let profile = crate::profile::load(p).map_err(|e| e.to_string())?;
            targets.responders = vec![profile.responder];
        }
        Ok((
            FuzzOptions {
                requests: self.requests.unwrap_or(DEFAULT_REQUESTS),
                seed: super::seed_or_clock(self.seed),
                findings: self.findings,
                json: self.json,
                strict: self.strict,
                ready_timeout: self
                    .ready_timeout
                    .unwrap_or(crate::runner::DEFAULT_READY_TIMEOUT),
            },
            targets,
        ))
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    fn parse(a: &[&str]) -> Result<(FuzzOptions, Targets), String> {
        #[derive(clap::Parser)]
        struct Top {
            #[command(flatten)]
            fuzz: FuzzArgs,
        }
        let m = Top::command()
            .try_get_matches_from(std::iter::once("fuzz").chain(a.iter().copied()))
            .map_err(|e| e.to_string())?;
        Top::from_arg_matches(&m)
            .map_err(|e| e.to_string())?
            .fuzz
            .resolve(&m)
    }

    #[test]
    fn fuzz_flags_defaults_and_bad_values() {
        let (o, t) = parse(&["--seed", "42"]).unwrap();
        assert_eq!((o.requests, o.seed), (DEFAULT_REQUESTS, 42));
        assert_eq!(t.responders[0].name, "reference");
        let (o, t) = parse(&["--requests", "1_000_000", "--responder-cmd", "./svc {url}"]).unwrap();
        assert_eq!(o.requests, 1_000_000);
        assert_eq!(t.responders[0].name, "svc");
        for bad in [
            ["--requests", "0"],
            ["--requests", "ten"],
            ["--requests=-5", "--seed=1"],
        ] {
            let e = parse(&bad).unwrap_err();
            assert!(e.contains("--requests"), "{e}");
        }
        assert!(parse(&["--seed", "x"])
            .unwrap_err()
            .contains("whole number"));
        let e = parse(&["--server-version", "2.10.26,2.15.1"]).unwrap_err();
        assert!(e.contains("one server version"), "{e}");
    }
}
