//! Responder profiles: how to judge a responder that does not read the harness's users.json
//! (one that checks tokens against an identity provider, a database, HMAC-signed tokens, …).
//! A profile is a TOML file that says how to start the responder and which identities it
//! knows, each with a credential and the outcome the responder intends for it. From it the
//! harness makes
//! - a scenario of policy cases (`e2e.profile.N`): every declared identity admitted into its
//!   declared account with exactly its declared permissions (and still admitted well past the
//!   server's authorization timeout, or disconnected with `User Authentication Expired` when its
//!   credential expires), or rejected; unknown, altered and missing credentials rejected;
//! - the identities the wire cases carry ([`crate::wire::Identities`]), so that every
//!   policy-independent wire case (response shape, signing, sealing, hostile and robustness
//!   requests) runs unchanged on the declared credentials.
//!
//! ```toml
//! name = "token-responder"            # the report column (default: the file's stem)
//!
//! [responder]
//! # the --responder-cmd placeholders, plus {profile_dir} (this file's directory, put in after
//! # the command is split into words: one word part as it is, spaces and braces included)
//! cmd = "target/debug/token-responder -nats.url {url} -nats.user {user} -nats.pass {pass} -issuer.seed {issuer_seed} -xkey.seed {xkey_seed} -hmac.key {profile_dir}/demo.key"
//! sealing = true                      # it opens sealed (xkey) requests (default true)
//!
//! [server]
//! accounts = ["APP"]                  # besides those the identities name (optional)
//! timeout = 1.0                       # authorization timeout in seconds (default 1)
//!
//! [[identity]]
//! name = "alice"
//! cred_cmd = "target/debug/token-responder mint -hmac.key {profile_dir}/demo.key -name alice -account APP -ttl 600"
//! cred = "token"                      # what cred_cmd prints: "token" (default) or "pass"
//! expect = "admitted"
//! account = "APP"
//! pub_allow = ["alice.>"]
//!
//! [[identity]]
//! name = "expired"
//! cred_cmd = "target/debug/token-responder mint -hmac.key {profile_dir}/demo.key -name old -account APP -ttl -60"
//! expect = "rejected"
//! ```
//!
//! A responder that holds its own keys says so with `[keys] issuer = "A…"` and `xkey = "X…"`
//! (public keys): the server trusts that issuer and seals to that xkey, and the command gets
//! no seed placeholders.
//!
//! A credential is `user` + `pass`, `token`, `nkey_seed` (a user seed that signs the nonce),
//! `cert_cn` (a certificate the run's CA issues for that common name), or `cred_cmd` (run without a shell before every
//! use; its trimmed stdout is the secret; `{profile_dir}` is its only placeholder). Every mistake is an error naming the file, the line
//! and the fix.

mod cases;
#[cfg(test)]
mod tests;

use callout_world::credential::Login;
pub use callout_world::credential::{
    Attach, CredCmd, CredKind, Credential, NkeySeed, OwnKeys, CRED_CMD_TIMEOUT,
};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::scenario::{
    ConnectExpect, Scenario, ScenarioError, Source, UserInfoExpect, MAX_SERVER_TIMEOUT,
};
use callout_world::spec::WorldSpec;
use callout_world::sut::{self, ResponderSpec};
use cases::{cases, wire_identities};

/// The longest `expires_in` a profile may declare, in seconds.
pub const MAX_EXPIRES_IN: f64 = 60.0;

/// One declared identity.
#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    /// Its name in the profile (and in case titles).
    pub name: String,
    /// How it logs in.
    pub credential: Credential,
    /// Admitted or rejected.
    pub expect: ConnectExpect,
    /// Where an admitted identity lands, and with which permissions.
    pub placement: UserInfoExpect,
    /// The credential expires this many seconds after it is made.
    pub expires_in: Option<f64>,
}

