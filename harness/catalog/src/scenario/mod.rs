//! Scenario files: the cases as data (TOML), so that a new case in an existing category is a
//! file edit, not a Rust change. A file holds the server set-up, the users directory handed to
//! the responder, and cases made of steps. Every typo is an error naming the file, the line
//! and the field.
//!
//! ```toml
//! [server]
//! accounts = ["APP", "SYS"]       # the callout account AUTH is always added
//! system_account = "SYS"
//! xkey = true
//!
//! [users.alice]                   # users.json, seed format
//! pass = "alice"
//! account = "APP"
//!
//! [[case]]
//! id = "e2e.seed.1"
//! title = "alice publishes to test"
//! requirement = "an admitted user without permissions may publish in its account"
//! cite = "protocol.md §1.7"
//! steps = [
//!   { connect = "sub", user = "alice", pass = "alice" },
//!   { subscribe = "test", conn = "sub" },
//!   { connect = "alice", pass = "alice" },
//!   { publish = "test", conn = "alice", expect = "delivered", to = ["sub"] },
//! ]
//! ```
//!
//! Besides `connect`, `subscribe`, `publish`, `reply`, `request`, `user_info`, `burst`, `sleep`
//! and `close`, two steps judge a session's lifetime: `{ alive = "CONN" }` (still admitted: a
//! PING is answered and no `-ERR` came) and `{ expire = "CONN", within = SECS }` (the server
//! disconnects it with `User Authentication Expired` within SECS).
//!
//! Version-specific expectations are data too: `min_server = "2.11.0"` (on the file or a case)
//! skips a case on older servers, and `before_server = "2.14.4"` on a case skips it on that
//! version and newer. A behaviour that changed in a release is two cases, one with
//! `before_server = V` and one with `min_server = V`, each expecting its side of the change.
//! Rust code never checks a server version itself.
//!
//! This module holds the public types and `parse`, one function per section of the file;
//! `raw` is the file as serde reads it, `step` turns one step into a [`Step`], `check` holds the
//! checks of users, topology, operator keys and what each step names.

mod check;
mod raw;
mod step;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use thiserror::Error;
use toml::Spanned;

use callout_leaves::text::line_of;
use callout_leaves::verdict::Level;
use callout_leaves::version::{check_version, version_at_least};
use callout_world::spec::{CertChoice, Feature, GenerateUsers, WorldSpec};

use check::{
    check_operator_shape, check_secs, check_step, check_topology, check_users, e2e_area,
    StepContext,
};
use raw::{RawCase, RawFile, RawServer, TomlValue};
use step::convert_step;

/// A scenario file problem: file, line, field, fix.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{file}:{line}: {message}")]
pub struct ScenarioError {
    /// The file.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

pub use callout_world::client::SigMode;

/// What a connect should end in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectExpect {
    /// PONG.
    Admitted,
    /// `-ERR 'Authorization Violation'`.
    Rejected,
    /// Refused before authentication: the TLS handshake fails or the server ends TLS (a
    /// certificate it does not accept), so no callout happens.
    Refused,
    /// The server closes the connection without an `-ERR` (operator-mode timeouts before
    /// 2.15: a server behaviour, for version-bounded controls).
    Closed,
}

/// What a subscribe should end in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubExpect {
    /// Accepted.
    Ok,
    /// `Permissions Violation for Subscription`.
    Denied,
}

/// What a publish should end in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PubExpect {
    /// Every `to` connection receives it.
    Delivered,
    /// `Permissions Violation for Publish`, and nobody receives it.
    Denied,
    /// No error, and nobody in `to` receives it.
    NotDelivered,
}

/// What a request should end in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestExpect {
    /// At least one reply.
    Replied,
    /// A no-responders status.
    NoResponders,
    /// `Permissions Violation for Publish`.
    Denied,
}

