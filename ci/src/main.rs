//! The task runner: `cargo run -p ci -- <task>`. Automation lives here, in Rust, driven by
//! `xshell`, not in shell scripts (the only scripts are the podman and chromium installers it
//! calls, and `action/run.sh`, which the reusable GitHub action runs on a responder author's
//! machine, where this crate is not built; see docs/ci.md).
//!
//! Tasks:
//! - `suite [ARGS…]`: build, then run the conformance suite against the reference responder on
//!   a server it provisions itself; extra arguments go to `callout-conformance run`.
//! - `test`: everything CI runs: install the container engine and the headless browser (for
//!   the HTML report's browser test), build, `cargo test`, the catalog (all `--strict`, every
//!   report format in `target/reports/`) on the process backend for each version of [`MATRIX`]
//!   and on the container backend for the oldest and the newest, each its own timed stage, the
//!   example token responder judged through its profile (`examples/token-responder`), a
//!   bounded `fuzz` of the reference (2000 inputs, fixed seed), the operator-mode catalog
//!   (`--mode operator`, every server as processes, oldest and newest in a container), the
//!   version comparison of the process runs (`target/reports/compatibility.md`), `cargo
//!   install` of both binaries with the installed tool run from `/tmp`, both container images,
//!   the documentation's links (and the book, when mdbook is installed), fmt and clippy. Prints
//!   `ci: N passed, N failed` last.
//! - `docs`: only the documentation check ([`docs`]): every relative link and anchor in
//!   README.md and docs/**/*.md resolves; `mdbook build docs` when mdbook is installed.
//! - `matrix [ARGS…]`: build, then `callout-conformance matrix --strict`: the catalog on the
//!   versions of [`MATRIX`] (or `--server-version`), compared into `docs/compatibility.md`.
//! - `bench [ARGS…]`: release build, then `callout-conformance bench`.
//! - `verdicts [--bless]`: compare the reference's verdicts in `target/reports/` (written by
//!   `test`) with `harness/tests/fixtures/reference-verdicts.txt`, or rewrite the file.
//! - `install`: build, then only the `cargo install` stage of `test`.
//! - `image [--release] [--rootfs-only] [--with-runtimes]`: build, then the container image
//!   `localhost/callout-conformance:VERSION` (`Containerfile`, [`image`]) with the servers of
//!   [`MATRIX`], and its smoke test; the image stays tagged. `--with-runtimes` builds
//!   `VERSION-runtimes` instead, which adds Debian's sh, python3 and node for interpreted
//!   responders. `test` builds and tests both as stages and removes them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

mod docs;
mod image;
mod verdicts;

/// The server versions CI runs the catalog on: the oldest supported and the newest of each
/// later line; the same list as `callout-conformance matrix`'s default
/// (`harness/src/matrix.rs DEFAULT_VERSIONS`).
const MATRIX: &[&str] = &["2.10.26", "2.11.11", "2.12.8", "2.14.6", "2.15.1"];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sh = Shell::new()?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    sh.change_dir(&root);
    match args.first().map(String::as_str) {
        Some("suite") => suite(&sh, &args[1..]),
        Some("test") => test(&sh),
        Some("bench") => bench(&sh, &args[1..]),
        Some("verdicts") => {
            let bless = args.iter().any(|a| a == "--bless");
            let diffs = verdicts::check(&sh, bless)?;
            for d in &diffs {
                eprintln!("verdict changed: {d}");
            }
            if !diffs.is_empty() {
                bail!("{} verdict(s) differ from the fixture", diffs.len());
            }
            Ok(())
        }
        Some("install") => {
            build_bins(&sh, false)?;
            let mut stages = Stages::default();
            stages.start("cargo install, run from /tmp");
            let ok = installed_tool(&sh)?;
            stages.summary();
            if !ok {
                bail!("the installed tool failed");
            }
            Ok(())
        }
        Some("matrix") => matrix(&sh, &args[1..]),
        Some("docs") => {
            let mut stages = Stages::default();
            stages.start("docs: links and the book");
            let ok = docs::stage(&sh)?;
            stages.summary();
            if !ok {
                bail!("the documentation check failed");
            }
            Ok(())
        }
        Some("image") => {
            let release = args.iter().any(|a| a == "--release");
            let flavor = if args.iter().any(|a| a == "--with-runtimes") {
                image::Flavor::Runtimes
            } else {
                image::Flavor::Scratch
            };
            build_bins(&sh, release)?;
            let bins = target_dir(&sh).join(if release { "release" } else { "debug" });
            let mut stages = Stages::default();
            stages.start(match flavor {
                image::Flavor::Scratch => "container image",
                image::Flavor::Runtimes => "container image with runtimes",
            });
            let rootfs_only = args.iter().any(|a| a == "--rootfs-only");
            image::build(&sh, &bins, MATRIX, rootfs_only, flavor)?;
            let ok = rootfs_only
                || image::smoke(
                    &sh,
                    &bins.join("callout-conformance"),
                    &bins.join("callout-responder"),
                    flavor,
                )?;
            stages.summary();
            if !ok {
                bail!("the image's smoke test failed");
            }
            Ok(())
        }
        _ => {
            eprintln!(
                "usage: cargo run -p ci -- suite [ARGS…] | test | matrix [ARGS…] | bench [ARGS…] | install | image [--release] [--rootfs-only] [--with-runtimes] | docs"
            );
            std::process::exit(2);
        }
    }
}