/// A loaded profile.
#[derive(Clone, Debug)]
pub struct Profile {
    /// The file.
    pub path: PathBuf,
    /// The responder column: its name, command and wire identities.
    pub responder: ResponderSpec,
    /// The identities, in file order.
    pub identities: Vec<Identity>,
    /// The policy cases.
    pub scenario: Scenario,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    #[serde(default)]
    name: Option<String>,
    responder: RawResponder,
    #[serde(default)]
    server: Option<RawServer>,
    #[serde(default)]
    keys: Option<RawKeys>,
    #[serde(default, rename = "identity")]
    identities: Vec<Spanned<RawIdentity>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponder {
    #[serde(default)]
    cmd: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    pass: Option<String>,
    #[serde(default = "yes")]
    sealing: bool,
}

/// The port of a loopback `nats://` URL, or what is wrong with it.
fn loopback_port(url: &str) -> Result<u16, String> {
    let rest = url
        .strip_prefix("nats://")
        .ok_or("it must start with nats://")?;
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or("it needs a port, e.g. nats://127.0.0.1:4333")?;
    if !matches!(host, "127.0.0.1" | "localhost") {
        return Err(format!("the host is {host:?}: the harness starts its servers on this machine's loopback (127.0.0.1), so the responder must connect there"));
    }
    match port.trim_end_matches('/').parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("the port {port:?} is not a number from 1 to 65535")),
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    issuer: String,
    #[serde(default)]
    xkey: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    timeout: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    name: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    pass: Option<String>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    cred_cmd: Option<String>,
    #[serde(default)]
    cred: Option<String>,
    #[serde(default)]
    nkey_seed: Option<String>,
    #[serde(default)]
    cert_cn: Option<String>,
    expect: String,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    pub_allow: Option<Vec<String>>,
    #[serde(default)]
    pub_deny: Option<Vec<String>>,
    #[serde(default)]
    sub_allow: Option<Vec<String>>,
    #[serde(default)]
    sub_deny: Option<Vec<String>>,
    #[serde(default)]
    expires_in: Option<f64>,
}

/// `word` (of a command already split into words) with `{profile_dir}` replaced by `dir`, in
/// one pass: the directory's name is never split, unquoted or scanned for placeholders.
fn with_profile_dir(word: &str, dir: &Path) -> String {
    let dir = dir.display().to_string();
    sut::substitute(word, |name| {
        (name == "{profile_dir}").then_some(dir.as_str())
    })
    .0
}

/// Reads and checks a profile.
pub fn load(path: &Path) -> Result<Profile, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.display().to_string(),
        line: 0,
        message: format!("cannot read the profile: {e}"),
    })?;
    parse(&text, path)
}