/// Expected user info.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserInfoExpect {
    /// The account name.
    pub account: Option<String>,
    /// Exact publish allow list (sorted compare).
    pub pub_allow: Option<Vec<String>>,
    /// Exact publish deny list.
    pub pub_deny: Option<Vec<String>>,
    /// Exact subscribe allow list.
    pub sub_allow: Option<Vec<String>>,
    /// Exact subscribe deny list.
    pub sub_deny: Option<Vec<String>>,
    /// Subjects that must be among the publish denies.
    pub pub_deny_includes: Vec<String>,
}

/// One step of a case.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Open connection `name`.
    Connect {
        /// Connection name.
        name: String,
        /// CONNECT user.
        user: Option<String>,
        /// CONNECT pass.
        pass: Option<String>,
        /// CONNECT auth_token.
        token: Option<String>,
        /// CONNECT nkey: the `[users.NAME]` entry with `nkey = true` whose key logs in.
        nkey: Option<String>,
        /// How the nonce signature is made (with `nkey`).
        sig: SigMode,
        /// The client certificate it presents over TLS.
        cert: CertChoice,
        /// Start TLS (implied by a certificate).
        tls: bool,
        /// Connect through the server's WebSocket listener.
        websocket: bool,
        /// Expected outcome.
        expect: ConnectExpect,
        /// The rejection must take at least this long (timeouts).
        min_secs: Option<f64>,
        /// A command that mints the credential just before the connect (profiles only: a
        /// scenario file cannot run commands).
        cred_cmd: Option<callout_world::credential::CredCmd>,
        /// The node it connects to (`n1` … or a leaf's name); `None`: the first node.
        node: Option<String>,
        /// Operator mode: present the sentinel's JWT (default), or no JWT at all.
        sentinel: bool,
        /// Operator mode: connect with the JWT of a user that bypasses the callout: `AUTH`
        /// (the responder's service user) or a target account's own user.
        creds: Option<String>,
    },
    /// `count` connects of the generated users spread over `nodes` within `within` seconds;
    /// every admitted client's account and permissions read back. Counts and connect-latency
    /// percentiles go into the case's figures.
    Storm {
        /// How many connects.
        count: usize,
        /// Seconds over which they start (evenly paced).
        within: f64,
        /// Nodes, round-robin (empty: every cluster node).
        nodes: Vec<String>,
        /// SIGKILL this responder instance (1-based) when this fraction of the connects has
        /// started.
        kill: Option<(usize, f64)>,
    },
    /// Restart the responder instances, or a node, and measure how long until a callout is
    /// answered again; more than `within` seconds is a breach.
    Restart {
        /// What restarts.
        target: RestartTarget,
        /// Seconds allowed.
        within: f64,
    },
    /// Hold every byte a responder instance sends for this many seconds (the slow link), or
    /// stop holding (0).
    DelayAnswers(f64),
    /// Subscribe.
    Subscribe {
        /// Subject.
        subject: String,
        /// Connection.
        conn: String,
        /// Queue group.
        queue: Option<String>,
        /// Expected outcome.
        expect: SubExpect,
    },
    /// Publish.
    Publish {
        /// Subject.
        subject: String,
        /// Connection.
        conn: String,
        /// Body.
        payload: String,
        /// Reply subject (`"inbox"` = a fresh inbox subscribed on `conn`).
        reply_to: Option<String>,
        /// Connections that should (or should not) receive it.
        to: Vec<String>,
        /// Expected outcome.
        expect: PubExpect,
    },
    /// Reply `count` times to the last request `conn` received.
    Reply {
        /// The replying connection.
        conn: String,
        /// How many replies to send.
        count: usize,
        /// How many should reach the requester.
        delivered: usize,
        /// Seconds to wait first.
        wait: f64,
        /// The requester.
        to: String,
    },
    /// Request with an inbox and collect replies.
    Request {
        /// Subject.
        subject: String,
        /// Connection.
        conn: String,
        /// Expected outcome.
        expect: RequestExpect,
    },
    /// `$SYS.REQ.USER.INFO`.
    UserInfo {
        /// Connection.
        conn: String,
        /// Expectations.
        expect: UserInfoExpect,
    },
    /// Connect `count` generated users at once.
    Burst {
        /// How many.
        count: usize,
    },
    /// Wait.
    Sleep(f64),
    /// Close a connection.
    Close(String),
    /// The connection is still admitted: it answers a PING, and the server sent no `-ERR`.
    Alive(String),
    /// The server disconnects the connection with `User Authentication Expired` (its user JWT
    /// expired) within `within` seconds.
    Expire {
        /// Connection.
        conn: String,
        /// Seconds to wait at most.
        within: f64,
    },
}

