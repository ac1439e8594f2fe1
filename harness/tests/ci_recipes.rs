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

/// A stand-in for the tool that writes the arguments it gets to `argv` in `dir`, one a line
/// in brackets, and exits 0: what run.sh passes on, without running a suite.
fn argv_recorder(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let tool = dir.join("record-argv");
    std::fs::write(
        &tool,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done >> '{}'\n",
            dir.join("argv").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    tool
}

#[test]
fn run_sh_splits_args_as_docs_ci_says_and_expands_nothing() {
    let dir = scratch("args");
    let tool = argv_recorder(&dir);
    let vars = |args: &str| {
        vec![
            ("CALLOUT_CONFORMANCE", tool.display().to_string()),
            ("INPUT_REFERENCE", "true".into()),
            ("INPUT_ARGS", args.to_string()),
        ]
    };
    // As docs/ci.md shows it, and what a shell would do with the rest, except expanding it.
    let out = run_sh(
        "run",
        &dir,
        &vars(
            r#"e2e.perm 'wire.*'  "a b" c\ d "" $(touch pwned) '$(touch pwned)' * ~ $HOME "x\"y""#,
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{}", log(&out));
    let argv = text(&dir.join("argv"));
    assert!(argv.starts_with("[run]\n"), "{argv}");
    assert!(
        argv.ends_with(
            "[--responder]\n[reference]\n[e2e.perm]\n[wire.*]\n[a b]\n[c d]\n[]\n[$(touch]\n[pwned)]\n[$(touch pwned)]\n[*]\n[~]\n[$HOME]\n[x\"y]\n"
        ),
        "{argv}"
    );
    assert!(!dir.join("pwned").exists());
    // An unclosed quote is a usage error that runs nothing.
    std::fs::remove_file(dir.join("argv")).unwrap();
    let out = run_sh("run", &dir, &vars("e2e.perm 'wire.*"));
    assert_eq!(out.status.code(), Some(2), "{}", log(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("args has an unclosed ' quote"),
        "{}",
        log(&out)
    );
    assert!(!dir.join("argv").exists());
}

#[test]
fn run_sh_refuses_control_characters_in_every_input() {
    let dir = scratch("control");
    let tool = argv_recorder(&dir);
    let recorder = ("CALLOUT_CONFORMANCE", tool.display().to_string());
    for (input, value) in [
        ("INPUT_REPORT_DIR", "reports\nexit-code=0"),
        ("INPUT_ARGS", "e2e.seed\r"),
        ("INPUT_SERVER_VERSIONS", "2.15.1\t"),
        ("INPUT_PROFILE", "p.toml\n"),
    ] {
        let out = run_sh(
            "run",
            &dir,
            &[
                recorder.clone(),
                ("INPUT_REFERENCE", "true".into()),
                (input, value.into()),
            ],
        );
        let name = input["INPUT_".len()..].to_lowercase().replace('_', "-");
        assert_eq!(out.status.code(), Some(2), "{input}: {}", log(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("input {name} holds a control character")),
            "{input}: {err}"
        );
        assert!(!dir.join("argv").exists(), "{input}: the tool ran");
        assert!(
            !dir.join("output").exists(),
            "{input}: outputs were written"
        );
    }
    // install refuses them too, before it installs anything.
    let out = run_sh(
        "install",
        &dir,
        &[
            ("INPUT_INSTALL", "source".into()),
            ("INPUT_TOOL_VERSION", "v1\nv2".into()),
            ("CALLOUT_ACTION_DRY_RUN", "1".into()),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", log(&out));
    assert!(out.stdout.is_empty(), "{}", log(&out));
    // responder-cmd is one template a line: two lines are two columns.
    let out = run_sh(
        "run",
        &dir,
        &[
            recorder,
            ("INPUT_RESPONDER_CMD", "a=./a {url}\nb=./b {url}\n".into()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", log(&out));
    let argv = text(&dir.join("argv"));
    assert!(
        argv.contains("[--responder-cmd]\n[a=./a {url}]\n[--responder-cmd]\n[b=./b {url}]\n"),
        "{argv}"
    );
    assert_eq!(
        text(&dir.join("output")),
        "exit-code=0\nreport-dir=callout-conformance-reports\n"
    );
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
    // The action job uses this checkout's action, built from source (this commit has no
    // release), on the reference, the mutant and the example's profile.
    let local: Vec<Value> = steps("action")
        .into_iter()
        .filter(|s| s["uses"] == "./")
        .collect();
    assert_eq!(local.len(), 3);
    assert!(local.iter().all(|s| s["with"]["install"] == "source"));
    assert!(local
        .iter()
        .any(|s| s["with"]["profile"] == "examples/token-responder/profile.toml"));
    // The .ci/run entry point runs the same task.
    assert!(text(&root().join(".ci/run")).contains("cargo run -p ci -- test"));
}

/// The workspace version, which the action installs when tool-version is empty.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The target triple install.sh picks on this machine.
fn host_target() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-musl",
        _ => "x86_64-unknown-linux-musl",
    }
}

/// `DIR/vVERSION/`, laid out like a GitHub release by `ci/action/package.sh` from the binaries
/// this test run built (glibc debug builds standing in for the static ones), plus install.sh
/// as the release workflow attaches it. Returns DIR.
fn local_release(name: &str) -> PathBuf {
    let dir = scratch(name);
    let bins = tool().parent().unwrap().to_path_buf();
    let mutant = bins.join("callout-mutant");
    assert!(
        mutant.is_file() && bins.join("callout-responder").is_file(),
        "build the responder first: cargo build -p callout-responder --bins (looked in {})",
        bins.display()
    );
    let out = Command::new("bash")
        .arg(root().join("ci/action/package.sh"))
        .args([VERSION, host_target()])
        .arg(&bins)
        .arg(dir.join(format!("v{VERSION}")))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", log(&out));
    std::fs::copy(
        root().join("ci/action/install.sh"),
        dir.join(format!("v{VERSION}/install.sh")),
    )
    .unwrap();
    dir
}

fn version_line(bin: &Path) -> String {
    let out = Command::new(bin).arg("--version").output().unwrap();
    assert!(out.status.success(), "{}: {}", bin.display(), log(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn run_sh_installs_the_release_binaries_with_their_checksum_verified() {
    let release = local_release("release");
    let archive = format!("callout-conformance-{VERSION}-{}.tar.gz", host_target());
    let sum = text(&release.join(format!("v{VERSION}/{archive}.sha256")));
    assert!(
        sum.len() == 64 + 2 + archive.len() + 1 && sum.ends_with(&format!("  {archive}\n")),
        "sha256sum's format: {sum}"
    );
    let install = |dir: &Path, base: &str, vars: &[(&str, String)]| {
        let mut v = vec![
            ("GITHUB_ACTION_PATH", root().display().to_string()),
            ("CALLOUT_RELEASE_BASE_URL", base.to_string()),
            ("CALLOUT_TOOL_ROOT", dir.join("root").display().to_string()),
        ];
        v.extend(vars.iter().cloned());
        run_sh("install", dir, &v)
    };

    // Good: the default install (release) of the checkout's own version, from a file:// URL
    // (through curl) with the reference responder, then both run.
    let dir = scratch("release-good");
    let started = std::time::Instant::now();
    let out = install(
        &dir,
        &format!("file://{}", release.display()),
        &[("INPUT_REFERENCE", "true".into())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", log(&out));
    println!(
        "installed from the local release in {:?}",
        started.elapsed()
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{archive}: SHA-256 ")) && err.contains("verified"),
        "{err}"
    );
    let bin = dir.join("root/bin");
    assert_eq!(
        version_line(&bin.join("callout-conformance")),
        version_line(&tool())
    );
    for b in ["callout-responder", "callout-mutant"] {
        assert!(bin.join(b).is_file(), "no {b}");
    }
    assert_eq!(text(&dir.join("path")), format!("{}\n", bin.display()));
    // The same from a plain path and an explicit v-tag.
    let dir = scratch("release-path");
    let out = install(
        &dir,
        &release.display().to_string(),
        &[("INPUT_TOOL_VERSION", format!("v{VERSION}"))],
    );
    assert_eq!(out.status.code(), Some(0), "{}", log(&out));
    assert!(dir.join("root/bin/callout-conformance").is_file());
    assert!(!dir.join("root/bin/callout-responder").exists());

    // Bad: the archive changed after its checksum was taken. Refused, nothing installed.
    let bad = scratch("release-bad");
    let tampered = bad.join(format!("v{VERSION}"));
    std::fs::create_dir_all(&tampered).unwrap();
    for f in [archive.clone(), format!("{archive}.sha256")] {
        std::fs::copy(release.join(format!("v{VERSION}/{f}")), tampered.join(&f)).unwrap();
    }
    let mut bytes = std::fs::read(tampered.join(&archive)).unwrap();
    bytes.extend_from_slice(b"\0");
    std::fs::write(tampered.join(&archive), bytes).unwrap();
    let dir = scratch("release-mismatch");
    let out = install(&dir, &bad.display().to_string(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", log(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("SHA-256 mismatch for {archive}"))
            && err.contains("refusing to install"),
        "{err}"
    );
    assert!(!dir.join("root/bin/callout-conformance").exists());
    assert!(
        !dir.join("path").exists(),
        "nothing goes on PATH after a refusal"
    );
    // A checksum file for another archive is refused too.
    std::fs::copy(
        release.join(format!("v{VERSION}/{archive}")),
        tampered.join(&archive),
    )
    .unwrap();
    let other = text(&release.join(format!(
        "v{VERSION}/callout-responder-{VERSION}-{}.tar.gz.sha256",
        host_target()
    )));
    std::fs::write(tampered.join(format!("{archive}.sha256")), other).unwrap();
    let out = install(&dir, &bad.display().to_string(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", log(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is the checksum of 'callout-responder-"));

    // A version that was never released: the URL it tried and what to do.
    let out = install(
        &dir,
        &format!("file://{}", release.display()),
        &[("INPUT_TOOL_VERSION", "9.9.9".into())],
    );
    assert_eq!(out.status.code(), Some(2), "{}", log(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "no release archive at file://{}/v9.9.9/callout-conformance-9.9.9-{}.tar.gz",
            release.display(),
            host_target()
        )) && err.contains("install: source"),
        "{err}"
    );
    // A branch or a commit has no release binaries.
    let out = install(
        &dir,
        "/nonexistent",
        &[("INPUT_TOOL_VERSION", "branch:main".into())],
    );
    assert_eq!(out.status.code(), Some(2), "{}", log(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'branch:main' is not a release version"));
    let out = install(&dir, "/nonexistent", &[("INPUT_INSTALL", "binary".into())]);
    assert_eq!(out.status.code(), Some(2), "{}", log(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("install is 'binary'"));

    // Without an override, the URLs are the repository's GitHub releases.
    let out = run_sh(
        "install",
        &dir,
        &[
            ("GITHUB_ACTION_PATH", root().display().to_string()),
            (
                "INPUT_TOOL_REPOSITORY",
                "https://github.com/acme/cc.git".into(),
            ),
            ("CALLOUT_ACTION_DRY_RUN", "1".into()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", log(&out));
    let url = format!(
        "https://github.com/acme/cc/releases/download/v{VERSION}/callout-conformance-{VERSION}-{}.tar.gz",
        host_target()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{url}\n{url}.sha256\n")
    );
}

/// The example token responder's profile, and a working directory in which its
/// `target/debug/token-responder` command resolves (a `target` link to this build's).
fn profile_workdir(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let debug = tool().parent().unwrap().to_path_buf();
    assert!(
        debug.join("token-responder").is_file(),
        "build the example first: cargo build -p callout-token-responder (looked in {})",
        debug.display()
    );
    std::os::unix::fs::symlink(debug.parent().unwrap(), dir.join("target")).unwrap();
    (dir, root().join("examples/token-responder/profile.toml"))
}

#[test]
fn run_sh_judges_a_responder_through_its_profile() {
    let (dir, profile) = profile_workdir("profile");
    let out = run_sh(
        "run",
        &dir,
        &[
            ("INPUT_PROFILE", profile.display().to_string()),
            ("INPUT_ARGS", "e2e.profile".into()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", log(&out));
    let summary = text(&dir.join("summary.md"));
    assert!(
        summary.starts_with("## Auth-callout conformance: no failures in 1 column(s)"),
        "{summary}"
    );
    assert!(
        summary.contains("### token-responder @ 2.15.1 (process): "),
        "{summary}"
    );
    let report: Value =
        serde_json::from_str(&text(&dir.join("callout-conformance-reports/report.json"))).unwrap();
    let ids: Vec<&str> = report["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.len() >= 5 && ids.iter().all(|i| i.starts_with("e2e.profile.")),
        "{ids:?}"
    );
    assert!(text(&dir.join("output")).contains("exit-code=0\n"));

    // A profile brings its own responder: refused with responder-cmd or reference, before
    // anything runs; and a profile that is not there.
    for (extra, want) in [
        (
            ("INPUT_RESPONDER_CMD", "./svc {url}".to_string()),
            "profile and responder-cmd are both set",
        ),
        (
            ("INPUT_REFERENCE", "true".to_string()),
            "profile and reference are both set",
        ),
    ] {
        let out = run_sh(
            "run",
            &dir,
            &[("INPUT_PROFILE", profile.display().to_string()), extra],
        );
        assert_eq!(out.status.code(), Some(2), "{}", log(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(want),
            "{}",
            log(&out)
        );
    }
    let out = run_sh(
        "run",
        &dir,
        &[("INPUT_PROFILE", "nope/profile.toml".into())],
    );
    assert_eq!(out.status.code(), Some(2), "{}", log(&out));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("profile file nope/profile.toml does not exist"));
}

/// The GitLab template's job as a GitLab runner would run it: its variables (overridden by
/// `vars`), then `before_script` and `script` in one bash with `set -eo pipefail`, then
/// `after_script` in another.
fn gitlab_job(dir: &Path, vars: &[(&str, String)]) -> (Output, Output) {
    let template = yaml(&root().join("ci/action/gitlab-ci.yml"));
    let job = &template[".callout-conformance"];
    let lines = |key: &str| -> String {
        job[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key}"))
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let bash = |script: String| {
        let mut cmd = Command::new("bash");
        cmd.args(["-c", &format!("set -eo pipefail\n{script}")])
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::var_os("HOME").unwrap_or_default());
        for (k, v) in job["variables"].as_object().unwrap() {
            cmd.env(k, v.as_str().unwrap());
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        for key in ["NATS_SERVER_BIN", "XDG_CACHE_HOME"] {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd.output().unwrap()
    };
    let main = bash(format!("{}\n{}", lines("before_script"), lines("script")));
    let after = bash(lines("after_script"));
    (main, after)
}

#[test]
fn the_gitlab_template_installs_a_release_and_judges_a_profile() {
    let template = yaml(&root().join("ci/action/gitlab-ci.yml"));
    let job = &template[".callout-conformance"];
    // The template installs the workspace's version: bump both together.
    assert_eq!(job["variables"]["CALLOUT_VERSION"], VERSION);
    assert_eq!(
        job["artifacts"]["reports"]["junit"],
        "callout-conformance-reports/junit.xml"
    );
    let release = local_release("gitlab-release");
    let (dir, profile) = profile_workdir("gitlab");
    let releases = format!("file://{}", release.display());
    let (main, after) = gitlab_job(
        &dir,
        &[
            ("CALLOUT_RELEASES", releases.clone()),
            ("CALLOUT_PROFILE", profile.display().to_string()),
            ("CALLOUT_ARGS", "e2e.profile".into()),
        ],
    );
    assert_eq!(main.status.code(), Some(0), "{}", log(&main));
    assert!(
        String::from_utf8_lossy(&main.stderr).contains("verified"),
        "{}",
        log(&main)
    );
    let junit = text(&dir.join("callout-conformance-reports/junit.xml"));
    assert!(
        junit.contains("e2e.profile.alice.admitted") && !junit.contains("<failure"),
        "{junit}"
    );
    assert!(dir
        .join("callout-conformance-reports/report.html")
        .is_file());
    assert_eq!(after.status.code(), Some(0), "{}", log(&after));
    assert!(
        String::from_utf8_lossy(&after.stdout).contains("no failures in 1 column(s)"),
        "{}",
        log(&after)
    );
    // Both responder variables set: refused, naming both.
    let (main, _) = gitlab_job(
        &dir,
        &[
            ("CALLOUT_RELEASES", releases),
            ("CALLOUT_PROFILE", profile.display().to_string()),
            ("CALLOUT_RESPONDER_CMD", "./svc {url}".into()),
        ],
    );
    assert_eq!(main.status.code(), Some(2), "{}", log(&main));
    assert!(String::from_utf8_lossy(&main.stderr).contains("not both"));
}

#[test]
fn the_release_workflow_builds_every_target_and_attaches_verified_archives() {
    let wf = yaml(&root().join(".github/workflows/release.yml"));
    // PyYAML reads the key `on` as true.
    let on = &wf["true"];
    assert!(
        on["push"]["tags"][0].as_str().unwrap().starts_with("v"),
        "{on}"
    );
    let build = &wf["jobs"]["build"];
    let targets: BTreeSet<&str> = build["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        BTreeSet::from([
            "aarch64-apple-darwin",
            "aarch64-unknown-linux-musl",
            "x86_64-apple-darwin",
            "x86_64-unknown-linux-musl",
        ])
    );
    let runs = |job: &Value| -> String {
        job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let b = runs(build);
    assert!(
        b.contains("-p callout-conformance -p callout-responder --bins"),
        "{b}"
    );
    assert!(b.contains("bash ci/action/package.sh \"$VERSION\""), "{b}");
    let r = runs(&wf["jobs"]["release"]);
    assert!(
        r.contains("sha256sum -c") && r.contains("cp ../ci/action/install.sh ."),
        "{r}"
    );
    assert!(r.contains("gh release create"), "{r}");
    assert_eq!(wf["jobs"]["release"]["permissions"]["contents"], "write");
    assert_eq!(wf["jobs"]["release"]["needs"], "build");
    // install.sh's target names are the workflow's.
    let install = text(&root().join("ci/action/install.sh"));
    for t in &targets {
        let (arch, rest) = t.split_once('-').unwrap();
        assert!(
            install.contains(&format!("$arch-{rest}")) || install.contains(t),
            "{t}"
        );
        assert!(["x86_64", "aarch64"].contains(&arch));
    }
}
