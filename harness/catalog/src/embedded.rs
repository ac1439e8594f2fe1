//! The scenario catalog built into the binary: the `callout-scenarios` crate embeds `scenarios/*.toml`
//! at build time, so an installed `callout-conformance` runs from any directory without the
//! source tree. `--scenarios DIR` reads a directory instead. The snapshots are test data and
//! are not embedded.

use std::path::Path;

use crate::scenario::{self, Scenario, ScenarioError};

pub use callout_scenarios::{FILES, HASH};

/// The directory the embedded files are named under, in errors and reports:
/// `<embedded>/seed.toml`.
pub const DIR: &str = "<embedded>";

/// Parses the embedded files with the same parser and checks as [`scenario::load_dir`].
pub fn load() -> Result<Vec<Scenario>, ScenarioError> {
    let all: Result<Vec<Scenario>, ScenarioError> = FILES
        .iter()
        .map(|(name, text)| scenario::parse(text, &Path::new(DIR).join(name)))
        .collect();
    scenario::unique_ids(all?)
}

/// The `--version` line: the tool's version, then the embedded catalog's size and hash, e.g.
/// `callout-conformance 0.1.0 (catalog 123 cases: 78 e2e + 45 wire, scenarios 1a2b3c4d5e6f)`.
/// The hash changes whenever a scenario file does (see `scenarios/build.rs`).
pub fn version_line() -> Result<String, ScenarioError> {
    let e2e: usize = load()?.iter().map(|s| s.cases.len()).sum();
    let wire = crate::wire::catalog().count();
    Ok(format!(
        "callout-conformance {} (catalog {} cases: {e2e} e2e + {wire} wire, scenarios {HASH})",
        env!("CARGO_PKG_VERSION"),
        e2e + wire
    ))
}
