//! The example judged by the suite, as a user would judge it: `callout-conformance run
//! --strict --profile profile.toml` against real nats-servers. The example passes; its broken
//! variant (`-fault ignore-expiry`) is caught by the cases its defect breaks, and only by
//! those. Mistakes on its command line exit 2 with the flag named.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const RESPONDER: &str = env!("CARGO_BIN_EXE_token-responder");

fn harness() -> PathBuf {
    let p = callout_conformance::sut::find_sibling_binary(
        "callout-conformance",
        "CALLOUT_CONFORMANCE_BIN",
    );
    assert!(
        p.is_file(),
        "build the harness first: cargo build -p callout-conformance (looked for {})",
        p.display()
    );
    p
}

/// The example's profile and keys in a scratch directory, the responder named by its built
/// path, `extra` appended to its command.
fn profile(tag: &str, extra: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("token-responder-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["demo.key", "other.key"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(src.join("profile.toml"))
        .unwrap()
        .replace("target/debug/token-responder", RESPONDER)
        .replace(
            "-hmac.key {profile_dir}/demo.key\"\n",
            &format!("-hmac.key {{profile_dir}}/demo.key{extra}\"\n"),
        );
    std::fs::write(dir.join("profile.toml"), text).unwrap();
    dir
}

/// Runs the suite; the exit code and each case's verdict.
fn judge(dir: &Path, filters: &[&str]) -> (i32, Vec<(String, String, String)>, String) {
    let json = dir.join("report.json");
    let out = Command::new(harness())
        .args(["run", "--strict", "--no-color", "--profile"])
        .arg(dir.join("profile.toml"))
        .arg("--report-json")
        .arg(&json)
        .args(filters)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
        .unwrap_or_else(|_| {
            panic!(
                "no report:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let results = report["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_string(),
                r["verdict"].as_str().unwrap_or_default().to_string(),
                r["title"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (out.status.code().unwrap_or(-1), results, stdout)
}

fn verdict_of<'a>(results: &'a [(String, String, String)], title_start: &str) -> &'a str {
    results
        .iter()
        .find(|r| r.2.starts_with(title_start))
        .map(|r| r.1.as_str())
        .unwrap_or_else(|| panic!("no case titled {title_start:?}: {results:?}"))
}

#[test]
fn the_example_passes_its_profile_strictly() {
    let dir = profile("good", "");
    let (code, results, stdout) = judge(&dir, &[]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0, "{stdout}");
    for title in [
        "alice is admitted into APP",
        "ops is admitted into OPS",
        "short-lived is admitted until its credential expires",
        "expired is rejected",
        "forged is rejected",
        "an unknown token is rejected",
        "alice's token with its first character changed is rejected",
        "a client without credentials is rejected",
    ] {
        assert_eq!(verdict_of(&results, title), "pass", "{title}\n{stdout}");
    }
    // The wire catalog ran on alice's minted token.
    for id in [
        "wire.resp.7",
        "wire.resp.8",
        "wire.hostile.1",
        "wire.seal.4",
    ] {
        let r = results.iter().find(|r| r.0 == id).unwrap();
        assert!(
            r.1 == "pass" || r.1 == "informational",
            "{id}: {}\n{stdout}",
            r.1
        );
    }
}

#[test]
fn the_variant_that_ignores_expiry_is_caught_by_the_expiry_cases_alone() {
    let dir = profile("broken", " -fault ignore-expiry");
    let (code, results, stdout) = judge(&dir, &["e2e.profile"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        verdict_of(
            &results,
            "short-lived is admitted until its credential expires"
        ),
        "fail",
        "{stdout}"
    );
    assert_eq!(
        verdict_of(&results, "expired is rejected"),
        "fail",
        "{stdout}"
    );
    // What the defect does not touch still passes.
    for title in [
        "alice is admitted into APP",
        "forged is rejected",
        "an unknown token is rejected",
    ] {
        assert_eq!(verdict_of(&results, title), "pass", "{title}\n{stdout}");
    }
}

#[test]
fn command_line_mistakes_exit_2_naming_the_flag() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    let short = std::env::temp_dir().join(format!("token-short-{}.key", std::process::id()));
    std::fs::write(&short, "too-short\n").unwrap();
    let demo = src.join("demo.key").display().to_string();
    for (args, want) in [
        (
            vec![
                "mint",
                "-hmac.key",
                &demo,
                "-name",
                "a",
                "-account",
                "A",
                "-ttl",
                "soon",
            ],
            "-ttl",
        ),
        (
            vec![
                "mint",
                "-hmac.key",
                short.to_str().unwrap(),
                "-name",
                "a",
                "-account",
                "A",
                "-ttl",
                "5",
            ],
            "at least 32",
        ),
        (
            vec![
                "mint",
                "-hmac.key",
                "/nonexistent.key",
                "-name",
                "a",
                "-account",
                "A",
                "-ttl",
                "5",
            ],
            "cannot read",
        ),
        (
            vec!["mint", "-hmac.key", &demo, "-account", "A", "-ttl", "5"],
            "-name is required",
        ),
        (
            vec![
                "-nats.url",
                "nats://127.0.0.1:1",
                "-issuer.seed",
                "SAnotaseed",
                "-hmac.key",
                &demo,
            ],
            "-issuer.seed",
        ),
        (
            vec!["-nats.url", "nats://127.0.0.1:1", "-colour", "x"],
            "unknown flag -colour",
        ),
    ] {
        let out = Command::new(RESPONDER).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let _ = std::fs::remove_file(&short);
    // A minted token is one line, and carries no key material.
    let out = Command::new(RESPONDER)
        .args([
            "mint",
            "-hmac.key",
            &demo,
            "-name",
            "a",
            "-account",
            "A",
            "-ttl",
            "5",
        ])
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(token.trim().split('.').count(), 2, "{token}");
    let key = std::fs::read_to_string(src.join("demo.key")).unwrap();
    assert!(!token.contains(key.trim()));
}
