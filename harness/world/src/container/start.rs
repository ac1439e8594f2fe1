//! Containers: the config as a container sees it, the start (with a host-port race retried),
//! the config checked on the host when a start fails, and the removal by handle, by label
//! or through the CLI.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use testcontainers::bollard::models::HostConfig;
use testcontainers::core::logs::LogFrame;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt};

use super::engine::{ensure_engine, image_cli};
use super::image::ensure_image;
use super::{container_err, Cli, LABEL, LABEL_PORT};
use crate::provision::ServerBinary;
use crate::server::{free_port, scratch_dir, RunningServer, ServerConf, ServerError};

const LABEL_INSTANCE: &str = "callout-conformance.instance";
const CONF_IN_CONTAINER: &str = "/etc/nats/server.conf";
const CONTAINER_PORT: u16 = 4222;
/// The WebSocket listener's port inside the container (published on the fixture's host port).
const WS_CONTAINER_PORT: u16 = 8080;
/// The HTTP monitoring port inside a container (published on a free host port).
const MONITOR_CONTAINER_PORT: u16 = 8222;
/// Where the TLS files are copied in the container.
const TLS_IN_CONTAINER: &str = "/etc/nats/tls";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

static INSTANCE: AtomicU64 = AtomicU64::new(0);

/// What a container needs besides its config: files to copy in, and the WebSocket port to
/// publish (host port).
struct Extras {
    files: Vec<(String, Vec<u8>)>,
    websocket: Option<u16>,
    /// Routes or leaf-node connections to other servers: the container runs on the host's
    /// network, listening on loopback exactly as a process would, so that every server of the
    /// topology reaches the others' loopback ports.
    host_network: bool,
    /// The monitoring port on the host network (`None`: published from the container's).
    monitor: Option<u16>,
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
    let monitor = if host_network {
        // On the host's network the WebSocket and monitoring listeners bind host ports.
        c.websocket_port = websocket;
        c.monitor_port = c.monitor_port.or_else(|| Some(free_port()));
        c.monitor_port
    } else {
        c.monitor_port = Some(MONITOR_CONTAINER_PORT);
        None
    };
    Ok((
        c,
        Extras {
            files,
            websocket: if host_network { None } else { websocket },
            monitor,
            host_network,
        },
    ))
}

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
    let monitor = match extras.monitor {
        Some(p) => Some(p),
        None if !extras.host_network => {
            let p = free_port();
            request = request.with_mapped_port(p, MONITOR_CONTAINER_PORT.tcp());
            Some(p)
        }
        None => None,
    };
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
    Ok(RunningServer::from_parts(port, bin.version.clone(), log, stop).with_monitor(monitor))
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