/// Cargo's target directory, absolute: `CARGO_TARGET_DIR` or the workspace's `target`.
fn target_dir(sh: &Shell) -> std::path::PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty());
    sh.current_dir()
        .join(dir.map_or_else(|| "target".into(), std::path::PathBuf::from))
}

fn build_bins(sh: &Shell, release: bool) -> Result<()> {
    let profile: &[&str] = if release { &["--release"] } else { &[] };
    cmd!(
        sh,
        "cargo build {profile...} -p callout-responder -p callout-conformance --bins"
    )
    .run()?;
    Ok(())
}

fn suite(sh: &Shell, extra: &[String]) -> Result<()> {
    build_bins(sh, false)?;
    let status = Command::new("target/debug/callout-conformance")
        .args(["run", "--transcripts=e2e.seed"])
        .args(extra)
        .current_dir(sh.current_dir())
        .status()?;
    std::process::exit(status.code().unwrap_or(2));
}

fn matrix(sh: &Shell, extra: &[String]) -> Result<()> {
    build_bins(sh, false)?;
    let status = Command::new("target/debug/callout-conformance")
        .args(["matrix", "--strict"])
        .args(extra)
        .current_dir(sh.current_dir())
        .status()?;
    std::process::exit(status.code().unwrap_or(2));
}

fn bench(sh: &Shell, extra: &[String]) -> Result<()> {
    build_bins(sh, true)?;
    let status = Command::new("target/release/callout-conformance")
        .arg("bench")
        .args(extra)
        .current_dir(sh.current_dir())
        .status()?;
    std::process::exit(status.code().unwrap_or(2));
}

/// Runs a command, streaming its output, and adds up `test result:` lines.
fn cargo_test(sh: &Shell, passed: &mut usize, failed: &mut usize) -> Result<bool> {
    let mut child = Command::new("cargo")
        .args(["test", "--workspace", "--color", "never"])
        .current_dir(sh.current_dir())
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo test")?;
    let out = child.stdout.take().context("cargo test stdout")?;
    for line in BufReader::new(out).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split(['.', ';']) {
                let part = part.trim();
                if let Some(n) = part.strip_suffix(" passed") {
                    *passed += n.trim().parse::<usize>().unwrap_or(0);
                }
                if let Some(n) = part.strip_suffix(" failed") {
                    *failed += n.trim().parse::<usize>().unwrap_or(0);
                }
            }
        }
    }
    Ok(child.wait()?.success())
}