/// Parses a profile from text; `path` names it in errors and anchors `{profile_dir}`.
pub fn parse(text: &str, path: &Path) -> Result<Profile, ScenarioError> {
    let src = Source {
        text,
        file: path.display().to_string(),
    };
    let raw: RawProfile = crate::scenario::from_toml(text, &src.file)?;
    let dir = std::path::absolute(
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
    .map_err(|e| src.err(0, format!("cannot resolve the profile's directory: {e}")))?;
    let name = raw.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "profile".into())
    });
    if !ok_name(&name) {
        return Err(src.err(
            0,
            format!("name = {name:?}: a column name is letters, digits, '.', '_' and '-'"),
        ));
    }
    let attach = attach(&src, &raw.responder, raw.keys.is_some())?;
    let cmd = responder_cmd(&src, &raw.responder, &dir, attach.is_some())?;
    let keys = own_keys(&src, raw.keys.as_ref(), raw.responder.sealing, &cmd)?;
    let (mut accounts, timeout) = server(&src, raw.server)?;
    let mut identities: Vec<Identity> = Vec::new();
    let mut lines = Vec::new();
    for ri in raw.identities {
        let iline = src.line(ri.span().start);
        lines.push(iline);
        let mut i = identity(ri.into_inner(), &identities, &dir).map_err(|m| src.err(iline, m))?;
        if let Some(c) = &mut i.credential.cmd {
            c.at = format!("{}:{iline}", path.display());
        }
        if let Some(a) = &i.placement.account {
            if !accounts.contains(a) && a != callout_world::fixture::CALLOUT_ACCOUNT {
                accounts.push(a.clone());
            }
        }
        identities.push(i);
    }
    let Some(main) = identities
        .iter()
        .find(|i| i.expect == ConnectExpect::Admitted && i.expires_in.is_none())
        .cloned()
    else {
        return Err(src.err(0, "declare at least one [[identity]] with expect = \"admitted\" and no expires_in: the wire cases send its credential, and readiness and liveness are judged by it".into()));
    };
    let (cases, nkey_logins) = cases(&identities, timeout);
    if let Err((a, b)) = distinct_ids(&cases) {
        // The line of the identity whose name is in the clash.
        let line = identities
            .iter()
            .zip(&lines)
            .find(|(i, _)| {
                [&a, &b]
                    .iter()
                    .any(|id| id.starts_with(&format!("e2e.profile.{}.", i.name)))
            })
            .map_or(0, |(_, l)| *l);
        return Err(src.err(line, format!("the case ids {a} and {b} clash: an identity's name is part of its case ids (e2e.profile.NAME.CHECK) and the undeclared credentials have e2e.profile.unknown-nkey, unknown-cert, unknown-token, unknown-user and no-credentials; rename the identity")));
    }
    let scenario = Scenario {
        path: path.to_path_buf(),
        title: format!("Profile {name}"),
        min_server: None,
        world: WorldSpec {
            origin: path.to_path_buf(),
            accounts,
            xkey: raw.responder.sealing,
            timeout,
            probe: Some(main.credential.clone()),
            keys: keys.clone(),
            attach: attach.clone(),
            tls: identities.iter().any(|i| i.credential.cert_cn.is_some()),
            nkey_logins,
            ..WorldSpec::default()
        },
        cases,
    };
    let mut ids = wire_identities(
        identities
            .iter()
            .find(|i| {
                i.expect == ConnectExpect::Admitted
                    && i.expires_in.is_none()
                    && i.credential.wire_ready()
            })
            .unwrap_or(&main),
    );
    ids.keys = keys;
    ids.attach = attach;
    ids.sealing = raw.responder.sealing;
    ids.auth_timeout = Some(timeout);
    Ok(Profile {
        path: path.to_path_buf(),
        responder: ResponderSpec {
            name,
            template: cmd,
            identities: Some(Arc::new(ids)),
            profile_dir: Some(dir.clone()),
        },
        identities,
        scenario,
    })
}

/// A column or identity name: letters, digits, '.', '_' and '-'.
fn ok_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// `[responder]`: `cmd` (the harness starts it, `None`), or `url`, `user` and `pass` with
/// `[keys]` (it is already running, and connects there).
fn attach(src: &Source, r: &RawResponder, has_keys: bool) -> Result<Option<Attach>, ScenarioError> {
    let rline = src.line_at("[responder]");
    match (&r.cmd, &r.url) {
        (Some(_), Some(_)) => Err(src.err(rline, "[responder] has both cmd and url: give cmd (the harness starts the responder) or url, user and pass (it is already running)".into())),
        (None, None) => Err(src.err(rline, "[responder] needs cmd = \"…\" (how the harness starts the responder), or url, user and pass (where an already running responder connects)".into())),
        (Some(_), None) => {
            if r.user.is_some() || r.pass.is_some() {
                return Err(src.err(rline, "[responder] user and pass go with url (an already running responder); a started one gets {user} and {pass}".into()));
            }
            Ok(None)
        }
        (None, Some(url)) => {
            if let Some((_, rest)) = url.split_once("://") {
                if rest.split('/').next().is_some_and(|h| h.contains('@')) {
                    return Err(src.err(src.line_at("url"), "[responder] url carries a user (and password) before @; give the address alone (nats://127.0.0.1:PORT) and the login as user and pass (the url is not shown: it holds a secret)".into()));
                }
            }
            let port = loopback_port(url).map_err(|m| {
                src.err(src.line_at("url"), format!("[responder] url = {url:?}: {m}"))
            })?;
            let (Some(user), Some(pass)) = (&r.user, &r.pass) else {
                return Err(src.err(rline, "[responder] url needs user and pass: the user the running responder connects as, which the harness puts in the callout account".into()));
            };
            if !has_keys {
                return Err(src.err(rline, "[responder] url needs [keys] issuer (and xkey): the harness cannot hand seeds to a responder it does not start".into()));
            }
            Ok(Some(Attach {
                port,
                user: user.clone(),
                pass: pass.clone(),
            }))
        }
    }
}

