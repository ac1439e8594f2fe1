//! The conformance harness for NATS auth-callout responders: provisions nats-server, starts
//! any responder from a command line, replays scenario files against it, judges what crosses
//! the wire and reports the verdicts.
//!
//! Architecture invariant: the harness judges a responder only through what crosses the wire.
//! It never calls the reference responder's internals; the reference responder is just the
//! first responder it judges.

pub mod client;
pub mod provision;
pub mod server;
