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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use callout_leaves::text::line_of;
use callout_leaves::version::{check_version, parse_version, version_at_least};

use callout_world::spec::{
    AuthUser, CertChoice, Feature, GenerateUsers, Leaf, OperatorShape, ResponderOn, Topology,
    WorldSpec, MAX_NODES, MAX_RESPONDERS,
};

use callout_leaves::verdict::Level;

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    title: String,
    #[serde(default)]
    min_server: Option<String>,
    #[serde(default)]
    responder: Option<String>,
    #[serde(default)]
    feature: Option<String>,
    server: RawServer,
    #[serde(default)]
    users: Option<Node>,
    #[serde(default)]
    generate_users: Option<GenerateUsers>,
    #[serde(default, rename = "case")]
    cases: Vec<Spanned<RawCase>>,
    #[serde(default)]
    topology: Option<RawTopology>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopology {
    #[serde(default)]
    nodes: Option<usize>,
    #[serde(default)]
    responders: Option<usize>,
    #[serde(default)]
    responder_on: Option<String>,
    #[serde(default)]
    slow_link: bool,
    #[serde(default)]
    leaf: Vec<Leaf>,
}

fn check_topology(
    t: Option<RawTopology>,
    users: &serde_json::Value,
    auth_users: &[AuthUser],
) -> Result<Topology, String> {
    let Some(t) = t else {
        return Ok(Topology::default());
    };
    let nodes = t.nodes.unwrap_or(1);
    if nodes == 0 || nodes > MAX_NODES {
        return Err(format!(
            "[topology] nodes = {nodes}: give 1 to {MAX_NODES} (1 is a single server)"
        ));
    }
    let responders = t.responders.unwrap_or(1);
    if responders == 0 || responders > MAX_RESPONDERS {
        return Err(format!(
            "[topology] responders = {responders}: give 1 to {MAX_RESPONDERS} instances"
        ));
    }
    let responder_on = match t.responder_on.as_deref() {
        None => ResponderOn::Node(0),
        Some("each") => ResponderOn::Each,
        Some(n) => match n.strip_prefix('n').and_then(|i| i.parse::<usize>().ok()) {
            Some(i) if (1..=nodes).contains(&i) => ResponderOn::Node(i - 1),
            _ => return Err(format!("[topology] responder_on = {n:?}: use \"each\" (instance i on node i) or a node from n1 to n{nodes}")),
        },
    };
    let mut names: Vec<String> = (1..=nodes).map(|i| format!("n{i}")).collect();
    for l in &t.leaf {
        let ok_name = !l.name.is_empty()
            && l.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok_name
            || names.contains(&l.name)
            || (l.name.starts_with('n') && l.name[1..].parse::<usize>().is_ok())
        {
            return Err(format!("[[topology.leaf]] name = {:?}: give a unique name of letters, digits, '-' and '_', not of the form nN (the cluster's nodes)", l.name));
        }
        names.push(l.name.clone());
        let url_safe = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        };
        if !url_safe(&l.user) || !url_safe(&l.pass) {
            return Err(format!("[[topology.leaf]] {}: user and pass go into the remote URL: use letters, digits, '-', '_' and '.'", l.name));
        }
        if users.get(&l.user).is_none() && !auth_users.iter().any(|a| a.user == l.user) {
            return Err(format!("[[topology.leaf]] {}: user {:?} is neither a [users.{}] entry nor one of [server] auth_users; declare it", l.name, l.user, l.user));
        }
    }
    Ok(Topology {
        nodes,
        responders,
        responder_on,
        slow_link: t.slow_link,
        leafs: t.leaf,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    system_account: Option<String>,
    #[serde(default)]
    xkey: bool,
    #[serde(default = "default_timeout")]
    timeout: Spanned<f64>,
    #[serde(default)]
    allowed_accounts: Vec<String>,
    #[serde(default)]
    auth_users: Vec<AuthUser>,
    #[serde(default)]
    tls: bool,
    #[serde(default)]
    websocket: bool,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    scoped: std::collections::BTreeMap<String, RawScope>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    target_keys: Option<String>,
    #[serde(default)]
    default_sentinel: bool,
}

/// `[server.scoped.NAME]`: the template of a scoped signing key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    #[serde(default, rename = "pub")]
    publish: RawAllowDeny,
    #[serde(default, rename = "sub")]
    subscribe: RawAllowDeny,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllowDeny {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
}

fn default_timeout() -> Spanned<f64> {
    Spanned::new(0..0, 1.0)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: String,
    title: String,
    requirement: String,
    cite: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    rationale: Option<String>,
    #[serde(default)]
    min_server: Option<String>,
    #[serde(default)]
    before_server: Option<String>,
    steps: Vec<Spanned<RawStep>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStep {
    // actions
    connect: Option<String>,
    subscribe: Option<String>,
    publish: Option<String>,
    reply: Option<String>,
    request: Option<String>,
    user_info: Option<String>,
    burst: Option<usize>,
    sleep: Option<f64>,
    close: Option<String>,
    alive: Option<String>,
    expire: Option<String>,
    storm: Option<usize>,
    restart: Option<String>,
    delay_answers: Option<f64>,
    // parameters
    sentinel: Option<bool>,
    creds: Option<String>,
    node: Option<String>,
    nodes: Option<Vec<String>>,
    kill: Option<usize>,
    at: Option<f64>,
    user: Option<String>,
    pass: Option<String>,
    token: Option<String>,
    nkey: Option<String>,
    sig: Option<String>,
    cert: Option<String>,
    cert_cn: Option<String>,
    tls: Option<bool>,
    via: Option<String>,
    conn: Option<String>,
    queue: Option<String>,
    payload: Option<String>,
    reply_to: Option<String>,
    to: Option<Vec<String>>,
    count: Option<usize>,
    delivered: Option<usize>,
    wait: Option<f64>,
    min_secs: Option<f64>,
    within: Option<f64>,
    account: Option<String>,
    pub_allow: Option<Vec<String>>,
    pub_deny: Option<Vec<String>>,
    sub_allow: Option<Vec<String>>,
    sub_deny: Option<Vec<String>>,
    pub_deny_includes: Option<Vec<String>>,
    expect: Option<String>,
}

/// A TOML value that keeps where each key was written, so that a typo in `[users.*]` is
/// reported with its line when the file loads, not by whichever responder reads users.json.
#[derive(Debug)]
enum Node {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<Node>),
    /// Keys with their byte offsets.
    Table(Vec<(Spanned<String>, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a TOML value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Node, E> {
                i64::try_from(v)
                    .map(Node::Int)
                    .map_err(|_| E::custom("integer too large"))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Str(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut out = Vec::new();
                while let Some(n) = a.next_element::<Node>()? {
                    out.push(n);
                }
                Ok(Node::Array(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = a.next_key::<Spanned<String>>()? {
                    out.push((k, a.next_value::<Node>()?));
                }
                Ok(Node::Table(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Node {
    fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Node::Str(s) => J::String(s.clone()),
            Node::Int(i) => J::from(*i),
            Node::Float(f) => J::from(*f),
            Node::Bool(b) => J::Bool(*b),
            Node::Array(a) => J::Array(a.iter().map(Node::to_json).collect()),
            Node::Table(t) => J::Object(
                t.iter()
                    .map(|(k, v)| (k.get_ref().clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Node::Str(_) => "a string",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a float",
            Node::Bool(_) => "a boolean",
            Node::Array(_) => "an array",
            Node::Table(_) => "a table",
        }
    }
}

/// Checks `[users.*]` against the users.json format of the NATS by Example service: the keys
/// `pass`, `account`, `permissions { pub, sub { allow, deny }, resp { max, ttl } }`, matched
/// case-insensitively as Go does, and their types. Returns the byte offset of the problem.
fn check_users(users: &Node) -> Result<(), (usize, String)> {
    let Node::Table(users) = users else {
        return Err((0, "users: write each user as [users.NAME]".into()));
    };
    for (name, user) in users {
        let path = format!("users.{}", name.get_ref());
        let at = name.span().start;
        let fields = known_keys(
            user,
            &path,
            at,
            &["pass", "account", "permissions", "nkey", "token", "cert"],
        )?;
        let credentials = fields
            .iter()
            .filter(|(k, _, _)| matches!(*k, "pass" | "nkey" | "token" | "cert"))
            .count();
        if credentials > 1 {
            return Err((at, format!("{path} has more than one of pass, nkey, token and cert: a users.json entry holds one credential (the reference responder's extensions); split it into two users")));
        }
        for (key, off, v) in fields {
            let p = format!("{path}.{key}");
            match key {
                "pass" | "account" | "token" => {
                    want(v, &p, off, matches!(v, Node::Str(_)), "a string")?
                }
                "nkey" => want(
                    v,
                    &p,
                    off,
                    matches!(v, Node::Bool(true)),
                    "nkey = true (the harness generates the key pair for each run and writes the public key into users.json)",
                )?,
                "cert" => want(
                    v,
                    &p,
                    off,
                    matches!(v, Node::Bool(true)),
                    "cert = true (the harness issues the user a client certificate with subject CN=NAME each run and writes cert_subject into users.json)",
                )?,
                _ => {
                    for (k, off, v) in known_keys(v, &p, off, &["pub", "sub", "resp"])? {
                        let p = format!("{p}.{k}");
                        if k == "resp" {
                            for (k, off, v) in known_keys(v, &p, off, &["max", "ttl"])? {
                                let ok = matches!(v, Node::Int(i) if *i >= 0 || k == "max");
                                let what = if k == "ttl" {
                                    "a whole number of nanoseconds, e.g. ttl = 1000000000"
                                } else {
                                    "an integer, e.g. max = 1"
                                };
                                want(v, &format!("{p}.{k}"), off, ok, what)?;
                            }
                        } else {
                            for (k, off, v) in known_keys(v, &p, off, &["allow", "deny"])? {
                                let ok = matches!(v, Node::Array(a) if a.iter().all(|x| matches!(x, Node::Str(_))));
                                want(
                                    v,
                                    &format!("{p}.{k}"),
                                    off,
                                    ok,
                                    "an array of subjects, e.g. [\"orders.>\"]",
                                )?;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn want(v: &Node, path: &str, at: usize, ok: bool, what: &str) -> Result<(), (usize, String)> {
    if ok {
        Ok(())
    } else {
        Err((at, format!("{path} is {}: write {what}", v.kind())))
    }
}

/// A table entry: its key folded to the known spelling, the key's byte offset, the value.
type KeyedNode<'a> = (&'static str, usize, &'a Node);

/// The entries of table `v` at `path`, each key folded to one of `known`; an unknown or
/// repeated key is an error.
fn known_keys<'a>(
    v: &'a Node,
    path: &str,
    at: usize,
    known: &[&'static str],
) -> Result<Vec<KeyedNode<'a>>, (usize, String)> {
    let Node::Table(t) = v else {
        return Err((
            at,
            format!(
                "{path} is {}: write a table with the keys {}",
                v.kind(),
                known.join(", ")
            ),
        ));
    };
    let mut out: Vec<KeyedNode> = Vec::new();
    for (k, v) in t {
        let off = k.span().start;
        let Some(canon) = known.iter().find(|c| c.eq_ignore_ascii_case(k.get_ref())) else {
            return Err((
                off,
                format!(
                    "{path}: unknown key {:?}; the keys are {} (matched case-insensitively, as the Go service does)",
                    k.get_ref(),
                    known.join(", ")
                ),
            ));
        };
        if out.iter().any(|(c, _, _)| c == canon) {
            return Err((
                off,
                format!("{path}: key {canon:?} appears twice (keys match case-insensitively)"),
            ));
        }
        out.push((canon, off, v));
    }
    Ok(out)
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
        cred_cmd: Option<crate::profile::CredCmd>,
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

/// Parses a scenario from text; `file` names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
    let fname = file.display().to_string();
    let err = |line: usize, message: String| ScenarioError {
        file: fname.clone(),
        line,
        message,
    };
    let raw: RawFile = from_toml(text, &fname)?;
    if let Some(r) = &raw.responder {
        if r != "absent" && r != "present" {
            return Err(err(
                0,
                format!("responder = {r:?}: use \"present\" (default) or \"absent\""),
            ));
        }
    }
    let feature = match raw.feature.as_deref() {
        None => None,
        Some(f) => Some(Feature::parse(f).ok_or_else(|| {
            err(
                0,
                format!("feature = {f:?}: use \"xkey\" (sealing), \"nkey\", \"token\" or \"cert\" (the users.json extensions)"),
            )
        })?),
    };
    if feature == Some(Feature::Cert) && !raw.server.tls {
        return Err(err(
            0,
            "feature = \"cert\" needs [server] tls = true (client certificates travel over TLS)"
                .into(),
        ));
    }
    for v in raw.min_server.iter() {
        check_version(v).map_err(|m| err(0, format!("min_server: {m}")))?;
    }
    let timeout = *raw.server.timeout.get_ref();
    let tline = match raw.server.timeout.span() {
        r if r.end == 0 => line_of(text, text.find("[server]").unwrap_or(0)),
        r => line_of(text, r.start),
    };
    check_secs("[server] timeout", timeout, 0.0, MAX_SERVER_TIMEOUT, false)
        .map_err(|m| err(tline, m))?;
    if let Some(g) = &raw.generate_users {
        let gline = line_of(text, text.find("[generate_users]").unwrap_or(0));
        if g.count > MAX_GENERATED_USERS {
            return Err(err(
                gline,
                format!(
                    "[generate_users] count = {}: at most {MAX_GENERATED_USERS}",
                    g.count
                ),
            ));
        }
        if g.accounts.is_empty() {
            return Err(err(gline, "[generate_users] accounts is empty: name at least one account, e.g. accounts = [\"APP\"]".into()));
        }
    }
    let users_json = match &raw.users {
        None => serde_json::Value::Object(Default::default()),
        Some(u) => {
            check_users(u).map_err(|(at, m)| err(line_of(text, at), m))?;
            u.to_json()
        }
    };
    let topology = check_topology(raw.topology, &users_json, &raw.server.auth_users)
        .map_err(|m| err(line_of(text, text.find("[topology").unwrap_or(0)), m))?;
    let node_names = topology.node_names();
    let operator = match raw.server.mode.as_deref() {
        None | Some("config") => false,
        Some("operator") => true,
        Some(m) => {
            return Err(err(
                line_of(text, text.find("mode").unwrap_or(0)),
                format!("[server] mode = {m:?}: use \"config\" (default) or \"operator\""),
            ))
        }
    };
    if operator {
        let at = line_of(text, text.find("mode").unwrap_or(0));
        let unsupported = [
            ("system_account", raw.server.system_account.is_some()),
            ("auth_users", !raw.server.auth_users.is_empty()),
            ("tls", raw.server.tls),
            ("websocket", raw.server.websocket),
            ("[topology]", !topology.is_plain()),
            ("[generate_users]", raw.generate_users.is_some()),
        ];
        if !raw
            .server
            .accounts
            .iter()
            .any(|a| a != "AUTH" && a != "SYS")
        {
            return Err(err(at, "[server] mode = \"operator\" needs a target account in accounts, e.g. accounts = [\"APP1\", \"APP2\"] (each gets a signing key)".into()));
        }
        if let Some((k, _)) = unsupported.iter().find(|(_, set)| *set) {
            return Err(err(at, format!("[server] mode = \"operator\" does not take {k} (the harness makes SYS and the callout account itself; the rest is config mode only for now)")));
        }
    }
    let operator_shape = check_operator_shape(&raw.server, operator, &raw.min_server)
        .map_err(|m| err(line_of(text, text.find("[server]").unwrap_or(0)), m))?;
    let mut cases = Vec::new();
    let mut ids = std::collections::HashSet::new();
    let mut area: Option<(String, String)> = None;
    for rc in raw.cases {
        let cline = line_of(text, rc.span().start);
        let rc = rc.into_inner();
        let Some(this_area) = e2e_area(&rc.id) else {
            return Err(err(cline, format!("case id {:?}: scenario case ids are e2e.AREA.N (AREA lower-case letters, digits and '-', N a number from 1), e.g. \"e2e.perm.3\"; wire.* ids belong to the wire catalog", rc.id)));
        };
        match &area {
            None => area = Some((this_area.to_string(), rc.id.clone())),
            Some((a, first)) if a != this_area => {
                return Err(err(cline, format!("case id {:?}: the cases of one file share an area, and {first:?} is the first case here; use e2e.{a}.N", rc.id)));
            }
            Some(_) => {}
        }
        if !ids.insert(rc.id.clone()) {
            return Err(err(
                cline,
                format!("case id {:?} appears twice in the file", rc.id),
            ));
        }
        // `level` says how binding the requirement is; `severity` is its older spelling, by
        // the verdict a breach gets.
        let level = match (rc.level.as_deref(), rc.severity.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(err(
                    cline,
                    format!("case {}: both level and severity are set: keep level (severity is its older name)", rc.id),
                ))
            }
            (Some(l), None) => Level::parse(l).ok_or_else(|| {
                err(cline, format!("case {}: level = {l:?}: use \"must\", \"should\" or \"may\"", rc.id))
            })?,
            (None, None | Some("fail")) => Level::Must,
            (None, Some("non-strict")) => Level::Should,
            (None, Some("informational")) => Level::May,
            (None, Some(o)) => {
                return Err(err(
                    cline,
                    format!("severity = {o:?}: use level = \"must\", \"should\" or \"may\""),
                ))
            }
        };
        if let Some(v) = &rc.min_server {
            check_version(v).map_err(|m| err(cline, format!("min_server: {m}")))?;
        }
        if let Some(v) = &rc.before_server {
            check_version(v).map_err(|m| err(cline, format!("before_server: {m}")))?;
            if let Some(min) = &rc.min_server {
                if version_at_least(min, v) {
                    return Err(err(cline, format!("case {}: min_server {min} is not older than before_server {v}, so the case runs on no server; before_server is exclusive (the first version the case no longer applies to)", rc.id)));
                }
            }
        }
        let mut steps = Vec::new();
        let mut open: Vec<String> = Vec::new();
        for s in rc.steps {
            let sline = line_of(text, s.span().start);
            let step = convert_step(s.into_inner())
                .map_err(|m| err(sline, format!("case {}: {m}", rc.id)))?;
            check_references(&step, &mut open)
                .map_err(|m| err(sline, format!("case {}: {m}", rc.id)))?;
            check_topology_step(&step, &topology, &node_names, raw.generate_users.is_some())
                .map_err(|m| err(sline, format!("case {}: {m}", rc.id)))?;
            if let Step::Connect {
                sentinel: false, ..
            } = &step
            {
                if !operator {
                    return Err(err(sline, format!("case {}: sentinel = false applies only to [server] mode = \"operator\" (config-mode clients have no sentinel)", rc.id)));
                }
            }
            if let Step::Connect {
                creds: Some(c),
                sentinel,
                ..
            } = &step
            {
                if !operator {
                    return Err(err(
                        sline,
                        format!(
                            "case {}: creds = {c:?} applies only to [server] mode = \"operator\"",
                            rc.id
                        ),
                    ));
                }
                if !*sentinel {
                    return Err(err(
                        sline,
                        format!(
                            "case {}: creds = {c:?} replaces the sentinel; drop sentinel = false",
                            rc.id
                        ),
                    ));
                }
                if c != "AUTH" && !raw.server.accounts.contains(c) {
                    return Err(err(sline, format!("case {}: creds = {c:?} names no account; use \"AUTH\" (the responder's service user) or one of accounts = {:?}", rc.id, raw.server.accounts)));
                }
            }
            if let Step::Connect { nkey: Some(n), .. } = &step {
                if users_json.get(n).and_then(|u| u.get("nkey"))
                    != Some(&serde_json::Value::Bool(true))
                {
                    return Err(err(sline, format!("case {}: nkey = {n:?} names no [users.{n}] entry with nkey = true; declare the user with nkey = true (the harness generates its key) or fix the name", rc.id)));
                }
            }
            if let Step::Connect {
                cert,
                tls,
                websocket,
                ..
            } = &step
            {
                let is_cert_user = |n: &str| {
                    users_json.get(n).and_then(|u| u.get("cert"))
                        == Some(&serde_json::Value::Bool(true))
                };
                match cert {
                    CertChoice::User(n) if !is_cert_user(n) => {
                        return Err(err(sline, format!("case {}: cert = {n:?} names no [users.{n}] entry with cert = true; declare the user with cert = true, or present a certificate of a subject nobody has with cert_cn = {n:?}", rc.id)));
                    }
                    CertChoice::Stranger(n) if is_cert_user(n) => {
                        return Err(err(sline, format!("case {}: cert_cn = {n:?} is the subject of [users.{n}]; cert_cn is for subjects nobody has: write cert = {n:?} for the user's own certificate", rc.id)));
                    }
                    _ => {}
                }
                if *tls && !raw.server.tls {
                    return Err(err(sline, format!("case {}: a TLS connect (tls, cert or cert_cn) needs [server] tls = true", rc.id)));
                }
                if *websocket && !raw.server.websocket {
                    return Err(err(
                        sline,
                        format!(
                            "case {}: via = \"websocket\" needs [server] websocket = true",
                            rc.id
                        ),
                    ));
                }
                if *websocket && *tls {
                    return Err(err(sline, format!("case {}: the WebSocket listener is plain here; connect over TLS or over WebSocket, not both", rc.id)));
                }
            }
            steps.push(step);
        }
        if steps.is_empty() {
            return Err(err(cline, format!("case {} has no steps", rc.id)));
        }
        cases.push(Case {
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
        });
    }
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

/// The operator-mode `[server]` keys: only in operator mode, each with its allowed values.
fn check_operator_shape(
    server: &RawServer,
    operator: bool,
    min_server: &Option<String>,
) -> Result<OperatorShape, String> {
    let set = [
        ("scoped", !server.scoped.is_empty()),
        ("issuer", server.issuer.is_some()),
        ("target_keys", server.target_keys.is_some()),
        ("default_sentinel", server.default_sentinel),
    ];
    if !operator {
        if let Some((k, _)) = set.iter().find(|(_, s)| *s) {
            return Err(format!("[server] {k} applies only to mode = \"operator\"; add mode = \"operator\" or drop {k}"));
        }
        return Ok(OperatorShape::default());
    }
    for name in server.scoped.keys() {
        if !server.accounts.contains(name) || name == "SYS" {
            return Err(format!("[server.scoped.{name}] names no target account; scope one of accounts = {:?} (not SYS)", server.accounts));
        }
    }
    if server.scoped.len() == server.accounts.iter().filter(|a| *a != "AUTH").count() {
        return Err("[server.scoped]: every account is scoped; leave at least one account with a plain signing key (the responder's -signing.keys must not be empty)".into());
    }
    let issuer_signing_key = match server.issuer.as_deref() {
        None | Some("account") => false,
        Some("signing_key") => true,
        Some(o) => return Err(format!("[server] issuer = {o:?}: use \"account\" (default: the callout account's own key signs responses) or \"signing_key\" (a signing key of it does)")),
    };
    let target_identity_keys = match server.target_keys.as_deref() {
        None | Some("signing_key") => false,
        Some("account") => true,
        Some(o) => return Err(format!("[server] target_keys = {o:?}: use \"signing_key\" (default) or \"account\" (the responder gets each target account's own key)")),
    };
    if server.default_sentinel {
        let ok = min_server
            .as_deref()
            .and_then(parse_version)
            .is_some_and(|v| v >= (2, 11, 2));
        if !ok {
            return Err("[server] default_sentinel = true needs min_server = \"2.11.2\" (or later) at the top of the file: older servers do not know default_sentinel".into());
        }
    }
    let perm = |r: &RawAllowDeny| callout_codec::Permission {
        allow: r.allow.clone(),
        deny: r.deny.clone(),
    };
    Ok(OperatorShape {
        scoped: server
            .scoped
            .iter()
            .map(|(n, s)| (n.clone(), perm(&s.publish), perm(&s.subscribe)))
            .collect(),
        issuer_signing_key,
        target_identity_keys,
        default_sentinel: server.default_sentinel,
        callout_off: false,
    })
}

/// The AREA of a scenario case id `e2e.AREA.N`, or `None` when the id is not of that shape.
fn e2e_area(id: &str) -> Option<&str> {
    let mut parts = id.split('.');
    let (Some("e2e"), Some(area), Some(n), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let area_ok = area.starts_with(|c: char| c.is_ascii_lowercase())
        && area
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let n_ok = !n.is_empty() && !n.starts_with('0') && n.chars().all(|c| c.is_ascii_digit());
    (area_ok && n_ok).then_some(area)
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

/// A number of seconds must be finite and within `(min, max]` (or `[min, max]` when
/// `zero_ok`).
fn check_secs(field: &str, v: f64, min: f64, max: f64, zero_ok: bool) -> Result<(), String> {
    let ok = v.is_finite() && (v > min || (zero_ok && v == min)) && v <= max;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field} = {v}: give a number of seconds {} {min} and at most {max}",
            if zero_ok {
                "of at least"
            } else {
                "greater than"
            }
        ))
    }
}

/// Every connection a step uses must have been opened (a connect expected to be admitted)
/// by an earlier step of the case and not closed since.
fn check_references(step: &Step, open: &mut Vec<String>) -> Result<(), String> {
    let need = |name: &str, field: &str, open: &Vec<String>| {
        if open.iter().any(|o| o == name) {
            Ok(())
        } else {
            let known = if open.is_empty() {
                "no connection is open at this step".to_string()
            } else {
                format!("open here: {}", open.join(", "))
            };
            Err(format!("{field} = {name:?} names no open connection ({known}); open it first with {{ connect = {name:?}, ... }} or fix the name"))
        }
    };
    match step {
        Step::Connect { name, expect, .. } => {
            if *expect == ConnectExpect::Admitted && !open.contains(name) {
                open.push(name.clone());
            }
        }
        Step::Subscribe { conn, .. } | Step::Request { conn, .. } => need(conn, "conn", open)?,
        Step::Publish { conn, to, .. } => {
            need(conn, "conn", open)?;
            for t in to {
                need(t, "to", open)?;
            }
        }
        Step::Reply { conn, to, .. } => {
            need(conn, "reply", open)?;
            need(to, "to", open)?;
        }
        Step::UserInfo { conn, .. } => need(conn, "user_info", open)?,
        Step::Alive(conn) => need(conn, "alive", open)?,
        Step::Expire { conn, .. } => {
            need(conn, "expire", open)?;
            open.retain(|o| o != conn);
        }
        Step::Close(name) => {
            need(name, "close", open)?;
            open.retain(|o| o != name);
        }
        Step::Burst { .. }
        | Step::Sleep(_)
        | Step::Storm { .. }
        | Step::Restart { .. }
        | Step::DelayAnswers(_) => {}
    }
    Ok(())
}

/// The nodes, instances and links a step names exist in the file's `[topology]`.
fn check_topology_step(
    step: &Step,
    t: &Topology,
    names: &[String],
    generated: bool,
) -> Result<(), String> {
    let cluster: Vec<&String> = names.iter().take(t.nodes).collect();
    let known = |n: &String, field: &str, among: &[&String]| {
        if among.contains(&n) {
            Ok(())
        } else {
            let list: Vec<&str> = among.iter().map(|s| s.as_str()).collect();
            Err(format!("{field} = {n:?} is not a node of this file ({}); declare it in [topology] or fix the name", list.join(", ")))
        }
    };
    match step {
        Step::Connect { node: Some(n), .. } => {
            let all: Vec<&String> = names.iter().collect();
            known(n, "node", &all)?
        }
        Step::Storm { nodes, kill, .. } => {
            if !generated {
                return Err("a storm connects the generated users: add [generate_users]".into());
            }
            for n in nodes {
                known(n, "nodes", &cluster)?;
            }
            if let Some((k, _)) = kill {
                if *k == 0 || *k > t.responders {
                    return Err(format!("kill = {k}: the instances are numbered 1 to {} ([topology] responders)", t.responders));
                }
                if t.responders < 2 {
                    return Err("kill needs [topology] responders = 2 or more (killing the only instance leaves nobody to answer)".into());
                }
            }
        }
        Step::Restart { target: RestartTarget::Node(n), .. } => known(n, "restart", &cluster)
            .map_err(|e| format!("{e}; restart = \"responder\" restarts the responder instances"))?,
        Step::DelayAnswers(_) if !t.slow_link => {
            return Err("delay_answers needs [topology] slow_link = true (the harness puts a proxy between the responder and the server)".into())
        }
        _ => {}
    }
    Ok(())
}

fn convert_step(r: RawStep) -> Result<Step, String> {
    let actions = [
        ("connect", r.connect.is_some()),
        ("subscribe", r.subscribe.is_some()),
        ("publish", r.publish.is_some()),
        ("reply", r.reply.is_some()),
        ("request", r.request.is_some()),
        ("user_info", r.user_info.is_some()),
        ("burst", r.burst.is_some()),
        ("sleep", r.sleep.is_some()),
        ("close", r.close.is_some()),
        ("alive", r.alive.is_some()),
        ("expire", r.expire.is_some()),
        ("storm", r.storm.is_some()),
        ("restart", r.restart.is_some()),
        ("delay_answers", r.delay_answers.is_some()),
    ];
    let named: Vec<&str> = actions
        .iter()
        .filter(|(_, p)| *p)
        .map(|(n, _)| *n)
        .collect();
    if named.len() != 1 {
        return Err(format!(
            "a step needs exactly one action key (connect, subscribe, publish, reply, request, user_info, burst, sleep, close, alive, expire, storm, restart, delay_answers); this one has {}",
            if named.is_empty() { "none".to_string() } else { named.join(", ") }
        ));
    }
    let action = named[0];
    for (field, v, zero_ok) in [
        ("sleep", r.sleep, false),
        ("wait", r.wait, true),
        ("min_secs", r.min_secs, true),
        ("within", r.within, false),
        ("delay_answers", r.delay_answers, true),
    ] {
        if let Some(v) = v {
            check_secs(field, v, 0.0, MAX_STEP_SECS, zero_ok)?;
        }
    }
    if let Some(n) = r.burst {
        if n == 0 || n > MAX_GENERATED_USERS {
            return Err(format!(
                "burst = {n}: give a number from 1 to {MAX_GENERATED_USERS}"
            ));
        }
    }
    for (field, v) in [("count", r.count), ("delivered", r.delivered)] {
        if let Some(n) = v {
            if n > MAX_REPLIES {
                return Err(format!("{field} = {n}: at most {MAX_REPLIES}"));
            }
        }
    }
    let allowed: &[&str] = match action {
        "connect" => &[
            "user", "pass", "token", "nkey", "sig", "cert", "cert_cn", "tls", "via", "expect",
            "min_secs", "node", "sentinel", "creds",
        ],
        "storm" => &["within", "nodes", "kill", "at"],
        "restart" => &["within"],
        "subscribe" => &["conn", "queue", "expect"],
        "publish" => &["conn", "payload", "reply_to", "to", "expect"],
        "reply" => &["count", "delivered", "wait", "to"],
        "request" => &["conn", "expect"],
        "expire" => &["within"],
        "user_info" => &[
            "account",
            "pub_allow",
            "pub_deny",
            "sub_allow",
            "sub_deny",
            "pub_deny_includes",
        ],
        _ => &[],
    };
    let present = [
        ("user", r.user.is_some()),
        ("pass", r.pass.is_some()),
        ("token", r.token.is_some()),
        ("nkey", r.nkey.is_some()),
        ("sig", r.sig.is_some()),
        ("cert", r.cert.is_some()),
        ("cert_cn", r.cert_cn.is_some()),
        ("tls", r.tls.is_some()),
        ("via", r.via.is_some()),
        ("conn", r.conn.is_some()),
        ("queue", r.queue.is_some()),
        ("payload", r.payload.is_some()),
        ("reply_to", r.reply_to.is_some()),
        ("to", r.to.is_some()),
        ("count", r.count.is_some()),
        ("delivered", r.delivered.is_some()),
        ("wait", r.wait.is_some()),
        ("min_secs", r.min_secs.is_some()),
        ("within", r.within.is_some()),
        ("account", r.account.is_some()),
        ("pub_allow", r.pub_allow.is_some()),
        ("pub_deny", r.pub_deny.is_some()),
        ("sub_allow", r.sub_allow.is_some()),
        ("sub_deny", r.sub_deny.is_some()),
        ("pub_deny_includes", r.pub_deny_includes.is_some()),
        ("expect", r.expect.is_some()),
        ("node", r.node.is_some()),
        ("sentinel", r.sentinel.is_some()),
        ("creds", r.creds.is_some()),
        ("nodes", r.nodes.is_some()),
        ("kill", r.kill.is_some()),
        ("at", r.at.is_some()),
    ];
    if let Some((k, _)) = present.iter().find(|(k, p)| *p && !allowed.contains(k)) {
        return Err(format!(
            "field {k:?} does not apply to a {action} step (it takes {})",
            if allowed.is_empty() {
                "nothing else".to_string()
            } else {
                allowed.join(", ")
            }
        ));
    }
    let need_conn = |r: &Option<String>| {
        r.clone()
            .ok_or_else(|| format!("a {action} step needs conn = \"NAME\" (the connection to use)"))
    };
    let expect = r.expect.as_deref();
    let bad_expect = |options: &str| {
        format!(
            "expect = {:?} is not valid for {action}: use {options}",
            expect.unwrap_or("")
        )
    };
    Ok(match action {
        "connect" => Step::Connect {
            name: r.connect.unwrap_or_default(),
            user: r.user,
            pass: r.pass,
            token: r.token,
            sig: match (r.sig.as_deref(), r.nkey.is_some()) {
                (None, _) => SigMode::Valid,
                (Some(_), false) => {
                    return Err("sig applies only with nkey = \"USER\" (the users entry whose key signs the nonce)".into())
                }
                (Some(s), true) => SigMode::parse(s).ok_or_else(|| {
                    format!("sig = {s:?}: use \"valid\", \"missing\", \"wrong-key\" or \"other-nonce\"")
                })?,
            },
            nkey: r.nkey,
            tls: r.tls.unwrap_or(false) || r.cert.is_some() || r.cert_cn.is_some(),
            cert: match (r.cert, r.cert_cn) {
                (Some(_), Some(_)) => {
                    return Err("give cert (a user's certificate) or cert_cn (a subject nobody has), not both".into())
                }
                (Some(n), None) => CertChoice::User(n),
                (None, Some(n)) => CertChoice::Stranger(n),
                (None, None) => CertChoice::None,
            },
            websocket: match r.via.as_deref() {
                None | Some("tcp") => false,
                Some("websocket") => true,
                Some(o) => return Err(format!("via = {o:?}: use \"tcp\" (default) or \"websocket\"")),
            },
            expect: match expect {
                None | Some("admitted") => ConnectExpect::Admitted,
                Some("rejected") => ConnectExpect::Rejected,
                Some("refused") => ConnectExpect::Refused,
                Some("closed") => ConnectExpect::Closed,
                _ => return Err(bad_expect("\"admitted\", \"rejected\", \"refused\" (before authentication: TLS) or \"closed\" (without -ERR)")),
            },
            min_secs: r.min_secs,
            cred_cmd: None,
            node: r.node,
            sentinel: r.sentinel.unwrap_or(true),
            creds: r.creds,
        },
        "storm" => {
            let count = r.storm.unwrap_or(0);
            if count == 0 || count > MAX_STORM {
                return Err(format!("storm = {count}: give 1 to {MAX_STORM} connects"));
            }
            let kill = match (r.kill, r.at) {
                (None, None) => None,
                (Some(k), at) => {
                    let at = at.unwrap_or(0.3);
                    if !(at > 0.0 && at < 1.0) {
                        return Err(format!("at = {at}: the fraction of the storm's connects started before the kill, between 0 and 1 (exclusive)"));
                    }
                    Some((k, at))
                }
                (None, Some(_)) => return Err("at applies only with kill = N (the responder instance to kill)".into()),
            };
            Step::Storm {
                count,
                within: r.within.ok_or("a storm step needs within = SECONDS (the connects start evenly over it)")?,
                nodes: r.nodes.unwrap_or_default(),
                kill,
            }
        }
        "restart" => Step::Restart {
            target: match r.restart.as_deref() {
                Some("responder") => RestartTarget::Responder,
                Some(n) => RestartTarget::Node(n.to_string()),
                None => unreachable!("action list above"),
            },
            within: r.within.ok_or("a restart step needs within = SECONDS (how long until a callout is answered again)")?,
        },
        "delay_answers" => Step::DelayAnswers(r.delay_answers.unwrap_or(0.0)),
        "subscribe" => Step::Subscribe {
            subject: r.subscribe.unwrap_or_default(),
            conn: need_conn(&r.conn)?,
            queue: r.queue,
            expect: match expect {
                None | Some("ok") => SubExpect::Ok,
                Some("denied") => SubExpect::Denied,
                _ => return Err(bad_expect("\"ok\" or \"denied\"")),
            },
        },
        "publish" => Step::Publish {
            subject: r.publish.unwrap_or_default(),
            conn: need_conn(&r.conn)?,
            payload: r.payload.unwrap_or_else(|| "hello".into()),
            reply_to: r.reply_to,
            to: r.to.unwrap_or_default(),
            expect: match expect {
                None | Some("delivered") => PubExpect::Delivered,
                Some("denied") => PubExpect::Denied,
                Some("not_delivered") => PubExpect::NotDelivered,
                _ => return Err(bad_expect("\"delivered\", \"denied\" or \"not_delivered\"")),
            },
        },
        "reply" => {
            let count = r.count.unwrap_or(1);
            Step::Reply {
                conn: r.reply.unwrap_or_default(),
                count,
                delivered: r.delivered.unwrap_or(count),
                wait: r.wait.unwrap_or(0.0),
                to: r
                    .to
                    .and_then(|v| v.into_iter().next())
                    .ok_or("a reply step needs to = [\"REQUESTER\"]")?,
            }
        }
        "request" => Step::Request {
            subject: r.request.unwrap_or_default(),
            conn: need_conn(&r.conn)?,
            expect: match expect {
                None | Some("replied") => RequestExpect::Replied,
                Some("no_responders") => RequestExpect::NoResponders,
                Some("denied") => RequestExpect::Denied,
                _ => return Err(bad_expect("\"replied\", \"no_responders\" or \"denied\"")),
            },
        },
        "user_info" => Step::UserInfo {
            conn: r.user_info.unwrap_or_default(),
            expect: UserInfoExpect {
                account: r.account,
                pub_allow: r.pub_allow,
                pub_deny: r.pub_deny,
                sub_allow: r.sub_allow,
                sub_deny: r.sub_deny,
                pub_deny_includes: r.pub_deny_includes.unwrap_or_default(),
            },
        },
        "burst" => Step::Burst {
            count: r.burst.unwrap_or(0),
        },
        "sleep" => Step::Sleep(r.sleep.unwrap_or(0.0)),
        "close" => Step::Close(r.close.unwrap_or_default()),
        "alive" => Step::Alive(r.alive.unwrap_or_default()),
        "expire" => Step::Expire {
            conn: r.expire.unwrap_or_default(),
            within: r.within.ok_or(
                "an expire step needs within = SECONDS (how long the credential has left, plus a margin)",
            )?,
        },
        _ => unreachable!("action list above"),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t: &str) -> Result<Scenario, ScenarioError> {
        parse(t, Path::new("x.toml"))
    }

    const MIN: &str = "[server]\naccounts = [\"APP\"]\n";

    #[test]
    fn a_minimal_file_parses() {
        let s = p(&format!("{MIN}[users.a]\npass = \"a\"\naccount = \"APP\"\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [ {{ connect = \"a\", pass = \"a\" }} ]\n")).unwrap();
        assert_eq!(s.cases[0].steps.len(), 1);
        assert_eq!(s.world.users_json["a"]["account"], "APP");
        assert!(s.world.responder_present);
    }

    #[test]
    fn min_and_before_server_bound_the_versions_a_case_runs_on() {
        let case = |bounds: &str| {
            p(&format!("{MIN}[users.a]\npass = \"a\"\naccount = \"APP\"\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\n{bounds}\nsteps = [ {{ connect = \"a\", pass = \"a\" }} ]\n"))
        };
        let c = case("min_server = \"2.11.0\"\nbefore_server = \"2.14.4\"")
            .unwrap()
            .cases[0]
            .clone();
        assert_eq!(
            c.outside_servers("2.10.26").as_deref(),
            Some("needs nats-server 2.11.0 or later")
        );
        assert_eq!(c.outside_servers("2.11.0"), None);
        assert_eq!(c.outside_servers("2.14.3"), None);
        assert_eq!(
            c.outside_servers("2.14.4").as_deref(),
            Some("needs a nats-server older than 2.14.4")
        );
        assert!(c.outside_servers("2.15.1").is_some());
        let e = case("min_server = \"2.14.4\"\nbefore_server = \"2.14.4\"").unwrap_err();
        assert!(
            e.message.contains("runs on no server") && e.line == 6,
            "{e}"
        );
        let e = case("before_server = \"soon\"").unwrap_err();
        assert!(
            e.message.contains("before_server") && e.message.contains("soon"),
            "{e}"
        );
    }

    #[test]
    fn a_typo_names_file_line_and_field() {
        let e = p(&format!("{MIN}[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n  {{ conect = \"a\" }},\n]\n")).unwrap_err();
        assert_eq!(e.file, "x.toml");
        assert_eq!(e.line, 9, "{e}");
        assert!(e.message.contains("conect"), "{e}");
        let e = p("[server]\naccounts = [\"APP\"]\nxkye = true\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("xkye"), "{e}");
    }

    #[test]
    fn step_shape_errors_are_explained() {
        let case = |step: &str| {
            format!("{MIN}[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n {step},\n]\n")
        };
        let e = p(&case("{ connect = \"a\", publish = \"x\" }")).unwrap_err();
        assert!(
            e.message.contains("exactly one action") && e.line == 9,
            "{e}"
        );
        let e = p(&case("{ publish = \"x\" }")).unwrap_err();
        assert!(e.message.contains("needs conn"), "{e}");
        let e = p(&case("{ connect = \"a\", expect = \"admited\" }")).unwrap_err();
        assert!(
            e.message
                .contains("\"admitted\", \"rejected\", \"refused\""),
            "{e}"
        );
        let e = p(&case("{ connect = \"a\", via = \"ws\" }")).unwrap_err();
        assert!(
            e.message.contains("\"tcp\" (default) or \"websocket\""),
            "{e}"
        );
        let e = p(&case("{ connect = \"a\", cert = \"a\", cert_cn = \"b\" }")).unwrap_err();
        assert!(e.message.contains("not both"), "{e}");
        let e = p(&case("{ connect = \"a\", via = \"websocket\" }")).unwrap_err();
        assert!(e.message.contains("[server] websocket = true"), "{e}");
        let e = p(&case("{ connect = \"a\", cert = \"nobody\" }")).unwrap_err();
        assert!(
            e.message.contains("[server] tls = true") || e.message.contains("cert = true"),
            "{e}"
        );
        let e = p(&case("{ expire = \"a\" }")).unwrap_err();
        assert!(e.message.contains("within"), "{e}");
        let e = p(&case(
            "{ subscribe = \"x\", conn = \"a\", payload = \"p\" }",
        ))
        .unwrap_err();
        assert!(e.message.contains("does not apply"), "{e}");
    }

    fn one_case(steps: &str) -> String {
        format!("{MIN}[users.a]\npass = \"a\"\naccount = \"APP\"\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n  {{ connect = \"l\", user = \"a\", pass = \"a\" }},\n  {steps},\n]\n")
    }

    #[test]
    fn numbers_are_checked_when_the_file_loads() {
        for (step, field) in [
            ("{ sleep = -1.0 }", "sleep = -1"),
            ("{ sleep = nan }", "sleep = NaN"),
            ("{ sleep = inf }", "sleep = inf"),
            ("{ sleep = 0.0 }", "sleep = 0"),
            ("{ sleep = 1000.0 }", "sleep = 1000"),
            (
                "{ reply = \"l\", wait = -0.5, to = [\"l\"] }",
                "wait = -0.5",
            ),
            ("{ connect = \"m\", min_secs = nan }", "min_secs = NaN"),
            ("{ burst = 0 }", "burst = 0"),
        ] {
            let e = p(&one_case(step)).unwrap_err();
            assert_eq!(e.line, 13, "{step}: {e}");
            assert!(e.message.contains(field), "{step}: {e}");
        }
        for t in ["-5.0", "0.0", "inf", "nan", "100.0"] {
            let e = p(&format!("[server]\naccounts = [\"APP\"]\ntimeout = {t}\n")).unwrap_err();
            assert_eq!(e.line, 3, "{t}: {e}");
            assert!(e.message.contains("[server] timeout"), "{t}: {e}");
        }
        assert_eq!(
            p(&format!("{MIN}timeout = 2.5\n")).unwrap().world.timeout,
            2.5
        );
    }

    #[test]
    fn connection_names_are_checked_when_the_file_loads() {
        let e = p(&one_case("{ subscribe = \"x\", conn = \"listner\" }")).unwrap_err();
        assert_eq!(e.line, 13, "{e}");
        assert!(
            e.message.contains("conn = \"listner\"") && e.message.contains("open here: l"),
            "{e}"
        );
        for step in [
            "{ publish = \"x\", conn = \"l\", to = [\"lsitener\"] }",
            "{ user_info = \"nobody\" }",
            "{ reply = \"l\", to = [\"gone\"] }",
            "{ close = \"x\" }",
        ] {
            assert!(p(&one_case(step)).is_err(), "{step}");
        }
        // Closed, or rejected, is not open.
        assert!(p(&one_case(
            "{ close = \"l\" },\n  { subscribe = \"x\", conn = \"l\" }"
        ))
        .is_err());
        assert!(p(&one_case(
            "{ connect = \"r\", expect = \"rejected\" },\n  { close = \"r\" }"
        ))
        .is_err());
        assert!(p(&one_case("{ publish = \"x\", conn = \"l\", to = [\"l\"] }")).is_ok());
    }

    #[test]
    fn case_ids_follow_the_scheme() {
        for bad in [
            "wire.hostile.1",
            "perm",
            "e2e.perm",
            "e2e.perm.0",
            "e2e.perm.01",
            "e2e.Perm.1",
            "e2e.perm.1.2",
            "e2e.perm.x",
        ] {
            let e = p(&one_case("{ close = \"l\" }").replace("e2e.x.1", bad)).unwrap_err();
            assert!(
                e.message.contains("e2e.AREA.N") && e.line == 6,
                "{bad}: {e}"
            );
        }
        let two = one_case("{ close = \"l\" }");
        let second = two[two.find("[[case]]").unwrap()..].replace("e2e.x.1", "e2e.y.2");
        let e = p(&format!("{two}{second}")).unwrap_err();
        assert!(e.message.contains("share an area"), "{e}");
    }

    #[test]
    fn the_users_section_is_checked_like_users_json() {
        let users = |u: &str| {
            p(&format!(
                "{MIN}[users.a]\npass = \"a\"\naccount = \"APP\"\n{u}\n"
            ))
        };
        let ok =
            users("PERMISSIONS = { Pub = { allow = [\"x\"] }, resp = { max = 1, ttl = 1000 } }")
                .unwrap();
        assert_eq!(
            ok.world.users_json["a"]["PERMISSIONS"]["Pub"]["allow"][0],
            "x"
        );
        for (u, want) in [
            ("permisions = {}", "users.a: unknown key \"permisions\""),
            (
                "permissions = { pub = { alow = [\"x\"] } }",
                "users.a.permissions.pub: unknown key \"alow\"",
            ),
            (
                "permissions = { sub = { deny = \"x\" } }",
                "users.a.permissions.sub.deny is a string",
            ),
            (
                "permissions = { resp = { ttl = \"1s\" } }",
                "users.a.permissions.resp.ttl is a string",
            ),
            ("permissions = { resp = { ttl = -1 } }", "nanoseconds"),
            ("Pass = \"b\"", "\"pass\" appears twice"),
        ] {
            let e = users(u).unwrap_err();
            assert_eq!(e.line, 6, "{u}: {e}");
            assert!(e.message.contains(want), "{u}: {e}");
        }
        let e = p(&format!("{MIN}[users.b]\npass = 5\naccount = \"APP\"\n")).unwrap_err();
        assert!(
            e.line == 4 && e.message.contains("users.b.pass is an integer"),
            "{e}"
        );
    }

    #[test]
    fn an_id_in_two_files_names_both_lines() {
        let dir = std::env::temp_dir().join(format!("scn-dup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let f = one_case("{ close = \"l\" }");
        std::fs::write(dir.join("a.toml"), &f).unwrap();
        std::fs::write(dir.join("b.toml"), format!("# another file\n{f}")).unwrap();
        let e = load_dir(&dir).unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(e.file.ends_with("b.toml") && e.line == 7, "{e}");
        assert!(e.message.contains("a.toml:6"), "{e}");
    }

    #[test]
    fn operator_mode_mistakes_name_the_fix() {
        let file = |head: &str, server: &str, step: &str| {
            format!("{head}[server]\nmode = \"operator\"\naccounts = [\"APP1\", \"APP3\"]\n{server}\n[users.a]\npass = \"a\"\naccount = \"APP1\"\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n {step},\n]\n")
        };
        let ok = p(&file(
            "min_server = \"2.11.2\"\n",
            "issuer = \"signing_key\"\ntarget_keys = \"account\"\ndefault_sentinel = true\n[server.scoped.APP3]\npub = { allow = [\"x.>\"] }",
            "{ connect = \"s\", creds = \"AUTH\" }",
        ))
        .unwrap();
        let shape = &ok.world.operator_shape;
        assert!(shape.issuer_signing_key && shape.target_identity_keys && shape.default_sentinel);
        assert_eq!(shape.scoped.len(), 1);
        assert_eq!(shape.scoped[0].0, "APP3");
        assert_eq!(shape.scoped[0].1.allow, ["x.>"]);
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "",
                "[server.scoped.NOPE]",
                "{ sleep = 1.0 }",
                "[server.scoped.NOPE] names no target account",
            ),
            (
                "",
                "[server.scoped.APP1]\n[server.scoped.APP3]",
                "{ sleep = 1.0 }",
                "leave at least one account with a plain signing key",
            ),
            (
                "",
                "issuer = \"sk\"",
                "{ sleep = 1.0 }",
                "use \"account\" (default",
            ),
            (
                "",
                "target_keys = \"own\"",
                "{ sleep = 1.0 }",
                "use \"signing_key\" (default) or \"account\"",
            ),
            (
                "",
                "default_sentinel = true",
                "{ sleep = 1.0 }",
                "needs min_server = \"2.11.2\"",
            ),
            (
                "min_server = \"2.10.0\"\n",
                "default_sentinel = true",
                "{ sleep = 1.0 }",
                "needs min_server",
            ),
            (
                "",
                "",
                "{ connect = \"s\", creds = \"APP9\" }",
                "creds = \"APP9\" names no account",
            ),
            (
                "",
                "",
                "{ connect = \"s\", creds = \"AUTH\", sentinel = false }",
                "drop sentinel = false",
            ),
            (
                "",
                "",
                "{ connect = \"s\", expect = \"gone\" }",
                "\"closed\" (without -ERR)",
            ),
        ];
        for (head, server, step, needle) in cases {
            let e = p(&file(head, server, step)).unwrap_err().to_string();
            assert!(e.contains(needle), "{server} / {step}: {e}");
            assert!(e.starts_with("x.toml:"), "{e}");
        }
        // Operator-only keys in a config-mode file, and creds without operator mode.
        let config = |server: &str, step: &str| {
            format!("[server]\naccounts = [\"APP\"]\n{server}\n[users.a]\npass = \"a\"\naccount = \"APP\"\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n {step},\n]\n")
        };
        let e = p(&config("issuer = \"signing_key\"", "{ sleep = 1.0 }"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("issuer applies only to mode = \"operator\""),
            "{e}"
        );
        let e = p(&config("", "{ connect = \"a\", creds = \"APP\" }"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("applies only to [server] mode = \"operator\""),
            "{e}"
        );
    }

    #[test]
    fn topology_mistakes_name_the_line_and_the_fix() {
        let file = |topo: &str, step: &str| {
            format!("{MIN}{topo}\n[users.a]\npass = \"a\"\naccount = \"APP\"\n[generate_users]\nprefix = \"g\"\ncount = 2\naccounts = [\"APP\"]\n[[case]]\nid = \"e2e.x.1\"\ntitle = \"t\"\nrequirement = \"r\"\ncite = \"c\"\nsteps = [\n {step},\n]\n")
        };
        let ok = p(&file(
            "[topology]\nnodes = 3\nresponders = 3\nresponder_on = \"each\"\nslow_link = true\n[[topology.leaf]]\nname = \"edge\"\nuser = \"a\"\npass = \"a\"",
            "{ storm = 10, within = 1.0, nodes = [\"n2\", \"n3\"], kill = 2, at = 0.5 }",
        ))
        .unwrap();
        assert_eq!(ok.world.topology.nodes, 3);
        assert_eq!(ok.world.topology.responder_on, ResponderOn::Each);
        assert_eq!(ok.world.topology.node_names(), ["n1", "n2", "n3", "edge"]);
        assert!(!ok.world.topology.is_plain());
        assert!(p(&file("", "{ connect = \"a\", pass = \"a\" }"))
            .unwrap()
            .world
            .topology
            .is_plain());
        // The line: 0 for the step's own line, else the given one.
        let cases: &[(&str, &str, usize, &str)] = &[
            ("[topology]\nnodes = 9", "{ sleep = 1.0 }", 3, "nodes = 9"),
            (
                "[topology]\nnodes = 2\nresponder_on = \"n3\"",
                "{ sleep = 1.0 }",
                3,
                "n1 to n2",
            ),
            ("[topology]\nnodez = 2", "{ sleep = 1.0 }", 4, "nodez"),
            (
                "[topology]\nnodes = 2",
                "{ connect = \"a\", pass = \"a\", node = \"n3\" }",
                0,
                "node = \"n3\" is not a node",
            ),
            (
                "[topology]\nnodes = 2",
                "{ storm = 10, within = 1.0, kill = 1 }",
                0,
                "responders = 2 or more",
            ),
            (
                "[topology]\nresponders = 2",
                "{ storm = 10, within = 1.0, kill = 3 }",
                0,
                "numbered 1 to 2",
            ),
            ("", "{ storm = 10 }", 0, "within = SECONDS"),
            (
                "",
                "{ storm = 10, within = 1.0, at = 0.5 }",
                0,
                "only with kill",
            ),
            ("", "{ delay_answers = 3.0 }", 0, "slow_link = true"),
            (
                "",
                "{ restart = \"n2\", within = 2.0 }",
                0,
                "restart = \"n2\" is not a node",
            ),
            (
                "[[topology.leaf]]\nname = \"n2\"\nuser = \"a\"\npass = \"a\"",
                "{ sleep = 1.0 }",
                3,
                "not of the form nN",
            ),
            (
                "[[topology.leaf]]\nname = \"e\"\nuser = \"nobody\"\npass = \"a\"",
                "{ sleep = 1.0 }",
                3,
                "neither a [users.nobody] entry",
            ),
            (
                "[[topology.leaf]]\nname = \"e\"\nuser = \"a\"\npass = \"a b\"",
                "{ sleep = 1.0 }",
                3,
                "remote URL",
            ),
        ];
        for (topo, step, line, needle) in cases {
            let text = file(topo, step);
            let line = match line {
                0 => text.lines().position(|l| l.contains(step)).unwrap() + 1,
                n => *n,
            };
            let e = p(&text).unwrap_err();
            assert!(e.message.contains(needle), "{topo} / {step}: {e}");
            assert_eq!(e.line, line, "{topo} / {step}: {e}");
        }
    }
}
