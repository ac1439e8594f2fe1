//! The command line as a user meets it: every flag the README and the user guide (docs/book/)
//! document appears in the `--help` of the subcommand it belongs to and parses, in both `--flag value` and `--flag=value` forms;
//! `run`'s flags run (with `--dry-run`) through the real binary; completion scripts print; usage
//! errors exit 2 and name the flag.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use callout_conformance::cli;

const BIN: &str = env!("CARGO_BIN_EXE_callout-conformance");

fn tool(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("NATS_SERVER_BIN")
        .output()
        .expect("run callout-conformance")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where the command line is documented: the README and the user guide (docs/book/), less the
/// reference responder's page (whose flags are the responder's, Go-style). A page that moves
/// or a new page is read without a change here.
fn documented_files() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    let mut guide: Vec<PathBuf> = std::fs::read_dir(repo().join("docs/book"))
        .expect("the user guide is in docs/book")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter(|p| !p.ends_with("reference-responder.md"))
        .collect();
    guide.sort();
    assert!(guide.len() >= 5, "the user guide has pages: {guide:?}");
    files.extend(guide);
    files
}

/// The `--flags` of the README and the user guide.
fn readme_flags() -> Vec<String> {
    let text: String = documented_files()
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap() + "\n")
        .collect();
    let mut flags = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("--") {
        let s = i + at;
        let mut e = s + 2;
        while e < b.len() && (b[e].is_ascii_lowercase() || b[e] == b'-') {
            e += 1;
        }
        let before_ok = s == 0 || !(b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'-');
        let flag = text[s..e].trim_end_matches('-').to_string();
        if before_ok && flag.len() > 2 && !flags.contains(&flag) {
            flags.push(flag);
        }
        i = e.max(s + 2);
    }
    flags
}

/// Every documented flag: the subcommand whose `--help` lists it, and a sample value (None for
/// a switch). The README's flags must all be here, so a newly documented flag needs a line.
const FLAGS: &[(&str, &str, Option<&str>)] = &[
    ("--responder", "run", Some("reference")),
    (
        "--responder-cmd",
        "run",
        Some("./svc -nats.url {url} -users {users}"),
    ),
    ("--name", "run", Some("mine")),
    ("--server-version", "run", Some("2.10.26,2.15.1")),
    ("--nats-server", "run", Some("/bin/true")),
    ("--backend", "run", Some("container")),
    ("--strict", "run", None),
    ("--fail-on-unimplemented", "run", None),
    ("--ready-timeout", "run", Some("2.5")),
    ("--mode", "run", Some("operator")),
    ("--report-json", "run", Some("r.json")),
    ("--junit", "run", Some("r.xml")),
    ("--markdown", "run", Some("r.md")),
    ("--html", "run", Some("r.html")),
    ("--baseline", "run", Some("BASELINE")),
    ("--write-baseline", "run", Some("b.toml")),
    ("--transcripts", "run", None),
    ("--no-color", "run", None),
    ("--dry-run", "run", None),
    ("--scenarios", "run", Some("SCENARIOS")),
    ("--profile", "run", Some("PROFILE")),
    ("--output", "matrix", Some("c.md")),
    ("--from", "matrix", Some("r.json")),
    ("--left-out", "list", None),
    ("--max-bytes", "summary", Some("2048")),
    ("--connects", "bench", Some("10")),
    ("--requests", "bench", Some("100")),
    ("--inflight", "bench", Some("1,8")),
    ("--instances", "bench", Some("1,2")),
    ("--plain", "bench", None),
    ("--json", "bench", Some("b.json")),
    ("--svg", "bench", Some("b.svg")),
    ("--seed", "fuzz", Some("7")),
    ("--findings", "fuzz", Some("fuzz-findings")),
    ("--version", "", None),
    ("--help", "", None),
];

/// Flags of other programs the README and the guide mention (cargo's, podman's, pip's, the ci
/// task's), and `--flag` for any flag.
const NOT_OURS: &[&str] = &[
    "--rm",
    "--network",
    "--entrypoint",
    "--user",
    "--locked",
    "--path",
    "--git",
    "--bins",
    "--release",
    "--target",
    "--with-runtimes",
    "--flag",
];

