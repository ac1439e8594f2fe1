//! The binary carries its catalog: run from a directory with no source tree (and with a stray
//! `scenarios/` that must be ignored), `callout-conformance` lists the catalog of
//! `scenarios/`, names the embedded files `<embedded>/NAME.toml`, and `--version` gives the
//! catalog's size and the hash `harness/build.rs` documents. `--scenarios DIR` still wins.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use callout_conformance::{embedded, scenario, wire};

const BIN: &str = env!("CARGO_BIN_EXE_callout-conformance");

fn source_catalog() -> Vec<scenario::Scenario> {
    scenario::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios"))
        .expect("scenarios/ loads")
}

/// A scratch directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("callout-installed-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the binary in `cwd`, with no hint of where the source tree is.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("CARGO_MANIFEST_DIR")
        .output()
        .expect("run callout-conformance")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A directory holding a `scenarios/` whose only file does not parse: the installed tool must
/// not pick it up just because it is in the working directory.
fn cwd_with_stray_scenarios(name: &str) -> Scratch {
    let cwd = Scratch::new(name);
    std::fs::create_dir(cwd.0.join("scenarios")).unwrap();
    std::fs::write(cwd.0.join("scenarios/stray.toml"), "this is not toml =\n").unwrap();
    cwd
}

#[test]
fn the_embedded_catalog_is_the_source_catalog() {
    let embedded = embedded::load().expect("the embedded catalog parses");
    let source = source_catalog();
    assert_eq!(
        embedded.len(),
        source.len(),
        "one embedded file per scenarios/*.toml"
    );
    for (e, s) in embedded.iter().zip(&source) {
        let name = s.path.file_name().unwrap().to_string_lossy();
        assert_eq!(e.path, Path::new("<embedded>").join(&*name));
        let mut e = e.clone();
        e.path = s.path.clone();
        e.world.origin = s.world.origin.clone();
        assert_eq!(
            &e, s,
            "{name}: the embedded file parses as the file on disk does"
        );
    }
}

#[test]
fn the_catalog_hash_is_the_documented_sha256sum_recipe() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let out = Command::new("sh")
        .args(["-c", "LC_ALL=C sha256sum *.toml | sha256sum | cut -c1-12"])
        .current_dir(&dir)
        .output()
        .expect("sh");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out).trim(), embedded::HASH);
}

#[test]
fn version_names_the_tool_and_the_catalog() {
    let cwd = Scratch::new("version");
    let out = run_in(&cwd.0, &["--version"]);
    assert!(out.status.success(), "{out:?}");
    let e2e: usize = source_catalog().iter().map(|s| s.cases.len()).sum();
    let wire = wire::catalog().count();
    assert_eq!(
        stdout(&out),
        format!(
            "callout-conformance {} (catalog {} cases: {e2e} e2e + {wire} wire, scenarios {})\n",
            env!("CARGO_PKG_VERSION"),
            e2e + wire,
            embedded::HASH
        )
    );
}

#[test]
fn list_from_another_directory_lists_the_whole_catalog() {
    let cwd = cwd_with_stray_scenarios("list");
    // The config mode's cases, then (--left-out) the operator mode's: the whole catalog.
    let out = run_in(&cwd.0, &["list", "--left-out"]);
    assert!(out.status.success(), "{out:?}");
    let mut listed: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| l.starts_with("e2e.") || l.starts_with("wire."))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let mut expected: Vec<String> = source_catalog()
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.id.clone()))
        .chain(wire::catalog().map(|c| c.id.to_string()))
        .collect();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
    let config = source_catalog()
        .iter()
        .filter(|s| !s.world.operator)
        .map(|s| s.cases.len())
        .sum::<usize>()
        + wire::catalog().filter(|c| c.phase(false).is_some()).count();
    assert!(
        stdout(&out).contains(&format!("\n{config} case(s)\n")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_run_names_the_embedded_file() {
    // A nats-server that answers --version and then refuses to start: the set-up error names
    // the scenario file the case came from.
    let cwd = cwd_with_stray_scenarios("run");
    let fake = cwd.0.join("nats-server");
    std::fs::write(
        &fake,
        "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'nats-server: v2.15.1'; exit 0; }\nexit 1\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&fake).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&fake, perms).unwrap();
    let out = run_in(
        &cwd.0,
        &[
            "run",
            "e2e.seed.1",
            "--no-color",
            "--nats-server",
            fake.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        stdout(&out).contains("<embedded>/seed.toml: nats-server did not become ready"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn scenarios_dir_overrides_the_embedded_catalog() {
    let cwd = Scratch::new("override");
    let dir = cwd.0.join("mine");
    std::fs::create_dir(&dir).unwrap();
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/seed.toml");
    std::fs::copy(&seed, dir.join("seed.toml")).unwrap();
    let out = run_in(&cwd.0, &["list", "e2e", "--scenarios", "mine"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|id| id.starts_with("e2e."))
        .collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| id.starts_with("e2e.seed.")), "{ids:?}");

    // An error names the file of that directory and its line.
    std::fs::write(dir.join("broken.toml"), "title = \"x\"\n[[case]]\nid = 3\n").unwrap();
    let out = run_in(&cwd.0, &["list", "--scenarios", "mine"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mine/broken.toml:"), "{err}");
}
