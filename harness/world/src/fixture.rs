//! The fixture of one world: the keys, the server config, the users file and the seed files
//! generated for a [`WorldSpec`], the backends servers start on, and the readiness probe that
//! says when a responder answers.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use callout_codec::{CurvePublic, CurveSecret, KeyKind, Signer};
use serde_json::Value;

use crate::client::{ConnectOptions, SigMode};
use crate::credential::random_secret;
use crate::provision::ServerBinary;
use crate::server::{self, AccountConf, CalloutConf, RunningServer, ServerConf, ServerError};
use crate::spec::{CertChoice, Feature, GenerateUsers, WorldSpec, INJECTOR_MAX_PAYLOAD};
use crate::sut::Placeholders;

pub use crate::readiness::{wait_ready, Probe};
use crate::userinfo::UserInfo;

pub use crate::spec::CALLOUT_ACCOUNT;
/// The user the responder connects as.
pub const RESPONDER_USER: &str = "auth";
/// The user the harness adds to the users file to learn when the responder answers.
pub const PROBE_USER: &str = "callout-harness-probe";

/// A future returned by a backend.
pub type StartFuture<'a> =
    Pin<Box<dyn Future<Output = Result<RunningServer, ServerError>> + Send + 'a>>;

/// Where servers run.
pub trait ServerBackend: Send + Sync {
    /// `process` or `container`.
    fn name(&self) -> &'static str;
    /// Starts a server with `conf`.
    fn start<'a>(&'a self, bin: &'a ServerBinary, conf: &'a ServerConf) -> StartFuture<'a>;
}

/// Which backend servers start on (`--backend`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendKind {
    /// Local processes.
    #[default]
    Process,
    /// Containers (testcontainers on a Docker API).
    Container,
}

impl BackendKind {
    /// The backend called `name` on the command line.
    pub fn parse(name: &str) -> Option<BackendKind> {
        match name {
            "process" => Some(BackendKind::Process),
            "container" => Some(BackendKind::Container),
            _ => None,
        }
    }

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Process => "process",
            BackendKind::Container => "container",
        }
    }

    /// Makes the backend; the container backend checks its engine first.
    pub fn start(self) -> Result<Box<dyn ServerBackend>, String> {
        match self {
            BackendKind::Process => Ok(Box::new(ProcessBackend)),
            BackendKind::Container => crate::backend_container(),
        }
    }
}

/// Local processes.
pub struct ProcessBackend;

impl ServerBackend for ProcessBackend {
    fn name(&self) -> &'static str {
        "process"
    }
    fn start<'a>(&'a self, bin: &'a ServerBinary, conf: &'a ServerConf) -> StartFuture<'a> {
        let bin = bin.clone();
        let conf = conf.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || server::start_process(&bin, &conf))
                .await
                .map_err(|e| ServerError::NotReady {
                    detail: e.to_string(),
                    log: String::new(),
                })?
        })
    }
}

/// Containers (testcontainers on a Docker API: Docker, or Podman's socket).
pub struct ContainerBackend;

impl ServerBackend for ContainerBackend {
    fn name(&self) -> &'static str {
        "container"
    }
    fn start<'a>(&'a self, bin: &'a ServerBinary, conf: &'a ServerConf) -> StartFuture<'a> {
        Box::pin(crate::container::start_container(bin, conf))
    }
}

/// Everything generated for one scenario file.
pub struct Fixture {
    /// Issuer account key (its seed goes to the responder); unused when the responder brings
    /// its own keys ([`Scenario::keys`]).
    pub issuer: Signer,
    /// The issuer the server trusts: `issuer`'s public key, or the responder's own.
    pub issuer_pub: String,
    /// Curve key when the scenario seals and the harness makes the key.
    pub xkey: Option<CurveSecret>,
    /// The curve key the server seals to, when the scenario seals: `xkey`'s public key, or
    /// the responder's own.
    pub xkey_pub: Option<CurvePublic>,
    /// The user the responder connects as (in the callout account and `auth_users`).
    pub responder_user: String,
    /// The responder's password.
    pub responder_pass: String,
    /// The probe user's password.
    pub probe_pass: String,
    /// Scratch directory holding users.json and seed files.
    pub dir: PathBuf,
    /// The server config.
    pub conf: ServerConf,
    /// The users file path.
    pub users_path: PathBuf,
    /// The key pairs of the `nkey = true` users, by user name, generated for this run.
    pub nkeys: HashMap<String, Arc<Signer>>,
    /// The probe user's login: with the credential of the file's `feature` (nkey, token), else
    /// its password.
    pub probe_login: ConnectOptions,
    /// The run's CA, when the scenario has a TLS listener.
    pub ca: Option<Arc<crate::tls::TestCa>>,
    /// The client certificates of the `cert = true` users, by user name.
    pub certs: HashMap<String, Arc<crate::tls::Issued>>,
    /// The WebSocket listener's `host:port`, when the scenario has one.
    pub websocket: Option<String>,
    /// Operator mode: the sentinel, the account keys, the creds and signing key files.
    pub operator: Option<crate::operator::OperatorFixture>,
}

