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

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testcontainers::bollard::models::HostConfig;
use testcontainers::core::logs::LogFrame;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt};

use crate::provision::ServerBinary;
use crate::server::{free_port, scratch_dir, RunningServer, ServerConf, ServerError};

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

const LABEL_INSTANCE: &str = "callout-conformance.instance";
const CONF_IN_CONTAINER: &str = "/etc/nats/server.conf";
const CONTAINER_PORT: u16 = 4222;
/// The WebSocket listener's port inside the container (published on the fixture's host port).
const WS_CONTAINER_PORT: u16 = 8080;
/// Where the TLS files are copied in the container.
const TLS_IN_CONTAINER: &str = "/etc/nats/tls";

/// What a container needs besides its config: files to copy in, and the WebSocket port to
/// publish (host port).
struct Extras {
    files: Vec<(String, Vec<u8>)>,
    websocket: Option<u16>,
    /// Routes or leaf-node connections to other servers: the container runs on the host's
    /// network, listening on loopback exactly as a process would, so that every server of the
    /// topology reaches the others' loopback ports.
    host_network: bool,
}

/// The config as the container sees it: TLS files at their paths in the container, the
/// WebSocket listener on its container port; and what to copy in and publish.
fn for_container(conf: &ServerConf) -> Result<(ServerConf, Extras), ServerError> {
    let mut c = conf.clone();
    let mut files = Vec::new();
    if let Some(t) = &mut c.tls {
        for (path, name) in [
            (&mut t.cert, "server-cert.pem"),
            (&mut t.key, "server-key.pem"),
            (&mut t.ca, "ca.pem"),
        ] {
            let bytes = std::fs::read(&*path).map_err(|e| {
                container_err(format!(
                    "cannot read {} to copy it into the container: {e}",
                    path.display()
                ))
            })?;
            let inside = format!("{TLS_IN_CONTAINER}/{name}");
            files.push((inside.clone(), bytes));
            *path = inside.into();
        }
    }
    let websocket = c.websocket_port.take();
    if websocket.is_some() {
        c.websocket_port = Some(WS_CONTAINER_PORT);
    }
    let host_network =
        c.cluster.is_some() || c.leafnode_port.is_some() || !c.leaf_remotes.is_empty();
    if host_network {
        // On the host's network the WebSocket listener binds its own host port.
        c.websocket_port = websocket;
    }
    Ok((
        c,
        Extras {
            files,
            websocket: if host_network { None } else { websocket },
            host_network,
        },
    ))
}
const DEFAULT_DOCKER_SOCKET: &str = "unix:///var/run/docker.sock";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const SERVICE_TIMEOUT: Duration = Duration::from_secs(30);

/// The settings `environment.md` requires (crun fails on this host's hybrid cgroups, and
/// Podman's default rlimits are above what the host permits).
const ULIMITS: [&str; 2] = ["nofile=1024:1024", "nproc=1000:1000"];
const CONTAINERS_CONF_TEXT: &str = "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1000:1000\"]\n\n[engine]\nruntime = \"runc\"\n";

/// Which command-line client manages images of the engine in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cli {
    Podman,
    Docker,
}

impl Cli {
    fn program(self) -> &'static str {
        match self {
            Cli::Podman => "podman",
            Cli::Docker => "docker",
        }
    }
}

/// The engine chosen by [`ensure_engine`].
#[derive(Clone, Debug)]
struct Engine {
    host: String,
    cli: Cli,
}

static ENGINE: Mutex<Option<Engine>> = Mutex::new(None);
static INSTANCE: AtomicU64 = AtomicU64::new(0);

fn container_err(msg: impl Into<String>) -> ServerError {
    ServerError::Container(msg.into())
}

// ---------------------------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------------------------

