//! The conformance harness for NATS auth-callout responders: provisions nats-server, starts
//! any responder from a command line, replays scenario files against it, judges what crosses
//! the wire and reports the verdicts.
//!
//! Architecture invariant: the harness judges a responder only through what crosses the wire.
//! It never calls the reference responder's internals; the reference responder is just the
//! first responder it judges.

pub mod client;
pub mod container;
pub mod provision;
pub mod server;
pub mod scenario;
pub mod verdict;
pub mod sut;
pub mod report;
pub mod runner;
pub mod cli;

/// The container backend (see `container`).
pub fn backend_container() -> Result<Box<dyn runner::ServerBackend>, String> {
    Err("the container backend is not built yet".into())
}
pub mod wire;