/// A [`Fixture`] error: I/O, or a certificate that could not be made.
fn cert_error(e: String) -> std::io::Error {
    std::io::Error::other(e)
}

impl Fixture {
    /// How a connect reaches the server: TLS with `cert`'s certificate (or none) when `tls`,
    /// through the WebSocket listener when `websocket`.
    pub fn transport(
        &self,
        tls: bool,
        cert: &CertChoice,
        websocket: bool,
    ) -> Result<(Option<crate::tls::ClientTls>, Option<String>), String> {
        let tls = match (tls, &self.ca) {
            (false, _) => None,
            (true, None) => {
                return Err("a TLS connect, but the scenario has no TLS listener".into())
            }
            (true, Some(ca)) => {
                let issued = match cert {
                    CertChoice::None => None,
                    CertChoice::User(n) => Some(
                        self.certs
                            .get(n)
                            .cloned()
                            .ok_or_else(|| format!("no certificate for user {n:?}"))?,
                    ),
                    CertChoice::Stranger(n) => Some(Arc::new(ca.client(n)?)),
                };
                Some(crate::tls::ClientTls::new(&ca.cert_der, issued.as_deref())?)
            }
        };
        let ws = match (websocket, &self.websocket) {
            (false, _) => None,
            (true, None) => {
                return Err(
                    "a WebSocket connect, but the scenario has no WebSocket listener".into(),
                )
            }
            (true, Some(a)) => Some(a.clone()),
        };
        Ok((tls, ws))
    }
}

/// Password of a generated user.
pub fn generated_pass(name: &str) -> String {
    format!("{name}-pw")
}

/// True when `info` is generated user `name`'s own decision: its account, and a publish
/// allow list of exactly its own subjects and `$SYS.REQ.USER.INFO`.
pub fn is_generated_decision(info: &UserInfo, name: &str, account: &str) -> bool {
    info.account == account
        && info.pub_allow.contains(&format!("{name}.>"))
        && info.pub_allow.len() == 2
}

/// Generated user `i` of `g`: its name and the account it is placed in (round-robin).
pub fn generated_user(g: &GenerateUsers, i: usize) -> (String, String) {
    let account = g
        .accounts
        .get(i % g.accounts.len().max(1))
        .cloned()
        .unwrap_or_default();
    (format!("{}{i}", g.prefix), account)
}

/// The scratch directory of a fixture being made: removed when dropped, unless
/// [`disarm`](ScratchGuard::disarm)ed, so that every early exit of [`Fixture::new`] cleans up
/// after itself.
struct ScratchGuard {
    dir: Option<PathBuf>,
}

impl ScratchGuard {
    fn new(dir: PathBuf) -> ScratchGuard {
        ScratchGuard { dir: Some(dir) }
    }

    fn path(&self) -> &Path {
        self.dir.as_deref().unwrap_or(Path::new(""))
    }

    /// Keeps the directory: the fixture now owns it (and removes it when dropped).
    fn disarm(mut self) -> PathBuf {
        self.dir.take().unwrap_or_default()
    }
}

impl Drop for ScratchGuard {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            crate::cleanup::remove_dir(dir);
        }
    }
}