/// Makes sure a Docker-API engine is reachable and `DOCKER_HOST` points at it, in this order:
///
/// 1. `DOCKER_HOST`, when set and answering `GET /version` (hosts that cannot be probed with
///    plain HTTP, e.g. `ssh://` or TLS, are trusted as they are);
/// 2. else the default `unix:///var/run/docker.sock`, when answering;
/// 3. Podman, when installed: checks (and if needed writes) [`CONTAINERS_CONF`], starts
///    `podman system service --time=0` on [`PODMAN_SOCKET`] in the background unless one is
///    already answering there, records its PID in [`PODMAN_PID_FILE`] and sets `DOCKER_HOST`
///    for this process. The service outlives the process (it is shared by later runs);
///    `ci/install-podman.sh stop` stops it.
///
/// Installs nothing: with neither engine, the error says to install Podman or set `DOCKER_HOST`.
/// Setting `DOCKER_HOST` mutates the process environment; it is done under a lock, and the value
/// only changes when the engine chosen before stops answering. A `DOCKER_HOST` that is set but
/// unreachable is replaced (with a warning) when Podman is available.
pub fn ensure_engine() -> Result<(), ServerError> {
    let mut guard = ENGINE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(engine) = guard.as_ref() {
        if api_get(&engine.host, "/_ping").is_ok() {
            if std::env::var("DOCKER_HOST").ok().as_deref() != Some(engine.host.as_str()) {
                std::env::set_var("DOCKER_HOST", &engine.host);
            }
            return Ok(());
        }
    }
    let engine = detect_engine()?;
    std::env::set_var("DOCKER_HOST", &engine.host);
    tracing::debug!(host = %engine.host, cli = engine.cli.program(), "container engine");
    *guard = Some(engine);
    Ok(())
}

fn detect_engine() -> Result<Engine, ServerError> {
    let podman = cli_available(Cli::Podman);
    let docker = cli_available(Cli::Docker);
    let mut notes = Vec::new();
    if let Some(host) = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()) {
        match api_get(&host, "/version") {
            Ok(body) => return engine_for(host, &body, podman, docker),
            Err(e) => {
                tracing::warn!(%host, error = %e, "DOCKER_HOST is not reachable; looking for another engine");
                notes.push(format!("DOCKER_HOST={host} is not reachable ({e})"));
            }
        }
    } else {
        match api_get(DEFAULT_DOCKER_SOCKET, "/version") {
            Ok(body) => {
                return engine_for(DEFAULT_DOCKER_SOCKET.to_string(), &body, podman, docker)
            }
            Err(e) if docker => notes.push(format!(
                "the docker CLI is installed but {DEFAULT_DOCKER_SOCKET} does not answer ({e})"
            )),
            Err(_) => {}
        }
    }
    if podman {
        ensure_containers_conf(Path::new(CONTAINERS_CONF))?;
        start_podman_service()?;
        return Ok(Engine {
            host: PODMAN_SOCKET.to_string(),
            cli: Cli::Podman,
        });
    }
    let why = if notes.is_empty() {
        "neither podman nor docker is installed".to_string()
    } else {
        notes.join("; ")
    };
    Err(container_err(format!(
        "no container engine: {why}. Install podman (`apt-get install -y podman runc`, or run ci/install-podman.sh as root) or set DOCKER_HOST to a reachable Docker API socket"
    )))
}

/// Chooses the image CLI for an engine whose `/version` answered `body`.
fn engine_for(host: String, body: &str, podman: bool, docker: bool) -> Result<Engine, ServerError> {
    let is_podman = body.contains("Podman");
    let cli = match (is_podman, podman, docker) {
        (true, true, _) => Cli::Podman,
        (false, _, true) => Cli::Docker,
        (true, false, true) => Cli::Docker,
        (false, true, false) => Cli::Podman,
        (_, false, false) => {
            return Err(container_err(format!(
                "the engine at {host} answers, but neither the podman nor the docker CLI is installed to build the nats-server image"
            )))
        }
    };
    Ok(Engine { host, cli })
}

