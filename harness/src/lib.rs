//! `callout-conformance`, the commands: `run`, `list`, `matrix`, `summary`, `completions`
//! ([`cli`]), `bench` and `fuzz`, on top of the layer crates:
//!
//! ```text
//! callout-leaves   verdicts and levels, versions, percentiles, text helpers
//! callout-world    servers, topologies, TLS, operator fixtures, credentials, the responder process
//! callout-catalog  scenario files, profiles, wire cases (data)
//! callout-judge    runs a case against a world and grades it, in one function
//! callout-report   verdicts in, text out
//! ```
//!
//! Architecture invariant: the harness judges a responder only through what crosses the wire.
//! It never calls the reference responder's internals; the reference responder is just the
//! first responder it judges. This crate decides nothing itself: it parses the command line
//! and hands over to the layers.
//!
//! The layers' modules are re-exported under their old paths (`callout_conformance::scenario`,
//! `::runner`, …) for one release, so that scripts and tests written against them still build.

pub mod bench;
pub mod cli;
pub mod diff;
pub mod flags;
pub mod fuzz;

pub use callout_catalog::{embedded, profile, scenario, wire};
pub use callout_judge::{grade, injector, phase, runner, session, steps};
pub use callout_leaves::verdict;
pub use callout_report as report;
pub use callout_report::{baseline, matrix, progress};
pub use callout_world::{
    backend_container, cleanup, client, container, credential, fixture, operator, provision,
    server, spec, sut, tls, topology, userinfo,
};
