//! Runs the cases against a world and grades them: the steps of a scenario file, storms,
//! faults, the wire phases (the harness playing the server through an [`injector`]) and the
//! session loop over versions, responders and files. Every verdict is decided in
//! [`grade`], one function for every case kind, the progress bar and the reports.
//!
//! Architecture invariant: the judge sees the responder only through what crosses the wire
//! and what its process does (exit, stderr); it never calls a responder's code.

pub mod grade;
pub mod injector;
pub mod phase;
pub mod runner;
pub mod session;
pub mod steps;
