//! Running nats-server for a test: the configuration a scenario asks for (accounts, the
//! `auth_callout` block, auth users), rendered to the server's config syntax, and started on a
//! backend: a local process (default) or a container. Every server binds a free port, never
//! 4222, and is stopped when its handle is dropped.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::provision::ServerBinary;

/// An account and its local (non-callout) users.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountConf {
    /// Account name.
    pub name: String,
    /// `(user, password)` pairs defined in the account.
    pub users: Vec<(String, String)>,
    /// Public nkeys of users defined in the account. A config-mode server sends a nonce in
    /// INFO only when it has one (`nkey.go nonceRequired`), so a scenario with nkey users gets
    /// one nobody holds the seed of.
    pub nkeys: Vec<String>,
}

/// The `authorization.auth_callout` block.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CalloutConf {
    /// Public issuer account key `A…`.
    pub issuer: String,
    /// The callout account.
    pub account: String,
    /// Users that bypass the callout.
    pub auth_users: Vec<String>,
    /// Public curve key `X…` when requests are sealed.
    pub xkey: Option<String>,
    /// `allowed_accounts` (2.11+).
    pub allowed_accounts: Vec<String>,
}

/// Everything needed to write a server config.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerConf {
    /// Accounts.
    pub accounts: Vec<AccountConf>,
    /// `system_account`.
    pub system_account: Option<String>,
    /// The callout; `None` runs a server without callout (wire mode).
    pub callout: Option<CalloutConf>,
    /// `authorization.timeout` in seconds (also the callout timeout).
    pub auth_timeout_secs: f64,
    /// `max_payload` in bytes, when not the server default (1 MiB).
    pub max_payload: Option<u64>,
    /// Listen on this loopback port rather than a free one: where a responder that is already
    /// running connects (a profile's `[responder] url`).
    pub port: Option<u16>,
    /// TLS on the client listener, with client certificates verified against a CA
    /// (`verify: true`). Clients that do not start TLS stay plain (`allow_non_tls`), so the
    /// responder and password users connect as before.
    pub tls: Option<TlsFiles>,
    /// A WebSocket listener (plain, `no_tls`) on this loopback port.
    pub websocket_port: Option<u16>,
    /// The HTTP monitoring listener (`/connz`) on this port, on the client listener's host:
    /// where the harness reads a connection's account from the server's side
    /// (`userinfo::connz_account`). The start functions pick a free port when it is `None`.
    pub monitor_port: Option<u16>,
    /// `server_name` (default `callout_test`): the node's name in a cluster.
    pub server_name: Option<String>,
    /// Routes to the other nodes of a cluster.
    pub cluster: Option<ClusterConf>,
    /// A leaf-node listener on this loopback port (a hub).
    pub leafnode_port: Option<u16>,
    /// Leaf-node remotes (a leaf server): `nats-leaf://` URLs, credentials in the URL, each
    /// bound to the local account named (or `$G`).
    pub leaf_remotes: Vec<LeafRemote>,
    /// Operator mode: the trusted operator and the account JWTs, preloaded into a memory
    /// resolver. When set, `accounts`, `system_account` and `callout` are not rendered (the
    /// account JWTs carry all of it, `protocol.md §3.2`).
    pub operator: Option<OperatorConf>,
}

/// The operator-mode part of a config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorConf {
    /// The operator JWT, written to a file next to the config.
    pub operator_jwt: String,
    /// The system account's public key.
    pub system_account: String,
    /// `(account public key, account JWT)` for `resolver_preload`.
    pub accounts: Vec<(String, String)>,
    /// `default_sentinel` (2.11.2+): a bearer user JWT that clients without one get.
    pub default_sentinel: Option<String>,
}

/// The `cluster` block of one node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterConf {
    /// The cluster's name (the same on every node).
    pub name: String,
    /// This node's route listener on 127.0.0.1.
    pub port: u16,
    /// The other nodes' route ports on 127.0.0.1.
    pub routes: Vec<u16>,
}

/// One leaf-node remote of a leaf server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeafRemote {
    /// `nats-leaf://user:pass@127.0.0.1:PORT`.
    pub url: String,
    /// The local account the remote binds (`None`: the global account).
    pub account: Option<String>,
}