/// The issuer the server trusts, the curve key of this run (when the harness makes it) and
/// the curve key the server seals to: the harness's, or the responder's own (`[keys]`).
fn keys(
    spec: &WorldSpec,
    issuer: &Signer,
) -> std::io::Result<(String, Option<CurveSecret>, Option<CurvePublic>)> {
    Ok(match &spec.keys {
        None => {
            let xkey = spec.xkey.then(CurveSecret::generate);
            let public = xkey.as_ref().map(|x| x.public().clone());
            (issuer.public_key().to_string(), xkey, public)
        }
        Some(own) => {
            let public = match (&own.xkey, spec.xkey) {
                (Some(x), true) => Some(
                    CurvePublic::parse(x)
                        .map_err(|e| std::io::Error::other(format!("[keys] xkey {x:?}: {e}")))?,
                ),
                _ => None,
            };
            (own.issuer.clone(), None, public)
        }
    })
}

/// The users file: the scenario's users, the generated ones and the probe user.
fn users_json(spec: &WorldSpec, probe_pass: &str) -> Value {
    let mut users = spec.users_json.clone();
    if !users.is_object() {
        users = Value::Object(Default::default());
    }
    if let Some(g) = &spec.generate_users {
        for i in 0..g.count {
            let (name, account) = generated_user(g, i);
            users[&name] = serde_json::json!({
                "pass": generated_pass(&name), "account": account,
                "permissions": {"pub": {"allow": [format!("{name}.>"), "$SYS.REQ.USER.INFO"]}, "sub": {"allow": ["_INBOX.>"]}}
            });
        }
    }
    // The probe logs in with the credential the file is about, so that a responder without
    // that users.json extension is found out once, as UNIMPLEMENTED, not in every case.
    // In operator mode the callout account places nobody: the probe goes to the first
    // target account.
    let probe_account = if spec.operator {
        spec.accounts
            .iter()
            .find(|a| *a != CALLOUT_ACCOUNT && *a != crate::operator::SYSTEM_ACCOUNT)
            .cloned()
            .unwrap_or_else(|| CALLOUT_ACCOUNT.to_string())
    } else {
        CALLOUT_ACCOUNT.to_string()
    };
    users[PROBE_USER] = match spec.feature {
        Some(Feature::Nkey) => serde_json::json!({"nkey": true, "account": CALLOUT_ACCOUNT}),
        Some(Feature::Cert) => serde_json::json!({"cert": true, "account": CALLOUT_ACCOUNT}),
        Some(Feature::Token) => {
            serde_json::json!({"token": probe_pass, "account": CALLOUT_ACCOUNT})
        }
        _ => serde_json::json!({"pass": probe_pass, "account": probe_account}),
    };
    users
}

/// `nkey = true` users get a key pair of this run; users.json holds the public key. A
/// profile's nkey identities bring their own.
fn nkey_users(spec: &WorldSpec, users: &mut Value) -> HashMap<String, Arc<Signer>> {
    let mut nkeys: HashMap<String, Arc<Signer>> = spec
        .nkey_logins
        .iter()
        .map(|(n, k)| (n.clone(), k.signer()))
        .collect();
    if let Some(map) = users.as_object_mut() {
        for (name, entry) in map.iter_mut() {
            if entry.get("nkey") == Some(&Value::Bool(true)) {
                let key = Signer::generate(KeyKind::User);
                entry["nkey"] = Value::String(key.public_key().to_string());
                nkeys.insert(name.clone(), Arc::new(key));
            }
        }
    }
    nkeys
}

/// TLS: a CA of this run, and the server's certificate, key and CA files in `dir`.
fn tls_material(dir: &Path) -> std::io::Result<(Arc<crate::tls::TestCa>, server::TlsFiles)> {
    let ca = crate::tls::TestCa::generate().map_err(cert_error)?;
    let server_cert = ca.server().map_err(cert_error)?;
    let files = server::TlsFiles {
        cert: dir.join("server-cert.pem"),
        key: dir.join("server-key.pem"),
        ca: dir.join("ca.pem"),
    };
    server::write_private(&files.cert, &server_cert.cert_pem)?;
    server::write_private(&files.key, &server_cert.key_pem)?;
    server::write_private(&files.ca, &ca.cert_pem)?;
    // The responder's client certificate ({cert_file}, {key_file}): a client library that
    // upgrades to TLS whenever the server offers it must present one (`verify: true`).
    let responder = ca.client(RESPONDER_CERT_CN).map_err(cert_error)?;
    server::write_private(&dir.join("responder-cert.pem"), &responder.cert_pem)?;
    server::write_private(&dir.join("responder-key.pem"), &responder.key_pem)?;
    Ok((Arc::new(ca), files))
}