fn help(sub: &str) -> String {
    let args: Vec<&str> = if sub.is_empty() {
        vec!["--help"]
    } else {
        vec![sub, "--help"]
    };
    let out = tool(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{sub} --help: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn every_documented_flag_is_in_its_help_and_parses() {
    let documented = readme_flags();
    for f in &documented {
        assert!(
            FLAGS.iter().any(|(g, _, _)| g == f) || NOT_OURS.contains(&f.as_str()),
            "README.md or docs/book/ documents {f}, which this test does not know: add it to FLAGS"
        );
    }
    let dir = std::env::temp_dir().join(format!("cli-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let baseline = dir.join("b.toml");
    std::fs::write(&baseline, "[known]\n").unwrap();
    let scenarios = repo().join("scenarios");
    let sample = |v: &str| match v {
        "BASELINE" => baseline.display().to_string(),
        "SCENARIOS" => scenarios.display().to_string(),
        "PROFILE" => repo()
            .join("examples/token-responder/profile.toml")
            .display()
            .to_string(),
        v if v.ends_with(".json") || v.ends_with(".md") || v.ends_with(".xml") => {
            dir.join(v).display().to_string()
        }
        v => v.to_string(),
    };
    for (flag, sub, value) in FLAGS {
        assert!(
            documented.iter().any(|d| d == flag),
            "{flag} is documented neither in README.md nor in docs/book/"
        );
        let h = help(sub);
        assert!(h.contains(flag), "{sub} --help lacks {flag}:\n{h}");
        if *sub == "run" {
            let m = help("matrix");
            assert!(m.contains(flag), "matrix takes every option of run: {flag}");
        }
        if sub.is_empty() {
            continue;
        }
        let head: Vec<String> = match *sub {
            "summary" => vec!["summary".into(), "r.json".into()],
            // A profile replaces the e2e catalog with its own cases.
            "run" | "matrix" if *flag == "--profile" => vec![sub.to_string(), "e2e.profile".into()],
            // Operator mode runs the operator-mode files only.
            "run" | "matrix" if *flag == "--mode" => vec![sub.to_string(), "e2e.op".into()],
            "run" | "matrix" => vec![sub.to_string(), "e2e.seed".into()],
            _ => vec![sub.to_string()],
        };
        let mut forms = vec![];
        match value {
            Some(v) => {
                let v = sample(v);
                forms.push(vec![flag.to_string(), v.clone()]);
                forms.push(vec![format!("{flag}={v}")]);
            }
            None => forms.push(vec![flag.to_string()]),
        }
        for form in forms {
            let mut argv: Vec<String> = head.iter().chain(&form).cloned().collect();
            if *flag == "--name" {
                argv.extend(["--responder-cmd".to_string(), "./svc".to_string()]);
            }
            let parsed = cli::parse(&argv);
            assert!(parsed.is_ok(), "{argv:?}: {}", parsed.unwrap_err());
            if matches!(*sub, "run" | "matrix") {
                let mut a: Vec<&str> = argv.iter().map(String::as_str).collect();
                a.push("--dry-run");
                let out = tool(&a);
                assert_eq!(out.status.code(), Some(0), "{a:?}: {}", text(&out.stderr));
                assert!(text(&out.stdout).contains("would run"), "{a:?}");
            }
        }
    }
    // --name names the --responder-cmd after it; --transcripts takes its filter only with '='.
    let a = cli::parse_args(&[
        "run".into(),
        "--name".into(),
        "mine".into(),
        "--responder-cmd".into(),
        "./svc {url}".into(),
        "--transcripts".into(),
        "e2e.seed".into(),
    ])
    .unwrap();
    assert_eq!(a.responders[0].name, "mine");
    assert_eq!(a.transcripts.as_deref(), Some(""));
    assert_eq!(a.filters, vec!["e2e.seed"]);
    let a = cli::parse_args(&["run".into(), "--transcripts=e2e.perm".into()]).unwrap();
    assert_eq!(a.transcripts.as_deref(), Some("e2e.perm"));
    let a = cli::parse_args(&[
        "run".into(),
        "--server-version".into(),
        "2.10.26,2.11.11".into(),
        "--server-version=2.15.1".into(),
    ])
    .unwrap();
    assert_eq!(a.versions, vec!["2.10.26", "2.11.11", "2.15.1"]);
    // A flag given twice is no error (the action's `args` may repeat --strict); the last
    // value wins.
    let a = cli::parse_args(&[
        "run".into(),
        "--strict".into(),
        "--junit=a.xml".into(),
        "--strict".into(),
        "--junit".into(),
        "b.xml".into(),
    ])
    .unwrap();
    assert!(a.strict);
    assert_eq!(a.junit, Some(PathBuf::from("b.xml")));
    assert!(help("run").contains("--name"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn completions_print_a_script_for_each_shell() {
    let out = tool(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let script = text(&out.stdout);
    assert!(script.contains("callout-conformance"), "{script}");
    assert!(script.contains("run") && script.contains("--responder-cmd"));
    assert!(script.contains("matrix") && script.contains("--connects"));
    for shell in ["zsh", "fish"] {
        let out = tool(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(text(&out.stdout).contains("--responder-cmd"), "{shell}");
    }
    let out = tool(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("bash"));
}

#[test]
fn usage_errors_exit_2_and_name_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--junit", "--no-color"], "'--junit <FILE>'"),
        (&["run", "--junit=--no-color"], "--junit"),
        (&["run", "--stirct"], "'--strict'"),
        (&["run", "--ready-timeout", "0"], "--ready-timeout"),
        (&["run", "--output", "x.md"], "'--output'"),
        (&["list", "--strict"], "'--strict'"),
        (&["frobnicate"], "'frobnicate'"),
        (&["summary"], "<REPORT.json>"),
        (&["summary", "x.json", "--max-bytes", "10"], "--max-bytes"),
        (&["--strict", "run"], "'--strict'"),
        (&["run", "--name", "x"], "names no --responder-cmd"),
        (&[], "Usage:"),
    ];
    for (args, want) in cases {
        let out = tool(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
    }
    for sub in ["run", "list", "matrix", "bench", "summary", "completions"] {
        let h = help(sub);
        assert!(h.contains(&format!("callout-conformance {sub}")), "{h}");
    }
    assert!(help("").contains("completions"));
}
