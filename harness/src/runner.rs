//! Replays scenarios against one responder on one server: generates the keys and the users
//! file, starts the server and the responder, waits until the responder answers, runs every
//! case's steps over raw client connections, and grades each case from what crossed the wire.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use callout_codec::{CurvePublic, CurveSecret, KeyKind, Signer};
use serde_json::Value;

use crate::client::{self, Client, ConnectOptions, ConnectOutcome, Event, Msg, SigMode};
use crate::provision::ServerBinary;
use crate::scenario::{
    self, Case, ConnectExpect, PubExpect, RequestExpect, Scenario, Step, SubExpect, UserInfoExpect,
};
use crate::server::{self, AccountConf, CalloutConf, RunningServer, ServerConf, ServerError};
use crate::sut::{Placeholders, ResponderSpec, RunningResponder};
use crate::verdict::{CaseResult, Verdict};

/// The name of the callout account in every scenario.
pub const CALLOUT_ACCOUNT: &str = "AUTH";
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
        cert: &scenario::CertChoice,
        websocket: bool,
    ) -> Result<(Option<crate::tls::ClientTls>, Option<String>), String> {
        let tls = match (tls, &self.ca) {
            (false, _) => None,
            (true, None) => {
                return Err("a TLS connect, but the scenario has no TLS listener".into())
            }
            (true, Some(ca)) => {
                let issued = match cert {
                    scenario::CertChoice::None => None,
                    scenario::CertChoice::User(n) => Some(
                        self.certs
                            .get(n)
                            .cloned()
                            .ok_or_else(|| format!("no certificate for user {n:?}"))?,
                    ),
                    scenario::CertChoice::Stranger(n) => Some(Arc::new(ca.client(n)?)),
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

/// 24 random lower-case letters and digits, for passwords and tokens nobody else knows.
pub fn random_secret() -> String {
    let k = Signer::generate(KeyKind::User);
    k.public_key()[1..25].to_lowercase()
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
pub fn generated_user(g: &scenario::GenerateUsers, i: usize) -> (String, String) {
    let account = g
        .accounts
        .get(i % g.accounts.len().max(1))
        .cloned()
        .unwrap_or_default();
    (format!("{}{i}", g.prefix), account)
}

impl Fixture {
    /// Generates keys, the server config and the users file for `scn`.
    pub fn new(scn: &Scenario) -> std::io::Result<Fixture> {
        let issuer = Signer::generate(KeyKind::Account);
        let (issuer_pub, xkey, xkey_pub) = match &scn.keys {
            None => {
                let xkey = scn.xkey.then(CurveSecret::generate);
                let public = xkey.as_ref().map(|x| x.public().clone());
                (issuer.public_key().to_string(), xkey, public)
            }
            Some(own) => {
                let public =
                    match (&own.xkey, scn.xkey) {
                        (Some(x), true) => Some(CurvePublic::parse(x).map_err(|e| {
                            std::io::Error::other(format!("[keys] xkey {x:?}: {e}"))
                        })?),
                        _ => None,
                    };
                (own.issuer.clone(), None, public)
            }
        };
        // A responder that is already running connects with its own user and password.
        let (responder_user, responder_pass) = match &scn.attach {
            Some(a) => (a.user.clone(), a.pass.clone()),
            None => (RESPONDER_USER.to_string(), random_secret()),
        };
        let probe_pass = random_secret();
        let dir = server::scratch_dir("fixture")?;
        let mut users = scn.users_json.clone();
        if !users.is_object() {
            users = Value::Object(Default::default());
        }
        if let Some(g) = &scn.generate_users {
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
        let probe_account = if scn.operator {
            scn.accounts
                .iter()
                .find(|a| *a != CALLOUT_ACCOUNT && *a != crate::operator::SYSTEM_ACCOUNT)
                .cloned()
                .unwrap_or_else(|| CALLOUT_ACCOUNT.to_string())
        } else {
            CALLOUT_ACCOUNT.to_string()
        };
        users[PROBE_USER] = match scn.feature.as_deref() {
            Some("nkey") => serde_json::json!({"nkey": true, "account": CALLOUT_ACCOUNT}),
            Some("cert") => serde_json::json!({"cert": true, "account": CALLOUT_ACCOUNT}),
            Some("token") => serde_json::json!({"token": probe_pass, "account": CALLOUT_ACCOUNT}),
            _ => serde_json::json!({"pass": probe_pass, "account": probe_account}),
        };
        // `nkey = true` users get a key pair of this run; users.json holds the public key. A
        // profile's nkey identities bring their own.
        let mut nkeys: HashMap<String, Arc<Signer>> = scn
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
        // TLS: a CA of this run, the server's certificate, and a client certificate for each
        // `cert = true` user, whose subject users.json holds as cert_subject.
        let mut certs = HashMap::new();
        let mut tls_files = None;
        let ca = if scn.tls {
            let made = (|| -> std::io::Result<Arc<crate::tls::TestCa>> {
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
                tls_files = Some(files);
                Ok(Arc::new(ca))
            })();
            match made {
                Ok(ca) => Some(ca),
                Err(e) => {
                    crate::cleanup::remove_dir(&dir);
                    return Err(e);
                }
            }
        } else {
            None
        };
        if let (Some(ca), Some(map)) = (&ca, users.as_object_mut()) {
            for (name, entry) in map.iter_mut() {
                if entry.get("cert") == Some(&Value::Bool(true)) {
                    let issued = match ca.client(name) {
                        Ok(c) => c,
                        Err(e) => {
                            crate::cleanup::remove_dir(&dir);
                            return Err(cert_error(e));
                        }
                    };
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
        }
        let websocket = scn
            .websocket
            .then(|| format!("127.0.0.1:{}", server::free_port()));
        let users_path = dir.join("users.json");
        if let Err(e) = server::write_private(
            &users_path,
            serde_json::to_vec_pretty(&users).unwrap_or_default(),
        ) {
            crate::cleanup::remove_dir(&dir);
            return Err(e);
        }
        let probe_login = match (&scn.probe, nkeys.get(PROBE_USER), scn.feature.as_deref()) {
            (Some(cred), _, _) => match cred.login(ca.as_deref()) {
                Ok(opts) => opts,
                Err(e) => {
                    crate::cleanup::remove_dir(&dir);
                    return Err(std::io::Error::other(e));
                }
            },
            (None, Some(key), _) => ConnectOptions {
                nkey: Some((key.clone(), SigMode::Valid)),
                ..Default::default()
            },
            (None, None, Some("token")) => ConnectOptions {
                token: Some(probe_pass.clone()),
                ..Default::default()
            },
            (None, None, Some("cert")) => {
                let tls = match (&ca, certs.get(PROBE_USER)) {
                    (Some(ca), Some(c)) => crate::tls::ClientTls::new(&ca.cert_der, Some(c)),
                    _ => Err("no certificate for the probe".to_string()),
                };
                match tls {
                    Ok(t) => ConnectOptions {
                        tls: Some(t),
                        ..Default::default()
                    },
                    Err(e) => {
                        crate::cleanup::remove_dir(&dir);
                        return Err(cert_error(e));
                    }
                }
            }
            _ => ConnectOptions {
                user: Some(PROBE_USER.into()),
                pass: Some(probe_pass.clone()),
                ..Default::default()
            },
        };
        let mut accounts = vec![AccountConf {
            name: CALLOUT_ACCOUNT.into(),
            users: vec![(responder_user.clone(), responder_pass.clone())],
            // With nkey users, a configured nkey of no one's makes the server send a nonce.
            nkeys: if nkeys.is_empty() {
                vec![]
            } else {
                vec![Signer::generate(KeyKind::User).public_key().to_string()]
            },
        }];
        for a in &scn.accounts {
            if a != CALLOUT_ACCOUNT {
                accounts.push(AccountConf {
                    name: a.clone(),
                    ..Default::default()
                });
            }
        }
        for u in &scn.auth_users {
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
        let mut auth_users = vec![responder_user.clone()];
        auth_users.extend(scn.auth_users.iter().map(|u| u.user.clone()));
        let operator = if scn.operator {
            let targets: Vec<String> = scn
                .accounts
                .iter()
                .filter(|a| *a != CALLOUT_ACCOUNT)
                .cloned()
                .collect();
            let options = crate::operator::Options {
                targets,
                allowed: scn.allowed_accounts.clone(),
                xkey: xkey_pub.as_ref().map(|x| x.as_str().to_string()),
                shape: scn.operator_shape.clone(),
            };
            match crate::operator::build(&dir, &issuer, &options) {
                Ok(o) => Some(o),
                Err(e) => {
                    crate::cleanup::remove_dir(&dir);
                    return Err(e);
                }
            }
        } else {
            None
        };
        let probe_login = match &operator {
            Some((o, _)) => ConnectOptions {
                jwt: Some(o.sentinel_jwt.clone()),
                nkey: Some((o.sentinel.clone(), SigMode::Valid)),
                ..probe_login
            },
            None => probe_login,
        };
        if let Some((mut o, opconf)) = operator {
            // With `issuer = "signing_key"` the callout account's signing key is the
            // responder's issuer; the account keeps its own key.
            let issuer = o.issuer_signing_key.take().unwrap_or(issuer);
            let issuer_pub = issuer.public_key().to_string();
            let conf = ServerConf {
                auth_timeout_secs: scn.timeout,
                port: scn.attach.as_ref().map(|a| a.port),
                operator: Some(opconf),
                ..Default::default()
            };
            return Ok(Fixture {
                issuer,
                issuer_pub,
                xkey,
                xkey_pub,
                responder_user,
                responder_pass,
                probe_pass,
                dir,
                conf,
                users_path,
                probe_login,
                nkeys,
                ca,
                certs,
                websocket,
                operator: Some(o),
            });
        }
        let conf = ServerConf {
            accounts,
            system_account: scn.system_account.clone(),
            callout: Some(CalloutConf {
                issuer: issuer_pub.clone(),
                account: CALLOUT_ACCOUNT.into(),
                auth_users,
                xkey: xkey_pub.as_ref().map(|x| x.as_str().to_string()),
                allowed_accounts: scn.allowed_accounts.clone(),
            }),
            auth_timeout_secs: scn.timeout,
            max_payload: None,
            port: scn.attach.as_ref().map(|a| a.port),
            tls: tls_files,
            websocket_port: websocket
                .as_ref()
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| p.parse().ok()),
            ..Default::default()
        };
        Ok(Fixture {
            issuer,
            issuer_pub,
            xkey,
            xkey_pub,
            responder_user,
            responder_pass,
            probe_pass,
            dir,
            conf,
            users_path,
            probe_login,
            nkeys,
            ca,
            certs,
            websocket,
            operator: None,
        })
    }

    /// Placeholder values for a responder connecting to `url`.
    pub fn placeholders(&self, url: &str) -> std::io::Result<Placeholders> {
        // A responder with keys of its own gets no seeds (a profile's `[keys]`).
        let own_issuer = self.issuer_pub != self.issuer.public_key();
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
        })
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        crate::cleanup::remove_dir(&self.dir);
    }
}

/// The default of `--ready-timeout`.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Options for a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// `--strict`.
    pub strict: bool,
    /// Id filters (prefix or glob); empty = all.
    pub filters: Vec<String>,
    /// `--fail-on-unimplemented`: UNIMPLEMENTED counts as FAIL, as `--strict` does NON-STRICT.
    pub fail_on_unimplemented: bool,
    /// `--ready-timeout`: how long a responder may take to answer its first callout.
    pub ready_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            strict: false,
            filters: vec![],
            fail_on_unimplemented: false,
            ready_timeout: DEFAULT_READY_TIMEOUT,
        }
    }
}

impl RunOptions {
    /// The verdict after `--strict` and `--fail-on-unimplemented`.
    pub fn grade(&self, v: Verdict) -> Verdict {
        let v = v.strictly(self.strict);
        if self.fail_on_unimplemented && v == Verdict::Unimplemented {
            Verdict::Fail
        } else {
            v
        }
    }

    /// Applies [`RunOptions::grade`] to a result; an UNIMPLEMENTED made a failure says so.
    pub fn apply(&self, r: &mut CaseResult) {
        let v = self.grade(r.verdict);
        if r.verdict == Verdict::Unimplemented && v == Verdict::Fail {
            r.expected = "the feature implemented (--fail-on-unimplemented)".into();
            r.actual = format!("unimplemented: {}", r.actual);
        }
        r.verdict = v;
    }

    /// True when the case id `id` is selected by the filters (none = all).
    pub fn selects_id(&self, id: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| callout_leaves::text::matches_filter(id, f))
    }

    /// True when `case` is selected.
    pub fn selects(&self, case: &Case) -> bool {
        self.selects_id(&case.id)
    }
}

/// What running one scenario file produced.
pub struct ScenarioOutcome {
    /// One result per selected case.
    pub results: Vec<CaseResult>,
    /// Responder stderr tail.
    pub stderr: String,
    /// A set-up error, when nothing could run.
    pub setup_error: Option<String>,
}

fn skipped(case: &Case, why: &str) -> CaseResult {
    CaseResult {
        id: case.id.clone(),
        title: case.title.clone(),
        requirement: case.requirement.clone(),
        cite: case.cite.clone(),
        level: case.level,
        rationale: case.rationale.clone(),
        verdict: Verdict::Skipped,
        baseline: None,
        expected: String::new(),
        actual: why.to_string(),
        transcript: vec![],
        duration_ms: 0,
        figures: vec![],
    }
}

/// Runs one scenario file against one responder on one server.
pub async fn run_scenario(
    scn: &Scenario,
    backend: &dyn ServerBackend,
    bin: &ServerBinary,
    responder: &ResponderSpec,
    opts: &RunOptions,
    progress: &mut (dyn FnMut(&CaseResult) + Send),
) -> ScenarioOutcome {
    let selected: Vec<&Case> = scn.cases.iter().filter(|c| opts.selects(c)).collect();
    let mut out = ScenarioOutcome {
        results: vec![],
        stderr: String::new(),
        setup_error: None,
    };
    if selected.is_empty() {
        return out;
    }
    if let Some(min) = &scn.min_server {
        if !callout_leaves::version::version_at_least(&bin.version, min) {
            for c in selected {
                let r = skipped(c, &format!("needs nats-server {min} or later"));
                progress(&r);
                out.results.push(r);
            }
            return out;
        }
    }
    let fixture = match Fixture::new(scn) {
        Ok(f) => f,
        Err(e) => {
            out.setup_error = Some(format!(
                "{}: cannot write the fixture files: {e}",
                scn.path.display()
            ));
            return out;
        }
    };
    let mut world =
        match crate::topology::World::start(scn, &fixture, backend, bin, responder).await {
            Ok(w) => w,
            Err(e) => {
                out.setup_error = Some(e);
                return out;
            }
        };
    let mut unimplemented = None;
    if scn.responder_present {
        if let Err(e) = world.start_responders(scn).await {
            out.setup_error = Some(e);
            return out;
        }
        let first = world.nodes[0].server.as_ref();
        let ready = match (first, world.instances[0].proc.as_mut()) {
            (Some(server), Some(proc)) => {
                wait_ready(server, &fixture, proc, scn.timeout, opts.ready_timeout).await
            }
            _ => Err("no server or responder".to_string()),
        };
        if let (Ok(Probe::Rejected), Some(f @ ("nkey" | "token" | "cert"))) =
            (&ready, scn.feature.as_deref())
        {
            unimplemented = Some(format!(
                "the responder answered and rejected the probe user's {f} login: it does not implement the {f} users.json extension"
            ));
        }
        if let Err(why) = ready {
            if scn.feature.is_some() && world.exited().is_none() {
                unimplemented = Some(format!(
                    "the responder never admitted the probe user with {} on: {why}",
                    scn.feature.as_deref().unwrap_or("")
                ));
            } else {
                out.stderr = world.stop_responders(40);
                out.setup_error = Some(format!(
                    "{}: the responder did not become ready: {why}",
                    scn.path.display()
                ));
                return out;
            }
        }
        if !scn.topology.is_plain() && unimplemented.is_none() {
            if let Err(why) = world.wait_all_nodes(opts.ready_timeout).await {
                out.stderr = world.stop_responders(40);
                out.setup_error = Some(format!(
                    "{}: the responder did not serve every node: {why}",
                    scn.path.display()
                ));
                return out;
            }
        }
    }
    if let Err(e) = world.start_leafs().await {
        out.stderr = world.stop_responders(40);
        out.setup_error = Some(format!("{}: {e}", scn.path.display()));
        return out;
    }
    for case in selected {
        if let Some(why) = case.outside_servers(&bin.version) {
            let r = skipped(case, &why);
            progress(&r);
            out.results.push(r);
            continue;
        }
        let mut r = if let Some(why) = &unimplemented {
            let mut r = skipped(case, why);
            r.verdict = Verdict::Unimplemented;
            r
        } else {
            run_case(case, scn, &fixture, &mut world, opts.ready_timeout).await
        };
        if let Some((j, status)) = world.exited() {
            let who = if world.instances.len() > 1 {
                format!("responder instance {}", j + 1)
            } else {
                "responder".to_string()
            };
            r.transcript.push(format!("{who} exited ({status})"));
            if r.verdict == Verdict::Pass {
                r.verdict = Verdict::Fail;
                r.expected = "the responder keeps running".into();
                r.actual = format!("the {who} exited ({status})");
            }
        }
        opts.apply(&mut r);
        progress(&r);
        out.results.push(r);
        if scn.responder_present && !scn.topology.is_plain() {
            match world.heal(scn).await {
                Ok(true) => {
                    if let Err(why) = world.wait_all_nodes(opts.ready_timeout).await {
                        out.setup_error = Some(format!(
                            "{}: after {} the responder did not serve every node again: {why}",
                            scn.path.display(),
                            case.id
                        ));
                        break;
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    out.setup_error = Some(e);
                    break;
                }
            }
        }
    }
    if scn.responder_present {
        out.stderr = world.stop_responders(40);
    }
    drop(world);
    out
}

/// How the readiness probe ended.
enum Probe {
    Admitted,
    /// Rejected well before the server's timeout: the responder answered.
    Rejected,
}

/// Waits until the responder answers callouts: the probe user is admitted, or rejected well
/// before the server's timeout (the responder answered, and the server refused the answer:
/// the cases will say why). Fails when the responder exits or `ready` (`--ready-timeout`)
/// passes.
async fn wait_ready(
    server: &RunningServer,
    fx: &Fixture,
    proc: &mut RunningResponder,
    timeout: f64,
    ready: Duration,
) -> Result<Probe, String> {
    let deadline = Instant::now() + ready;
    let opts = fx.probe_login.clone();
    let mut last = String::from("no attempt");
    // Most responders subscribe within a few hundred milliseconds; a probe sent before that
    // costs a whole server timeout.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while Instant::now() < deadline {
        if let Some(st) = proc.exited() {
            return Err(format!(
                "it exited ({st}); its stderr:\n{}",
                proc.stderr_tail(20)
            ));
        }
        let t0 = Instant::now();
        match client::connect(
            &server.addr(),
            &opts,
            Duration::from_secs_f64(timeout + 3.0),
        )
        .await
        {
            Ok(ConnectOutcome::Admitted(c)) => {
                c.close().await;
                return Ok(Probe::Admitted);
            }
            Ok(ConnectOutcome::Rejected(_)) if t0.elapsed().as_secs_f64() < timeout * 0.7 => {
                return Ok(Probe::Rejected)
            }
            Ok(o) => last = format!("probe connect: {o:?}"),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "{} s passed (--ready-timeout); last attempt: {last}",
        ready.as_secs_f64()
    ))
}

/// A connection of a case, with what it has received so far.
struct Conn {
    client: Client,
    msgs: Vec<Msg>,
    errs: Vec<String>,
    closed: bool,
}

impl Conn {
    fn absorb(&mut self, events: Vec<Event>) {
        for e in events {
            match e {
                Event::Msg(m) => self.msgs.push(m),
                Event::Err(e) => self.errs.push(e),
                Event::Closed => self.closed = true,
                Event::Info(_) | Event::Pong => {}
            }
        }
    }

    async fn sync(&mut self) {
        let ok = self.client.flush(Duration::from_secs(3)).await;
        let p = self.client.take_pending();
        self.absorb(p);
        if !ok {
            self.closed = true;
        }
    }

    /// Waits up to `timeout` for a message on `subject` beyond the first `seen`.
    async fn wait_msg(&mut self, subject: &str, seen: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.msgs.iter().filter(|m| m.subject == subject).count() > seen {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.client.next_event(left).await {
                Some(e) => self.absorb(vec![e]),
                None => return false,
            }
        }
    }

    fn count(&self, subject: &str) -> usize {
        self.msgs.iter().filter(|m| m.subject == subject).count()
    }
}

/// One step's line in the transcript, and the mismatch if any.
struct StepLine {
    line: String,
    mismatch: Option<(String, String)>,
    figures: Vec<crate::verdict::Figure>,
}

impl From<crate::topology::storm::StepReport> for StepLine {
    fn from(r: crate::topology::storm::StepReport) -> StepLine {
        StepLine {
            line: r.line,
            mismatch: r.mismatch,
            figures: r.figures,
        }
    }
}

fn ok(line: String) -> StepLine {
    StepLine {
        line,
        mismatch: None,
        figures: vec![],
    }
}

fn bad(line: String, expected: impl Into<String>, actual: impl Into<String>) -> StepLine {
    StepLine {
        line,
        mismatch: Some((expected.into(), actual.into())),
        figures: vec![],
    }
}

/// Runs one case on fresh connections.
pub async fn run_case(
    case: &Case,
    scn: &Scenario,
    fixture: &Fixture,
    world: &mut crate::topology::World<'_>,
    ready_limit: Duration,
) -> CaseResult {
    let started = Instant::now();
    let mut conns: HashMap<String, Conn> = HashMap::new();
    let mut transcript = Vec::new();
    let mut verdict = Verdict::Pass;
    let mut expected = String::new();
    let mut actual = String::new();
    let mut figures = Vec::new();
    for step in &case.steps {
        let sl = run_step(step, scn, fixture, world, &mut conns, ready_limit).await;
        figures.extend(sl.figures);
        match sl.mismatch {
            None => transcript.push(sl.line),
            Some((e, a)) => {
                transcript.push(format!("{}   <-- expected {e}", sl.line));
                verdict = case.level.on_breach();
                expected = e;
                actual = a;
                break;
            }
        }
    }
    for (_, c) in conns.drain() {
        c.client.close().await;
    }
    CaseResult {
        id: case.id.clone(),
        title: case.title.clone(),
        requirement: case.requirement.clone(),
        cite: case.cite.clone(),
        level: case.level,
        rationale: case.rationale.clone(),
        verdict,
        baseline: None,
        expected,
        actual,
        transcript,
        duration_ms: started.elapsed().as_millis() as u64,
        figures,
    }
}

const WAIT: Duration = Duration::from_secs(2);

/// A connect turned away as expected (`what`: "rejected: …" or "closed without -ERR"), no
/// earlier than `min_secs` when given (timeouts).
fn turned_away(line_head: &str, what: &str, min_secs: Option<f64>, took: f64) -> StepLine {
    match min_secs {
        Some(min) if took + 0.05 < min => bad(
            format!("{line_head} -> {what} (early)"),
            format!("turned away after at least {min} s"),
            format!("{what} after {took:.2} s"),
        ),
        Some(_) => ok(format!("{line_head} -> {what} (after the timeout)")),
        None => ok(format!("{line_head} -> {what}")),
    }
}

/// What a connect expecting `e` wanted, in words.
fn connect_want(e: ConnectExpect) -> &'static str {
    match e {
        ConnectExpect::Admitted => "admitted",
        ConnectExpect::Rejected => "rejected: Authorization Violation",
        ConnectExpect::Refused => "refused before authentication (TLS)",
        ConnectExpect::Closed => "closed without -ERR",
    }
}

fn perm_violation(errs: &[String], kind: &str) -> Option<String> {
    errs.iter()
        .find(|e| e.starts_with(&format!("Permissions Violation for {kind}")))
        .cloned()
}

async fn run_step(
    step: &Step,
    scn: &Scenario,
    fixture: &Fixture,
    world: &mut crate::topology::World<'_>,
    conns: &mut HashMap<String, Conn>,
    ready_limit: Duration,
) -> StepLine {
    let connect_timeout = Duration::from_secs_f64(scn.timeout + 5.0);
    match step {
        Step::Connect {
            name,
            user,
            pass,
            token,
            nkey,
            sig,
            expect,
            min_secs,
            cred_cmd,
            cert,
            tls,
            websocket,
            node,
            sentinel,
            creds,
        } => {
            let anonymous = *tls && *cert != scenario::CertChoice::None && user.is_none();
            let user = if token.is_some()
                || nkey.is_some()
                || cred_cmd.is_some()
                || anonymous
                || creds.is_some()
            {
                user.clone()
            } else {
                Some(user.clone().unwrap_or_else(|| name.clone()))
            };
            // A minted credential is made just before the connect, so that a short-lived one
            // has its whole life ahead of it.
            let (mut pass, mut token) = (pass.clone(), token.clone());
            if let Some(cmd) = cred_cmd {
                match cmd.mint() {
                    Ok(secret) => match cmd.kind {
                        crate::profile::CredKind::Token => token = Some(secret),
                        crate::profile::CredKind::Password => pass = Some(secret),
                    },
                    Err(e) => {
                        return bad(
                            format!("connect {name}: cred_cmd failed"),
                            "a credential from cred_cmd",
                            e,
                        )
                    }
                }
            }
            let opts = ConnectOptions {
                user: user.clone(),
                pass,
                token,
                name: Some(name.clone()),
                nkey: nkey
                    .as_ref()
                    .and_then(|n| fixture.nkeys.get(n))
                    .map(|k| (k.clone(), *sig)),
                jwt: None,
                tls: None,
                websocket: None,
            };
            // Operator mode: the sentinel's JWT, and the nonce signed with its key.
            let opts = match (&fixture.operator, sentinel, creds) {
                (Some(o), true, Some(c)) => match o.local_users.get(c) {
                    Some(u) => ConnectOptions {
                        jwt: Some(u.jwt.clone()),
                        nkey: Some((u.key.clone(), SigMode::Valid)),
                        ..opts
                    },
                    None => {
                        return bad(
                            format!("connect {name}"),
                            "a user of the account creds names",
                            format!("no user of account {c:?}"),
                        )
                    }
                },
                (Some(o), true, None) => ConnectOptions {
                    jwt: Some(o.sentinel_jwt.clone()),
                    nkey: Some((o.sentinel.clone(), SigMode::Valid)),
                    ..opts
                },
                _ => opts,
            };
            let opts = match fixture.transport(*tls, cert, *websocket) {
                Ok((tls, websocket)) => ConnectOptions {
                    tls,
                    websocket,
                    ..opts
                },
                Err(e) => return bad(format!("connect {name}"), "a transport", e),
            };
            let mut line_head = match (nkey, &user, cert) {
                _ if creds.is_some() && user.is_none() => format!("connect {name}"),
                (Some(n), _, _) if *sig == SigMode::Valid => {
                    format!("connect {name} with the nkey of {n:?}")
                }
                (Some(n), _, _) => format!("connect {name} with the nkey of {n:?}, sig {sig:?}"),
                (None, Some(u), _) => format!("connect {name} as {u:?}"),
                (None, None, scenario::CertChoice::User(u)) => {
                    format!("connect {name} with the certificate of {u:?}")
                }
                (None, None, scenario::CertChoice::Stranger(cn)) => {
                    format!("connect {name} with a CA-signed certificate for CN={cn}")
                }
                (None, None, scenario::CertChoice::None) => {
                    format!("connect {name} as \"(token)\"")
                }
            };
            if *tls {
                line_head.push_str(if *cert == scenario::CertChoice::None {
                    " over TLS without a certificate"
                } else {
                    " over TLS"
                });
            }
            if *websocket {
                line_head.push_str(" over WebSocket");
            }
            if let Some(n) = node {
                line_head.push_str(&format!(" on {n}"));
            }
            match (&fixture.operator, sentinel, creds) {
                (Some(_), _, Some(c)) => line_head.push_str(&format!(" with {c}'s own creds")),
                (Some(_), false, _) => line_head.push_str(" without the sentinel's JWT"),
                _ => {}
            }
            let t0 = Instant::now();
            let outcome =
                client::connect(&world.addr(node.as_deref()), &opts, connect_timeout).await;
            let took = t0.elapsed().as_secs_f64();
            match (outcome, expect) {
                (Ok(ConnectOutcome::Admitted(c)), ConnectExpect::Admitted) => {
                    conns.insert(
                        name.clone(),
                        Conn {
                            client: c,
                            msgs: vec![],
                            errs: vec![],
                            closed: false,
                        },
                    );
                    ok(format!("{line_head} -> admitted"))
                }
                (Ok(ConnectOutcome::Admitted(c)), _) => {
                    c.close().await;
                    bad(
                        format!("{line_head} -> admitted"),
                        connect_want(*expect),
                        "admitted",
                    )
                }
                (Ok(ConnectOutcome::Rejected(e)), ConnectExpect::Rejected)
                    if e == "Authorization Violation" =>
                {
                    turned_away(&line_head, &format!("rejected: {e}"), *min_secs, took)
                }
                (Ok(ConnectOutcome::Rejected(e)), _) => bad(
                    format!("{line_head} -> rejected: {e}"),
                    connect_want(*expect),
                    format!("rejected: {e}"),
                ),
                (
                    Ok(ConnectOutcome::TlsRefused(_) | ConnectOutcome::Closed),
                    ConnectExpect::Refused,
                ) => ok(format!("{line_head} -> refused before authentication")),
                (Ok(ConnectOutcome::TlsRefused(e)), _) => bad(
                    format!("{line_head} -> refused by TLS"),
                    connect_want(*expect),
                    format!("the TLS session failed: {e}"),
                ),
                (Ok(ConnectOutcome::Closed), ConnectExpect::Closed) => {
                    turned_away(&line_head, "closed without -ERR", *min_secs, took)
                }
                (Ok(ConnectOutcome::Closed), _) => bad(
                    format!("{line_head} -> closed without -ERR"),
                    connect_want(*expect),
                    "connection closed without -ERR",
                ),
                (Err(e), _) => bad(
                    format!("{line_head} -> error"),
                    connect_want(*expect),
                    e.to_string(),
                ),
            }
        }
        Step::Subscribe {
            subject,
            conn,
            queue,
            expect,
        } => {
            let Some(c) = conns.get_mut(conn) else {
                return missing(conn);
            };
            let before = c.errs.len();
            c.client.subscribe(subject, queue.as_deref()).await;
            c.sync().await;
            let q = queue
                .as_ref()
                .map(|q| format!(" (queue {q})"))
                .unwrap_or_default();
            let head = format!("{conn} subscribe {subject:?}{q}");
            let denied = perm_violation(&c.errs[before..], "Subscription");
            match (denied, expect) {
                (None, SubExpect::Ok) => ok(format!("{head} -> ok")),
                (Some(e), SubExpect::Denied) => ok(format!("{head} -> denied: {e}")),
                (None, SubExpect::Denied) => bad(
                    format!("{head} -> ok"),
                    "Permissions Violation for Subscription",
                    "subscription accepted",
                ),
                (Some(e), SubExpect::Ok) => {
                    bad(format!("{head} -> denied: {e}"), "subscription accepted", e)
                }
            }
        }
        Step::Publish {
            subject,
            conn,
            payload,
            reply_to,
            to,
            expect,
        } => {
            let mut before_counts = HashMap::new();
            for t in to {
                match conns.get_mut(t) {
                    Some(l) => {
                        l.sync().await;
                        before_counts.insert(t.clone(), l.count(subject));
                    }
                    None => return missing(t),
                }
            }
            let Some(c) = conns.get_mut(conn) else {
                return missing(conn);
            };
            let reply = match reply_to.as_deref() {
                Some("inbox") => {
                    let inbox = c.client.new_inbox();
                    c.client.subscribe(&inbox, None).await;
                    Some(inbox)
                }
                other => other.map(String::from),
            };
            let before = c.errs.len();
            c.client
                .publish(subject, reply.as_deref(), payload.as_bytes())
                .await;
            c.sync().await;
            let denied = perm_violation(&c.errs[before..], "Publish");
            let head = format!(
                "{conn} publish {subject:?}{}",
                if reply.is_some() { " with reply" } else { "" }
            );
            let mut got = Vec::new();
            let mut missed = Vec::new();
            for t in to {
                let seen = before_counts.get(t).copied().unwrap_or(0);
                let Some(l) = conns.get_mut(t) else { continue };
                let arrived = if *expect == PubExpect::Delivered {
                    l.wait_msg(subject, seen, WAIT).await
                } else {
                    l.sync().await;
                    l.count(subject) > seen
                };
                if arrived {
                    got.push(t.clone());
                } else {
                    missed.push(t.clone());
                }
            }
            let desc = |got: &[String]| {
                if got.is_empty() {
                    "delivered to nobody".to_string()
                } else {
                    format!("delivered to {}", got.join(", "))
                }
            };
            match expect {
                PubExpect::Delivered => match denied {
                    Some(e) => bad(format!("{head} -> denied: {e}"), "delivered", e),
                    None if missed.is_empty() => ok(format!("{head} -> {}", desc(&got))),
                    None => bad(
                        format!("{head} -> {}", desc(&got)),
                        format!("delivered to {}", to.join(", ")),
                        format!("not delivered to {}", missed.join(", ")),
                    ),
                },
                PubExpect::Denied => match denied {
                    Some(e) if got.is_empty() => ok(format!("{head} -> denied: {e}")),
                    Some(e) => bad(
                        format!("{head} -> denied: {e}, but {}", desc(&got)),
                        "denied and delivered to nobody",
                        desc(&got),
                    ),
                    None => bad(
                        format!("{head} -> accepted, {}", desc(&got)),
                        "Permissions Violation for Publish",
                        format!("accepted, {}", desc(&got)),
                    ),
                },
                PubExpect::NotDelivered => match denied {
                    Some(e) => bad(
                        format!("{head} -> denied: {e}"),
                        "accepted and delivered to nobody",
                        e,
                    ),
                    None if got.is_empty() => {
                        ok(format!("{head} -> accepted, delivered to nobody"))
                    }
                    None => bad(
                        format!("{head} -> accepted, {}", desc(&got)),
                        "delivered to nobody",
                        desc(&got),
                    ),
                },
            }
        }
        Step::Reply {
            conn,
            count,
            delivered,
            wait,
            to,
        } => {
            let Some(c) = conns.get_mut(conn) else {
                return missing(conn);
            };
            c.sync().await;
            let Some(reply) = c.msgs.iter().rev().find_map(|m| m.reply.clone()) else {
                return bad(
                    format!("{conn} reply"),
                    "a received request to reply to",
                    "no message with a reply subject",
                );
            };
            if *wait > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(*wait)).await;
            }
            let before = c.errs.len();
            for i in 0..*count {
                c.client
                    .publish(&reply, None, format!("reply {i}").as_bytes())
                    .await;
            }
            c.sync().await;
            let denied = c.errs[before..]
                .iter()
                .filter(|e| e.starts_with("Permissions Violation for Publish"))
                .count();
            let Some(r) = conns.get_mut(to) else {
                return missing(to);
            };
            let seen = r.count(&reply);
            let deadline = Instant::now() + Duration::from_millis(700);
            while r.count(&reply) < seen + *count && Instant::now() < deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                match r.client.next_event(left).await {
                    Some(e) => r.absorb(vec![e]),
                    None => break,
                }
            }
            let got = r.count(&reply) - seen;
            let line = format!(
                "{conn} replies {count} time(s) -> {got} delivered to {to}, {denied} denied"
            );
            if got == *delivered {
                ok(line)
            } else {
                bad(
                    line,
                    format!("{delivered} delivered"),
                    format!("{got} delivered, {denied} denied"),
                )
            }
        }
        Step::Request {
            subject,
            conn,
            expect,
        } => {
            let Some(c) = conns.get_mut(conn) else {
                return missing(conn);
            };
            let (msgs, errs) = c
                .client
                .request(subject, b"", Duration::from_millis(1500), 1)
                .await;
            let head = format!("{conn} request {subject:?}");
            let denied = perm_violation(&errs, "Publish");
            let no_resp = msgs.iter().any(|m| m.status() == Some(503));
            let real = msgs.iter().filter(|m| m.status().is_none()).count();
            let got = if let Some(e) = &denied {
                format!("denied: {e}")
            } else if real > 0 {
                "replied".to_string()
            } else if no_resp {
                "no responders".to_string()
            } else {
                "no reply".to_string()
            };
            let want = match expect {
                RequestExpect::Replied => "replied",
                RequestExpect::NoResponders => "no responders",
                RequestExpect::Denied => "denied",
            };
            if got.starts_with(want) {
                ok(format!("{head} -> {got}"))
            } else {
                bad(format!("{head} -> {got}"), want, got)
            }
        }
        Step::UserInfo { conn, expect } => {
            let Some(c) = conns.get_mut(conn) else {
                return missing(conn);
            };
            match user_info(&mut c.client).await {
                Ok(mut info) => {
                    // Operator mode reports the account's public key: show and compare names.
                    if let Some(o) = &fixture.operator {
                        info.account = o.name_of(&info.account);
                    }
                    check_user_info(conn, &info, expect)
                }
                Err(e) => bad(format!("{conn} user info -> {e}"), "a user info reply", e),
            }
        }
        Step::Burst { count } => burst(scn, &world.addr(None), *count, connect_timeout).await,
        Step::Storm {
            count,
            within,
            nodes,
            kill,
        } => crate::topology::storm::storm(world, scn, *count, *within, nodes, *kill)
            .await
            .into(),
        Step::Restart { target, within } => {
            crate::topology::fault::restart(world, scn, target, *within, ready_limit)
                .await
                .into()
        }
        Step::DelayAnswers(secs) => crate::topology::fault::delay_answers(world, *secs).into(),
        Step::Sleep(s) => {
            tokio::time::sleep(Duration::from_secs_f64(*s)).await;
            ok(format!("sleep {s} s"))
        }
        Step::Alive(name) => match conns.get_mut(name) {
            Some(c) => {
                c.sync().await;
                if let Some(e) = c.errs.first() {
                    bad(
                        format!("{name} still admitted -> -ERR '{e}'"),
                        "still connected, no -ERR",
                        format!("-ERR '{e}'"),
                    )
                } else if c.closed {
                    bad(
                        format!("{name} still admitted -> closed"),
                        "still connected",
                        "the server closed the connection",
                    )
                } else {
                    ok(format!("{name} still admitted (PING answered)"))
                }
            }
            None => missing(name),
        },
        Step::Expire { conn, within } => match conns.remove(conn) {
            Some(mut c) => {
                let deadline = Instant::now() + Duration::from_secs_f64(*within);
                while !c.closed && Instant::now() < deadline {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match c.client.next_event(left).await {
                        Some(e) => c.absorb(vec![e]),
                        None => break,
                    }
                }
                let expired = c.errs.iter().any(|e| e == "User Authentication Expired");
                let line = format!("{conn} disconnected by the server within {within} s");
                let got = match (c.closed, c.errs.last()) {
                    (false, _) => "still connected".to_string(),
                    (true, Some(e)) => format!("closed with -ERR '{e}'"),
                    (true, None) => "closed without an -ERR".to_string(),
                };
                c.client.close().await;
                if expired && got.starts_with("closed") {
                    ok(format!("{line} -> -ERR 'User Authentication Expired'"))
                } else {
                    bad(
                        format!("{line} -> {got}"),
                        format!("-ERR 'User Authentication Expired' within {within} s"),
                        got,
                    )
                }
            }
            None => missing(conn),
        },
        Step::Close(name) => match conns.remove(name) {
            Some(c) => {
                c.client.close().await;
                ok(format!("close {name}"))
            }
            None => missing(name),
        },
    }
}