fn conformance(
    sh: &Shell,
    label: &str,
    args: &[&str],
    passed: &mut usize,
    failed: &mut usize,
) -> Result<bool> {
    let json = format!("target/reports/{label}.json");
    let junit = format!("target/reports/{label}.xml");
    let md = format!("target/reports/{label}.md");
    let html = format!("target/reports/{label}.html");
    println!(
        "\n==> conformance {label}: callout-conformance run {}",
        args.join(" ")
    );
    let status = Command::new("target/debug/callout-conformance")
        .args([
            "run",
            "--strict",
            "--no-color",
            "--report-json",
            &json,
            "--junit",
            &junit,
            "--markdown",
            &md,
            "--html",
            &html,
        ])
        .args(args)
        .current_dir(sh.current_dir())
        .status()?;
    let report: serde_json::Value = sh
        .read_file(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    if let Some(summary) = report["summary"].as_object() {
        for counts in summary.values() {
            *passed += counts["pass"].as_u64().unwrap_or(0) as usize;
            *failed += counts["fail"].as_u64().unwrap_or(0) as usize;
        }
    }
    Ok(status.success())
}

/// Wall time of each CI stage, printed as it ends and again in the summary.
#[derive(Default)]
struct Stages {
    current: Option<(String, std::time::Instant)>,
    done: Vec<(String, f64)>,
}

impl Stages {
    fn start(&mut self, name: &str) {
        self.end();
        println!("==> {name}");
        self.current = Some((name.to_string(), std::time::Instant::now()));
    }

    fn end(&mut self) {
        if let Some((name, t)) = self.current.take() {
            let secs = t.elapsed().as_secs_f64();
            println!("<== {name}: {secs:.0} s");
            self.done.push((name, secs));
        }
    }

    fn summary(&mut self) {
        self.end();
        println!("\nstage times:");
        for (name, secs) in &self.done {
            println!("  {secs:>6.0} s  {name}");
        }
    }
}

fn test(sh: &Shell) -> Result<()> {
    let started = std::time::Instant::now();
    let mut stages = Stages::default();
    stages.start("container engine");
    cmd!(sh, "bash ci/install-podman.sh")
        .run()
        .context("installing podman (ci/install-podman.sh)")?;
    stages.start("headless browser");
    cmd!(sh, "bash ci/install-chromium.sh")
        .run()
        .context("installing chromium (ci/install-chromium.sh)")?;
    stages.start("build");
    cmd!(sh, "cargo build --workspace --all-targets").run()?;
    sh.create_dir("target/reports")?;
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut problems = Vec::new();
    stages.start("cargo test");
    if !cargo_test(sh, &mut passed, &mut failed)? {
        problems.push("cargo test".to_string());
    }
    stages.start("cargo install, run from /tmp");
    if !installed_tool(sh)? {
        problems.push("cargo install, run from /tmp".to_string());
    }
    let oldest_newest = [MATRIX[0], MATRIX[MATRIX.len() - 1]];
    let runs = MATRIX
        .iter()
        .map(|v| ("process", *v))
        .chain(oldest_newest.iter().map(|v| ("container", *v)));
    for (backend, version) in runs {
        let label = format!("{backend}-{version}");
        stages.start(&format!("conformance {label}"));
        let args = ["--backend", backend, "--server-version", version];
        if !conformance(sh, &label, &args, &mut passed, &mut failed)? {
            problems.push(format!("conformance {label}"));
        }
    }
    // Operator (decentralized) mode: its own files, the reference with its decentralized flags
    // (README: operator mode), e2e and wire, on every server as processes and on the oldest
    // and newest in a container.
    let operator_runs = MATRIX
        .iter()
        .map(|v| ("process", *v))
        .chain(oldest_newest.iter().map(|v| ("container", *v)));
    for (backend, version) in operator_runs {
        let label = format!("operator-{backend}-{version}");
        stages.start(&format!("conformance {label}"));
        let args = [
            "--mode",
            "operator",
            "--backend",
            backend,
            "--server-version",
            version,
        ];
        if !conformance(sh, &label, &args, &mut passed, &mut failed)? {
            problems.push(format!("conformance {label}"));
        }
    }
    // No verdict of the reference changes unless the fixture says so.
    stages.start("verdicts of the reference on 2.15.1");
    match verdicts::check(sh, false) {
        Ok(diffs) if diffs.is_empty() => {
            println!("every verdict as in harness/tests/fixtures/reference-verdicts.txt");
            passed += 1;
        }
        Ok(diffs) => {
            for d in &diffs {
                println!("verdict changed: {d}");
            }
            failed += 1;
            problems.push("verdicts of the reference".into());
        }
        Err(e) => {
            println!("cannot compare the verdicts: {e:#}");
            failed += 1;
            problems.push("verdicts of the reference".into());
        }
    }
    // A responder that does not read users.json, judged through its profile as a user would
    // (README: profiles).
    stages.start("profile: example token responder");
    let args = [
        "--profile",
        "examples/token-responder/profile.toml",
        "--server-version",
        "2.10.26,2.15.1",
    ];
    if !conformance(
        sh,
        "profile-token-responder",
        &args,
        &mut passed,
        &mut failed,
    )? {
        problems.push("profile: example token responder".into());
    }
    // The fuzz subcommand itself, bounded (README: fuzzing): the reference must show no crash,
    // hang, wrong admission or memory growth; the 1,000,000-input run is in docs/reliability.md.
    stages.start("fuzz: reference, 2000 inputs");
    println!("\n==> callout-conformance fuzz --requests 2000 --seed 20261205");
    let fuzzed = Command::new("target/debug/callout-conformance")
        .args([
            "fuzz",
            "--requests",
            "2000",
            "--seed",
            "20261205",
            "--findings",
            "target/reports/fuzz-findings",
            "--json",
            "target/reports/fuzz.json",
        ])
        .current_dir(sh.current_dir())
        .status()?;
    if !fuzzed.success() {
        problems.push("fuzz: reference, 2000 inputs".into());
    }
    stages.start("container image");
    if !image::ci_stage(
        sh,
        &target_dir(sh).join("debug"),
        MATRIX,
        image::Flavor::Scratch,
    ) {
        problems.push("container image".into());
    }
    stages.start("container image with runtimes (python3, node, sh)");
    if !image::ci_stage(
        sh,
        &target_dir(sh).join("debug"),
        MATRIX,
        image::Flavor::Runtimes,
    ) {
        problems.push("container image with runtimes".into());
    }
    stages.start("version matrix");
    let mut matrix = vec!["matrix".to_string()];
    for v in MATRIX {
        matrix.extend(["--from".into(), format!("target/reports/process-{v}.json")]);
    }
    matrix.extend(["--output".into(), "target/reports/compatibility.md".into()]);
    if !Command::new("target/debug/callout-conformance")
        .args(&matrix)
        .current_dir(sh.current_dir())
        .status()?
        .success()
    {
        problems.push("version matrix".into());
    }
    stages.start("docs: links and the book");
    if !docs::stage(sh)? {
        problems.push("docs: links and the book".into());
    }
    stages.start("fmt and clippy");
    if cmd!(sh, "cargo fmt --all -- --check").run().is_err() {
        problems.push("cargo fmt --check".into());
    }
    if cmd!(sh, "cargo clippy --workspace --all-targets -- -D warnings")
        .run()
        .is_err()
    {
        problems.push("cargo clippy".into());
    }
    stop_podman_service(sh);
    stages.summary();
    println!(
        "\nci took {:.0} s; reports in target/reports/",
        started.elapsed().as_secs_f64()
    );
    if !problems.is_empty() {
        println!("ci: failed steps: {}", problems.join(", "));
    }
    println!("ci: {passed} passed, {failed} failed");
    if !problems.is_empty() {
        bail!("ci failed");
    }
    Ok(())
}

/// `cargo install --path` of both binaries into a scratch `--root`, then the installed tool run
/// from `/tmp` with that root first on `PATH`: `list` must print the same catalog as
/// `list --scenarios scenarios` here (the embedded files are the source files), and
/// `run e2e.seed` must pass with the installed reference responder. `--debug` with the
/// workspace's target directory reuses the build stage's artifacts, and `--offline` holds
/// because that stage fetched every crate; a release install would rebuild everything.
fn installed_tool(sh: &Shell) -> Result<bool> {
    let root = std::env::temp_dir().join(format!("callout-install-{}", std::process::id()));
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let checked = (|| -> Result<bool> {
        for krate in ["harness", "responder"] {
            cmd!(
                sh,
                "cargo install --path {krate} --root {root} --locked --offline --debug --target-dir {target}"
            )
            .run()?;
        }
        let bin = root.join("bin");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let installed = |args: &[&str]| {
            let mut c = Command::new(bin.join("callout-conformance"));
            c.args(args)
                .current_dir("/tmp")
                .env("PATH", &path)
                .env_remove("CALLOUT_RESPONDER_BIN");
            c
        };
        let version = installed(&["--version"]).output()?;
        print!("{}", String::from_utf8_lossy(&version.stdout));
        let listed = installed(&["list"]).output()?;
        let source = cmd!(
            sh,
            "{target}/debug/callout-conformance list --scenarios scenarios"
        )
        .quiet()
        .read()?;
        if !listed.status.success() || String::from_utf8_lossy(&listed.stdout).trim_end() != source
        {
            println!(
                "ci: `callout-conformance list` from /tmp differs from the source catalog:\n{}{}",
                String::from_utf8_lossy(&listed.stdout),
                String::from_utf8_lossy(&listed.stderr)
            );
            return Ok(false);
        }
        println!(
            "list from /tmp: {}",
            source.lines().last().unwrap_or_default()
        );
        let run = installed(&["run", "--no-color", "e2e.seed"]).status()?;
        Ok(version.status.success() && run.success())
    })();
    let _ = std::fs::remove_dir_all(&root);
    checked
}

/// Stops the podman API service the container backend started, by its PID.
fn stop_podman_service(sh: &Shell) {
    if let Ok(pid) = sh.read_file("/run/callout-podman/podman.pid") {
        let pid = pid.trim().to_string();
        if !pid.is_empty() {
            let _ = cmd!(sh, "kill {pid}").quiet().ignore_status().run();
        }
    }
}
