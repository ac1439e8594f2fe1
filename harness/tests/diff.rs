//! `callout-conformance diff` against real servers: the reference against a mutant reports
//! exactly the mutant's differences, against itself none, and a usage mistake is exit 2.

use std::process::Command;

use callout_conformance::sut::{find_sibling_binary, SEED_FLAGS};
use serde_json::Value;

const HARNESS: &str = env!("CARGO_BIN_EXE_callout-conformance");

fn diff(args: &[String], json: &std::path::Path) -> (Option<i32>, String, Value) {
    let out = Command::new(HARNESS)
        .arg("diff")
        .args(args)
        .arg("--json")
        .arg(json)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v = std::fs::read_to_string(json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (out.status.code(), text, v)
}

#[test]
fn diff_reports_exactly_what_a_mutant_changes() {
    let dir = std::env::temp_dir().join(format!("callout-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mutant = find_sibling_binary("callout-mutant", "CALLOUT_MUTANT_BIN");
    let reference = find_sibling_binary("callout-responder", "CALLOUT_RESPONDER_BIN");
    let pair = |second: String| {
        vec![
            "--responder".to_string(),
            "reference".into(),
            "--responder-cmd".into(),
            second,
        ]
    };
    // Drops the deny lists: bob's two deny lists, nothing else.
    let (code, text, v) = diff(
        &pair(format!(
            "{} -fault ignore-deny {SEED_FLAGS}",
            mutant.display()
        )),
        &dir.join("a.json"),
    );
    assert_eq!(code, Some(1), "{text}");
    let fields: Vec<(String, String)> = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["identity"].as_str().unwrap().to_string(),
                d["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("bob".to_string(), "admitted.nats.pub.deny".to_string()),
            ("bob".to_string(), "admitted.nats.sub.deny".to_string())
        ],
        "{text}"
    );
    // Admits users not in users.json: the unknown user, and only it.
    let (code, text, v) = diff(
        &pair(format!(
            "{} -fault admit-unknown {SEED_FLAGS}",
            mutant.display()
        )),
        &dir.join("b.json"),
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        v["differences"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["identity"] == "an unknown user"),
        "{text}"
    );
    // The reference against itself: no difference (keys, jti and times are left out).
    let (code, text, v) = diff(
        &pair(format!("again={} {SEED_FLAGS}", reference.display())),
        &dir.join("c.json"),
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(v["differences"], serde_json::json!([]), "{text}");
    assert_eq!(v["identities"].as_array().unwrap().len(), 5, "{text}");
    // One responder is a usage error.
    let (code, text, _) = diff(
        &["--responder".into(), "reference".into()],
        &dir.join("d.json"),
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("diff compares two responders"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
