//! The cases as data: scenario files (a `Scenario` is its metadata, a
//! [`callout_world::spec::WorldSpec`] and its cases), the catalog embedded in the binary,
//! responder profiles turned into cases and identities, and the wire cases (their vocabulary,
//! the forging, one file per group, the registry).
//!
//! Architecture invariant: the catalog says what to do and what is required, never how a run
//! went: it starts no server and grades nothing. A case says what it needs in a field, never
//! through its id.

pub mod embedded;
pub mod mode;
pub mod profile;
pub mod scenario;
pub mod wire;
