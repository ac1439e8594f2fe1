//! The engine: a Docker API that answers, found (`DOCKER_HOST`, the default Docker socket) or
//! started (the shared Podman API service, once `conf` has checked containers.conf), and the
//! command-line client that goes with it.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{
    container_err, once_across_processes, Cli, CONTAINERS_CONF, PODMAN_DIR, PODMAN_PID_FILE,
    PODMAN_SOCKET,
};
use crate::server::ServerError;

const DEFAULT_DOCKER_SOCKET: &str = "unix:///var/run/docker.sock";
const SERVICE_TIMEOUT: Duration = Duration::from_secs(30);

/// The engine chosen by [`ensure_engine`].
#[derive(Clone, Debug)]
struct Engine {
    host: String,
    cli: Cli,
}

static ENGINE: Mutex<Option<Engine>> = Mutex::new(None);

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
        super::conf::ensure_containers_conf(Path::new(CONTAINERS_CONF))?;
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

/// The CLI that manages images: the chosen engine's; before one is chosen, podman when
/// installed, else docker.
pub(crate) fn image_cli() -> Result<Cli, ServerError> {
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

pub(crate) fn cli_available(cli: Cli) -> bool {
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
pub(crate) fn api_get(host: &str, path: &str) -> Result<String, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_rejects_a_dead_socket() {
        assert!(api_get("unix:///nonexistent/callout/docker.sock", "/_ping").is_err());
    }
}
