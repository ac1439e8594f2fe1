//! Embeds the scenario catalog (this package's `*.toml`) in the crate, so that an installed
//! `callout-conformance` works from any directory, and computes the catalog's hash for
//! `--version`.
//!
//! The TOML files are part of this package (`callout-scenarios`), so the catalog travels with
//! it: a clone, `cargo package` and a crate archive all hold the same files.
//!
//! The hash is the first 12 hex digits of the SHA-256 of `sha256sum`'s output for the files in
//! byte order of their names, so it can be checked by hand:
//! `cd scenarios && LC_ALL=C sha256sum *.toml | sha256sum | cut -c1-12` (the package's
//! `Cargo.toml` included).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dir = manifest;
    // A directory is watched recursively, so a new, removed or edited file reruns this script
    // (and so does a change under snapshots/, which costs a rebuild and nothing else).
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-changed=build.rs");
    let mut files: Vec<(String, PathBuf)> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
            .collect(),
        Err(e) => panic!(
            "cannot list the scenario catalog {}: {e}. The package embeds its own *.toml files: \
             is the package complete?",
            dir.display()
        ),
    };
    files.sort();
    assert!(
        !files.is_empty(),
        "{} holds no *.toml scenario file",
        dir.display()
    );

    let mut sums = String::new();
    let mut table = String::new();
    for (name, path) in &files {
        let bytes =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        writeln!(sums, "{}  {name}", hex(&Sha256::digest(&bytes))).unwrap();
        // The package's own manifest is hashed (the documented recipe hashes every *.toml of
        // the directory) but is not a scenario.
        if name == "Cargo.toml" {
            continue;
        }
        let abs = path.canonicalize().unwrap_or_else(|_| path.clone());
        writeln!(
            table,
            "    ({name:?}, include_str!({:?})),",
            abs.display().to_string()
        )
        .unwrap();
    }
    let hash = &hex(&Sha256::digest(sums.as_bytes()))[..12];
    let code = format!(
        "/// The embedded scenario files: (file name, text), sorted by name.\n\
         pub const FILES: &[(&str, &str)] = &[\n{table}];\n\
         /// The catalog hash: see `scenarios/build.rs`.\n\
         pub const HASH: &str = {hash:?};\n"
    );
    let out = Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets it")).join("catalog.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    })
}
