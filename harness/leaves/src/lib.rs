//! The bottom layer of the harness: the small vocabulary every other layer shares and that
//! knows nothing of servers, cases or files: verdicts and levels, server versions,
//! percentiles and text helpers.
//!
//! Architecture invariant: this crate depends on no other crate of the workspace, and on
//! nothing that does I/O.

pub mod stats;
pub mod text;
pub mod verdict;
pub mod version;
