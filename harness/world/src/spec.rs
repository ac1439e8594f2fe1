//! What a world is made of, before it starts: the servers and responder instances
//! (topology), the accounts and users the server and the responder are given, the keys, the
//! listeners and the operator-mode shape. A scenario file carries one; the wire phases, the
//! bench and the fuzzer build theirs directly.

use std::path::PathBuf;

use serde::Deserialize;

use crate::credential::{Attach, Credential, NkeySeed, OwnKeys};

/// A users.json extension or capability a responder may lack; the probe user logs in with it
/// (or, for `xkey`, every request is sealed), and a responder that never admits the probe is
/// graded UNIMPLEMENTED rather than failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Sealed requests and answers.
    Xkey,
    /// nkey logins in users.json.
    Nkey,
    /// Token logins in users.json.
    Token,
    /// Client certificate subjects in users.json.
    Cert,
}

impl Feature {
    /// Every feature, by the name scenario files use.
    pub const ALL: [(&'static str, Feature); 4] = [
        ("xkey", Feature::Xkey),
        ("nkey", Feature::Nkey),
        ("token", Feature::Token),
        ("cert", Feature::Cert),
    ];

    /// The feature called `name` in a scenario file.
    pub fn parse(name: &str) -> Option<Feature> {
        Feature::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    /// The name scenario files use.
    pub fn name(self) -> &'static str {
        Feature::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map(|(n, _)| *n)
            .unwrap_or("")
    }

    /// True for the users.json extensions the probe user logs in with.
    pub fn is_login(self) -> bool {
        self != Feature::Xkey
    }
}

/// The name of the callout account in every scenario.
pub const CALLOUT_ACCOUNT: &str = "AUTH";

/// Everything a world is started from.
#[derive(Clone, Debug, PartialEq)]
pub struct WorldSpec {
    /// The file the world comes from, for set-up errors (a synthetic name for the wire phases
    /// and the bench).
    pub origin: PathBuf,
    /// False when the world has no responder at all.
    pub responder_present: bool,
    /// A feature the responder may lack.
    pub feature: Option<Feature>,
    /// Accounts besides the callout account.
    pub accounts: Vec<String>,
    /// The system account, when the file names one.
    pub system_account: Option<String>,
    /// Requests are sealed (the server has an xkey).
    pub xkey: bool,
    /// The server's `authorization.timeout`, in seconds.
    pub timeout: f64,
    /// The callout's `allowed_accounts`.
    pub allowed_accounts: Vec<String>,
    /// Users that bypass the callout.
    pub auth_users: Vec<AuthUser>,
    /// The users directory handed to the responder, as JSON (seed format).
    pub users_json: serde_json::Value,
    /// Generated users for load cases.
    pub generate_users: Option<GenerateUsers>,
    /// The readiness probe's login when the responder does not read the harness's users.json
    /// (a profile's declared identity); `None` adds the probe user to users.json.
    pub probe: Option<Credential>,
    /// The responder's own public issuer and xkey (a profile's `[keys]`); `None`: the harness
    /// generates them and hands the seeds over through the placeholders.
    pub keys: Option<OwnKeys>,
    /// A responder that is already running: the server listens where it connects and knows
    /// its user (a profile's `[responder] url`); the harness starts no process.
    pub attach: Option<Attach>,
    /// A TLS listener whose clients' certificates the server verifies against the run's CA.
    pub tls: bool,
    /// nkey logins of a profile's identities: the name a connect step's `nkey` names, and the
    /// seed that signs the nonce.
    pub nkey_logins: Vec<(String, NkeySeed)>,
    /// A WebSocket listener.
    pub websocket: bool,
    /// The servers and responder instances.
    pub topology: Topology,
    /// Operator (decentralized) mode: the harness makes an operator, SYS, the callout account
    /// and a signing key per target account, and clients connect with the sentinel's JWT
    /// ([`crate::operator`]).
    pub operator: bool,
    /// Operator mode: scoped keys, the response signer, the keys handed over, the default
    /// sentinel.
    pub operator_shape: OperatorShape,
    /// The harness plays the server (the wire phases, the bench's throughput rig): the
    /// server calls no responder out, takes payloads of up to [`INJECTOR_MAX_PAYLOAD`] bytes,
    /// and this user of the callout account (with the probe user's password) publishes the
    /// forged requests.
    pub injector: Option<String>,
}

/// The largest payload a server accepts when the harness plays the server.
pub const INJECTOR_MAX_PAYLOAD: u64 = 4 * 1024 * 1024;

impl Default for WorldSpec {
    fn default() -> Self {
        WorldSpec {
            origin: PathBuf::new(),
            responder_present: true,
            feature: None,
            accounts: vec![],
            system_account: None,
            xkey: false,
            timeout: 1.0,
            allowed_accounts: vec![],
            auth_users: vec![],
            users_json: serde_json::json!({}),
            generate_users: None,
            probe: None,
            keys: None,
            attach: None,
            tls: false,
            nkey_logins: vec![],
            websocket: false,
            topology: Topology::default(),
            operator: false,
            operator_shape: OperatorShape::default(),
            injector: None,
        }
    }
}

/// A leaf server that connects to the first node's leaf-node listener with credentials in its
/// remote URL, so the hub calls the leaf connection itself out (`client_info.kind` Leafnode).
/// Its own clients need no credentials (the leaf has no authorization).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Leaf {
    /// The node name connect steps use (`node = "NAME"`).
    pub name: String,
    /// The user in the remote URL.
    pub user: String,
    /// Its password.
    pub pass: String,
}