/// The PEM files of a TLS listener, in the fixture's private scratch directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate.
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
    /// The CA that signs the clients' certificates.
    pub ca: PathBuf,
}

/// The `max_control_line` of every server the harness starts, in bytes: nats-server's
/// default is 4096, which a CONNECT with a real OIDC token (8 KB and more) exceeds, and a
/// profile cannot raise it. This fits a CONNECT with the longest credential the harness
/// allows ([`crate::credential::MAX_CREDENTIAL`], 64 KiB, also the cap of a `cred_cmd`'s
/// output) and 64 KiB more of everything else a client sends. The server reads the value as
/// an int32 (`server/opts.go`), so any size up to 2 GiB is accepted.
pub const MAX_CONTROL_LINE: usize = 2 * crate::credential::MAX_CREDENTIAL;
// The server reads the value as an int32.
const _: () = assert!(MAX_CONTROL_LINE < i32::MAX as usize);

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

impl ServerConf {
    /// Renders the config, listening on `listen` (`host:port`).
    pub fn render(&self, listen: &str) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "listen: {}\nserver_name: {}\n",
            quote(listen),
            quote(self.server_name.as_deref().unwrap_or("callout_test"))
        ));
        // Routes and leaf nodes stay on loopback (a container with them runs on the host's
        // network, see `container`).
        if let Some(c) = &self.cluster {
            let routes: Vec<String> = c
                .routes
                .iter()
                .map(|p| quote(&format!("nats-route://127.0.0.1:{p}")))
                .collect();
            out.push_str(&format!(
                "cluster {{\n  name: {}\n  listen: {}\n  no_advertise: true\n  routes: [ {} ]\n}}\n",
                quote(&c.name),
                quote(&format!("127.0.0.1:{}", c.port)),
                routes.join(", ")
            ));
        }
        if let Some(p) = self.leafnode_port {
            out.push_str(&format!(
                "leafnodes {{\n  listen: {}\n}}\n",
                quote(&format!("127.0.0.1:{p}"))
            ));
        }
        if !self.leaf_remotes.is_empty() {
            out.push_str("leafnodes {\n  reconnect: \"1s\"\n  remotes: [\n");
            for r in &self.leaf_remotes {
                match &r.account {
                    Some(a) => out.push_str(&format!(
                        "    {{ url: {}, account: {} }}\n",
                        quote(&r.url),
                        quote(a)
                    )),
                    None => out.push_str(&format!("    {{ url: {} }}\n", quote(&r.url))),
                }
            }
            out.push_str("  ]\n}\n");
        }
        if let Some(m) = self.max_payload {
            out.push_str(&format!("max_payload: {m}\n"));
        }
        out.push_str(&format!("max_control_line: {MAX_CONTROL_LINE}\n"));
        if let Some(t) = &self.tls {
            out.push_str(&format!(
                "allow_non_tls: true\ntls {{\n  cert_file: {}\n  key_file: {}\n  ca_file: {}\n  verify: true\n  timeout: 2\n}}\n",
                quote(&t.cert.display().to_string()),
                quote(&t.key.display().to_string()),
                quote(&t.ca.display().to_string())
            ));
        }
        if let Some(p) = self.websocket_port {
            // On the client listener's host: loopback for a process, every interface inside a
            // container.
            let host = listen.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
            out.push_str(&format!(
                "websocket {{\n  listen: {}\n  no_tls: true\n}}\n",
                quote(&format!("{host}:{p}"))
            ));
        }
        if let Some(p) = self.monitor_port {
            let host = listen.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
            out.push_str(&format!("http: {}\n", quote(&format!("{host}:{p}"))));
        }
        if let Some(op) = &self.operator {
            // nats-server reads `operator` as a JWT or as a file holding one.
            out.push_str(&format!("operator: {}\n", quote(&op.operator_jwt)));
            out.push_str(&format!("system_account: {}\n", quote(&op.system_account)));
            out.push_str("resolver: MEM\nresolver_preload: {\n");
            for (k, jwt) in &op.accounts {
                out.push_str(&format!("  {}: {}\n", quote(k), quote(jwt)));
            }
            out.push_str("}\n");
            if let Some(s) = &op.default_sentinel {
                out.push_str(&format!("default_sentinel: {}\n", quote(s)));
            }
            out.push_str(&format!(
                "authorization {{\n  timeout: {}\n}}\n",
                self.auth_timeout_secs
            ));
            return out;
        }
        out.push_str("accounts {\n");
        for a in &self.accounts {
            out.push_str(&format!("  {} {{\n    users: [\n", quote(&a.name)));
            for (u, p) in &a.users {
                out.push_str(&format!(
                    "      {{ user: {}, password: {} }}\n",
                    quote(u),
                    quote(p)
                ));
            }
            for k in &a.nkeys {
                out.push_str(&format!("      {{ nkey: {} }}\n", quote(k)));
            }
            out.push_str("    ]\n  }\n");
        }
        out.push_str("}\n");
        if let Some(sys) = &self.system_account {
            out.push_str(&format!("system_account: {}\n", quote(sys)));
        }
        out.push_str(&format!(
            "authorization {{\n  timeout: {}\n",
            self.auth_timeout_secs
        ));
        if let Some(c) = &self.callout {
            out.push_str("  auth_callout {\n");
            out.push_str(&format!("    issuer: {}\n", quote(&c.issuer)));
            out.push_str(&format!("    account: {}\n", quote(&c.account)));
            let users: Vec<String> = c.auth_users.iter().map(|u| quote(u)).collect();
            out.push_str(&format!("    auth_users: [ {} ]\n", users.join(", ")));
            if let Some(x) = &c.xkey {
                out.push_str(&format!("    xkey: {}\n", quote(x)));
            }
            if !c.allowed_accounts.is_empty() {
                let a: Vec<String> = c.allowed_accounts.iter().map(|u| quote(u)).collect();
                out.push_str(&format!("    allowed_accounts: [ {} ]\n", a.join(", ")));
            }
            out.push_str("  }\n");
        }
        out.push_str("}\n");
        out
    }
}

