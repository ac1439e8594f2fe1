//! What the harness must undo when it stops early: the process groups it started (responders
//! and whatever they forked), the processes that left a responder's group (`setsid`, a
//! daemon: found by the tag in their environment, see [`crate::strays`]), the servers, and
//! the scratch directories that hold seeds and passwords. Owners register when they start
//! something and deregister once they have cleaned up after themselves; on SIGINT or SIGTERM
//! a watcher thread stops everything still registered, removes the directories and exits 130
//! or 143. [`install_signal_handlers`] also makes the harness a child subreaper, so that an
//! orphaned descendant of a responder is re-parented to the harness, never to init.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

/// Something to undo.
enum Entry {
    /// A process group: SIGTERM, a grace period, SIGKILL; then the processes carrying the
    /// responder's tag, when it has one ([`crate::strays`]).
    Group(i32, Option<String>),
    /// A stop function (servers: kill the process, remove the container).
    Stop(Box<dyn FnOnce() + Send>),
}

static ENTRIES: Mutex<BTreeMap<u64, Entry>> = Mutex::new(BTreeMap::new());
static DIRS: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
static NEXT: AtomicU64 = AtomicU64::new(1);
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A registration; dropping it deregisters (the owner has cleaned up itself).
#[derive(Debug)]
pub struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&ENTRIES).remove(&self.0);
    }
}

fn register(e: Entry) -> Registration {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if SHUTTING_DOWN.load(Ordering::SeqCst) {
        // Started while the harness is being stopped: undo it at once.
        undo(e);
    } else {
        lock(&ENTRIES).insert(id, e);
    }
    Registration(id)
}

fn undo(e: Entry) {
    match e {
        Entry::Group(g, tag) => {
            signal_group(g, libc::SIGKILL);
            if let Some(tag) = tag {
                crate::strays::stop_tagged(&tag, Duration::ZERO, 0);
            }
        }
        Entry::Stop(f) => f(),
    }
}

/// Registers process group `pgid` (a child started with `process_group(0)`).
pub fn register_group(pgid: u32) -> Registration {
    register(Entry::Group(pgid as i32, None))
}

/// Registers a responder: process group `pgid` and every process carrying its `tag` in
/// [`crate::strays::TAG_VAR`], wherever it moved to.
pub fn register_responder(pgid: u32, tag: &str) -> Registration {
    register(Entry::Group(pgid as i32, Some(tag.to_string())))
}

/// Registers a stop function, called if the harness is signalled before the owner ran it.
pub fn register_stop(f: Box<dyn FnOnce() + Send>) -> Registration {
    register(Entry::Stop(f))
}

/// Registers a scratch directory, removed on a signal or by [`remove_dir`].
pub fn register_dir(dir: &Path) {
    lock(&DIRS).insert(dir.to_path_buf());
}

/// Removes a registered scratch directory and forgets it.
pub fn remove_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    lock(&DIRS).remove(dir);
}

