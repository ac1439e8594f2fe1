//! The conformance harness for NATS auth-callout responders: provisions nats-server, starts
//! any responder from a command line, replays scenario files against it, judges what crosses
//! the wire and reports the verdicts.
//!
//! Architecture invariant: the harness judges a responder only through what crosses the wire.
//! It never calls the reference responder's internals; the reference responder is just the
//! first responder it judges.

pub mod baseline;
pub mod bench;
pub mod cli;
pub mod embedded;
pub mod flags;
pub mod fuzz;
pub mod matrix;
pub mod profile;
pub mod progress;
pub mod report;
pub mod runner;
pub mod scenario;
pub use callout_leaves::verdict;
pub use callout_world::{
    backend_container, cleanup, client, container, credential, fixture, operator, provision,
    server, spec, sut, tls, topology, userinfo,
};
pub mod steps;

pub mod wire;
