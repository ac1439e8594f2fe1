//! What the responder writes to its output. The harness hands a responder seeds and sends it
//! passwords and tokens; the server itself never logs a client's password or token
//! (`protocol.md §2.2`, Secrets in a responder's output), so neither may a responder. The case runs after
//! every other case of the plain phase, on everything the responder wrote meanwhile.

use callout_leaves::verdict::Level;

use super::{Config, Kind, WireCase};

/// The output group.
pub const CASES: &[WireCase] = &[WireCase {
    id: "wire.output.1",
    title: "no secret in the responder's output",
    requirement: "no password or token a client presented, and no seed the harness handed over, appears in the responder's output",
    cite: "protocol.md §2.2 (Secrets in a responder's output)",
    level: Level::Must,
    rationale: "a responder's output goes to log files and collectors read by many; a password, token or seed written there is disclosed to all of them, which the server avoids by redacting them in its own logs",
    config: Config::Plain,
    needs: &[],
    kind: Kind::Output,
}];