/// The responder's command template with its placeholders checked (`{profile_dir}` is filled in
/// with the rest when the responder starts, [`ResponderSpec::argv`]), or what the report shows
/// for a running responder (`attached`).
fn responder_cmd(
    src: &Source,
    r: &RawResponder,
    dir: &Path,
    attached: bool,
) -> Result<String, ScenarioError> {
    let cmd = match (&r.cmd, &r.url) {
        (Some(c), _) => c.clone(),
        (None, Some(url)) => format!("(already running, connects to {url})"),
        (None, None) => String::new(),
    };
    if !attached {
        let cline = src.line_at("cmd");
        match sut::split_words(&cmd) {
            Ok(w) if !w.is_empty() => {}
            Ok(_) => return Err(src.err(cline, "[responder] cmd is empty: write the command that starts the responder, with the --responder-cmd placeholders ({url}, {user}, {pass}, {issuer_seed}, {xkey_seed}, …)".into())),
            Err(e) => return Err(src.err(cline, format!("[responder] cmd: {e}"))),
        }
        // Typos in placeholders are found now, not when the first phase starts.
        let ph = sut::Placeholders {
            profile_dir: Some(dir.display().to_string()),
            ..Default::default()
        };
        sut::render(&cmd, &ph).map_err(|e| src.err(cline, format!("[responder] cmd: {e}")))?;
    }
    Ok(cmd)
}

/// `[keys]`: the public keys of a responder that brings its own, whose command then takes no
/// seed placeholders.
fn own_keys(
    src: &Source,
    keys: Option<&RawKeys>,
    sealing: bool,
    cmd: &str,
) -> Result<Option<OwnKeys>, ScenarioError> {
    let Some(k) = keys else {
        return Ok(None);
    };
    let kline = src.line_at("[keys]");
    callout_codec::nkey::expect_public(&k.issuer, callout_codec::KeyKind::Account)
        .map_err(|e| src.err(kline, format!("[keys] issuer {}: {e}; give the public key (A…) of the account whose seed the responder signs with", shown_key(&k.issuer))))?;
    if let Some(x) = &k.xkey {
        callout_codec::CurvePublic::parse(x).map_err(|e| {
            src.err(kline, format!("[keys] xkey {}: {e}; give the public curve key (X…) whose seed the responder opens requests with", shown_key(x)))
        })?;
    }
    if sealing && k.xkey.is_none() {
        return Err(src.err(kline, "[keys] has no xkey, but [responder] sealing = true: give xkey = \"X…\" (the public curve key the server seals to), or sealing = false".into()));
    }
    for seed in [
        "{issuer_seed}",
        "{issuer_seed_file}",
        "{xkey_seed}",
        "{xkey_seed_file}",
    ] {
        if cmd.contains(seed) {
            return Err(src.err(src.line_at("cmd"), format!("[responder] cmd uses {seed}, but [keys] says the responder brings its own keys: the harness makes no seeds then; remove {seed} (or [keys])")));
        }
    }
    Ok(Some(OwnKeys {
        issuer: k.issuer.clone(),
        xkey: k.xkey.clone(),
    }))
}

/// A key as an error shows it: a seed (`S…`, a secret put where a public key belongs) is not
/// shown at all.
fn shown_key(k: &str) -> String {
    if k.starts_with('S') {
        "is a seed (S…, a secret: not shown here; keep it out of the profile)".into()
    } else {
        format!("{k:?}")
    }
}

/// Every case id of a profile names its identity and its check (`e2e.profile.alice.admitted`,
/// `e2e.profile.unknown-user`), so that baselines and JUnit history survive reordering; two
/// ids that are equal, or one a filter prefix of the other, are a mistake of the names.
fn distinct_ids(cases: &[crate::scenario::Case]) -> Result<(), (String, String)> {
    for (i, a) in cases.iter().enumerate() {
        for (j, b) in cases.iter().enumerate() {
            if i != j && (a.id == b.id || b.id.starts_with(&format!("{}.", a.id))) {
                return Err((a.id.clone(), b.id.clone()));
            }
        }
    }
    Ok(())
}