/// The common name of the responder's client certificate (no users.json subject has it).
pub const RESPONDER_CERT_CN: &str = "callout-conformance-responder";

/// A client certificate for each `cert = true` user, whose subject users.json holds as
/// cert_subject.
fn client_certs(
    ca: &crate::tls::TestCa,
    users: &mut Value,
) -> std::io::Result<HashMap<String, Arc<crate::tls::Issued>>> {
    let mut certs = HashMap::new();
    let Some(map) = users.as_object_mut() else {
        return Ok(certs);
    };
    for (name, entry) in map.iter_mut() {
        if entry.get("cert") == Some(&Value::Bool(true)) {
            let issued = ca.client(name).map_err(cert_error)?;
            if let Some(obj) = entry.as_object_mut() {
                obj.remove("cert");
                obj.insert(
                    "cert_subject".into(),
                    Value::String(crate::tls::subject_of(name)),
                );
            }
            certs.insert(name.clone(), Arc::new(issued));
        }
    }
    Ok(certs)
}

/// How the probe user logs in: a profile's probe credential, the probe's nkey, token or
/// certificate when the file is about that extension, else its password.
fn probe_login(
    spec: &WorldSpec,
    nkeys: &HashMap<String, Arc<Signer>>,
    probe_pass: &str,
    ca: Option<&crate::tls::TestCa>,
    certs: &HashMap<String, Arc<crate::tls::Issued>>,
) -> std::io::Result<ConnectOptions> {
    Ok(match (&spec.probe, nkeys.get(PROBE_USER), spec.feature) {
        (Some(cred), _, _) => cred.login(ca).map_err(std::io::Error::other)?,
        (None, Some(key), _) => ConnectOptions {
            nkey: Some((key.clone(), SigMode::Valid)),
            ..Default::default()
        },
        (None, None, Some(Feature::Token)) => ConnectOptions {
            token: Some(probe_pass.to_string()),
            ..Default::default()
        },
        (None, None, Some(Feature::Cert)) => {
            let tls = match (ca, certs.get(PROBE_USER)) {
                (Some(ca), Some(c)) => crate::tls::ClientTls::new(&ca.cert_der, Some(c)),
                _ => Err("no certificate for the probe".to_string()),
            };
            ConnectOptions {
                tls: Some(tls.map_err(cert_error)?),
                ..Default::default()
            }
        }
        _ => ConnectOptions {
            user: Some(PROBE_USER.into()),
            pass: Some(probe_pass.to_string()),
            ..Default::default()
        },
    })
}

/// The accounts of a config-mode server (the callout account first, with the responder's
/// user, and the injector's when the harness plays the responder), and the `auth_users`.
fn accounts(
    spec: &WorldSpec,
    responder: (&str, &str),
    probe_pass: &str,
    with_nkeys: bool,
) -> (Vec<AccountConf>, Vec<String>) {
    let mut accounts = vec![AccountConf {
        name: CALLOUT_ACCOUNT.into(),
        users: vec![(responder.0.to_string(), responder.1.to_string())],
        // With nkey users, a configured nkey of no one's makes the server send a nonce.
        nkeys: if with_nkeys {
            vec![Signer::generate(KeyKind::User).public_key().to_string()]
        } else {
            vec![]
        },
    }];
    for a in &spec.accounts {
        if a != CALLOUT_ACCOUNT {
            accounts.push(AccountConf {
                name: a.clone(),
                ..Default::default()
            });
        }
    }
    for u in &spec.auth_users {
        if let Some(acc) = accounts.iter_mut().find(|a| a.name == u.account) {
            acc.users.push((u.user.clone(), u.pass.clone()));
        } else {
            accounts.push(AccountConf {
                name: u.account.clone(),
                users: vec![(u.user.clone(), u.pass.clone())],
                ..Default::default()
            });
        }
    }
    let mut auth_users = vec![responder.0.to_string()];
    auth_users.extend(spec.auth_users.iter().map(|u| u.user.clone()));
    if let Some(user) = &spec.injector {
        accounts[0]
            .users
            .push((user.clone(), probe_pass.to_string()));
    }
    (accounts, auth_users)
}