/// Removes every scratch directory still registered (the end of `main`, on any path).
pub fn remove_all_dirs() {
    let dirs = std::mem::take(&mut *lock(&DIRS));
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Sends `sig` to every process of group `pgid`; false when the group no longer exists.
pub fn signal_group(pgid: i32, sig: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe { libc::kill(-pgid, sig) == 0 }
}

/// True while group `pgid` has a member that is not a zombie. On Linux it reads `/proc`
/// (zombies whose parent never reaps them must not count); elsewhere it asks kill(2).
pub fn group_alive(pgid: i32) -> bool {
    if !std::path::Path::new("/proc").is_dir() {
        return signal_group(pgid, 0);
    }
    !crate::procstat::members(pgid).is_empty()
}

/// SIGTERM to every group, up to `grace` for them to go, then SIGKILL; reaps them (only for
/// the harness's last act: it takes the exit status away from their `Child` handles).
fn stop_and_reap_groups(groups: &[i32], grace: Duration) {
    for g in groups {
        signal_group(*g, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && groups.iter().any(|g| group_alive(*g)) {
        reap(groups);
        std::thread::sleep(Duration::from_millis(20));
    }
    for g in groups {
        if group_alive(*g) {
            signal_group(*g, libc::SIGKILL);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && groups.iter().any(|g| group_alive(*g)) {
        reap(groups);
        std::thread::sleep(Duration::from_millis(20));
    }
    reap(groups);
}

/// Reaps the members of group `pgid` that were re-parented to the harness (a subreaper) and
/// have exited. Call it only once the group leader's status is collected: it takes the exit
/// status of any child of the harness in that group.
pub fn reap_group(pgid: i32) {
    if pgid > 1 {
        reap(&[pgid]);
    }
}

fn reap(groups: &[i32]) {
    for g in groups {
        // SAFETY: waitpid with WNOHANG on a process group; the status is written to a local.
        let mut status = 0;
        while unsafe { libc::waitpid(-*g, &mut status, libc::WNOHANG) } > 0 {}
    }
}

/// Stops everything registered and removes the directories; returns when done.
pub fn undo_everything() {
    SHUTTING_DOWN.store(true, Ordering::SeqCst);
    let entries = std::mem::take(&mut *lock(&ENTRIES));
    let mut groups = Vec::new();
    let mut tags = Vec::new();
    let mut stops = Vec::new();
    for e in entries.into_values() {
        match e {
            Entry::Group(g, tag) => {
                groups.push(g);
                tags.extend(tag);
            }
            Entry::Stop(f) => stops.push(f),
        }
    }
    // Responders first (so they do not see their server go and log reconnects), with what
    // left their groups, then servers.
    stop_and_reap_groups(&groups, Duration::from_secs(3));
    for tag in &tags {
        crate::strays::stop_tagged(tag, Duration::from_secs(1), 0);
    }
    for f in stops {
        f();
    }
    remove_all_dirs();
}

/// Installs the SIGINT/SIGTERM handling once: the handler only writes the signal number to a
/// pipe; a watcher thread reads it, undoes everything and exits 128 + signal.
pub fn install_signal_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if cfg!(target_os = "linux") && !crate::strays::become_subreaper() {
            eprintln!("callout-conformance: warning: cannot become a child subreaper; a process a responder starts outside its group is still stopped by its tag, but not reaped");
        }
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 fills the two descriptors of the local array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            eprintln!("callout-conformance: warning: cannot create the signal pipe; an interrupted run may leave processes behind");
            return;
        }
        // The reading end blocks; only the writing end (used in the handler) must not.
        // SAFETY: fcntl on a descriptor this function owns.
        unsafe {
            let fl = libc::fcntl(fds[0], libc::F_GETFL);
            libc::fcntl(fds[0], libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
        PIPE_WRITE.store(fds[1], Ordering::SeqCst);
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: the action only calls write(2), which is async-signal-safe, on a
            // non-blocking pipe.
            let r = unsafe {
                signal_hook_registry::register(sig, move || {
                    let b = sig as u8;
                    libc::write(
                        PIPE_WRITE.load(Ordering::Relaxed),
                        &b as *const u8 as *const libc::c_void,
                        1,
                    );
                })
            };
            if r.is_err() {
                eprintln!("callout-conformance: warning: cannot handle signal {sig}");
            }
        }
        let read_fd = fds[0];
        let spawned = std::thread::Builder::new()
            .name("signal-watcher".into())
            .spawn(move || {
                let mut b = 0u8;
                loop {
                    // SAFETY: reads one byte into a local.
                    let n = unsafe { libc::read(read_fd, &mut b as *mut u8 as *mut libc::c_void, 1) };
                    if n == 1 {
                        break;
                    }
                    if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    return;
                }
                let sig = b as i32;
                let name = if sig == libc::SIGINT { "SIGINT" } else { "SIGTERM" };
                eprintln!("callout-conformance: {name}: stopping the servers and responders it started and removing its files");
                undo_everything();
                std::process::exit(128 + sig);
            });
        if spawned.is_err() {
            eprintln!("callout-conformance: warning: cannot start the signal watcher");
        }
    });
}
