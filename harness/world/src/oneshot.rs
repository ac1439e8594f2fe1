//! A short command run to its end (a profile's `cred_cmd`): without a shell, in a process
//! group of its own that is killed as a whole when the command's main process exits (whatever
//! it left running in the background goes with it) and at the time limit, and registered with
//! [`crate::cleanup`] meanwhile, so a SIGINT or SIGTERM to the harness kills it too. Its output
//! is read without blocking, so a process that keeps a pipe open cannot hold the caller past
//! the limit, and stdout has a size cap: more is an error, never a silent cut.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::cleanup;

/// How long a command may run and how much it may print.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// From the start to the main process's exit.
    pub time: Duration,
    /// The most stdout may hold; more is [`Failure::TooMuchOutput`].
    pub stdout_max: usize,
    /// How much of stderr is kept (the newest bytes).
    pub stderr_keep: usize,
}

/// A command that ran to its end.
#[derive(Debug)]
pub struct Finished {
    /// The main process's exit status.
    pub status: ExitStatus,
    /// Everything it printed on stdout (at most [`Limits::stdout_max`] bytes).
    pub stdout: Vec<u8>,
    /// The newest bytes of its stderr.
    pub stderr: Vec<u8>,
}

/// Why a command did not run to its end. Its whole process group is gone either way.
#[derive(Debug)]
pub enum Failure {
    /// It could not be started.
    Start(std::io::Error),
    /// Its main process was still running at the time limit.
    TimedOut,
    /// It printed more than [`Limits::stdout_max`] bytes on stdout.
    TooMuchOutput,
}

/// How long the loop waits for output before it looks at the main process again.
const TICK: Duration = Duration::from_millis(10);
/// How long to wait for a killed group's processes to be gone.
const GONE_WAIT: Duration = Duration::from_secs(2);

/// Runs `argv` (not empty) within `limits`; see the module's documentation.
pub fn run(argv: &[String], limits: &Limits) -> Result<Finished, Failure> {
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(Failure::Start)?;
    let mut out = Pipe::new(child.stdout.take().map(OwnedFd::from));
    let mut err = Pipe::new(child.stderr.take().map(OwnedFd::from));
    let mut group = Group::new(child);
    let deadline = Instant::now() + limits.time;
    let status = loop {
        if let Some(status) = group.exited() {
            break status;
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Failure::TimedOut);
        }
        read_ready(&mut out, &mut err, TICK.min(deadline - now));
        if out.too_long(limits.stdout_max) {
            return Err(Failure::TooMuchOutput);
        }
        err.keep_tail(limits.stderr_keep);
    };
    // Everything the main process wrote is in the pipes now; what it left running goes, so
    // nothing can keep them open, and the rest is read without waiting.
    group.kill();
    while read_ready(&mut out, &mut err, Duration::ZERO) {}
    if out.too_long(limits.stdout_max) {
        return Err(Failure::TooMuchOutput);
    }
    err.keep_tail(limits.stderr_keep);
    Ok(Finished {
        status,
        stdout: out.buf,
        stderr: err.buf,
    })
}

/// The command's process group: killed (SIGKILL to the group), its main process reaped and
/// its other members waited for, at the latest when it is dropped.
struct Group {
    child: Child,
    pgid: i32,
    killed: bool,
    _registration: cleanup::Registration,
}

impl Group {
    fn new(child: Child) -> Group {
        let pgid = child.id() as i32;
        Group {
            _registration: cleanup::register_group(child.id()),
            child,
            pgid,
            killed: false,
        }
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn kill(&mut self) {
        if self.killed {
            return;
        }
        self.killed = true;
        cleanup::signal_group(self.pgid, libc::SIGKILL);
        let _ = self.child.wait();
        let deadline = Instant::now() + GONE_WAIT;
        while cleanup::group_alive(self.pgid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        // Members orphaned to the harness (a subreaper) are its zombies now.
        cleanup::reap_group(self.pgid);
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One output pipe, read until its end.
struct Pipe {
    file: Option<File>,
    buf: Vec<u8>,
}

impl Pipe {
    fn new(fd: Option<OwnedFd>) -> Pipe {
        Pipe {
            file: fd.map(File::from),
            buf: Vec::new(),
        }
    }

    fn too_long(&self, max: usize) -> bool {
        self.buf.len() > max
    }

    fn keep_tail(&mut self, keep: usize) {
        if self.buf.len() > keep {
            self.buf.drain(..self.buf.len() - keep);
        }
    }

    /// Reads what poll(2) said is there; closes the pipe at its end or on an error.
    fn read_once(&mut self) {
        let Some(f) = self.file.as_mut() else {
            return;
        };
        let mut chunk = [0u8; 16 * 1024];
        match f.read(&mut chunk) {
            Ok(0) => self.file = None,
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => self.file = None,
        }
    }
}

/// Waits up to `wait` for either pipe to be readable and reads each that is, once; true when
/// one was.
fn read_ready(out: &mut Pipe, err: &mut Pipe, wait: Duration) -> bool {
    let fd = |p: &Pipe| p.file.as_ref().map_or(-1, |f| f.as_raw_fd());
    let pollfd = |fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let mut fds = [pollfd(fd(out)), pollfd(fd(err))];
    if fds.iter().all(|f| f.fd < 0) {
        std::thread::sleep(wait);
        return false;
    }
    let ms = wait.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: poll(2) on an array of two pollfd this function owns; negative fds are ignored.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    if n <= 0 {
        return false;
    }
    let ready = |i: usize| fds[i].revents != 0;
    let (r0, r1) = (ready(0), ready(1));
    if r0 {
        out.read_once();
    }
    if r1 {
        err.read_once();
    }
    r0 || r1
}
