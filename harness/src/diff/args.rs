//! The command line of `diff`.

use std::path::PathBuf;
use std::time::Duration;

use crate::flags::{path, TargetArgs};
use crate::provision::DEFAULT_SERVER_VERSION;
use crate::sut::ResponderSpec;

const NOTES: &str = "\
The two responders: two of --responder reference and --responder-cmd (the first given is the
first column), or a profile's responder (--profile) and one --responder-cmd. Each is sent the
same good requests, one per identity, the harness playing the server (sealed unless --plain);
the decoded user JWTs (account, permissions, limits, expiry after iat, name) or error texts are
compared field by field, leaving out keys, jti, the user key and times.

Exit codes: 0 the same decisions, 1 a difference, 2 a set-up or usage error.";

/// `callout-conformance diff`: two responders, the same identities.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = NOTES)]
pub struct DiffArgs {
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Take the identities and the first responder from a profile (see run --profile)
    #[arg(long, value_name = "FILE", value_parser = path)]
    pub profile: Option<PathBuf>,
    /// No xkey: requests and answers are not sealed (default sealed)
    #[arg(long)]
    pub plain: bool,
    /// Write the differences as JSON
    #[arg(long, value_name = "FILE", value_parser = path)]
    pub json: Option<PathBuf>,
}

/// What `diff` runs.
#[derive(Debug)]
pub struct DiffOptions {
    /// The two responders, in column order.
    pub pair: [ResponderSpec; 2],
    /// The profile, when the identities come from one.
    pub profile: Option<crate::profile::Profile>,
    /// The server version.
    pub version: String,
    /// `--nats-server`.
    pub nats_server: Option<PathBuf>,
    /// Sealed requests.
    pub sealed: bool,
    /// `--json`.
    pub json: Option<PathBuf>,
    /// How long a responder may take to answer its first request.
    pub ready_timeout: Duration,
}

impl DiffArgs {
    /// The options; `m` holds `diff`'s matches.
    pub fn resolve(self, m: &clap::ArgMatches) -> Result<DiffOptions, String> {
        let t = self.targets.targets(m)?;
        if t.versions.len() > 1 {
            return Err("diff runs on one server version; give one --server-version".into());
        }
        let profile = match &self.profile {
            Some(p) => Some(crate::profile::load(p).map_err(|e| e.to_string())?),
            None => None,
        };
        let mut responders = t.responders;
        if let Some(p) = &profile {
            // Without --responder-cmd the targets default to the reference.
            responders.insert(0, p.responder.clone());
        }
        let sealed = !self.plain
            && profile
                .as_ref()
                .is_none_or(|p| p.responder.identities.as_ref().is_none_or(|i| i.sealing));
        let pair: [ResponderSpec; 2] = responders.try_into().map_err(|r: Vec<ResponderSpec>| {
            format!(
                "diff compares two responders; got {}: give two of --responder reference and --responder-cmd, or --profile and one --responder-cmd",
                r.len()
            )
        })?;
        if pair[0].name == pair[1].name {
            return Err(format!(
                "both responders are named {:?}: name one with --name",
                pair[0].name
            ));
        }
        Ok(DiffOptions {
            pair,
            profile,
            version: t
                .versions
                .first()
                .cloned()
                .unwrap_or_else(|| DEFAULT_SERVER_VERSION.into()),
            nats_server: t.nats_server,
            sealed,
            json: self.json,
            ready_timeout: crate::runner::DEFAULT_READY_TIMEOUT,
        })
    }
}