/// What a restart step restarts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestartTarget {
    /// Every responder instance: stopped (SIGTERM), started again.
    Responder,
    /// A node (`n1` …): the server stopped and started on the same ports, the responder left
    /// running.
    Node(String),
}

/// One case.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Requirement.
    pub requirement: String,
    /// Citation.
    pub cite: String,
    /// How binding the requirement is; a mismatch gets `level.on_breach()` (default must).
    pub level: Level,
    /// What breaking the requirement allows or breaks, and who can do it.
    pub rationale: String,
    /// Oldest server version the case applies to.
    pub min_server: Option<String>,
    /// The first server version the case no longer applies to (exclusive, the complement of
    /// another case's `min_server`): how a behaviour that changed in a release is encoded, as
    /// two cases, one per side of the change.
    pub before_server: Option<String>,
    /// Steps.
    pub steps: Vec<Step>,
    /// The line of its `[[case]]` in the file (for errors).
    pub line: usize,
}

impl Case {
    /// Why the case does not apply to nats-server `version` (outside its `min_server` ..
    /// `before_server` range), or `None` when it does.
    pub fn outside_servers(&self, version: &str) -> Option<String> {
        if let Some(min) = &self.min_server {
            if !version_at_least(version, min) {
                return Some(format!("needs nats-server {min} or later"));
            }
        }
        if let Some(before) = &self.before_server {
            if version_at_least(version, before) {
                return Some(format!("needs a nats-server older than {before}"));
            }
        }
        None
    }
}

/// A parsed scenario file: its metadata, the world its cases run in, and the cases.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Where the file was read from (`<embedded>/NAME` for the built-in catalog).
    pub path: PathBuf,
    /// The file's title.
    pub title: String,
    /// Oldest server version for the whole file.
    pub min_server: Option<String>,
    /// The servers, responders, users and keys the cases run against.
    pub world: WorldSpec,
    /// The cases, in file order.
    pub cases: Vec<Case>,
}

/// The longest `[server] timeout`, in seconds.
pub const MAX_SERVER_TIMEOUT: f64 = 60.0;
/// The longest `sleep`, `wait` or `min_secs` of a step, in seconds.
pub const MAX_STEP_SECS: f64 = 120.0;
/// The most `[generate_users]` a file may ask for.
pub const MAX_GENERATED_USERS: usize = 10_000;
/// The most connects of a `storm` step.
pub const MAX_STORM: usize = 20_000;
/// The most replies a `reply` step may send.
pub const MAX_REPLIES: usize = 10_000;

/// Deserializes TOML `text` of `file` (a scenario or a profile); a syntax error or an unknown
/// key names the file and the line.
pub(crate) fn from_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &str,
) -> Result<T, ScenarioError> {
    toml::from_str(text).map_err(|e| ScenarioError {
        file: file.to_string(),
        line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
        message: e.message().trim().to_string(),
    })
}

/// A file's text and name, to turn a byte offset or a key into the line of an error.
pub(crate) struct Source<'a> {
    /// The whole file.
    pub(crate) text: &'a str,
    /// Its name in errors.
    pub(crate) file: String,
}

impl Source<'_> {
    /// An error at `line` (0 when unknown).
    pub(crate) fn err(&self, line: usize, message: String) -> ScenarioError {
        ScenarioError {
            file: self.file.clone(),
            line,
            message,
        }
    }

    /// The line of byte offset `at`.
    pub(crate) fn line(&self, at: usize) -> usize {
        line_of(self.text, at)
    }

    /// The line where `key` is first written (the first line when it is not).
    pub(crate) fn line_at(&self, key: &str) -> usize {
        line_of(self.text, self.text.find(key).unwrap_or(0))
    }
}

