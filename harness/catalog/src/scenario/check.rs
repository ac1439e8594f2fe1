//! The checks of a scenario file beyond its TOML shape: `[users.*]` against the users.json
//! format, `[topology]`, the operator-mode `[server]` keys, case ids, numbers of seconds, and
//! what each step names (open connections, nodes, users, listeners), each with the fix.

use callout_leaves::version::parse_version;
use callout_world::spec::{
    AuthUser, CertChoice, OperatorShape, ResponderOn, Topology, MAX_NODES, MAX_RESPONDERS,
};

use super::raw::{RawAllowDeny, RawServer, RawTopology, TomlValue};
use super::{ConnectExpect, RestartTarget, Step};

pub(super) fn check_topology(
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

/// Checks `[users.*]` against the users.json format of the NATS by Example service: the keys
/// `pass`, `account`, `permissions { pub, sub { allow, deny }, resp { max, ttl } }`, matched
/// case-insensitively as Go does, and their types. Returns the byte offset of the problem.
pub(super) fn check_users(users: &TomlValue) -> Result<(), (usize, String)> {
    let TomlValue::Table(users) = users else {
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
                    want(v, &p, off, matches!(v, TomlValue::Str(_)), "a string")?
                }
                "nkey" => want(
                    v,
                    &p,
                    off,
                    matches!(v, TomlValue::Bool(true)),
                    "nkey = true (the harness generates the key pair for each run and writes the public key into users.json)",
                )?,
                "cert" => want(
                    v,
                    &p,
                    off,
                    matches!(v, TomlValue::Bool(true)),
                    "cert = true (the harness issues the user a client certificate with subject CN=NAME each run and writes cert_subject into users.json)",
                )?,
                _ => {
                    for (k, off, v) in known_keys(v, &p, off, &["pub", "sub", "resp"])? {
                        let p = format!("{p}.{k}");
                        if k == "resp" {
                            for (k, off, v) in known_keys(v, &p, off, &["max", "ttl"])? {
                                let ok = matches!(v, TomlValue::Int(i) if *i >= 0 || k == "max");
                                let what = if k == "ttl" {
                                    "a whole number of nanoseconds, e.g. ttl = 1000000000"
                                } else {
                                    "an integer, e.g. max = 1"
                                };
                                want(v, &format!("{p}.{k}"), off, ok, what)?;
                            }
                        } else {
                            for (k, off, v) in known_keys(v, &p, off, &["allow", "deny"])? {
                                let ok = matches!(v, TomlValue::Array(a) if a.iter().all(|x| matches!(x, TomlValue::Str(_))));
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

fn want(v: &TomlValue, path: &str, at: usize, ok: bool, what: &str) -> Result<(), (usize, String)> {
    if ok {
        Ok(())
    } else {
        Err((at, format!("{path} is {}: write {what}", v.kind())))
    }
}

/// A table entry: its key folded to the known spelling, the key's byte offset, the value.
type KeyedNode<'a> = (&'static str, usize, &'a TomlValue);

/// The entries of table `v` at `path`, each key folded to one of `known`; an unknown or
/// repeated key is an error.
fn known_keys<'a>(
    v: &'a TomlValue,
    path: &str,
    at: usize,
    known: &[&'static str],
) -> Result<Vec<KeyedNode<'a>>, (usize, String)> {
    let TomlValue::Table(t) = v else {
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

/// The operator-mode `[server]` keys: only in operator mode, each with its allowed values.
pub(super) fn check_operator_shape(
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
pub(super) fn e2e_area(id: &str) -> Option<&str> {
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

/// A number of seconds must be finite and within `(min, max]` (or `[min, max]` when
/// `zero_ok`).
pub(super) fn check_secs(
    field: &str,
    v: f64,
    min: f64,
    max: f64,
    zero_ok: bool,
) -> Result<(), String> {
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

/// What the steps of a file's cases are checked against: the file's `[server]`, users and
/// `[topology]`.
pub(super) struct StepContext<'a> {
    /// `[server] mode = "operator"`.
    pub(super) operator: bool,
    /// `[server] accounts`.
    pub(super) accounts: &'a [String],
    /// `[server] tls`.
    pub(super) tls: bool,
    /// `[server] websocket`.
    pub(super) websocket: bool,
    /// The users.json the `[users.*]` entries make.
    pub(super) users_json: &'a serde_json::Value,
    /// The file's `[topology]`.
    pub(super) topology: &'a Topology,
    /// The names of its nodes (the cluster's, then the leafs').
    pub(super) node_names: &'a [String],
    /// The file has `[generate_users]`.
    pub(super) generated: bool,
}

/// Checks what `step` names against the file, in order: the connections open before it (which
/// it updates), the nodes of the topology, then what a connect presents.
pub(super) fn check_step(
    step: &Step,
    open: &mut Vec<String>,
    cx: &StepContext,
) -> Result<(), String> {
    check_references(step, open)?;
    check_topology_step(step, cx.topology, cx.node_names, cx.generated)?;
    check_connect(step, cx)
}

/// What a connect presents must exist in the file: operator mode for `sentinel` and `creds`,
/// the `[users.*]` entry of an nkey or a certificate, the TLS or WebSocket listener.
fn check_connect(step: &Step, cx: &StepContext) -> Result<(), String> {
    let Step::Connect {
        nkey,
        cert,
        tls,
        websocket,
        sentinel,
        creds,
        ..
    } = step
    else {
        return Ok(());
    };
    if !*sentinel && !cx.operator {
        return Err("sentinel = false applies only to [server] mode = \"operator\" (config-mode clients have no sentinel)".into());
    }
    if let Some(c) = creds {
        check_creds(c, *sentinel, cx)?;
    }
    if let Some(n) = nkey {
        if cx.users_json.get(n).and_then(|u| u.get("nkey")) != Some(&serde_json::Value::Bool(true))
        {
            return Err(format!("nkey = {n:?} names no [users.{n}] entry with nkey = true; declare the user with nkey = true (the harness generates its key) or fix the name"));
        }
    }
    let is_cert_user = |n: &str| {
        cx.users_json.get(n).and_then(|u| u.get("cert")) == Some(&serde_json::Value::Bool(true))
    };
    match cert {
        CertChoice::User(n) if !is_cert_user(n) => {
            return Err(format!("cert = {n:?} names no [users.{n}] entry with cert = true; declare the user with cert = true, or present a certificate of a subject nobody has with cert_cn = {n:?}"));
        }
        CertChoice::Stranger(n) if is_cert_user(n) => {
            return Err(format!("cert_cn = {n:?} is the subject of [users.{n}]; cert_cn is for subjects nobody has: write cert = {n:?} for the user's own certificate"));
        }
        _ => {}
    }
    if *tls && !cx.tls {
        return Err("a TLS connect (tls, cert or cert_cn) needs [server] tls = true".into());
    }
    if *websocket && !cx.websocket {
        return Err("via = \"websocket\" needs [server] websocket = true".into());
    }
    if *websocket && *tls {
        return Err(
            "the WebSocket listener is plain here; connect over TLS or over WebSocket, not both"
                .into(),
        );
    }
    Ok(())
}

/// `creds = "ACCOUNT"` (operator mode): the JWT of a user that bypasses the callout, in place
/// of the sentinel's.
fn check_creds(c: &str, sentinel: bool, cx: &StepContext) -> Result<(), String> {
    if !cx.operator {
        return Err(format!(
            "creds = {c:?} applies only to [server] mode = \"operator\""
        ));
    }
    if !sentinel {
        return Err(format!(
            "creds = {c:?} replaces the sentinel; drop sentinel = false"
        ));
    }
    if c != "AUTH" && !cx.accounts.iter().any(|a| a == c) {
        return Err(format!("creds = {c:?} names no account; use \"AUTH\" (the responder's service user) or one of accounts = {:?}", cx.accounts));
    }
    Ok(())
}
