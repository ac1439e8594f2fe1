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

/// Issue 23, item 10: the memory check reads the responder's whole process group. A wrapper
/// that does not `exec` (here `sh`, whose child holds 48 MiB) is measured with its child; the
/// wrapper alone holds a few MiB.
#[test]
fn the_memory_check_sums_the_responders_process_group() {
    use std::os::unix::process::CommandExt;
    let mut wrapper = Command::new("sh")
        .args([
            "-c",
            "python3 -c 'import time; x = bytearray(48 * 1024 * 1024); x[::4096] = b\"1\" * len(x[::4096]); time.sleep(30)' & wait",
        ])
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = wrapper.id();
    let mut rss = 0;
    for _ in 0..50 {
        rss = callout_conformance::fuzz::rss_kib(pid).unwrap_or(0);
        if rss >= 48 * 1024 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    kill_group(pid);
    let _ = wrapper.wait();
    assert!(rss >= 48 * 1024, "the group's RSS is {rss} KiB");
}

/// SIGKILL to the process group `pgid`, with kill(1).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status();
}
