//! `callout-conformance fuzz` against the crash mutant (`callout-mutant -fault
//! crash-on-garbage`) on a real nats-server: within the default budget it finds the crash,
//! saves the input that kills the responder, and exits 1.

use std::process::Command;

use callout_conformance::sut::{find_sibling_binary, SEED_FLAGS};

#[test]
fn fuzz_finds_the_crash_mutants_crash_and_saves_the_input() {
    let tool = env!("CARGO_BIN_EXE_callout-conformance");
    let mutant = find_sibling_binary("callout-mutant", "CALLOUT_MUTANT_BIN");
    let dir = std::env::temp_dir().join(format!("fuzz-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(tool)
        .args(["fuzz", "--seed", "3", "--findings"])
        .arg(&dir)
        .arg("--responder-cmd")
        .arg(format!(
            "{} -fault crash-on-garbage {SEED_FLAGS}",
            mutant.display()
        ))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("crashes 1"), "{stdout}");
    assert!(stdout.contains("input saved to"), "{stdout}");
    let saved: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".bin"))
        .collect();
    assert_eq!(saved.len(), 1, "one crashing input saved");
    assert!(std::fs::metadata(saved[0].path()).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}
