//! What a responder costs, read from `/proc` for its whole process group (a responder started
//! through a wrapper, or with worker processes, is all of its group): CPU time (user + system,
//! of the living members and of the children they reaped), resident memory now and at its
//! peak. Linux only: elsewhere every reading is `None`.
//!
//! CPU time comes in clock ticks (`sysconf(_SC_CLK_TCK)`, 100 per second on Linux), so a
//! reading is good to 10 ms: a cost per authorization needs a few thousand of them.

use std::time::Duration;

/// One reading of a process group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupUsage {
    /// User + system CPU time of the members, and of the children they reaped.
    pub cpu: Duration,
    /// Resident set size now, summed over the members, KiB (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident set size, summed over the members, KiB (`VmHWM`).
    pub peak_rss_kib: u64,
    /// Members read.
    pub processes: usize,
}

/// True for a state field (`stat_fields(pid)[0]`) of a process that is not a zombie.
pub fn is_live(state: &str) -> bool {
    state != "Z" && state != "X"
}

/// The members of group `pgid` that are not zombies.
pub fn members(pgid: i32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            stat_fields(*pid).is_some_and(|f| {
                f.first().is_some_and(|s| is_live(s))
                    && f.get(2).and_then(|p| p.parse::<i32>().ok()) == Some(pgid)
            })
        })
        .collect()
}

/// The fields of `/proc/PID/stat` after `(comm)`: state, ppid, pgrp, … (`comm` may hold
/// spaces and parentheses, hence the last `)`). The one parser of that file.
pub fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(String::from).collect())
}

/// `VmRSS` and `VmHWM` of `pid`, KiB.
fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Clock ticks per second.
fn ticks_per_second() -> u64 {
    // SAFETY: sysconf reads a constant of the system; no memory is involved.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// A reading of group `pgid`, or `None` when it has no member (or there is no `/proc`).
pub fn group_usage(pgid: i32) -> Option<GroupUsage> {
    let pids = members(pgid);
    if pids.is_empty() {
        return None;
    }
    let hz = ticks_per_second();
    let mut u = GroupUsage::default();
    for pid in pids {
        let Some(f) = stat_fields(pid) else { continue };
        // utime, stime, cutime, cstime are fields 14-17 of stat; here (after comm) 11-14.
        let ticks: u64 = (11..=14)
            .filter_map(|i| f.get(i).and_then(|v| v.parse::<i64>().ok()))
            .map(|v| v.max(0) as u64)
            .sum();
        u.cpu += Duration::from_micros(ticks * 1_000_000 / hz);
        if let Some((rss, peak)) = memory_kib(pid) {
            u.rss_kib += rss;
            u.peak_rss_kib += peak;
        }
        u.processes += 1;
    }
    Some(u)
}

/// The sum of the readings of several groups (the instances of a responder).
pub fn groups_usage(pgids: &[i32]) -> Option<GroupUsage> {
    let readings: Vec<GroupUsage> = pgids.iter().filter_map(|g| group_usage(*g)).collect();
    if readings.is_empty() {
        return None;
    }
    Some(
        readings
            .iter()
            .fold(GroupUsage::default(), |a, b| GroupUsage {
                cpu: a.cpu + b.cpu,
                rss_kib: a.rss_kib + b.rss_kib,
                peak_rss_kib: a.peak_rss_kib + b.peak_rss_kib,
                processes: a.processes + b.processes,
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn a_group_counts_the_cpu_and_memory_of_every_member() {
        // A shell (the group leader) whose child burns CPU: the wrapper alone would read ~0.
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done & wait",
            ])
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id() as i32;
        std::thread::sleep(Duration::from_millis(300));
        let u = group_usage(pgid).expect("the group is alive");
        assert!(u.processes >= 2, "{u:?}");
        assert!(u.cpu >= Duration::from_millis(100), "{u:?}");
        assert!(u.rss_kib > 0 && u.peak_rss_kib >= u.rss_kib, "{u:?}");
        let _ = child.kill();
        crate::cleanup::signal_group(pgid, libc::SIGKILL);
        let _ = child.wait();
        assert_eq!(groups_usage(&[pgid]), None, "no member left");
    }
}