/// The operator-mode parts of a fixture.
struct OperatorPart {
    issuer: Signer,
    issuer_pub: String,
    conf: ServerConf,
    probe_login: ConnectOptions,
    operator: crate::operator::OperatorFixture,
}

/// Operator mode: the operator, its accounts and the sentinel (written to `dir`), the
/// server config that trusts them, and the probe's login with the sentinel's JWT.
fn operator_part(
    spec: &WorldSpec,
    dir: &Path,
    issuer: Signer,
    xkey_pub: Option<&CurvePublic>,
    probe_login: ConnectOptions,
) -> std::io::Result<OperatorPart> {
    let targets: Vec<String> = spec
        .accounts
        .iter()
        .filter(|a| *a != CALLOUT_ACCOUNT)
        .cloned()
        .collect();
    let options = crate::operator::Options {
        targets,
        allowed: spec.allowed_accounts.clone(),
        xkey: xkey_pub.map(|x| x.as_str().to_string()),
        shape: spec.operator_shape.clone(),
    };
    let (mut o, opconf) = crate::operator::build(dir, &issuer, &options)?;
    let probe_login = ConnectOptions {
        jwt: Some(o.sentinel_jwt.clone()),
        nkey: Some((o.sentinel.clone(), SigMode::Valid)),
        ..probe_login
    };
    // With `issuer = "signing_key"` the callout account's signing key is the responder's
    // issuer; the account keeps its own key.
    let issuer = o.issuer_signing_key.take().unwrap_or(issuer);
    let issuer_pub = issuer.public_key().to_string();
    let conf = ServerConf {
        auth_timeout_secs: spec.timeout,
        port: spec.attach.as_ref().map(|a| a.port),
        operator: Some(opconf),
        max_payload: spec.injector.as_ref().map(|_| INJECTOR_MAX_PAYLOAD),
        ..Default::default()
    };
    Ok(OperatorPart {
        issuer,
        issuer_pub,
        conf,
        probe_login,
        operator: o,
    })
}

impl Fixture {
    /// Generates keys, the server config and the users file for `spec`.
    pub fn new(spec: &WorldSpec) -> std::io::Result<Fixture> {
        let issuer = Signer::generate(KeyKind::Account);
        let (issuer_pub, xkey, xkey_pub) = keys(spec, &issuer)?;
        // A responder that is already running connects with its own user and password.
        let (responder_user, responder_pass) = match &spec.attach {
            Some(a) => (a.user.clone(), a.pass.clone()),
            None => (RESPONDER_USER.to_string(), random_secret()),
        };
        let probe_pass = random_secret();
        let scratch = ScratchGuard::new(server::scratch_dir("fixture")?);
        let dir = scratch.path();
        let mut users = users_json(spec, &probe_pass);
        let nkeys = nkey_users(spec, &mut users);
        let (ca, tls_files) = if spec.tls {
            let (ca, files) = tls_material(dir)?;
            (Some(ca), Some(files))
        } else {
            (None, None)
        };
        let certs = match &ca {
            Some(ca) => client_certs(ca, &mut users)?,
            None => HashMap::new(),
        };
        let websocket = spec
            .websocket
            .then(|| format!("127.0.0.1:{}", server::free_port()));
        let users_path = dir.join("users.json");
        server::write_private(
            &users_path,
            serde_json::to_vec_pretty(&users).unwrap_or_default(),
        )?;
        let probe_login = probe_login(spec, &nkeys, &probe_pass, ca.as_deref(), &certs)?;
        let (issuer, issuer_pub, conf, probe_login, operator) = if spec.operator {
            let o = operator_part(spec, dir, issuer, xkey_pub.as_ref(), probe_login)?;
            (
                o.issuer,
                o.issuer_pub,
                o.conf,
                o.probe_login,
                Some(o.operator),
            )
        } else {
            let responder = (responder_user.as_str(), responder_pass.as_str());
            let (accounts, auth_users) = accounts(spec, responder, &probe_pass, !nkeys.is_empty());
            let conf = ServerConf {
                accounts,
                system_account: spec.system_account.clone(),
                callout: spec.injector.is_none().then(|| CalloutConf {
                    issuer: issuer_pub.clone(),
                    account: CALLOUT_ACCOUNT.into(),
                    auth_users,
                    xkey: xkey_pub.as_ref().map(|x| x.as_str().to_string()),
                    allowed_accounts: spec.allowed_accounts.clone(),
                }),
                auth_timeout_secs: spec.timeout,
                max_payload: spec.injector.as_ref().map(|_| INJECTOR_MAX_PAYLOAD),
                port: spec.attach.as_ref().map(|a| a.port),
                tls: tls_files,
                websocket_port: websocket
                    .as_ref()
                    .and_then(|a| a.rsplit(':').next())
                    .and_then(|p| p.parse().ok()),
                ..Default::default()
            };
            (issuer, issuer_pub, conf, probe_login, None)
        };
        Ok(Fixture {
            issuer,
            issuer_pub,
            xkey,
            xkey_pub,
            responder_user,
            responder_pass,
            probe_pass,
            dir: scratch.disarm(),
            conf,
            users_path,
            probe_login,
            nkeys,
            ca,
            certs,
            websocket,
            operator,
        })
    }

