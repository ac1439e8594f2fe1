//! The adoption baseline as a team uses it, on real runs of the `callout-conformance` binary
//! against real nats-server processes: write a baseline from a responder with a defect
//! (`callout-mutant -fault ignore-deny`), run with it (its failures are KNOWN, exit 0), drop an
//! entry (that failure fails the run again), refresh it in place (reasons kept), run the
//! reference with it (every entry passes now and is reported), and mistype an id (exit 2,
//! naming the file, the line and the id).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use callout_conformance::sut::{find_sibling_binary, SEED_FLAGS};

const HARNESS: &str = env!("CARGO_BIN_EXE_callout-conformance");
/// A small selection that the ignore-deny mutant fails in several cases, e2e and wire.
const FILTERS: &[&str] = &["e2e.perm", "wire.resp.8"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn mutant_cmd() -> String {
    let mutant = find_sibling_binary("callout-mutant", "CALLOUT_MUTANT_BIN");
    assert!(
        mutant.is_file(),
        "build the mutant first: cargo build -p callout-responder --bins (looked for {})",
        mutant.display()
    );
    format!(
        "mutant={} -fault ignore-deny {SEED_FLAGS}",
        mutant.display()
    )
}

/// Runs `callout-conformance run --strict FILTERS… extra…` and returns its output.
fn run(responder: Option<&str>, extra: &[&str]) -> Output {
    let mut c = Command::new(HARNESS);
    c.arg("run").arg("--strict").arg("--no-color").args(FILTERS);
    c.arg("--scenarios").arg(root().join("scenarios"));
    if let Some(cmd) = responder {
        c.arg("--responder-cmd").arg(cmd);
    }
    c.args(extra)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("run callout-conformance")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The case ids of a baseline file's entries, in file order.
fn entries(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('"'))
        .map(|l| l[1..].split('"').next().unwrap().to_string())
        .collect()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_baseline_accepts_known_failures_only_and_shrinks() {
    let dir = std::env::temp_dir().join(format!("baseline-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let b = dir.join("baseline.toml");
    let bs = b.to_str().unwrap();
    let report = dir.join("report.json");
    let rs = report.to_str().unwrap();
    let mutant = mutant_cmd();

    // 1. Write a baseline from the mutant's failures; the run itself still fails.
    let out = run(Some(&mutant), &["--write-baseline", bs]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let ids = entries(&b);
    for id in ["e2e.perm.16", "e2e.perm.17", "wire.resp.8"] {
        assert!(ids.contains(&id.to_string()), "{id} in {ids:?}");
    }
    assert!(
        !ids.contains(&"e2e.perm.1".to_string()),
        "a pass is not listed"
    );
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| callout_conformance::baseline::natural_cmp(a, b));
    assert_eq!(ids, sorted, "entries sorted by id");
    let written = std::fs::read_to_string(&b).unwrap();
    assert!(
        written.contains("\"e2e.perm.16\" = \"pub deny []\""),
        "the placeholder is the actual text: {written}"
    );

    // 2. With it, the same failures are KNOWN and the run passes.
    let out = run(Some(&mutant), &["--baseline", bs, "--report-json", rs]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("KNOWN wire.resp.8 ") && !stdout.contains("\nFAIL "),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} known failure(s) accepted by {bs}", ids.len())),
        "{stdout}"
    );
    let v = json(&report);
    let column = "mutant @ 2.15.1 (process)";
    assert_eq!(v["summary"][column]["fail"], 0);
    assert_eq!(v["summary"][column]["known"], ids.len());
    assert_eq!(v["index"][column]["wire.resp.8"]["verdict"], "known");
    assert_eq!(v["index"][column]["e2e.perm.1"]["verdict"], "pass");
    assert_eq!(v["baseline"]["passes_now"], serde_json::json!([]));
    let resp8 = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "wire.resp.8")
        .unwrap();
    assert!(
        resp8["actual"].as_str().unwrap().contains("\"pub\""),
        "the failure stays visible: {resp8}"
    );

    // 3. Refreshed in place: a reason a person wrote is kept, nothing else changes.
    let edited = written.replace(
        "\"e2e.perm.16\" = \"pub deny []\"",
        "\"e2e.perm.16\" = \"deny lists land in 1.4\"",
    );
    std::fs::write(&b, &edited).unwrap();
    let out = run(Some(&mutant), &["--baseline", bs, "--write-baseline", bs]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(std::fs::read_to_string(&b).unwrap(), edited);

    // 4. A failure missing from the baseline fails the run; the others stay KNOWN.
    let without: String = edited
        .lines()
        .filter(|l| !l.starts_with("\"wire.resp.8\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let partial = dir.join("partial.toml");
    std::fs::write(&partial, without).unwrap();
    let out = run(Some(&mutant), &["--baseline", partial.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("\nFAIL wire.resp.8 "), "{stdout}");
    assert!(stdout.contains("\nKNOWN e2e.perm.16 "), "{stdout}");

    // 5. The reference passes every listed case: exit 0, and each entry is reported so the
    // file can shrink. An entry for a case this run does not select is ignored.
    let shrink = dir.join("shrink.toml");
    std::fs::write(
        &shrink,
        format!("{edited}\"wire.hostile.1\" = \"not selected by the filters\"\n"),
    )
    .unwrap();
    let ss = shrink.to_str().unwrap();
    let out = run(None, &["--baseline", ss, "--report-json", rs]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    for id in &ids {
        assert!(
            stdout.contains(&format!(
                "\nbaseline: {id} passes now; remove it from {ss}\n"
            )),
            "{id}: {stdout}"
        );
    }
    assert!(!stdout.contains("wire.hostile.1"), "{stdout}");
    assert_eq!(
        v_len(&json(&report)["baseline"]["passes_now"]),
        ids.len(),
        "the JSON lists them too"
    );
    // Refreshing it in place leaves an empty baseline.
    let out = run(None, &["--baseline", ss, "--write-baseline", ss]);
    assert_eq!(out.status.code(), Some(0));
    assert!(entries(&shrink).is_empty(), "{:?}", entries(&shrink));

    // 6. A mistyped id is a usage error naming the file, the line and the id, before any run.
    let typo = dir.join("typo.toml");
    std::fs::write(
        &typo,
        "[known]\n\"e2e.perm.16\" = \"ok\"\n\"wire.resp.80\" = \"typo\"\n",
    )
    .unwrap();
    let out = run(Some(&mutant), &["--baseline", typo.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:3: \"wire.resp.80\" in [known] is not a case id",
            typo.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("=="), "nothing ran: {stderr}");

    std::fs::remove_dir_all(&dir).unwrap();
}

fn v_len(v: &serde_json::Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}
