//! The conformance harness for NATS auth-callout responders: provisions nats-server, starts
//! any responder from a command line, replays scenario files against it, judges what crosses
//! the wire and reports the verdicts.
//!
//! Architecture invariant: the harness judges a responder only through what crosses the wire.
//! It never calls the reference responder's internals; the reference responder is just the
//! first responder it judges.

pub mod baseline;
pub mod bench;
pub mod cleanup;
pub mod cli;
pub mod client;
pub mod container;
pub mod embedded;
pub mod flags;
pub mod fuzz;
pub mod matrix;
pub mod operator;
pub mod profile;
pub mod progress;
pub mod provision;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod server;
pub mod sut;
pub mod tls;
pub mod topology;
pub use callout_leaves::verdict;

/// The container backend (see [`container`]): checks the engine once, then starts servers
/// in containers.
pub fn backend_container() -> Result<Box<dyn runner::ServerBackend>, String> {
    container::ensure_engine().map_err(|e| e.to_string())?;
    Ok(Box::new(runner::ContainerBackend))
}
pub mod wire;