/// Where the responder instances connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponderOn {
    /// All on this node (index into the nodes, 0-based).
    Node(usize),
    /// Instance i on node i (round-robin).
    Each,
}

/// The servers and responder instances of a file: one node and one responder unless the file
/// has a `[topology]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Nodes of the cluster, `n1` … `nN` (1: no cluster).
    pub nodes: usize,
    /// Responder instances in one queue group.
    pub responders: usize,
    /// Where they connect.
    pub responder_on: ResponderOn,
    /// A delaying proxy between every responder instance and its node, so `delay_answers`
    /// steps can make the answers late.
    pub slow_link: bool,
    /// Leaf servers of the first node.
    pub leafs: Vec<Leaf>,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            nodes: 1,
            responders: 1,
            responder_on: ResponderOn::Node(0),
            slow_link: false,
            leafs: vec![],
        }
    }
}

impl Topology {
    /// Every name a connect step's `node` may take: `n1` … `nN`, then the leafs.
    pub fn node_names(&self) -> Vec<String> {
        let mut v: Vec<String> = (1..=self.nodes).map(|i| format!("n{i}")).collect();
        v.extend(self.leafs.iter().map(|l| l.name.clone()));
        v
    }

    /// True for a file with more than one server or responder, or a slow link.
    pub fn is_plain(&self) -> bool {
        *self == Topology::default()
    }
}

/// The most nodes of a cluster.
pub const MAX_NODES: usize = 5;
/// The most responder instances.
pub const MAX_RESPONDERS: usize = 8;

/// How an operator-mode file shapes the world besides its accounts (`crate::operator`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OperatorShape {
    /// Accounts whose signing key is scoped, with the template's publish and subscribe
    /// permissions.
    pub scoped: Vec<(String, callout_codec::Permission, callout_codec::Permission)>,
    /// `issuer = "signing_key"`: responses are signed by a signing key of the callout account.
    pub issuer_signing_key: bool,
    /// `target_keys = "account"`: the responder gets the target accounts' own keys.
    pub target_identity_keys: bool,
    /// `default_sentinel = true` (2.11.2+).
    pub default_sentinel: bool,
    /// Wire mode only (not in files): the callout account has no `authorization`.
    pub callout_off: bool,
}

/// A user that bypasses the callout (listed in `auth_users`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthUser {
    /// User name.
    pub user: String,
    /// Password.
    pub pass: String,
    /// Account the user is defined in.
    pub account: String,
}

/// Many generated users for load cases: `<prefix><i>` with password `<prefix><i>-pw`, in the
/// accounts round-robin, each allowed to publish `<prefix><i>.>` and `$SYS.REQ.USER.INFO`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GenerateUsers {
    /// Name prefix.
    pub prefix: String,
    /// How many.
    pub count: usize,
    /// Accounts, round-robin.
    pub accounts: Vec<String>,
}

/// The client certificate a TLS connect presents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CertChoice {
    /// None.
    #[default]
    None,
    /// The certificate of the `[users.NAME]` entry with `cert = true`.
    User(String),
    /// A certificate the run's CA signed for `CN=NAME`, a subject no user has.
    Stranger(String),
}
