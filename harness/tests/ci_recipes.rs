//! The CI recipes, tested where they can be: `ci/action/run.sh` (what the reusable action
//! runs) end to end with the environment GitHub would give it, against the reference
//! responder, a mutant and the example token responder's profile on real nats-server
//! processes; the release archives (`ci/action/package.sh`) installed by `ci/action/install.sh`
//! from a local directory laid out like a release, checksum verified; the GitLab template
//! (`ci/action/gitlab-ci.yml`) run with bash against that release and the profile;
//! `callout-conformance summary` on the real reports it produced and on a synthesized huge one;
//! and `action.yml`, the GitLab template and the workflows parsed as YAML (PyYAML), with the
//! action's inputs checked against what run.sh reads. The workflows themselves can only run on
//! GitHub (docs/ci.md says what that leaves untested).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use callout_conformance::sut::{find_sibling_binary, SEED_FLAGS};
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tool() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_callout-conformance"))
}

/// A scratch directory under target/tmp, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ci-recipes-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `ci/action/run.sh MODE` with only the given variables (plus PATH and HOME), as the
/// action's step would: GITHUB_STEP_SUMMARY and GITHUB_OUTPUT point at files in `dir`.
fn run_sh(mode: &str, dir: &Path, vars: &[(&str, String)]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("ci/action/run.sh"))
        .arg(mode)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::var_os("HOME").unwrap_or_default())
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_PATH", dir.join("path"))
        .env("CALLOUT_CONFORMANCE", tool());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    for key in ["NATS_SERVER_BIN", "XDG_CACHE_HOME"] {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    cmd.output().expect("bash runs ci/action/run.sh")
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn log(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The cases a JSON report says failed, with their title, level, expected and actual.
fn failures(report: &Value) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for run in report["runs"].as_array().unwrap() {
        for case in run["results"].as_array().unwrap() {
            if case["verdict"] == "fail" {
                let s = |k: &str| case[k].as_str().unwrap().to_string();
                out.push((s("id"), s("title"), s("level").to_uppercase(), s("actual")));
            }
        }
    }
    out
}

#[test]
fn run_sh_passes_the_reference_on_the_seed_and_writes_every_report_and_a_summary() {
    let dir = scratch("reference");
    let out = run_sh(
        "run",
        &dir,
        &[
            ("INPUT_REFERENCE", "true".into()),
            ("INPUT_ARGS", "e2e.seed".into()),
            ("INPUT_REPORT_DIR", "reports".into()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", log(&out));
    for file in ["report.json", "junit.xml", "report.md", "report.html"] {
        assert!(dir.join("reports").join(file).is_file(), "no {file}");
    }
    let summary = text(&dir.join("summary.md"));
    assert!(
        summary.starts_with("## Auth-callout conformance: no failures in 1 column(s)"),
        "{summary}"
    );
    assert!(
        summary.contains("### reference @ 2.15.1 (process): 5 PASS"),
        "{summary}"
    );
    let output = text(&dir.join("output"));
    assert!(output.contains("exit-code=0\n"), "{output}");
    assert!(output.contains("report-dir=reports\n"), "{output}");
    // The run was strict by default, on the default server version.
    let report: Value = serde_json::from_str(&text(&dir.join("reports/report.json"))).unwrap();
    assert_eq!(report["strict"], true);
}

#[test]
fn run_sh_fails_a_mutant_with_exit_1_and_the_summary_lists_every_failure() {
    let dir = scratch("mutant");
    let mutant = find_sibling_binary("callout-mutant", "CALLOUT_MUTANT_BIN");
    assert!(
        mutant.is_file(),
        "build the mutant first: cargo build -p callout-responder --bins (looked for {})",
        mutant.display()
    );
    let out = run_sh(
        "run",
        &dir,
        &[
            (
                "INPUT_RESPONDER_CMD",
                format!(
                    "\n  mutant={} -fault ignore-deny {SEED_FLAGS}\n\n",
                    mutant.display()
                ),
            ),
            ("INPUT_SERVER_VERSIONS", "2.15.1".into()),
            ("INPUT_STRICT", "true".into()),
            ("INPUT_ARGS", "e2e.perm".into()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", log(&out));
    let reports = dir.join("callout-conformance-reports");
    let report: Value = serde_json::from_str(&text(&reports.join("report.json"))).unwrap();
    let fails = failures(&report);
    assert!(
        fails.len() >= 4,
        "ignore-deny fails at least e2e.perm.6, 7, 11 and 12: {fails:?}"
    );
    let summary = text(&dir.join("summary.md"));
    assert!(
        summary.starts_with("## Auth-callout conformance: failures in 1 of 1 column(s)"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("{} FAIL", fails.len())),
        "{summary}"
    );
    for (id, title, level, _) in &fails {
        let row = summary
            .lines()
            .find(|l| l.starts_with(&format!("| `{id}` |")))
            .unwrap_or_else(|| panic!("no row for {id} in\n{summary}"));
        assert!(row.contains(&format!(" | {level} | ")), "{row}");
        // Titles are Markdown-escaped; their first word is plain text.
        assert!(row.contains(title.split(' ').next().unwrap()), "{row}");
    }
    // Only failures: the passing cases of the report are not listed.
    let passed = report["index"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|c| c.as_object().unwrap())
        .filter(|(_, e)| e["verdict"] == "pass")
        .map(|(id, _)| id.clone())
        .collect::<Vec<_>>();
    assert!(!passed.is_empty());
    for id in passed {
        assert!(!summary.contains(&format!("`{id}`")), "{id} passed");
    }
    // The subcommand on the same report prints exactly what run.sh appended.
    let direct = Command::new(tool())
        .args(["summary"])
        .arg(reports.join("report.json"))
        .output()
        .unwrap();
    assert_eq!(direct.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&direct.stdout), summary);
    assert!(text(&dir.join("output")).contains("exit-code=1\n"));
    assert!(text(&reports.join("junit.xml")).contains("<failure"));
}

#[test]
fn summary_of_a_huge_report_stays_under_githubs_limit() {
    let dir = scratch("huge");
    let results: Vec<Value> = (0..30_000)
        .map(|i| {
            json!({
                "id": format!("wire.big.{i}"), "title": "a failing case", "requirement": "r",
                "cite": "protocol.md §1", "level": "must", "rationale": "why",
                "verdict": "fail", "expected": "a signed error", "actual": "y".repeat(400),
                "transcript": vec!["line"; 50], "duration_ms": 1
            })
        })
        .collect();
    let report = json!({
        "tool_version": "0.1.0", "strict": true, "summary": {},
        "runs": [{
            "responder": "big", "command": "big", "server_version": "2.15.1",
            "backend": "process", "results": results, "responder_stderr": "",
            "setup_error": null
        }],
        "index": {}
    });
    let file = dir.join("huge.json");
    std::fs::write(&file, serde_json::to_vec(&report).unwrap()).unwrap();
    assert!(std::fs::metadata(&file).unwrap().len() > 20_000_000);
    for max in [None, Some("65536")] {
        let mut cmd = Command::new(tool());
        cmd.arg("summary").arg(&file);
        if let Some(m) = max {
            cmd.args(["--max-bytes", m]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", log(&out));
        let limit = max.map_or(1_000_000, |m| m.parse().unwrap());
        assert!(out.stdout.len() <= limit, "{} bytes", out.stdout.len());
        assert!(out.stdout.len() > limit - 2_000, "fills the room it has");
        let s = String::from_utf8(out.stdout).unwrap();
        let shown = s.matches("| `wire.big.").count();
        assert!(
            s.contains(&format!(
                "**Summary cut to {limit} bytes:** {} more failure(s) not shown",
                30_000 - shown
            )),
            "{}",
            &s[s.len() - 400..]
        );
    }
}

#[test]
fn summary_errors_name_the_file_and_the_fix() {
    let out = Command::new(tool())
        .args(["summary", "/nonexistent/report.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/report.json"), "{err}");
    assert!(err.contains("--report-json"), "{err}");
    let out = Command::new(tool())
        .args(["summary", "x.json", "--max-bytes", "10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_sh_refuses_missing_inputs_before_running_anything() {
    let dir = scratch("usage");
    let out = run_sh("run", &dir, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", log(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("responder-cmd is empty"));
    let out = run_sh(
        "run",
        &dir,
        &[
            ("INPUT_REFERENCE", "true".into()),
            ("INPUT_BASELINE", "no-such-baseline.toml".into()),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", log(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-baseline.toml"));
    let out = run_sh("run", &dir, &[("INPUT_STRICT", "maybe".into())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'maybe'"));
    // A usage error of the tool itself (an unknown filter) still leaves a summary saying so.
    let out = run_sh(
        "run",
        &dir,
        &[
            ("INPUT_REFERENCE", "true".into()),
            ("INPUT_ARGS", "e2e.nosuchgroup".into()),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", log(&out));
    assert!(text(&dir.join("summary.md")).contains("no report"));
    assert!(text(&dir.join("output")).contains("exit-code=2\n"));
}

#[test]
fn run_sh_install_source_builds_from_the_checkout_or_the_given_version() {
    let dir = scratch("install");
    let install = |vars: &[(&str, String)]| {
        let mut vars = vars.to_vec();
        vars.push(("CALLOUT_ACTION_DRY_RUN", "1".into()));
        vars.push(("CALLOUT_TOOL_ROOT", "/opt/cc".into()));
        vars.push(("GITHUB_ACTION_PATH", "/actions/cc".into()));
        let out = run_sh("install", &dir, &vars);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            log(&out),
        )
    };
    let repo = "https://example.org/cc.git".to_string();
    // No version: this checkout, which holds harness/ (so GITHUB_ACTION_PATH must too).
    let (code, _, log) = install(&[("INPUT_INSTALL", "source".into())]);
    assert_eq!(code, Some(2), "{log}");
    assert!(log.contains("no harness/ in /actions/cc"), "{log}");
    let mut vars = vec![("GITHUB_ACTION_PATH", root().display().to_string())];
    vars.push(("CALLOUT_ACTION_DRY_RUN", "1".into()));
    vars.push(("INPUT_REFERENCE", "true".into()));
    vars.push(("INPUT_INSTALL", "source".into()));
    let out = run_sh("install", &dir, &vars);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", self::log(&out));
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    assert!(lines[0].starts_with("cargo install --locked --root "));
    assert!(lines[0].ends_with(&format!("--path {}/harness", root().display())));
    assert!(lines[1].ends_with(&format!("--path {}/responder", root().display())));
    for (version, flags) in [
        ("v0.2.0", "--tag v0.2.0"),
        ("branch:main", "--branch main"),
        (
            "0123456789abcdef0123456789abcdef01234567",
            "--rev 0123456789abcdef0123456789abcdef01234567",
        ),
    ] {
        let (code, out, log) = install(&[
            ("INPUT_INSTALL", "source".into()),
            ("INPUT_TOOL_VERSION", version.into()),
            ("INPUT_TOOL_REPOSITORY", repo.clone()),
        ]);
        assert_eq!(code, Some(0), "{log}");
        assert_eq!(
            out,
            format!(
                "cargo install --locked --root /opt/cc --git {repo} {flags} callout-conformance\n"
            )
        );
    }
    // The installed bin/ goes on PATH for the following steps.
    assert!(text(&dir.join("path")).lines().all(|l| l.ends_with("/bin")));
    assert!(text(&dir.join("path")).contains("/opt/cc/bin\n"));
}

/// `python3 -c` with PyYAML: the YAML files as JSON.
fn yaml(path: &Path) -> Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .expect("python3 runs (the README requires it for nats-server)");
    assert!(
        out.status.success(),
        "{} does not parse as YAML, or PyYAML is missing (pip install pyyaml, or apt-get install python3-yaml): {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn action_yml_inputs_are_exactly_what_run_sh_reads() {
    let action = yaml(&root().join("action.yml"));
    assert_eq!(action["runs"]["using"], "composite");
    let inputs: BTreeSet<String> = action["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for required in [
        "responder-cmd",
        "profile",
        "server-versions",
        "strict",
        "baseline",
        "install",
        "tool-version",
        "tool-repository",
    ] {
        assert!(inputs.contains(required), "no input {required}");
    }
    assert_eq!(action["inputs"]["server-versions"]["default"], "2.15.1");
    assert_eq!(action["inputs"]["strict"]["default"], "true");
    // The release binaries by default; a build from source only when asked.
    assert_eq!(action["inputs"]["install"]["default"], "release");
    assert_eq!(action["inputs"]["profile"]["default"], "");
    // Every env mapping of every step is INPUT_NAME: ${{ inputs.name }}.
    let mut mapped = BTreeSet::new();
    for step in action["runs"]["steps"].as_array().unwrap() {
        if let Some(env) = step["env"].as_object() {
            for (key, value) in env {
                let name = key
                    .strip_prefix("INPUT_")
                    .unwrap_or_else(|| panic!("env {key} is not an INPUT_"))
                    .to_lowercase()
                    .replace('_', "-");
                assert_eq!(value, &format!("${{{{ inputs.{name} }}}}"), "{key}");
                assert!(inputs.contains(&name), "{key} maps no input");
                mapped.insert(name);
            }
        }
        if let Some(run) = step["run"].as_str() {
            assert!(
                run.contains("$GITHUB_ACTION_PATH/ci/action/run.sh"),
                "{run}"
            );
        }
    }
    // Every input reaches run.sh, except the artifact's name, which only the upload step uses.
    let unmapped: Vec<_> = inputs.difference(&mapped).collect();
    assert_eq!(unmapped, vec!["artifact-name"]);
    let uses: Vec<&str> = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["uses"].as_str())
        .collect();
    assert!(uses
        .iter()
        .any(|u| u.starts_with("actions/upload-artifact@")));
    // And run.sh reads exactly those variables.
    let script = text(&root().join("ci/action/run.sh"));
    let mut read = BTreeSet::new();
    let mut rest = script.as_str();
    while let Some(at) = rest.find("INPUT_") {
        let name: String = rest[at + 6..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .collect();
        if !name.is_empty() && !name.ends_with('_') {
            read.insert(name.to_lowercase().replace('_', "-"));
        }
        rest = &rest[at + 6..];
    }
    assert_eq!(
        read, mapped,
        "run.sh reads {read:?}, action.yml maps {mapped:?}"
    );
}

#[test]
fn the_workflow_parses_and_runs_what_ci_runs() {
    let wf = yaml(&root().join(".github/workflows/ci.yml"));
    let jobs = wf["jobs"].as_object().unwrap();
    let steps = |job: &str| -> Vec<Value> { jobs[job]["steps"].as_array().unwrap().clone() };
    let runs = |job: &str| -> String {
        steps(job)
            .iter()
            .filter_map(|s| s["run"].as_str().map(String::from))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(runs("test").contains("cargo run -p ci -- test"));
    assert_eq!(jobs["test"]["runs-on"], "ubuntu-latest");
    let uses: Vec<String> = steps("test")
        .iter()
        .filter_map(|s| s["uses"].as_str().map(String::from))
        .collect();
    assert!(uses
        .iter()
        .any(|u| u.starts_with("mikepenz/action-junit-report@")));
    let upload = steps("test")
        .into_iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .expect("the test job uploads the reports");
    assert_eq!(upload["with"]["path"], "target/reports/");
    assert_eq!(upload["if"], "always()");
    let servers = jobs["matrix"]["strategy"]["matrix"]["server"]
        .as_array()
        .unwrap();
    assert!(servers.contains(&json!("2.10.26")) && servers.contains(&json!("2.15.1")));
    // The action job uses this checkout's action.
    assert!(steps("action").iter().any(|s| s["uses"] == "./"));
    // The .ci/run entry point runs the same task.
    assert!(text(&root().join(".ci/run")).contains("cargo run -p ci -- test"));
}