/// `[server]`: the accounts besides those the identities name, and the authorization timeout.
fn server(src: &Source, raw: Option<RawServer>) -> Result<(Vec<String>, f64), ScenarioError> {
    let server = raw.unwrap_or(RawServer {
        accounts: vec![],
        timeout: None,
    });
    let timeout = server.timeout.unwrap_or(1.0);
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= MAX_SERVER_TIMEOUT) {
        return Err(src.err(
            src.line_at("timeout"),
            format!("[server] timeout = {timeout}: give a number of seconds greater than 0 and at most {MAX_SERVER_TIMEOUT}"),
        ));
    }
    Ok((server.accounts, timeout))
}

/// One `[[identity]]`, checked against those declared before it; an error starts with its
/// name.
fn identity(ri: RawIdentity, earlier: &[Identity], dir: &Path) -> Result<Identity, String> {
    let e = |m: String| format!("identity {:?}: {m}", ri.name);
    if !ok_name(&ri.name) {
        return Err(e("a name is letters, digits, '.', '_' and '-'".into()));
    }
    if earlier.iter().any(|i| i.name == ri.name) {
        return Err(e(
            "the name appears twice; give each identity its own".into()
        ));
    }
    let cmd = cred_cmd(&ri, dir).map_err(e)?;
    let nkey_seed = check_secret(&ri, cmd.as_ref()).map_err(e)?;
    let expect = check_outcome(&ri, cmd.is_some()).map_err(e)?;
    Ok(Identity {
        name: ri.name,
        credential: Credential {
            user: ri.user,
            pass: ri.pass,
            token: ri.token,
            cmd,
            nkey_seed,
            cert_cn: ri.cert_cn,
        },
        expect,
        placement: UserInfoExpect {
            account: ri.account,
            pub_allow: ri.pub_allow,
            pub_deny: ri.pub_deny,
            sub_allow: ri.sub_allow,
            sub_deny: ri.sub_deny,
            pub_deny_includes: vec![],
        },
        expires_in: ri.expires_in,
    })
}

/// The identity's `cred_cmd` with `{profile_dir}` filled in, and what it prints (`cred`).
fn cred_cmd(ri: &RawIdentity, dir: &Path) -> Result<Option<CredCmd>, String> {
    let Some(c) = &ri.cred_cmd else {
        if ri.cred.is_some() {
            return Err("cred applies only with cred_cmd (it says what the command prints)".into());
        }
        return Ok(None);
    };
    let argv: Vec<String> = sut::split_words(c)
        .map_err(|m| format!("cred_cmd: {m}"))?
        .iter()
        .map(|w| with_profile_dir(w, dir))
        .collect();
    if argv.is_empty() {
        return Err("cred_cmd is empty".into());
    }
    let kind = match ri.cred.as_deref() {
        None | Some("token") => CredKind::Token,
        Some("pass") => CredKind::Password,
        Some(o) => {
            return Err(format!("cred = {o:?}: use \"token\" (the command prints an auth_token) or \"pass\" (it prints the password of user)"))
        }
    };
    Ok(Some(CredCmd {
        identity: ri.name.clone(),
        argv,
        kind,
        alter: false,
        at: String::new(),
    }))
}