fn missing(name: &str) -> StepLine {
    bad(
        format!("(no connection {name:?})"),
        format!("connection {name:?} to be open"),
        "it was never opened, or its connect failed",
    )
}

/// What `$SYS.REQ.USER.INFO` reported.
#[derive(Debug, Default)]
pub struct UserInfo {
    /// Account name.
    pub account: String,
    /// Publish allow.
    pub pub_allow: Vec<String>,
    /// Publish deny.
    pub pub_deny: Vec<String>,
    /// Subscribe allow.
    pub sub_allow: Vec<String>,
    /// Subscribe deny.
    pub sub_deny: Vec<String>,
}

fn strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Asks the server who this connection is. In a cluster the request may be answered by a
/// server other than the client's own, and on 2.10.26 (observed) such an answer carries the
/// account but not the permissions, which that server does not know. Only the answer of the
/// client's own server counts (the reply's `server.name` equals the `server_name` of the
/// connection's INFO): the harness asks again, up to 20 times, until its own server answers.
pub async fn user_info(c: &mut Client) -> Result<UserInfo, String> {
    let own = c.info["server_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut others = 0;
    let mut reply = None;
    for _ in 0..20 {
        let (msgs, errs) = c
            .request("$SYS.REQ.USER.INFO", b"", Duration::from_secs(2), 1)
            .await;
        if let Some(e) = errs.first() {
            return Err(e.clone());
        }
        let m = msgs
            .into_iter()
            .next()
            .ok_or("no reply to $SYS.REQ.USER.INFO")?;
        let v: Value = serde_json::from_slice(&m.payload)
            .map_err(|e| format!("user info is not JSON: {e}"))?;
        // A single server without a name in the reply (it always has one) counts as its own.
        match v["server"]["name"].as_str() {
            Some(n) if n != own && !own.is_empty() => others += 1,
            _ => {
                reply = Some(v);
                break;
            }
        }
    }
    let v = reply.ok_or_else(|| {
        format!("{others} replies to $SYS.REQ.USER.INFO, none from the client's own server {own:?}")
    })?;
    let d = &v["data"];
    let p = &d["permissions"];
    Ok(UserInfo {
        account: d["account"].as_str().unwrap_or_default().to_string(),
        pub_allow: strings(&p["publish"]["allow"]),
        pub_deny: strings(&p["publish"]["deny"]),
        sub_allow: strings(&p["subscribe"]["allow"]),
        sub_deny: strings(&p["subscribe"]["deny"]),
    })
}

fn check_user_info(conn: &str, info: &UserInfo, e: &UserInfoExpect) -> StepLine {
    let mut parts = vec![format!("account {}", info.account)];
    let sorted = |v: &Vec<String>| {
        let mut v = v.clone();
        v.sort();
        v
    };
    let mut mismatch = None;
    if let Some(a) = &e.account {
        if &info.account != a {
            mismatch.get_or_insert((format!("account {a}"), format!("account {}", info.account)));
        }
    }
    let lists = [
        ("pub allow", &e.pub_allow, &info.pub_allow),
        ("pub deny", &e.pub_deny, &info.pub_deny),
        ("sub allow", &e.sub_allow, &info.sub_allow),
        ("sub deny", &e.sub_deny, &info.sub_deny),
    ];
    for (label, want, got) in lists {
        if let Some(w) = want {
            parts.push(format!("{label} {got:?}"));
            if &sorted(w) != got {
                mismatch.get_or_insert((
                    format!("{label} {:?}", sorted(w)),
                    format!("{label} {got:?}"),
                ));
            }
        }
    }
    for s in &e.pub_deny_includes {
        parts.push(format!("pub deny includes {s:?}"));
        if !info.pub_deny.contains(s) {
            mismatch.get_or_insert((
                format!("pub deny to include {s:?}"),
                format!("pub deny {:?}", info.pub_deny),
            ));
        }
    }
    let line = format!("{conn} user info -> {}", parts.join(", "));
    match mismatch {
        None => ok(line),
        Some((w, g)) => bad(line, w, g),
    }
}

async fn burst(scn: &Scenario, addr: &str, count: usize, timeout: Duration) -> StepLine {
    let Some(g) = scn.generate_users.clone() else {
        return bad(
            "burst".into(),
            "generate_users in the scenario",
            "no generated users",
        );
    };
    let count = count.min(g.count);
    let mut tasks = Vec::new();
    for i in 0..count {
        let addr = addr.to_string();
        let (name, account) = generated_user(&g, i);
        tasks.push(tokio::spawn(async move {
            let opts = ConnectOptions {
                user: Some(name.clone()),
                pass: Some(generated_pass(&name)),
                name: Some(name.clone()),
                ..Default::default()
            };
            match client::connect(&addr, &opts, timeout).await {
                Ok(ConnectOutcome::Admitted(mut c)) => {
                    let r = match user_info(&mut c).await {
                        Ok(info) if is_generated_decision(&info, &name, &account) => Ok(()),
                        Ok(info) => Err(format!(
                            "{name}: account {} pub allow {:?}",
                            info.account, info.pub_allow
                        )),
                        Err(e) => Err(format!("{name}: {e}")),
                    };
                    c.close().await;
                    r
                }
                Ok(o) => Err(format!("{name}: {o:?}")),
                Err(e) => Err(format!("{name}: {e}")),
            }
        }));
    }
    let mut failures = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let line = format!(
        "burst of {count} connects -> {} with their own account and permissions",
        count - failures.len()
    );
    if failures.is_empty() {
        ok(line)
    } else {
        failures.sort();
        bad(
            line,
            format!("all {count} admitted with their own account and permissions"),
            format!(
                "{} wrong, e.g. {}",
                failures.len(),
                failures
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
    }
}