/// Why a server did not come up.
#[derive(Debug, Error)]
pub enum ServerError {
    /// The process could not be spawned.
    #[error("cannot start nats-server {path}: {detail}")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// The OS error.
        detail: String,
    },
    /// The server exited or never said it was ready.
    #[error("nats-server did not become ready: {detail}\n--- server log ---\n{log}")]
    NotReady {
        /// What happened.
        detail: String,
        /// The server's stderr so far.
        log: String,
    },
    /// Container backend failure.
    #[error("container backend: {0}")]
    Container(String),
}

type StopFn = Box<dyn FnOnce() + Send>;

/// A started server; stopped (by PID, or container removal) on drop.
pub struct RunningServer {
    /// Port on 127.0.0.1 clients connect to.
    pub port: u16,
    /// Version string of the server, e.g. `2.15.1`.
    pub version: String,
    /// Its HTTP monitoring port on 127.0.0.1, when it has one.
    pub monitor_port: Option<u16>,
    log: Arc<Mutex<String>>,
    stop: Arc<Mutex<Option<StopFn>>>,
    /// Lets a signal run `stop` if this handle has not.
    _registration: crate::cleanup::Registration,
}

impl RunningServer {
    /// Builds a handle from parts (used by backends).
    pub fn from_parts(
        port: u16,
        version: String,
        log: Arc<Mutex<String>>,
        stop: Box<dyn FnOnce() + Send>,
    ) -> Self {
        let stop = Arc::new(Mutex::new(Some(stop)));
        let on_signal = stop.clone();
        let registration = crate::cleanup::register_stop(Box::new(move || {
            let f = on_signal.lock().ok().and_then(|mut s| s.take());
            if let Some(f) = f {
                f();
            }
        }));
        RunningServer {
            port,
            version,
            monitor_port: None,
            log,
            stop,
            _registration: registration,
        }
    }