/// Parses a scenario from text; `file` names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
    let src = Source {
        text,
        file: file.display().to_string(),
    };
    let raw: RawFile = from_toml(text, &src.file)?;
    let feature = check_head(&raw).map_err(|m| src.err(0, m))?;
    let timeout = server_timeout(&src, &raw.server.timeout)?;
    check_generate_users(&src, raw.generate_users.as_ref())?;
    let users_json = users_json(&src, raw.users.as_ref())?;
    let topology = check_topology(raw.topology, &users_json, &raw.server.auth_users)
        .map_err(|m| src.err(src.line_at("[topology"), m))?;
    let node_names = topology.node_names();
    let operator = server_mode(&src, &raw.server, &topology, raw.generate_users.is_some())?;
    let operator_shape = check_operator_shape(&raw.server, operator, &raw.min_server)
        .map_err(|m| src.err(src.line_at("[server]"), m))?;
    let cx = StepContext {
        operator,
        accounts: &raw.server.accounts,
        tls: raw.server.tls,
        websocket: raw.server.websocket,
        users_json: &users_json,
        topology: &topology,
        node_names: &node_names,
        generated: raw.generate_users.is_some(),
    };
    let cases = parse_cases(&src, raw.cases, &cx)?;
    Ok(Scenario {
        path: file.to_path_buf(),
        title: raw.title,
        min_server: raw.min_server,
        world: WorldSpec {
            origin: file.to_path_buf(),
            responder_present: raw.responder.as_deref() != Some("absent"),
            feature,
            accounts: raw.server.accounts,
            system_account: raw.server.system_account,
            xkey: raw.server.xkey,
            timeout,
            allowed_accounts: raw.server.allowed_accounts,
            auth_users: raw.server.auth_users,
            users_json,
            generate_users: raw.generate_users,
            probe: None,
            keys: None,
            attach: None,
            tls: raw.server.tls,
            websocket: raw.server.websocket,
            nkey_logins: vec![],
            topology,
            operator,
            operator_shape,
            injector: None,
        },
        cases,
    })
}

/// The file's own keys: `responder`, `feature` (and the TLS a certificate needs) and
/// `min_server`. Their errors have no line.
fn check_head(raw: &RawFile) -> Result<Option<Feature>, String> {
    if let Some(r) = &raw.responder {
        if r != "absent" && r != "present" {
            return Err(format!(
                "responder = {r:?}: use \"present\" (default) or \"absent\""
            ));
        }
    }
    let feature = match raw.feature.as_deref() {
        None => None,
        Some(f) => Some(Feature::parse(f).ok_or_else(|| {
            format!("feature = {f:?}: use \"xkey\" (sealing), \"nkey\", \"token\" or \"cert\" (the users.json extensions)")
        })?),
    };
    if feature == Some(Feature::Cert) && !raw.server.tls {
        return Err(
            "feature = \"cert\" needs [server] tls = true (client certificates travel over TLS)"
                .into(),
        );
    }
    for v in raw.min_server.iter() {
        check_version(v).map_err(|m| format!("min_server: {m}"))?;
    }
    Ok(feature)
}

/// `[server] timeout`, in range; an error names its line, or `[server]`'s when it is not set.
fn server_timeout(src: &Source, timeout: &Spanned<f64>) -> Result<f64, ScenarioError> {
    let line = match timeout.span() {
        r if r.end == 0 => src.line_at("[server]"),
        r => src.line(r.start),
    };
    let timeout = *timeout.get_ref();
    check_secs("[server] timeout", timeout, 0.0, MAX_SERVER_TIMEOUT, false)
        .map_err(|m| src.err(line, m))?;
    Ok(timeout)
}