    /// True when the responder brings its own issuer key (a profile's `[keys]`): the harness
    /// made no issuer seed for it.
    pub fn own_issuer(&self) -> bool {
        self.issuer_pub != self.issuer.public_key()
    }

    /// Placeholder values for a responder connecting to `url`.
    pub fn placeholders(&self, url: &str) -> std::io::Result<Placeholders> {
        // A responder with keys of its own gets no seeds (a profile's `[keys]`).
        let own_issuer = self.own_issuer();
        let (issuer_seed, issuer_file) = if own_issuer {
            (String::new(), String::new())
        } else {
            let seed = self.issuer.seed();
            let file = self.dir.join("issuer.nk");
            server::write_private(&file, format!("{seed}\n"))?;
            (seed, file.display().to_string())
        };
        let (xkey_seed, xkey_file) = match &self.xkey {
            Some(x) => {
                let f = self.dir.join("xkey.nk");
                server::write_private(&f, format!("{}\n", x.seed()))?;
                (x.seed(), f.display().to_string())
            }
            None => (String::new(), String::new()),
        };
        let xkey_pub = self
            .xkey_pub
            .as_ref()
            .map(|x| x.as_str().to_string())
            .unwrap_or_default();
        Ok(Placeholders {
            url: url.to_string(),
            user: self.responder_user.clone(),
            pass: self.responder_pass.clone(),
            issuer_seed,
            issuer_seed_file: issuer_file,
            issuer_pub: self.issuer_pub.clone(),
            xkey_seed,
            xkey_seed_file: xkey_file,
            xkey_pub,
            users: self.users_path.display().to_string(),
            creds: self
                .operator
                .as_ref()
                .map(|o| o.creds_file.clone())
                .unwrap_or_default(),
            signing_keys: self
                .operator
                .as_ref()
                .map(|o| o.signing_keys.clone())
                .unwrap_or_default(),
            scoped_keys: self
                .operator
                .as_ref()
                .map(|o| o.scoped_keys.clone())
                .unwrap_or_default(),
            ca_file: self
                .ca
                .as_ref()
                .map(|_| self.dir.join("ca.pem").display().to_string())
                .unwrap_or_default(),
            cert_file: self
                .ca
                .as_ref()
                .map(|_| self.dir.join("responder-cert.pem").display().to_string())
                .unwrap_or_default(),
            key_file: self
                .ca
                .as_ref()
                .map(|_| self.dir.join("responder-key.pem").display().to_string())
                .unwrap_or_default(),
            // The responder's own ([`crate::sut::ResponderSpec::argv`]).
            profile_dir: None,
        })
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        crate::cleanup::remove_dir(&self.dir);
    }
}

#[cfg(test)]
mod placeholder_tests {
    use super::*;

    #[test]
    fn a_tls_world_hands_the_responder_its_ca_file_and_a_plain_one_none() {
        let tls = Fixture::new(&WorldSpec {
            tls: true,
            ..WorldSpec::default()
        })
        .unwrap();
        let p = tls.placeholders("nats://127.0.0.1:1").unwrap();
        let pem = std::fs::read_to_string(&p.ca_file).unwrap();
        assert!(pem.contains("BEGIN CERTIFICATE"), "{pem}");
        let plain = Fixture::new(&WorldSpec::default()).unwrap();
        assert_eq!(
            plain.placeholders("nats://127.0.0.1:1").unwrap().ca_file,
            ""
        );
    }
}