/// The identity holds one secret (a password, a token, an nkey seed or a certificate's
/// common name), each well formed; returns its nkey seed.
fn check_secret(ri: &RawIdentity, cmd: Option<&CredCmd>) -> Result<Option<NkeySeed>, String> {
    let secrets = [
        ri.pass.is_some() || cmd.is_some_and(|c| c.kind == CredKind::Password),
        ri.token.is_some() || cmd.is_some_and(|c| c.kind == CredKind::Token),
    ];
    let kinds = usize::from(secrets[0])
        + usize::from(secrets[1])
        + usize::from(ri.nkey_seed.is_some())
        + usize::from(ri.cert_cn.is_some());
    if kinds > 1 {
        return Err("give one secret: pass, token, cred_cmd, nkey_seed or cert_cn".into());
    }
    let nkey_seed = match &ri.nkey_seed {
        None => None,
        Some(seed) => {
            if callout_codec::Signer::from_seed(seed, callout_codec::KeyKind::User).is_err() {
                return Err("nkey_seed is not a user seed: write the seed (SU…) of the user key the client signs the server's nonce with".into());
            }
            Some(NkeySeed::new(seed.clone()))
        }
    };
    if let Some(cn) = &ri.cert_cn {
        if cn.is_empty() || cn.contains([',', '=', '+', '"', '\\']) {
            return Err(format!("cert_cn = {cn:?}: give a plain common name; the harness's CA issues the client a certificate with subject CN=<it>"));
        }
    }
    if secrets[0] && ri.user.is_none() {
        return Err("a password needs user = \"NAME\"".into());
    }
    if ri.pass.is_some() && cmd.is_some() {
        return Err("give pass or cred_cmd, not both".into());
    }
    let fixed = Login {
        user: ri.user.clone(),
        pass: ri.pass.clone(),
        token: ri.token.clone(),
    };
    fixed
        .check_size()
        .map_err(|e| format!("the credential (user, pass and token) {e}"))?;
    Ok(nkey_seed)
}

/// The outcome the responder intends for the identity: rejected, or admitted into an account
/// with permissions the harness can read back, for a while (`expires_in`, which needs a
/// minted credential: `minted`).
fn check_outcome(ri: &RawIdentity, minted: bool) -> Result<ConnectExpect, String> {
    let expect = match ri.expect.as_str() {
        "admitted" => ConnectExpect::Admitted,
        "rejected" => ConnectExpect::Rejected,
        o => return Err(format!("expect = {o:?}: use \"admitted\" or \"rejected\"")),
    };
    let declared_perms = [&ri.pub_allow, &ri.pub_deny, &ri.sub_allow, &ri.sub_deny]
        .iter()
        .any(|p| p.is_some());
    if expect == ConnectExpect::Rejected
        && (ri.account.is_some() || declared_perms || ri.expires_in.is_some())
    {
        return Err("account, permissions and expires_in describe an admission; a rejected identity has none".into());
    }
    if expect == ConnectExpect::Admitted && ri.account.is_none() {
        return Err("an admitted identity needs account = \"NAME\" (the account the responder places it in)".into());
    }
    if let Some(x) = ri.expires_in {
        if !(x.is_finite() && (1.0..=MAX_EXPIRES_IN).contains(&x)) {
            return Err(format!("expires_in = {x}: give the seconds the credential lives after it is made, from 1 to {MAX_EXPIRES_IN}"));
        }
        if !minted {
            return Err("expires_in needs cred_cmd: a fixed credential cannot expire a known time after the run starts".into());
        }
    }
    Ok(expect)
}

/// What `list` prints for a profile's responder and identities.
pub fn describe(p: &Profile) -> String {
    let mut out = format!(
        "profile {} ({}):\n  responder: {}\n",
        p.responder.name,
        p.path.display(),
        p.responder.template
    );
    for i in &p.identities {
        let how = match (&i.credential.cmd, &i.credential.token, &i.credential.user) {
            (Some(c), _, _) => format!("cred_cmd {}", c.argv[0]),
            (None, Some(_), _) => "token".into(),
            (None, None, Some(u)) => format!("user {u:?} and password"),
            _ => "no credential".into(),
        };
        let outcome = match i.expect {
            ConnectExpect::Admitted => format!(
                "admitted into {}",
                i.placement.account.as_deref().unwrap_or("")
            ),
            ConnectExpect::Rejected | ConnectExpect::Refused | ConnectExpect::Closed => {
                "rejected".into()
            }
        };
        out.push_str(&format!("  identity {}: {how}, {outcome}\n", i.name));
    }
    out
}

/// Every secret a profile holds in its file (fixed passwords and tokens, the running
/// responder's password), for redaction.
pub fn secrets(p: &Profile) -> Vec<String> {
    p.identities
        .iter()
        .flat_map(|i| [i.credential.pass.clone(), i.credential.token.clone()])
        .chain([p.scenario.world.attach.as_ref().map(|a| a.pass.clone())])
        .flatten()
        .filter(|s| !s.is_empty())
        .collect()
}