/// `[generate_users]`: at most [`MAX_GENERATED_USERS`], in at least one account.
fn check_generate_users(src: &Source, g: Option<&GenerateUsers>) -> Result<(), ScenarioError> {
    let Some(g) = g else {
        return Ok(());
    };
    let gline = src.line_at("[generate_users]");
    if g.count > MAX_GENERATED_USERS {
        return Err(src.err(
            gline,
            format!(
                "[generate_users] count = {}: at most {MAX_GENERATED_USERS}",
                g.count
            ),
        ));
    }
    if g.accounts.is_empty() {
        return Err(src.err(gline, "[generate_users] accounts is empty: name at least one account, e.g. accounts = [\"APP\"]".into()));
    }
    Ok(())
}

/// The users.json that `[users.*]` makes, checked like users.json.
fn users_json(src: &Source, users: Option<&TomlValue>) -> Result<serde_json::Value, ScenarioError> {
    match users {
        None => Ok(serde_json::Value::Object(Default::default())),
        Some(u) => {
            check_users(u).map_err(|(at, m)| src.err(src.line(at), m))?;
            Ok(u.to_json())
        }
    }
}

/// `[server] mode`: whether the file runs in operator mode, which needs a target account and
/// takes none of the config-mode-only keys.
fn server_mode(
    src: &Source,
    server: &RawServer,
    topology: &callout_world::spec::Topology,
    generated: bool,
) -> Result<bool, ScenarioError> {
    let operator = match server.mode.as_deref() {
        None | Some("config") => false,
        Some("operator") => true,
        Some(m) => {
            return Err(src.err(
                src.line_at("mode"),
                format!("[server] mode = {m:?}: use \"config\" (default) or \"operator\""),
            ))
        }
    };
    if !operator {
        return Ok(false);
    }
    let at = src.line_at("mode");
    let unsupported = [
        ("system_account", server.system_account.is_some()),
        ("auth_users", !server.auth_users.is_empty()),
        ("tls", server.tls),
        ("websocket", server.websocket),
        ("[topology]", !topology.is_plain()),
        ("[generate_users]", generated),
    ];
    if !server.accounts.iter().any(|a| a != "AUTH" && a != "SYS") {
        return Err(src.err(at, "[server] mode = \"operator\" needs a target account in accounts, e.g. accounts = [\"APP1\", \"APP2\"] (each gets a signing key)".into()));
    }
    if let Some((k, _)) = unsupported.iter().find(|(_, set)| *set) {
        return Err(src.err(at, format!("[server] mode = \"operator\" does not take {k} (the harness makes SYS and the callout account itself; the rest is config mode only for now)")));
    }
    Ok(true)
}

/// The `[[case]]` tables, in file order: ids of the form `e2e.AREA.N`, one area per file, no
/// id twice.
fn parse_cases(
    src: &Source,
    raw: Vec<Spanned<RawCase>>,
    cx: &StepContext,
) -> Result<Vec<Case>, ScenarioError> {
    let mut cases = Vec::new();
    let mut ids = std::collections::HashSet::new();
    let mut area: Option<(String, String)> = None;
    for rc in raw {
        let cline = src.line(rc.span().start);
        let rc = rc.into_inner();
        let Some(this_area) = e2e_area(&rc.id) else {
            return Err(src.err(cline, format!("case id {:?}: scenario case ids are e2e.AREA.N (AREA lower-case letters, digits and '-', N a number from 1), e.g. \"e2e.perm.3\"; wire.* ids belong to the wire catalog", rc.id)));
        };
        match &area {
            None => area = Some((this_area.to_string(), rc.id.clone())),
            Some((a, first)) if a != this_area => {
                return Err(src.err(cline, format!("case id {:?}: the cases of one file share an area, and {first:?} is the first case here; use e2e.{a}.N", rc.id)));
            }
            Some(_) => {}
        }
        if !ids.insert(rc.id.clone()) {
            return Err(src.err(
                cline,
                format!("case id {:?} appears twice in the file", rc.id),
            ));
        }
        cases.push(parse_case(src, rc, cline, cx)?);
    }
    Ok(cases)
}

