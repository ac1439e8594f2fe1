//! The scenario catalog as data: every `*.toml` file of this package, embedded at build time
//! by `build.rs`, with the catalog's hash. Parsing them is the catalog crate's job; this crate
//! only carries the files, so that the catalog is packaged with the tool.

include!(concat!(env!("OUT_DIR"), "/catalog.rs"));
