//! The command line of `bench`: its own flags, the flags it shares with `run` (through
//! [`crate::flags`]), and the `run` flags it refuses. The flags are a stable interface.

use crate::flags::{flag_value, split_flag, TargetFlags, Targets};
use crate::provision::DEFAULT_SERVER_VERSION;

use super::BenchOptions;

/// `callout-conformance bench --help`.
pub const HELP: &str = "\
callout-conformance bench: latency and throughput of NATS auth-callout responders

Usage:
  callout-conformance bench [options]

Options:
  --responder reference         measure the reference responder (default when no --responder-cmd)
  --responder-cmd 'TEMPLATE'    measure another responder; repeatable, one column each
                                (placeholders as for run: {url} {user} {pass} {issuer_seed} ...)
  --server-version V[,V...]     nats-server versions (default 2.15.1)
  --nats-server PATH            use this binary (also NATS_SERVER_BIN) instead of downloading
  --connects N                  sequential connects per route (default 200; 0 skips them)
  --requests N                  requests per throughput point (default 4000; 0 skips them)
  --inflight K[,K...]           requests kept in flight (default 1,8,64,256)
  --instances M[,M...]          responder instances in one queue group (default 1,2,4)
  --plain                       no xkey: requests and replies are not sealed (default sealed)
  --json FILE                   write the results as JSON
  --svg FILE                    write a plot of latency percentiles and throughput

Connect latency: N sequential connects through the callout, interleaved with N connects by an
auth user that bypasses it, on the same server; added latency = callout p50 - bypass p50.
Throughput: the harness plays the server (a server without auth_callout, forged requests
published to $SYS.REQ.USER.AUTH, prepared before the clock starts) with K requests in flight.
Instances share the load only through a queue group: the reference responder joins queue group
\"q\". A responder that subscribes without one answers every request once per instance; the
bench counts those duplicate replies, and the instance sweep then measures repeated work.

Exit codes: 0 measured, 2 a set-up or usage error.
";

fn parse_list(flag: &str, v: &str) -> Result<Vec<usize>, String> {
    let list: Result<Vec<usize>, _> = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse::<usize>)
        .collect();
    match list {
        Ok(l) if !l.is_empty() && l.iter().all(|n| *n > 0 && *n <= 4096) => Ok(l),
        _ => Err(format!(
            "{flag} {v:?}: give positive numbers separated by commas, e.g. 1,8,64"
        )),
    }
}

/// Parses `bench`'s arguments (without `bench`): its own options, and the responders and
/// servers to measure. Versions default to the one `run` uses.
pub fn parse_args(args: &[String]) -> Result<(BenchOptions, Targets), String> {
    let mut o = BenchOptions::default();
    let mut targets = TargetFlags::default();
    let mut words: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = split_flag(arg);
        let mut value = |name: &str| flag_value(&inline, &mut it, name);
        if targets.take(&flag, &mut value)? {
            continue;
        }
        let count = |name: &str, v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{name} {v:?}: give a whole number"))
        };
        match flag.as_str() {
            "--connects" => o.connects = count("--connects", value("--connects")?)?.min(100_000),
            "--requests" => o.requests = count("--requests", value("--requests")?)?.min(1_000_000),
            "--inflight" => o.inflight = parse_list("--inflight", &value("--inflight")?)?,
            "--instances" => o.instances = parse_list("--instances", &value("--instances")?)?,
            "--plain" => o.xkey = false,
            "--json" => o.json = Some(value("--json")?.into()),
            "--svg" => o.svg = Some(value("--svg")?.into()),
            // Accepted as `run` accepts them, and without effect: the table has no colour, and
            // the bench writes no HTML.
            "--no-color" => {}
            "--html" => {
                value("--html")?;
            }
            "--backend"
            | "--scenarios"
            | "--report-json"
            | "--junit"
            | "--markdown"
            | "--strict"
            | "--dry-run"
            | "--transcripts"
            | "--fail-on-unimplemented"
            | "--ready-timeout" => {
                return Err(format!("{flag} does not apply to bench; see bench --help"));
            }
            f if f.starts_with('-') => return Err(format!("unknown option {f:?}; see --help")),
            _ => words.push(arg),
        }
    }
    // `bench run` is `bench`, as it always was; any other word is a case filter.
    if !(words.is_empty() || words == ["run"]) {
        let extra: Vec<&str> = words.into_iter().filter(|w| *w != "run").collect();
        return Err(format!(
            "bench takes no case filters (got {}); see bench --help",
            extra.join(" ")
        ));
    }
    let mut targets = targets.finish()?;
    if targets.versions.is_empty() {
        targets.versions.push(DEFAULT_SERVER_VERSION.into());
    }
    Ok((o, targets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_flags_and_shared_flags() {
        let s = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (o, a) = parse_args(&s(&[
            "--connects",
            "50",
            "--inflight=1,4",
            "--plain",
            "--responder-cmd",
            "./svc {url}",
            "--server-version",
            "2.10.26",
        ]))
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
        assert!(parse_args(&s(&["--inflight", "0"]))
            .unwrap_err()
            .contains("positive"));
        assert!(parse_args(&s(&["e2e.seed"]))
            .unwrap_err()
            .contains("no case filters"));
        assert!(parse_args(&s(&["--strict"]))
            .unwrap_err()
            .contains("does not apply"));
    }
}
