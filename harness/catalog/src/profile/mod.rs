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
//! # the --responder-cmd placeholders, plus {profile_dir} (this file's directory)
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
//! pub_allow = ["alice.>", "$SYS.REQ.USER.INFO"]
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
//! use; its trimmed stdout is the secret). Every mistake is an error naming the file, the line
//! and the fix.

mod cases;
pub use callout_world::credential::{
    Attach, CredCmd, CredKind, Credential, NkeySeed, OwnKeys, CRED_CMD_TIMEOUT,
};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::scenario::{ConnectExpect, Scenario, ScenarioError, UserInfoExpect, MAX_SERVER_TIMEOUT};
use callout_leaves::text::line_of;
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

/// `s` with `{profile_dir}` replaced by `dir`, quoted for [`sut::split_words`].
fn with_profile_dir(s: &str, dir: &Path) -> String {
    s.replace(
        "{profile_dir}",
        &sut::shell_quote(&dir.display().to_string()),
    )
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
    let fname = path.display().to_string();
    let err = |line: usize, message: String| ScenarioError {
        file: fname.clone(),
        line,
        message,
    };
    let raw: RawProfile = crate::scenario::from_toml(text, &fname)?;
    let dir = std::path::absolute(
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
    .map_err(|e| err(0, format!("cannot resolve the profile's directory: {e}")))?;
    let name = raw.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "profile".into())
    });
    let ok_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    if !ok_name(&name) {
        return Err(err(
            0,
            format!("name = {name:?}: a column name is letters, digits, '.', '_' and '-'"),
        ));
    }
    let line_at = |key: &str| line_of(text, text.find(key).unwrap_or(0));
    let r = &raw.responder;
    let rline = line_at("[responder]");
    let attach = match (&r.cmd, &r.url) {
        (Some(_), Some(_)) => return Err(err(rline, "[responder] has both cmd and url: give cmd (the harness starts the responder) or url, user and pass (it is already running)".into())),
        (None, None) => return Err(err(rline, "[responder] needs cmd = \"…\" (how the harness starts the responder), or url, user and pass (where an already running responder connects)".into())),
        (Some(_), None) => {
            if r.user.is_some() || r.pass.is_some() {
                return Err(err(rline, "[responder] user and pass go with url (an already running responder); a started one gets {user} and {pass}".into()));
            }
            None
        }
        (None, Some(url)) => {
            let port = loopback_port(url)
                .map_err(|m| err(line_at("url"), format!("[responder] url = {url:?}: {m}")))?;
            let (Some(user), Some(pass)) = (&r.user, &r.pass) else {
                return Err(err(rline, "[responder] url needs user and pass: the user the running responder connects as, which the harness puts in the callout account".into()));
            };
            if raw.keys.is_none() {
                return Err(err(rline, "[responder] url needs [keys] issuer (and xkey): the harness cannot hand seeds to a responder it does not start".into()));
            }
            Some(Attach {
                port,
                user: user.clone(),
                pass: pass.clone(),
            })
        }
    };
    let cmd = match (&r.cmd, &r.url) {
        (Some(c), _) => with_profile_dir(c, &dir),
        (None, Some(url)) => format!("(already running, connects to {url})"),
        (None, None) => String::new(),
    };
    if attach.is_none() {
        match sut::split_words(&cmd) {
        Ok(w) if !w.is_empty() => {}
        Ok(_) => return Err(err(line_at("cmd"), "[responder] cmd is empty: write the command that starts the responder, with the --responder-cmd placeholders ({url}, {user}, {pass}, {issuer_seed}, {xkey_seed}, …)".into())),
        Err(e) => return Err(err(line_at("cmd"), format!("[responder] cmd: {e}"))),
    }
        // Typos in placeholders are found now, not when the first phase starts.
        sut::render(&cmd, &sut::Placeholders::default())
            .map_err(|e| err(line_at("cmd"), format!("[responder] cmd: {e}")))?;
    }
    let keys = match &raw.keys {
        None => None,
        Some(k) => {
            let kline = line_at("[keys]");
            callout_codec::nkey::expect_public(&k.issuer, callout_codec::KeyKind::Account)
                .map_err(|e| err(kline, format!("[keys] issuer {:?}: {e}; give the public key (A…) of the account whose seed the responder signs with", k.issuer)))?;
            if let Some(x) = &k.xkey {
                callout_codec::CurvePublic::parse(x).map_err(|e| {
                    err(kline, format!("[keys] xkey {x:?}: {e}; give the public curve key (X…) whose seed the responder opens requests with"))
                })?;
            }
            if raw.responder.sealing && k.xkey.is_none() {
                return Err(err(kline, "[keys] has no xkey, but [responder] sealing = true: give xkey = \"X…\" (the public curve key the server seals to), or sealing = false".into()));
            }
            for seed in [
                "{issuer_seed}",
                "{issuer_seed_file}",
                "{xkey_seed}",
                "{xkey_seed_file}",
            ] {
                if cmd.contains(seed) {
                    return Err(err(line_at("cmd"), format!("[responder] cmd uses {seed}, but [keys] says the responder brings its own keys: the harness makes no seeds then; remove {seed} (or [keys])")));
                }
            }
            Some(OwnKeys {
                issuer: k.issuer.clone(),
                xkey: k.xkey.clone(),
            })
        }
    };
    let server = raw.server.unwrap_or(RawServer {
        accounts: vec![],
        timeout: None,
    });
    let timeout = server.timeout.unwrap_or(1.0);
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= MAX_SERVER_TIMEOUT) {
        return Err(err(
            line_at("timeout"),
            format!("[server] timeout = {timeout}: give a number of seconds greater than 0 and at most {MAX_SERVER_TIMEOUT}"),
        ));
    }
    let mut accounts = server.accounts.clone();
    let mut identities: Vec<Identity> = Vec::new();
    for ri in raw.identities {
        let iline = line_of(text, ri.span().start);
        let ri = ri.into_inner();
        let e = |m: String| err(iline, format!("identity {:?}: {m}", ri.name));
        if !ok_name(&ri.name) {
            return Err(e("a name is letters, digits, '.', '_' and '-'".into()));
        }
        if identities.iter().any(|i| i.name == ri.name) {
            return Err(e(
                "the name appears twice; give each identity its own".into()
            ));
        }
        let cmd = match &ri.cred_cmd {
            None => {
                if ri.cred.is_some() {
                    return Err(e(
                        "cred applies only with cred_cmd (it says what the command prints)".into(),
                    ));
                }
                None
            }
            Some(c) => {
                let c = with_profile_dir(c, &dir);
                let argv = sut::split_words(&c).map_err(|m| e(format!("cred_cmd: {m}")))?;
                if argv.is_empty() {
                    return Err(e("cred_cmd is empty".into()));
                }
                let kind = match ri.cred.as_deref() {
                    None | Some("token") => CredKind::Token,
                    Some("pass") => CredKind::Password,
                    Some(o) => {
                        return Err(e(format!("cred = {o:?}: use \"token\" (the command prints an auth_token) or \"pass\" (it prints the password of user)")))
                    }
                };
                Some(CredCmd {
                    identity: ri.name.clone(),
                    argv,
                    kind,
                    alter: false,
                })
            }
        };
        let secrets = [
            ri.pass.is_some() || cmd.as_ref().is_some_and(|c| c.kind == CredKind::Password),
            ri.token.is_some() || cmd.as_ref().is_some_and(|c| c.kind == CredKind::Token),
        ];
        let kinds = usize::from(secrets[0])
            + usize::from(secrets[1])
            + usize::from(ri.nkey_seed.is_some())
            + usize::from(ri.cert_cn.is_some());
        if kinds > 1 {
            return Err(e(
                "give one secret: pass, token, cred_cmd, nkey_seed or cert_cn".into(),
            ));
        }
        let nkey_seed = match &ri.nkey_seed {
            None => None,
            Some(seed) => {
                if callout_codec::Signer::from_seed(seed, callout_codec::KeyKind::User).is_err() {
                    return Err(e("nkey_seed is not a user seed: write the seed (SU…) of the user key the client signs the server's nonce with".into()));
                }
                Some(NkeySeed::new(seed.clone()))
            }
        };
        if let Some(cn) = &ri.cert_cn {
            if cn.is_empty() || cn.contains([',', '=', '+', '"', '\\']) {
                return Err(e(format!("cert_cn = {cn:?}: give a plain common name; the harness's CA issues the client a certificate with subject CN=<it>")));
            }
        }
        if secrets[0] && ri.user.is_none() {
            return Err(e("a password needs user = \"NAME\"".into()));
        }
        if ri.pass.is_some() && cmd.is_some() {
            return Err(e("give pass or cred_cmd, not both".into()));
        }
        let expect = match ri.expect.as_str() {
            "admitted" => ConnectExpect::Admitted,
            "rejected" => ConnectExpect::Rejected,
            o => {
                return Err(e(format!(
                    "expect = {o:?}: use \"admitted\" or \"rejected\""
                )))
            }
        };
        let declared_perms = [&ri.pub_allow, &ri.pub_deny, &ri.sub_allow, &ri.sub_deny]
            .iter()
            .any(|p| p.is_some());
        if expect == ConnectExpect::Rejected
            && (ri.account.is_some() || declared_perms || ri.expires_in.is_some())
        {
            return Err(e("account, permissions and expires_in describe an admission; a rejected identity has none".into()));
        }
        if expect == ConnectExpect::Admitted && ri.account.is_none() {
            return Err(e("an admitted identity needs account = \"NAME\" (the account the responder places it in)".into()));
        }
        if declared_perms
            && !ri.pub_allow.as_ref().is_some_and(|l| {
                l.iter()
                    .any(|s| s == "$SYS.REQ.USER.INFO" || s == ">" || s == "$SYS.>")
            })
        {
            return Err(e("the harness reads permissions back through $SYS.REQ.USER.INFO, so an identity with declared permissions must be allowed to publish it: add \"$SYS.REQ.USER.INFO\" to pub_allow (and to what the responder grants)".into()));
        }
        if let Some(x) = ri.expires_in {
            if !(x.is_finite() && (1.0..=MAX_EXPIRES_IN).contains(&x)) {
                return Err(e(format!("expires_in = {x}: give the seconds the credential lives after it is made, from 1 to {MAX_EXPIRES_IN}")));
            }
            if cmd.is_none() {
                return Err(e("expires_in needs cred_cmd: a fixed credential cannot expire a known time after the run starts".into()));
            }
        }
        if let Some(a) = &ri.account {
            if !accounts.contains(a) && a != callout_world::fixture::CALLOUT_ACCOUNT {
                accounts.push(a.clone());
            }
        }
        identities.push(Identity {
            name: ri.name.clone(),
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
        });
    }
    let Some(main) = identities
        .iter()
        .find(|i| i.expect == ConnectExpect::Admitted && i.expires_in.is_none())
        .cloned()
    else {
        return Err(err(0, "declare at least one [[identity]] with expect = \"admitted\" and no expires_in: the wire cases send its credential, and readiness and liveness are judged by it".into()));
    };
    let (cases, nkey_logins) = cases(&identities, timeout);
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
    Ok(Profile {
        path: path.to_path_buf(),
        responder: ResponderSpec {
            name,
            template: cmd,
            identities: Some(Arc::new(ids)),
        },
        identities,
        scenario,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Step;
    use crate::wire::Login;
    use serde_json::json;

    const BASE: &str = r#"
[responder]
cmd = "svc -url {url} -issuer {issuer_seed} -key {profile_dir}/k"

[[identity]]
name = "a"
token = "tok-a"
expect = "admitted"
account = "APP"
pub_allow = ["a.>", "$SYS.REQ.USER.INFO"]

[[identity]]
name = "b"
user = "bob"
pass = "bob-pw"
expect = "admitted"
account = "OPS"

[[identity]]
name = "x"
cred_cmd = "mint --expired"
expect = "rejected"
"#;

    fn parse_str(text: &str) -> Result<Profile, ScenarioError> {
        parse(text, Path::new("/p/prof.toml"))
    }

    #[test]
    fn identities_make_one_case_each_then_the_unknown_credentials() {
        let p = parse_str(BASE).unwrap();
        assert_eq!(p.responder.name, "prof");
        assert!(
            p.responder.template.contains("-key /p/k"),
            "{}",
            p.responder.template
        );
        let titles: Vec<&str> = p.scenario.cases.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "a is admitted into APP with its declared permissions and stays admitted",
                "b is admitted into OPS with its declared permissions and stays admitted",
                "x is rejected",
                "an unknown token is rejected",
                "a's token with its first character changed is rejected",
                "b with a wrong password is rejected",
                "an unknown user is rejected",
                "a client without credentials is rejected",
            ]
        );
        let ids: Vec<String> = p.scenario.cases.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids[0], "e2e.profile.1");
        assert_eq!(ids[7], "e2e.profile.8");
        assert_eq!(p.scenario.world.accounts, ["APP", "OPS"]);
        // The altered token differs from the declared one.
        let Step::Connect { token, .. } = &p.scenario.cases[4].steps[0] else {
            panic!()
        };
        assert_ne!(token.as_deref(), Some("tok-a"));
        // The wire identities are a's, with its permissions; the probe logs in as a.
        let ids = p.responder.identities.as_ref().unwrap();
        assert_eq!(ids.bob, Login::token("tok-a"));
        assert_eq!(ids.bob_account, "APP");
        assert!(!ids.users_json);
        assert_eq!(
            ids.bob_permissions.as_ref().unwrap()["pub"]["allow"],
            json!(["a.>", "$SYS.REQ.USER.INFO"])
        );
        assert_eq!(
            p.scenario.world.probe.as_ref().unwrap().token.as_deref(),
            Some("tok-a")
        );
        assert_eq!(secrets(&p), ["tok-a", "bob-pw"]);
    }

    #[test]
    fn nkey_and_certificate_identities_make_their_own_refusals_and_keep_wire_cases_on_a_password() {
        const SEED: &str = "SUAP277QP7U4JMFFPVZHLJYEQJ2UHOTYVEIZJYAWRJXQLP4FRSEHYZJJOU";
        let text = format!(
            "{BASE}\n[[identity]]\nname = \"nk\"\nnkey_seed = \"{SEED}\"\nexpect = \"admitted\"\naccount = \"APP\"\n\n[[identity]]\nname = \"cc\"\ncert_cn = \"cc\"\nexpect = \"admitted\"\naccount = \"APP\"\n"
        );
        let p = parse_str(&text).unwrap();
        assert!(
            p.scenario.world.tls,
            "a certificate identity needs the TLS listener"
        );
        let titles: Vec<&str> = p.scenario.cases.iter().map(|c| c.title.as_str()).collect();
        assert!(
            titles.contains(&"nk's nkey with another key's signature is rejected"),
            "{titles:?}"
        );
        assert!(titles.contains(&"an unknown nkey is rejected"));
        assert!(titles.contains(&"a certificate of an unknown subject is rejected"));
        let names: Vec<&str> = p
            .scenario
            .world
            .nkey_logins
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["nk", "unknown-nkey"]);
        // The wire identity is still a's token.
        let ids = p.responder.identities.as_ref().unwrap();
        assert_eq!(ids.bob, Login::token("tok-a"));
        assert_eq!(ids.unusable, None);
        assert!(
            !format!("{p:?}").contains(SEED),
            "the seed is never printed"
        );
        // Only nkey and certificate identities admitted: no wire case can run, and it says why.
        let only = format!(
            "[responder]\ncmd = \"svc\"\n\n[[identity]]\nname = \"nk\"\nnkey_seed = \"{SEED}\"\nexpect = \"admitted\"\naccount = \"APP\"\n"
        );
        let p = parse_str(&only).unwrap();
        let why = p
            .responder
            .identities
            .as_ref()
            .unwrap()
            .unusable
            .clone()
            .unwrap();
        assert!(why.contains("password or a token"), "{why}");
        // Mistakes.
        let e = parse_str(&only.replace(SEED, "SUAPnotaseed")).unwrap_err();
        assert!(
            e.message.contains("not a user seed") && !e.message.contains("SUAP"),
            "{e}"
        );
        let e = parse_str(&only.replace(&format!("nkey_seed = \"{SEED}\""), "cert_cn = \"a,b\""))
            .unwrap_err();
        assert!(e.message.contains("plain common name"), "{e}");
    }

    #[test]
    fn an_expiring_identity_is_held_until_the_server_disconnects_it() {
        let text = BASE.replace(
            "name = \"x\"\ncred_cmd = \"mint --expired\"\nexpect = \"rejected\"",
            "name = \"x\"\ncred_cmd = \"mint --ttl 4\"\nexpect = \"admitted\"\naccount = \"APP\"\nexpires_in = 4",
        );
        let p = parse_str(&text).unwrap();
        let steps = &p.scenario.cases[2].steps;
        assert!(
            matches!(steps.last(), Some(Step::Expire { within, .. }) if *within == 7.0),
            "{steps:?}"
        );
    }

    #[test]
    fn mistakes_name_the_line_and_the_fix() {
        for (from, to, want, line) in [
            (
                "expect = \"rejected\"",
                "expect = \"refused\"",
                "use \"admitted\" or \"rejected\"",
                19,
            ),
            (
                "token = \"tok-a\"",
                "token = \"tok-a\"\npass = \"p\"",
                "give one secret",
                5,
            ),
            ("user = \"bob\"\n", "", "a password needs user", 12),
            ("account = \"OPS\"\n", "", "needs account", 12),
            (
                "{profile_dir}/k",
                "{profiledir}/k",
                "unknown placeholder {profiledir}",
                3,
            ),
            ("name = \"b\"", "name = \"a\"", "appears twice", 12),
            (
                "cred_cmd = \"mint --expired\"",
                "cred_cmd = \"mint --expired\"\ncred = \"jwt\"",
                "cred = \"jwt\"",
                19,
            ),
            (
                "expect = \"rejected\"",
                "expect = \"rejected\"\nexpires_in = 3",
                "describe an admission",
                19,
            ),
            (
                "pub_allow = [\"a.>\", \"$SYS.REQ.USER.INFO\"]",
                "pub_allow = [\"a.>\"]",
                "$SYS.REQ.USER.INFO",
                5,
            ),
        ] {
            assert!(BASE.contains(from), "{from}");
            let e = parse_str(&BASE.replacen(from, to, 1)).unwrap_err();
            assert!(e.message.contains(want), "{want}: {e}");
            assert_eq!(e.line, line, "{want}: {e}");
            assert_eq!(e.file, "/p/prof.toml");
        }
        let none_admitted = BASE
            .replace("expect = \"admitted\"\naccount = \"APP\"\npub_allow = [\"a.>\", \"$SYS.REQ.USER.INFO\"]", "expect = \"rejected\"")
            .replace("expect = \"admitted\"\naccount = \"OPS\"", "expect = \"rejected\"");
        let e = parse_str(&none_admitted).unwrap_err();
        assert!(e.message.contains("at least one [[identity]]"), "{e}");
        for (responder, want) in [
            (
                "cmd = \"x\"\nurl = \"nats://127.0.0.1:4333\"",
                "both cmd and url",
            ),
            ("sealing = true", "needs cmd"),
            (
                "url = \"nats://10.0.0.5:4333\"\nuser = \"u\"\npass = \"p\"",
                "loopback",
            ),
            (
                "url = \"nats://127.0.0.1\"\nuser = \"u\"\npass = \"p\"",
                "needs a port",
            ),
            ("url = \"nats://127.0.0.1:4333\"", "needs user and pass"),
            (
                "url = \"nats://127.0.0.1:4333\"\nuser = \"u\"\npass = \"p\"",
                "needs [keys]",
            ),
            ("cmd = \"x\"\nuser = \"u\"", "go with url"),
        ] {
            let text = BASE.replace(
                "cmd = \"svc -url {url} -issuer {issuer_seed} -key {profile_dir}/k\"",
                responder,
            );
            let e = parse_str(&text).unwrap_err();
            assert!(e.message.contains(want), "{want}: {e}");
        }
        let e = parse_str("[responder]\ncmd = \"x\"\nsealng = true\n").unwrap_err();
        assert!(e.message.contains("unknown field `sealng`"), "{e}");
        assert_eq!(e.line, 3);
    }
}