fn cli_available(cli: Cli) -> bool {
    Command::new(cli.program())
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A tiny HTTP/1.1 GET against a Docker API endpoint (`unix://` or `tcp://`), for probing only.
/// Returns the whole response (status line, headers, body) when the status is 200. Hosts with
/// other schemes (`ssh://`, `https://`, …) or TLS (`DOCKER_TLS_VERIFY`) cannot be probed here
/// and count as reachable.
fn api_get(host: &str, path: &str) -> Result<String, String> {
    let timeout = Duration::from_secs(3);
    let request = format!("GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: callout-conformance\r\nConnection: close\r\n\r\n");
    let mut buf = Vec::new();
    if let Some(p) = host.strip_prefix("unix://") {
        let mut s =
            std::os::unix::net::UnixStream::connect(p).map_err(|e| format!("connect {p}: {e}"))?;
        s.set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        let _ = s.read_to_end(&mut buf);
    } else if let Some(a) = host
        .strip_prefix("tcp://")
        .filter(|_| std::env::var_os("DOCKER_TLS_VERIFY").is_none_or(|v| v.is_empty()))
    {
        use std::net::ToSocketAddrs;
        let addr = a
            .trim_end_matches('/')
            .to_socket_addrs()
            .map_err(|e| format!("resolve {a}: {e}"))?
            .next()
            .ok_or_else(|| format!("resolve {a}: no address"))?;
        let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| format!("connect {a}: {e}"))?;
        s.set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        let _ = s.read_to_end(&mut buf);
    } else {
        return Ok(String::new());
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.lines().next().unwrap_or("");
    if status.starts_with("HTTP/1.") && status.split_whitespace().nth(1) == Some("200") {
        Ok(text)
    } else if status.is_empty() {
        Err("no answer".into())
    } else {
        Err(format!("answered {status:?}"))
    }
}

/// Starts the shared Podman API service on [`PODMAN_SOCKET`] unless one already answers there.
fn start_podman_service() -> Result<(), ServerError> {
    let alive = || api_get(PODMAN_SOCKET, "/_ping").is_ok();
    if alive() {
        return Ok(());
    }
    let dir = Path::new(PODMAN_DIR);
    std::fs::create_dir_all(dir).map_err(|e| {
        container_err(format!("cannot create {PODMAN_DIR} for the podman service: {e} (this needs root; or set DOCKER_HOST to a running engine)"))
    })?;
    once_across_processes(&dir.join("start.lock"), SERVICE_TIMEOUT, alive, || {
        spawn_podman_service(dir)
    })
}

/// Runs `work` unless `done()` already holds. Several processes (parallel test binaries) may get
/// here at once: the one that creates `lock` (exclusively) does the work, the others wait until
/// `done()` holds or the lock goes away (then they try themselves). A lock older than `timeout`
/// is taken to be left by a killed process and broken.
fn once_across_processes(
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

fn spawn_podman_service(dir: &Path) -> Result<(), ServerError> {
    use std::os::unix::process::CommandExt;
    if api_get(PODMAN_SOCKET, "/_ping").is_ok() {
        return Ok(());
    }
    let socket_path = PODMAN_SOCKET.trim_start_matches("unix://");
    let _ = std::fs::remove_file(socket_path);
    let log_path = dir.join("podman.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| container_err(format!("cannot open {}: {e}", log_path.display())))?;
    let log_err = log.try_clone().map_err(|e| container_err(e.to_string()))?;
    let mut child = Command::new("podman")
        .args(["system", "service", "--time=0", PODMAN_SOCKET])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Its own process group: a Ctrl-C aimed at the tests does not take the shared engine down.
        .process_group(0)
        .spawn()
        .map_err(|e| container_err(format!("cannot start `podman system service`: {e}")))?;
    let pid = child.id();
    std::fs::write(PODMAN_PID_FILE, format!("{pid}\n"))
        .map_err(|e| container_err(format!("cannot write {PODMAN_PID_FILE}: {e}")))?;
    let deadline = Instant::now() + SERVICE_TIMEOUT;
    loop {
        if api_get(PODMAN_SOCKET, "/_ping").is_ok() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let _ = std::fs::remove_file(PODMAN_PID_FILE);
            return Err(container_err(format!(
                "`podman system service` exited with {status} before answering; log {}:\n{}",
                log_path.display(),
                tail(&log_path, 20)
            )));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(PODMAN_PID_FILE);
            return Err(container_err(format!(
                "`podman system service` did not answer on {PODMAN_SOCKET} within {SERVICE_TIMEOUT:?}; log {}:\n{}",
                log_path.display(),
                tail(&log_path, 20)
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    tracing::info!(
        pid,
        socket = PODMAN_SOCKET,
        "started the podman API service (stop it with ci/install-podman.sh stop)"
    );
    // Reap it if it ever exits while this process lives; it is not stopped with this process.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// containers.conf
// ---------------------------------------------------------------------------------------------

/// Makes sure `path` selects runtime `runc` and has `nofile`/`nproc` default ulimits. Writes the
/// file only when it is missing or lacks those settings; an existing file is then edited in
/// place (only those two keys are set, everything else kept) after a backup to
/// `containers.conf.callout-bak`.
fn ensure_containers_conf(path: &Path) -> Result<(), ServerError> {
    let existing = match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(container_err(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let Some(new_text) = fixed_containers_conf(existing.as_deref())
        .map_err(|e| container_err(format!("{}: {e}", path.display())))?
    else {
        return Ok(());
    };
    let hint = "run ci/install-podman.sh as root, or write it as environment.md says";
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| container_err(format!("cannot create {}: {e}; {hint}", dir.display())))?;
    }
    if existing.is_some() {
        let backup = path.with_extension("conf.callout-bak");
        std::fs::copy(path, &backup).map_err(|e| {
            container_err(format!(
                "cannot back up {} to {}: {e}; {hint}",
                path.display(),
                backup.display()
            ))
        })?;
    }
    let tmp = path.with_extension(format!("conf.tmp-{}", std::process::id()));
    std::fs::write(&tmp, &new_text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            container_err(format!("cannot write {}: {e}; {hint}", path.display()))
        })?;
    tracing::info!(path = %path.display(), "configured podman: runtime runc, default ulimits");
    Ok(())
}

/// Whether a containers.conf text already has the required settings.
fn containers_conf_ok(text: &str) -> Result<bool, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| format!("not valid TOML: {e}"))?;
    let runtime_ok = table
        .get("engine")
        .and_then(|e| e.get("runtime"))
        .and_then(|r| r.as_str())
        .is_some_and(|r| r == "runc");
    let ulimits: Vec<&str> = table
        .get("containers")
        .and_then(|c| c.get("default_ulimits"))
        .and_then(|u| u.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let ulimits_ok = ["nofile=", "nproc="]
        .iter()
        .all(|k| ulimits.iter().any(|u| u.trim().starts_with(k)));
    Ok(runtime_ok && ulimits_ok)
}

/// The text to write, or `None` when `existing` is fine as it is.
fn fixed_containers_conf(existing: Option<&str>) -> Result<Option<String>, String> {
    let Some(text) = existing else {
        return Ok(Some(CONTAINERS_CONF_TEXT.to_string()));
    };
    if containers_conf_ok(text)? {
        return Ok(None);
    }
    let ulimits: Vec<String> = ULIMITS.iter().map(|u| format!("\"{u}\"")).collect();
    let text = set_toml_key(
        text,
        "containers",
        "default_ulimits",
        &format!("default_ulimits = [{}]", ulimits.join(", ")),
    );
    let text = set_toml_key(&text, "engine", "runtime", "runtime = \"runc\"");
    match containers_conf_ok(&text) {
        Ok(true) => Ok(Some(text)),
        _ => Err("cannot add runtime/default_ulimits to it automatically; fix it by hand as environment.md says".into()),
    }
}

/// The table name of a `[table]` header line (not `[[array]]`), ignoring a trailing comment.
fn table_header(line: &str) -> Option<String> {
    let t = line.split('#').next().unwrap_or("").trim();
    if t.starts_with("[[") || !t.starts_with('[') || !t.ends_with(']') {
        return None;
    }
    Some(t[1..t.len() - 1].trim().trim_matches('"').to_string())
}

/// Replaces `key` in `[section]` (or adds it, or adds the section) with `line`. A multi-line
/// array value of the old key is removed as a whole.
fn set_toml_key(text: &str, section: &str, key: &str, line: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let Some(header) = lines
        .iter()
        .position(|l| table_header(l).as_deref() == Some(section))
    else {
        let mut out = text.trim_end().to_string();
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&format!("[{section}]\n{line}\n"));
        return out;
    };
    let mut i = header + 1;
    while i < lines.len()
        && table_header(&lines[i]).is_none()
        && !lines[i].trim_start().starts_with("[[")
    {
        let t = lines[i].trim_start();
        let is_key = t
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if is_key {
            let mut depth: i32 = 0;
            loop {
                let l = lines.remove(i);
                let code = l.split('#').next().unwrap_or("");
                depth += code.matches('[').count() as i32 - code.matches(']').count() as i32;
                if depth <= 0 || i >= lines.len() {
                    break;
                }
            }
            continue;
        }
        i += 1;
    }
    lines.insert(header + 1, line.to_string());
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------------------------
// Image
// ---------------------------------------------------------------------------------------------

/// The image name for a server version: `localhost/nats-server:<version>` (characters a tag
/// cannot hold become `_`).
pub fn image_name(version: &str) -> String {
    let tag: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{IMAGE_REPO}:{tag}")
}

/// Makes sure the image `localhost/nats-server:<bin.version>` exists in the engine and returns
/// its name. No registry is reachable, so when missing it is built from `bin.path`: a tar
/// holding only `nats-server` (mode 755), then
/// `podman import --change 'ENTRYPOINT ["/nats-server"]' nats.tar <name>` (or `docker import`
/// with a Docker engine). The CLI is the one matching the engine [`ensure_engine`] chose; before
/// that, podman when installed, else docker.
pub fn ensure_image(bin: &ServerBinary) -> Result<String, ServerError> {
    let name = image_name(&bin.version);
    let cli = image_cli()?;
    if image_exists(cli, &name) {
        return Ok(name);
    }
    // One import per image even when test processes race (a lost race would leave a dangling
    // image behind).
    let tag = name.rsplit(':').next().unwrap_or("latest");
    let lock = std::env::temp_dir().join(format!("callout-conformance-image-{tag}.lock"));
    once_across_processes(
        &lock,
        Duration::from_secs(120),
        || image_exists(cli, &name),
        || {
            let dir = scratch_dir("image")
                .map_err(|e| container_err(format!("cannot create a scratch directory: {e}")))?;
            let result = import_image(cli, bin, &name, &dir);
            let _ = std::fs::remove_dir_all(&dir);
            result
        },
    )?;
    Ok(name)
}

fn image_cli() -> Result<Cli, ServerError> {
    if let Some(engine) = ENGINE.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        return Ok(engine.cli);
    }
    if cli_available(Cli::Podman) {
        Ok(Cli::Podman)
    } else if cli_available(Cli::Docker) {
        Ok(Cli::Docker)
    } else {
        Err(container_err("neither podman nor docker is installed: install podman (`apt-get install -y podman runc`, or run ci/install-podman.sh as root)"))
    }
}

fn image_exists(cli: Cli, name: &str) -> bool {
    let mut cmd = Command::new(cli.program());
    match cli {
        Cli::Podman => cmd.args(["image", "exists", name]),
        Cli::Docker => cmd.args(["image", "inspect", name]),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn import_image(cli: Cli, bin: &ServerBinary, name: &str, dir: &Path) -> Result<(), ServerError> {
    let tar = dir.join("nats.tar");
    write_single_file_tar(&bin.path, "nats-server", &tar).map_err(|e| {
        container_err(format!(
            "cannot write {} from {}: {e}",
            tar.display(),
            bin.path.display()
        ))
    })?;
    let out = Command::new(cli.program())
        .args(["import", "--change", r#"ENTRYPOINT ["/nats-server"]"#])
        .arg(&tar)
        .arg(name)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| container_err(format!("cannot run {} import: {e}", cli.program())))?;
    if !out.status.success() {
        return Err(container_err(format!(
            "`{} import` of {} as {name} failed ({}): {}",
            cli.program(),
            bin.path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    tracing::info!(image = name, binary = %bin.path.display(), "built the nats-server image");
    Ok(())
}

/// Writes a POSIX ustar archive holding the single regular file `name` (mode 755, owner 0,
/// mtime 0) with the contents of `src`.
fn write_single_file_tar(src: &Path, name: &str, out: &Path) -> std::io::Result<()> {
    let mut input = std::fs::File::open(src)?;
    let size = input.metadata()?.len();
    if name.len() >= 100 || size >= 0o77777777777 {
        return Err(std::io::Error::other(
            "name or size does not fit a ustar header",
        ));
    }
    let mut header = [0u8; 512];
    let mut put = |at: usize, bytes: &[u8]| header[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, name.as_bytes());
    put(100, b"0000755\0");
    put(108, b"0000000\0");
    put(116, b"0000000\0");
    put(124, format!("{size:011o}\0").as_bytes());
    put(136, b"00000000000\0");
    put(148, b"        ");
    put(156, b"0");
    put(257, b"ustar\0");
    put(263, b"00");
    put(265, b"root");
    put(297, b"root");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    w.write_all(&header)?;
    let copied = std::io::copy(&mut input, &mut w)?;
    if copied != size {
        return Err(std::io::Error::other(format!(
            "{} changed while being archived",
            src.display()
        )));
    }
    let pad = (512 - (size % 512) as usize) % 512;
    w.write_all(&vec![0u8; pad + 1024])?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()
}

// ---------------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------------

/// Starts nats-server `bin` in a container with `conf` (rendered for `0.0.0.0:4222`, copied to
/// `/etc/nats/server.conf` and passed as `-c`), published on a free host port of 127.0.0.1, and
/// waits for "Server is ready" on its stderr. Calls [`ensure_engine`] and [`ensure_image`]
/// first. Retries on a host-port race.
///
/// The returned server's log is the container's stderr, collected as it arrives by a
/// testcontainers log consumer; it lags the readiness wait a little (about 0.25 s with Podman,
/// whose log follow polls), so right after this returns it may not hold the startup lines yet.
/// Waiting for it here would double the start time. Dropping or
/// stopping it removes the container (forced), synchronously; see the module docs for how.
/// All blocking work runs on its own thread, not on the caller's executor; if this future is
/// dropped early, a container that still comes up is removed at once.
pub async fn start_container(
    bin: &ServerBinary,
    conf: &ServerConf,
) -> Result<RunningServer, ServerError> {
    let bin = bin.clone();
    let (inside, extras) = for_container(conf)?;
    let fixed_port = conf.port;
    let conf_text =
        match (extras.host_network, fixed_port) {
            (true, Some(p)) => inside.render(&format!("127.0.0.1:{p}")),
            (true, None) => return Err(container_err(
                "a server with routes or leaf nodes needs a fixed port (the topology picks one)",
            )),
            (false, _) => inside.render(&format!("0.0.0.0:{CONTAINER_PORT}")),
        };
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("callout-container-start".into())
        .spawn(move || {
            let result = start_container_blocking(&bin, conf_text, fixed_port, &extras);
            // A receiver that is gone means the caller gave up: the server is dropped (removed).
            drop(tx.send(result));
        })
        .map_err(|e| container_err(format!("cannot spawn a thread: {e}")))?;
    rx.await
        .map_err(|_| container_err("the container start thread panicked"))?
}

fn start_container_blocking(
    bin: &ServerBinary,
    conf_text: String,
    fixed_port: Option<u16>,
    extras: &Extras,
) -> Result<RunningServer, ServerError> {
    ensure_engine()?;
    let image = ensure_image(bin)?;
    if let Some(port) = fixed_port {
        return start_once(bin, &image, &conf_text, port, extras);
    }
    let mut last = None;
    for _ in 0..5 {
        match start_once(bin, &image, &conf_text, free_port(), extras) {
            Ok(s) => return Ok(s),
            Err(e) if e.to_string().contains("address already in use") => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| container_err("no free port")))
}

fn start_once(
    bin: &ServerBinary,
    image: &str,
    conf_text: &str,
    port: u16,
    extras: &Extras,
) -> Result<RunningServer, ServerError> {
    if port == 0 {
        return Err(container_err("cannot find a free port"));
    }
    let instance = format!(
        "{}-{}",
        std::process::id(),
        INSTANCE.fetch_add(1, Ordering::Relaxed)
    );
    let (repo, tag) = image.rsplit_once(':').unwrap_or((image, "latest"));
    let log = Arc::new(Mutex::new(String::new()));
    let log_sink = log.clone();
    let mut request = GenericImage::new(repo, tag)
        .with_wait_for(WaitFor::message_on_stderr("Server is ready"))
        .with_cmd(["-c", CONF_IN_CONTAINER])
        .with_copy_to(CONF_IN_CONTAINER, conf_text.as_bytes().to_vec())
        .with_label(LABEL, "1")
        .with_label(LABEL_PORT, port.to_string())
        .with_label(LABEL_INSTANCE, instance.clone())
        .with_startup_timeout(STARTUP_TIMEOUT)
        .with_log_consumer(move |frame: &LogFrame| {
            if let LogFrame::StdErr(bytes) = frame {
                if let Ok(mut l) = log_sink.lock() {
                    l.push_str(&String::from_utf8_lossy(bytes));
                }
            }
        });
    if extras.host_network {
        // Set in the host config itself: testcontainers' `with_network` would try to create a
        // network named "host".
        request = request.with_host_config_modifier(|h: &mut HostConfig| {
            h.network_mode = Some("host".into());
        });
    } else {
        // Podman 4.3 reports published ports with an empty HostIp, so testcontainers cannot
        // look a mapping up: publish a port chosen here instead.
        request = request
            .with_mapped_port(port, CONTAINER_PORT.tcp())
            .with_host_config_modifier(publish_on_loopback);
    }
    for (path, bytes) in &extras.files {
        request = request.with_copy_to(path.clone(), bytes.clone());
    }
    if let Some(ws) = extras.websocket {
        request = request.with_mapped_port(ws, WS_CONTAINER_PORT.tcp());
    }
    let container = match request.start() {
        Ok(c) => c,
        Err(e) => {
            // A container created but not started (port clash) or timed out is not removed by
            // testcontainers: sweep this attempt's containers by label.
            remove_by_label(&format!("{LABEL_INSTANCE}={instance}"));
            let detail = format!("{image} on 127.0.0.1:{port}: {e}");
            if detail.contains("address already in use") {
                return Err(container_err(detail));
            }
            // The container is gone by now and its stderr may not have reached the log (with
            // Podman 4.3 a server that exits at once fails testcontainers' inspect, "unknown
            // variant `stopped`", before any log is read): let the same binary judge the config
            // on the host, which names a config error exactly.
            let mut text = log.lock().map(|l| l.clone()).unwrap_or_default();
            if let Some(complaint) = check_config_on_host(bin, conf_text) {
                text.push_str("--- `nats-server -t` on the host with the same config ---\n");
                text.push_str(&complaint);
            }
            return Err(ServerError::NotReady { detail, log: text });
        }
    };
    let stop = Box::new(move || remove_container(container));
    Ok(RunningServer::from_parts(
        port,
        bin.version.clone(),
        log,
        stop,
    ))
}

/// Runs `nats-server -t -c <conf>` with the host binary; its output when it rejects the config.
fn check_config_on_host(bin: &ServerBinary, conf_text: &str) -> Option<String> {
    let dir = scratch_dir("conf-check").ok()?;
    let path = dir.join("server.conf");
    let out = std::fs::write(&path, conf_text).ok().and_then(|_| {
        Command::new(&bin.path)
            .arg("-t")
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .ok()
    });
    let _ = std::fs::remove_dir_all(&dir);
    let out = out?;
    if out.status.success() {
        return None;
    }
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    // Name the file as the container saw it.
    Some(text.replace(&path.display().to_string(), CONF_IN_CONTAINER))
}

/// Publishes every port binding on 127.0.0.1 only (testcontainers leaves the host IP empty,
/// which means all interfaces).
fn publish_on_loopback(host_config: &mut HostConfig) {
    if let Some(bindings) = host_config.port_bindings.as_mut() {
        for binding in bindings.values_mut().flatten().flatten() {
            binding.host_ip = Some("127.0.0.1".into());
        }
    }
}

/// Removes `container` (forced) on a fresh thread, so that testcontainers' blocking calls never
/// run inside the caller's async runtime; falls back to the CLI.
fn remove_container(container: Container<GenericImage>) {
    let id = container.id().to_string();
    let removed = std::thread::Builder::new()
        .name("callout-container-rm".into())
        .spawn(move || container.rm().map_err(|e| e.to_string()))
        .map_err(|e| e.to_string())
        .and_then(|h| {
            h.join()
                .unwrap_or_else(|_| Err("the removal thread panicked".into()))
        });
    if let Err(e) = removed {
        tracing::warn!(%id, error = %e, "testcontainers could not remove the container; trying the CLI");
        let cli = image_cli().unwrap_or(Cli::Podman);
        let _ = Command::new(cli.program())
            .args(["rm", "-f", "-v", &id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn remove_by_label(label: &str) {
    let Ok(cli) = image_cli() else { return };
    for id in list_by_label(cli, label) {
        let _ = Command::new(cli.program())
            .args(["rm", "-f", "-v", &id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn list_by_label(cli: Cli, label: &str) -> Vec<String> {
    Command::new(cli.program())
        .args([
            "ps",
            "-a",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("label={label}"),
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Ids of this harness's containers (running or not) that publish host port `port`, as the
/// engine's CLI lists them; empty once a [`RunningServer`] from [`start_container`] is dropped.
pub fn containers_on_port(port: u16) -> Result<Vec<String>, ServerError> {
    let cli = image_cli()?;
    let out = Command::new(cli.program())
        .args([
            "ps",
            "-a",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("label={LABEL_PORT}={port}"),
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| container_err(format!("cannot run {} ps: {e}", cli.program())))?;
    if !out.status.success() {
        return Err(container_err(format!(
            "{} ps failed: {}",
            cli.program(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// Where the Podman service's output goes (for error messages and CI logs).
pub fn podman_log_path() -> PathBuf {
    Path::new(PODMAN_DIR).join("podman.log")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_containers_conf_gets_the_documented_text() {
        let text = fixed_containers_conf(None).unwrap().unwrap();
        assert!(containers_conf_ok(&text).unwrap());
        assert!(text.contains("runtime = \"runc\""));
    }

    #[test]
    fn a_good_containers_conf_is_left_alone() {
        let good = "# site config\n[containers]\nlog_driver = \"k8s-file\"\ndefault_ulimits = [\n  \"nofile=4096:4096\",\n  \"nproc=2000:2000\",\n]\n[engine]\nruntime = \"runc\"\nevents_logger = \"file\"\n";
        assert_eq!(fixed_containers_conf(Some(good)).unwrap(), None);
    }

    #[test]
    fn a_containers_conf_lacking_the_keys_is_edited_in_place() {
        let old = "# keep me\n[containers]\nlog_driver = \"k8s-file\"\ndefault_ulimits = [\n  \"core=0:0\",\n]\n\n[engine]\nruntime = \"crun\" # fast\nevents_logger = \"file\"\n\n[network]\nnetwork_backend = \"netavark\"\n";
        let new = fixed_containers_conf(Some(old)).unwrap().unwrap();
        assert!(containers_conf_ok(&new).unwrap(), "{new}");
        for kept in [
            "# keep me",
            "log_driver = \"k8s-file\"",
            "events_logger = \"file\"",
            "network_backend = \"netavark\"",
        ] {
            assert!(new.contains(kept), "{kept} lost:\n{new}");
        }
        assert!(!new.contains("crun") && !new.contains("core=0:0"), "{new}");
        let only_engine = "[engine]\nevents_logger = \"file\"\n";
        let new = fixed_containers_conf(Some(only_engine)).unwrap().unwrap();
        assert!(containers_conf_ok(&new).unwrap(), "{new}");
        assert!(new.contains("events_logger"), "{new}");
    }

    #[test]
    fn an_unparseable_containers_conf_is_not_touched() {
        assert!(fixed_containers_conf(Some("[engine\nruntime = ")).is_err());
    }

    #[test]
    fn image_names_use_the_version_as_tag() {
        assert_eq!(image_name("2.15.1"), "localhost/nats-server:2.15.1");
        assert_eq!(
            image_name("2.15.1+build/x"),
            "localhost/nats-server:2.15.1_build_x"
        );
    }

    #[test]
    fn the_tar_holds_exactly_one_executable_file() {
        let dir = scratch_dir("tar-test").unwrap();
        let src = dir.join("some-binary");
        let body: Vec<u8> = (0..1300u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &body).unwrap();
        let tar = dir.join("x.tar");
        write_single_file_tar(&src, "nats-server", &tar).unwrap();
        let bytes = std::fs::read(&tar).unwrap();
        assert_eq!(bytes.len() % 512, 0);
        assert_eq!(&bytes[512..512 + body.len()], &body[..]);
        if let Ok(out) = Command::new("tar").arg("-tvf").arg(&tar).output() {
            let listing = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let lines: Vec<&str> = listing.lines().collect();
            assert_eq!(lines.len(), 1, "{listing}");
            assert!(
                lines[0].starts_with("-rwxr-xr-x")
                    && lines[0].ends_with(" nats-server")
                    && lines[0].contains("1300"),
                "{listing}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_probe_rejects_a_dead_socket() {
        assert!(api_get("unix:///nonexistent/callout/docker.sock", "/_ping").is_err());
    }
}