/// One `[[case]]` at line `cline`: its level, its server versions, and its steps, each checked
/// against the file.
fn parse_case(
    src: &Source,
    rc: RawCase,
    cline: usize,
    cx: &StepContext,
) -> Result<Case, ScenarioError> {
    let level = case_level(&rc).map_err(|m| src.err(cline, m))?;
    check_case_versions(&rc).map_err(|m| src.err(cline, m))?;
    let mut steps = Vec::new();
    let mut open: Vec<String> = Vec::new();
    for s in rc.steps {
        let sline = src.line(s.span().start);
        let in_case = |m: String| src.err(sline, format!("case {}: {m}", rc.id));
        let step = convert_step(s.into_inner()).map_err(in_case)?;
        check_step(&step, &mut open, cx).map_err(in_case)?;
        steps.push(step);
    }
    if steps.is_empty() {
        return Err(src.err(cline, format!("case {} has no steps", rc.id)));
    }
    Ok(Case {
        id: rc.id,
        title: rc.title,
        requirement: rc.requirement,
        cite: rc.cite,
        level,
        rationale: rc.rationale.unwrap_or_default(),
        min_server: rc.min_server,
        before_server: rc.before_server,
        steps,
        line: cline,
    })
}

/// How binding a case's requirement is: `level`, or `severity`, its older spelling by the
/// verdict a breach gets.
fn case_level(rc: &RawCase) -> Result<Level, String> {
    Ok(match (rc.level.as_deref(), rc.severity.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "case {}: both level and severity are set: keep level (severity is its older name)",
                rc.id
            ))
        }
        (Some(l), None) => Level::parse(l).ok_or_else(|| {
            format!(
                "case {}: level = {l:?}: use \"must\", \"should\" or \"may\"",
                rc.id
            )
        })?,
        (None, None | Some("fail")) => Level::Must,
        (None, Some("non-strict")) => Level::Should,
        (None, Some("informational")) => Level::May,
        (None, Some(o)) => {
            return Err(format!(
                "severity = {o:?}: use level = \"must\", \"should\" or \"may\""
            ))
        }
    })
}

/// A case's `min_server` and `before_server`: versions, the first older than the second.
fn check_case_versions(rc: &RawCase) -> Result<(), String> {
    if let Some(v) = &rc.min_server {
        check_version(v).map_err(|m| format!("min_server: {m}"))?;
    }
    if let Some(v) = &rc.before_server {
        check_version(v).map_err(|m| format!("before_server: {m}"))?;
        if let Some(min) = &rc.min_server {
            if version_at_least(min, v) {
                return Err(format!("case {}: min_server {min} is not older than before_server {v}, so the case runs on no server; before_server is exclusive (the first version the case no longer applies to)", rc.id));
            }
        }
    }
    Ok(())
}

/// Reads and parses a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.display().to_string(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse(&text, path)
}

/// Loads every `*.toml` under `dir`, sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| ScenarioError {
            file: dir.display().to_string(),
            line: 0,
            message: format!("cannot list the scenarios directory: {e}; pass --scenarios DIR"),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        // The catalog directory is also a crate: its manifest is not a scenario.
        .filter(|p| p.file_name().is_some_and(|n| n != "Cargo.toml"))
        .collect();
    paths.sort();
    let all: Result<Vec<Scenario>, ScenarioError> = paths.iter().map(|p| load(p)).collect();
    unique_ids(all?)
}

/// Checks that no case id is used twice across the files of a catalog.
pub fn unique_ids(all: Vec<Scenario>) -> Result<Vec<Scenario>, ScenarioError> {
    let mut seen: BTreeMap<&str, (&Path, usize)> = BTreeMap::new();
    for s in &all {
        for c in &s.cases {
            if let Some((other, line)) = seen.insert(&c.id, (&s.path, c.line)) {
                return Err(ScenarioError {
                    file: s.path.display().to_string(),
                    line: c.line,
                    message: format!(
                        "case id {:?} is also used in {}:{line}; ids are unique across the scenario files",
                        c.id,
                        other.display()
                    ),
                });
            }
        }
    }
    Ok(all)
}
