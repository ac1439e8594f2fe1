//! The container backend: nats-server in a container, started with testcontainers.
//!
//! Three steps, each usable on its own:
//!
//! * [`ensure_engine`] finds a Docker-API engine and points `DOCKER_HOST` (which testcontainers
//!   reads) at it: a reachable `DOCKER_HOST`, else a reachable default Docker socket, else a
//!   Podman API service on [`PODMAN_SOCKET`] that it starts itself when none is alive (after
//!   making sure `/etc/containers/containers.conf` selects runc and modest ulimits, see
//!   `environment.md`). It never installs anything: `ci/install-podman.sh` does that.
//! * [`ensure_image`] builds `localhost/nats-server:<version>` from the provisioned static
//!   binary (a one-file tar, `podman import` / `docker import`), since no registry is reachable.
//! * [`start_container`] runs that image with the rendered config copied in, on a free host port
//!   published on 127.0.0.1 only, and waits for "Server is ready" on stderr.
//!
//! # How the container is kept and removed
//!
//! testcontainers' `ContainerAsync` removes its container in an async `Drop` that needs the
//! runtime it was created on (and panics outside any runtime), while [`RunningServer`]'s stop
//! closure is synchronous and may run anywhere: inside a current-thread test runtime, inside a
//! multi-thread one, or after the runtime is gone. So this backend uses testcontainers' blocking
//! API (feature `blocking`): the container is started on a plain thread and all of its I/O runs
//! on testcontainers' own internal runtime, never on the caller's. The stop closure owns the
//! blocking `Container` and removes it (`rm`, i.e. a forced delete with volumes) on a fresh
//! thread that it joins, so no runtime context is involved; if that fails it falls back to
//! `podman rm -f <id>` / `docker rm -f <id>`. A start that fails half-way removes whatever it
//! created by label. Containers carry the labels [`LABEL`]`=1` and [`LABEL_PORT`]`=<host port>`,
//! so a CI step can sweep leftovers of a killed run:
//! `podman rm -f $(podman ps -aq --filter label=callout-conformance)`.
//!
//! The Podman service is shared by every test process and is left running;
//! `ci/install-podman.sh stop` stops it (PID in [`PODMAN_PID_FILE`]).
//!
//! The code: [`engine`] finds and configures the engine, with `conf` for containers.conf;
//! [`image`] builds the image; [`start`] starts, lists and removes containers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::server::ServerError;

mod conf;
pub mod engine;
pub mod image;
pub mod start;

pub use engine::ensure_engine;
pub use image::{ensure_image, image_name};
pub use start::{containers_on_port, start_container};

/// Repository part of the local image name; the tag is the server version.
pub const IMAGE_REPO: &str = "localhost/nats-server";
/// Directory of the Podman service this module starts (socket, PID file, log).
pub const PODMAN_DIR: &str = "/run/callout-podman";
/// `DOCKER_HOST` value of the Podman service this module starts.
pub const PODMAN_SOCKET: &str = "unix:///run/callout-podman/podman.sock";
/// Where the PID of the Podman service started by [`ensure_engine`] is recorded.
pub const PODMAN_PID_FILE: &str = "/run/callout-podman/podman.pid";
/// The Podman configuration [`ensure_engine`] checks.
pub const CONTAINERS_CONF: &str = "/etc/containers/containers.conf";
/// Label set to `1` on every container this module starts.
pub const LABEL: &str = "callout-conformance";
/// Label holding the published host port.
pub const LABEL_PORT: &str = "callout-conformance.port";

/// Which command-line client manages images of the engine in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cli {
    Podman,
    Docker,
}

impl Cli {
    pub(crate) fn program(self) -> &'static str {
        match self {
            Cli::Podman => "podman",
            Cli::Docker => "docker",
        }
    }
}

pub(crate) fn container_err(msg: impl Into<String>) -> ServerError {
    ServerError::Container(msg.into())
}

/// Runs `work` unless `done()` already holds. Several processes (parallel test binaries) may get
/// here at once: the one that creates `lock` (exclusively) does the work, the others wait until
/// `done()` holds or the lock goes away (then they try themselves). A lock older than `timeout`
/// is taken to be left by a killed process and broken.
pub(crate) fn once_across_processes(
    lock: &Path,
    timeout: Duration,
    done: impl Fn() -> bool,
    work: impl FnOnce() -> Result<(), ServerError>,
) -> Result<(), ServerError> {
    let deadline = Instant::now() + timeout * 2;
    loop {
        if done() {
            return Ok(());
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(lock)
        {
            Ok(mut f) => {
                let _ = writeln!(f, "{}", std::process::id());
                let result = if done() { Ok(()) } else { work() };
                let _ = std::fs::remove_file(lock);
                return result;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let stale = std::fs::metadata(lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > timeout);
                if stale {
                    let _ = std::fs::remove_file(lock);
                    continue;
                }
                if Instant::now() > deadline {
                    return Err(container_err(format!(
                        "gave up waiting for another process holding {}",
                        lock.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                return Err(container_err(format!(
                    "cannot create {}: {e}",
                    lock.display()
                )))
            }
        }
    }
}

/// Where the Podman service's output goes (for error messages and CI logs).
pub fn podman_log_path() -> PathBuf {
    Path::new(PODMAN_DIR).join("podman.log")
}
