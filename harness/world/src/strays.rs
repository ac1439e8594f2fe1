//! Processes that leave the responder's process group: a wrapper that starts its children
//! with `setsid`, a responder that daemonizes itself. Signalling the group misses them, so the
//! harness finds them another way:
//!
//! - Every responder is started with [`TAG_VAR`] set to a tag of its own ([`new_tag`]: the
//!   harness's PID and a counter). The environment is inherited through `fork`, `setsid`,
//!   `exec` and a daemon's double fork, so every descendant of that responder carries it,
//!   wherever it moved to. Nothing else carries it: nats-server processes, other responders
//!   (their own tag) and the harness itself never match, so stopping one responder never
//!   touches what the harness still uses.
//! - Stopping a responder stops every live process holding its tag ([`stop_tagged`]):
//!   SIGTERM, a grace period, then SIGKILL until none is left (one that forks while it is
//!   being stopped is found on the next pass).
//! - The harness is a child subreaper ([`become_subreaper`], at start-up, beside the signal
//!   handlers): an orphaned descendant is re-parented to the harness rather than to init, so
//!   the harness can reap it once it is killed, and none outlives it unnoticed.
//!
//! A process that clears its environment (`env -i`) before it escapes the group is not found;
//! a child started that way is the responder's own choice to leave the harness.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The environment variable that marks a responder's processes.
pub const TAG_VAR: &str = "CALLOUT_CONFORMANCE_SUT";

/// Makes this process a child subreaper (Linux): orphaned descendants are re-parented to it.
/// Returns false where that is not possible.
pub fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with integer arguments only; no memory is involved.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// A tag no other responder of any harness process carries.
pub fn new_tag() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `(pid, ppid)` of every live (not zombie) process whose environment holds `TAG_VAR=tag`,
/// the harness itself excepted.
pub fn tagged(tag: &str) -> Vec<(i32, i32)> {
    let needle = format!("{TAG_VAR}={tag}");
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        // Unreadable (another user's process) or empty (a zombie): not ours to stop.
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if !env.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            continue;
        }
        if let Some(f) = crate::procstat::stat_fields(pid as u32) {
            let ppid = f.get(1).and_then(|p| p.parse().ok());
            if let (Some(state), Some(ppid)) = (f.first(), ppid) {
                if crate::procstat::is_live(state) {
                    out.push((pid, ppid));
                }
            }
        }
    }
    out
}

/// Stops every process tagged `tag`: SIGTERM, up to `grace` for them to go, then SIGKILL
/// until none is left (at most a few seconds). Reaps those re-parented to the harness, except
/// `keep` (a PID whose status a `Child` handle collects; 0 for none). Returns how many
/// processes it found.
pub fn stop_tagged(tag: &str, grace: Duration, keep: i32) -> usize {
    let mut seen = Seen {
        keep,
        ..Seen::default()
    };
    let first = tagged(tag);
    if first.is_empty() {
        return 0;
    }
    seen.note(&first);
    for (pid, _) in &first {
        signal(*pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    loop {
        let now = tagged(tag);
        seen.note(&now);
        reap(&seen.ours);
        if now.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let now = tagged(tag);
        seen.note(&now);
        for (pid, _) in &now {
            signal(*pid, libc::SIGKILL);
        }
        reap(&seen.ours);
        if now.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // A killed process is a zombie until its parent (the harness, for an orphan) reaps it.
    let deadline = Instant::now() + Duration::from_secs(1);
    while !reap(&seen.ours) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    seen.found.len()
}

/// What [`stop_tagged`] has found: every PID, and those it must reap.
#[derive(Default)]
struct Seen {
    keep: i32,
    found: BTreeSet<i32>,
    ours: BTreeSet<i32>,
}

impl Seen {
    fn note(&mut self, procs: &[(i32, i32)]) {
        let me = std::process::id() as i32;
        for (pid, ppid) in procs {
            self.found.insert(*pid);
            if *ppid == me && *pid != self.keep {
                self.ours.insert(*pid);
            }
        }
    }
}

fn signal(pid: i32, sig: i32) {
    if pid > 1 {
        // SAFETY: kill(2) on one process; no memory is involved.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Reaps each of `pids` that has exited; true when none is left to reap.
fn reap(pids: &BTreeSet<i32>) -> bool {
    let mut all = true;
    for pid in pids {
        let mut status = 0;
        // SAFETY: waitpid on one PID with WNOHANG; the status is written to a local.
        let r = unsafe { libc::waitpid(*pid, &mut status, libc::WNOHANG) };
        if r == 0 {
            all = false;
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn a_process_that_left_the_group_with_setsid_is_found_by_its_tag_and_stopped() {
        let tag = new_tag();
        let other = new_tag();
        let start = |tag: &str| {
            Command::new("sh")
                .args(["-c", "setsid sleep 300 & echo $!; wait"])
                .env(TAG_VAR, tag)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let mut a = start(&tag);
        let mut b = start(&other);
        let deadline = Instant::now() + Duration::from_secs(5);
        while (tagged(&tag).len() < 2 || tagged(&other).len() < 2) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(tagged(&tag).len(), 2, "{:?}", tagged(&tag));
        assert!(stop_tagged(&tag, Duration::from_millis(500), a.id() as i32) >= 2);
        let _ = a.wait();
        assert!(tagged(&tag).is_empty(), "{:?}", tagged(&tag));
        // Another responder's processes are untouched.
        assert_eq!(tagged(&other).len(), 2, "{:?}", tagged(&other));
        stop_tagged(&other, Duration::ZERO, b.id() as i32);
        let _ = b.wait();
        assert!(tagged(&other).is_empty());
        assert_eq!(stop_tagged(&tag, Duration::ZERO, 0), 0);
    }
}