    /// The same server, with its HTTP monitoring port.
    pub fn with_monitor(mut self, port: Option<u16>) -> Self {
        self.monitor_port = port;
        self
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Stops the server now.
    pub fn stop(&mut self) {
        let f = self.stop.lock().ok().and_then(|mut s| s.take());
        if let Some(f) = f {
            f();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Asks the OS for a free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh scratch directory under the system temp dir, readable by its owner only (0700),
/// registered with [`crate::cleanup`] so that a signal removes it; remove it with
/// [`crate::cleanup::remove_dir`].
pub fn scratch_dir(tag: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("callout-{tag}-{}-{n}", std::process::id()));
    if d.exists() {
        // A leftover of an earlier process with the same PID: it may have other permissions.
        std::fs::remove_dir_all(&d)?;
    }
    std::fs::DirBuilder::new().mode(0o700).create(&d)?;
    crate::cleanup::register_dir(&d);
    Ok(d)
}

/// Writes a file readable by its owner only (0600): seeds, passwords and configs holding them.
pub fn write_private(path: &std::path::Path, contents: impl AsRef<[u8]>) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(contents.as_ref())
}

/// Starts nats-server as a local process with `conf` on a free port, waiting for
/// "Server is ready". Retries on a port race.
pub fn start_process(bin: &ServerBinary, conf: &ServerConf) -> Result<RunningServer, ServerError> {
    if let Some(port) = conf.port {
        return start_process_on(bin, conf, port);
    }
    let mut last = None;
    for _ in 0..5 {
        match start_process_once(bin, conf) {
            Ok(s) => return Ok(s),
            Err(ServerError::NotReady { detail, log })
                if log.contains("address already in use") =>
            {
                last = Some(ServerError::NotReady { detail, log });
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(ServerError::NotReady {
        detail: "no free port".into(),
        log: String::new(),
    }))
}

fn start_process_once(bin: &ServerBinary, conf: &ServerConf) -> Result<RunningServer, ServerError> {
    start_process_on(bin, conf, free_port())
}

/// Starts nats-server as a local process on a given port (to restart a server where a client
/// expects it, e.g. reconnect tests).
pub fn start_process_on(
    bin: &ServerBinary,
    conf: &ServerConf,
    port: u16,
) -> Result<RunningServer, ServerError> {
    let dir = scratch_dir("server").map_err(|e| ServerError::Spawn {
        path: bin.path.clone(),
        detail: format!("cannot create a scratch directory: {e}"),
    })?;
    let conf_path = dir.join("server.conf");
    let mut conf = conf.clone();
    conf.monitor_port = conf.monitor_port.or_else(|| Some(free_port()));
    let spawned = write_private(&conf_path, conf.render(&format!("127.0.0.1:{port}")))
        .map_err(|e| format!("cannot write {}: {e}", conf_path.display()))
        .and_then(|()| {
            Command::new(&bin.path)
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .process_group(0)
                .spawn()
                .map_err(|e| e.to_string())
        });
    let mut child: Child = match spawned {
        Ok(c) => c,
        Err(detail) => {
            crate::cleanup::remove_dir(&dir);
            return Err(ServerError::Spawn {
                path: bin.path.clone(),
                detail,
            });
        }
    };
    let log = Arc::new(Mutex::new(String::new()));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<bool>();
    if let Some(stderr) = child.stderr.take() {
        let log = log.clone();
        std::thread::spawn(move || {
            let mut signalled = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut l) = log.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
                if !signalled && line.contains("Server is ready") {
                    signalled = true;
                    let _ = ready_tx.send(true);
                }
            }
            let _ = ready_tx.send(false);
        });
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let ready = ready_rx
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .unwrap_or(false);
    if !ready {
        let _ = child.kill();
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(50));
        crate::cleanup::remove_dir(&dir);
        let text = log.lock().map(|l| l.clone()).unwrap_or_default();
        return Err(ServerError::NotReady {
            detail: format!("config {}", conf_path.display()),
            log: text,
        });
    }
    let stop = Box::new(move || {
        let _ = child.kill();
        let _ = child.wait();
        crate::cleanup::remove_dir(&dir);
    });
    Ok(
        RunningServer::from_parts(port, bin.version.clone(), log, stop)
            .with_monitor(conf.monitor_port),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_takes_a_connect_line_with_the_longest_credential() {
        // nats-server's default (4096) refuses a CONNECT with an 8 000-byte OIDC token.
        for conf in [
            ServerConf::default(),
            ServerConf {
                operator: Some(OperatorConf::default()),
                ..Default::default()
            },
        ] {
            let text = conf.render("127.0.0.1:4999");
            assert!(
                text.lines().any(|l| l == "max_control_line: 131072"),
                "{text}"
            );
        }
    }
}
