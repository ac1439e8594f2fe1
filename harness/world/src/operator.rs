//! Operator-mode fixtures (`[server] mode = "operator"`, `protocol.md §3.2`), made fresh for
//! each scenario file with the codec, as the NATS by Example decentralized example's `main.sh`
//! makes them with nsc: an operator, the system account SYS, the callout account AUTH (its
//! `authorization` lists the service user, the file's `allowed_accounts` as public keys or
//! `*`, and the xkey when the file seals), and each target account of `[server] accounts` with
//! a signing key. The service user's creds file and the signing key files (named after their
//! account, `APP1.nk`) are handed to the responder through `{creds}` and `{signing_keys}`;
//! `{issuer_seed}` is AUTH's own seed, which signs the responses. Clients connect with the
//! deny-all bearer sentinel's JWT, signing the nonce with its key, plus their user name and
//! password.

use std::path::Path;
use std::sync::Arc;

use callout_codec::creds::format_user_creds;
use callout_codec::operator::{
    Account, AccountClaims, ExternalAuthorization, Operator, OperatorClaims, SigningKey,
    UserTemplate,
};
use callout_codec::{jwt, Claims, KeyKind, Permission, Signer, User, UserClaims};

use crate::server::{write_private, OperatorConf};
use crate::spec::OperatorShape;

/// The name of the system account in operator mode.
pub const SYSTEM_ACCOUNT: &str = "SYS";

/// What a run in operator mode needs besides the server config.
pub struct OperatorFixture {
    /// The sentinel's user JWT (a bearer token of AUTH, denied everything).
    pub sentinel_jwt: String,
    /// Its key, which signs the server's nonce.
    pub sentinel: Arc<Signer>,
    /// `(name, public key)` of every account (SYS, AUTH and the target accounts), to show
    /// and compare accounts by name though the server reports keys.
    pub accounts: Vec<(String, String)>,
    /// `{creds}`: the service user's creds file.
    pub creds_file: String,
    /// `{signing_keys}`: `ACCOUNT_PUB:FILE,…` of the accounts with a plain signing key.
    pub signing_keys: String,
    /// `{scoped_keys}`: the same for the accounts whose signing key is scoped.
    pub scoped_keys: String,
    /// Users that bypass the callout, by account name: each target account's own user, and
    /// `AUTH`'s service user.
    pub local_users: std::collections::HashMap<String, LocalUser>,
    /// With `issuer = "signing_key"`: the callout account's signing key, which the fixture
    /// takes as the responder's issuer.
    pub issuer_signing_key: Option<Signer>,
    /// The public keys, for judging answers on the wire.
    pub keys: Arc<OperatorKeys>,
}

impl OperatorFixture {
    /// The account name of public key `key` (or the key itself, when it is none of ours).
    pub fn name_of(&self, key: &str) -> String {
        self.accounts
            .iter()
            .find(|(_, k)| k == key)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| key.to_string())
    }
}

fn account_jwt(name: &str, key: &Signer, operator: &Signer, nats: Account) -> String {
    let mut c: AccountClaims = Claims {
        name: name.into(),
        sub: key.public_key().into(),
        nats,
        ..Claims::default()
    };
    jwt::encode(&mut c, operator)
}

fn user_jwt(name: &str, user: &Signer, issuer: &Signer, nats: User) -> String {
    let mut c: UserClaims = Claims {
        name: name.into(),
        sub: user.public_key().into(),
        nats,
        ..Claims::default()
    };
    jwt::encode(&mut c, issuer)
}

/// How the scenario file shapes the operator-mode world.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Target accounts (may include `SYS`, which then gets a signing key too).
    pub targets: Vec<String>,
    /// `allowed_accounts` (names, or `*`); empty means `*`.
    pub allowed: Vec<String>,
    /// The public curve key when the file seals.
    pub xkey: Option<String>,
    /// Scoped keys (handed over in `{scoped_keys}`), the response issuer, the keys handed
    /// over, `default_sentinel`, and (wire mode) the callout switched off.
    pub shape: OperatorShape,
}

/// The public keys of the operator-mode world, for judging answers on the wire.
#[derive(Clone, Debug, Default)]
pub struct OperatorKeys {
    /// The callout account (`A…`).
    pub callout_account: String,
    /// Its signing keys.
    pub callout_signing_keys: Vec<String>,
    /// Every target account.
    pub targets: Vec<TargetKeys>,
}

/// One target account's keys.
#[derive(Clone, Debug)]
pub struct TargetKeys {
    /// Its name.
    pub name: String,
    /// Its public key.
    pub account: String,
    /// Its signing keys.
    pub signing_keys: Vec<String>,
}

impl OperatorKeys {
    /// The target account named `name`.
    pub fn target(&self, name: &str) -> Option<&TargetKeys> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// Whose key `key` is, in words.
    pub fn whose(&self, key: &str) -> String {
        if key == self.callout_account {
            return "the callout account's own key".into();
        }
        if self.callout_signing_keys.iter().any(|k| k == key) {
            return "a signing key of the callout account".into();
        }
        for t in &self.targets {
            if t.account == key {
                return format!("{}'s own key", t.name);
            }
            if t.signing_keys.iter().any(|k| k == key) {
                return format!("{}'s signing key", t.name);
            }
        }
        format!(
            "a key of no account here ({})",
            callout_leaves::text::short(key)
        )
    }
}

/// A user of an account without the callout, or the responder's service user: connects with
/// its own JWT and bypasses the callout (`creds = "APP1"` / `creds = "AUTH"` in a connect).
#[derive(Clone)]
pub struct LocalUser {
    /// The user JWT.
    pub jwt: String,
    /// Its key, which signs the nonce.
    pub key: Arc<Signer>,
}

/// What the target accounts add to the operator-mode world.
#[derive(Default)]
struct Targets {
    /// `(public key, JWT)` of each account.
    jwts: Vec<(String, String)>,
    /// `{signing_keys}` entries, `ACCOUNT_PUB:FILE`.
    signing_keys: Vec<String>,
    /// `{scoped_keys}` entries.
    scoped_keys: Vec<String>,
    /// Each account's own user.
    local_users: std::collections::HashMap<String, LocalUser>,
    /// Their public keys.
    keys: Vec<TargetKeys>,
}

/// Makes target account `t` (its key `key`: SYS's, or a new one) with a signing key, plain
/// or scoped, whose seed (or the account's own, with `target_identity_keys`) goes to
/// `dir/NAME.nk`, and a user of its own.
fn target_account(
    t: &str,
    key: &Signer,
    operator: &Signer,
    dir: &Path,
    o: &Options,
    out: &mut Targets,
) -> std::io::Result<()> {
    let sk = Signer::generate(KeyKind::Account);
    let scope = o.shape.scoped.iter().find(|(n, _, _)| n == t);
    let file = dir.join(format!("{t}.nk"));
    let handed = if o.shape.target_identity_keys && scope.is_none() {
        key
    } else {
        &sk
    };
    write_private(&file, format!("{}\n", handed.seed()))?;
    let entry = format!("{}:{}", key.public_key(), file.display());
    let signing_key = match scope {
        Some((_, publish, subscribe)) => {
            out.scoped_keys.push(entry);
            SigningKey::scoped(
                sk.public_key(),
                "callout",
                UserTemplate {
                    publish: publish.clone(),
                    subscribe: subscribe.clone(),
                    ..UserTemplate::default()
                },
            )
        }
        None => {
            out.signing_keys.push(entry);
            SigningKey::Plain(sk.public_key().into())
        }
    };
    out.jwts.push((
        key.public_key().to_string(),
        account_jwt(
            t,
            key,
            operator,
            Account {
                signing_keys: vec![signing_key],
                ..Account::default()
            },
        ),
    ));
    let local = Signer::generate(KeyKind::User);
    out.local_users.insert(
        t.to_string(),
        LocalUser {
            jwt: user_jwt(&format!("{t}-local"), &local, key, User::default()),
            key: Arc::new(local),
        },
    );
    out.keys.push(TargetKeys {
        name: t.to_string(),
        account: key.public_key().to_string(),
        signing_keys: vec![sk.public_key().to_string()],
    });
    Ok(())
}

/// `allowed_accounts` as public keys (a name of none of `names` stays as it is; `*` too).
fn allowed_keys(allowed: &[String], names: &[(String, String)]) -> Vec<String> {
    allowed
        .iter()
        .map(|a| {
            if a == "*" {
                a.clone()
            } else {
                names
                    .iter()
                    .find(|(n, _)| n == a)
                    .map(|(_, k)| k.clone())
                    .unwrap_or_else(|| a.clone())
            }
        })
        .collect()
}

/// The callout account's JWT: its signing key (with `issuer = "signing_key"`) and its
/// `authorization` (the service user, the allowed accounts, the xkey), unless the callout
/// is off.
fn callout_account_jwt(
    auth: &Signer,
    operator: &Signer,
    o: &Options,
    service: &Signer,
    issuer_sk: Option<&Signer>,
    allowed_keys: Vec<String>,
) -> String {
    account_jwt(
        crate::spec::CALLOUT_ACCOUNT,
        auth,
        operator,
        Account {
            signing_keys: issuer_sk
                .iter()
                .map(|k| SigningKey::Plain(k.public_key().into()))
                .collect(),
            authorization: if o.shape.callout_off {
                ExternalAuthorization::default()
            } else {
                ExternalAuthorization {
                    auth_users: vec![service.public_key().into()],
                    allowed_accounts: if allowed_keys.is_empty() {
                        vec!["*".into()]
                    } else {
                        allowed_keys
                    },
                    xkey: o.xkey.clone().unwrap_or_default(),
                }
            },
            ..Account::default()
        },
    )
}

/// The operator's JWT, with `sys` as its system account.
fn operator_jwt(operator: &Signer, sys: &Signer) -> String {
    let mut op: OperatorClaims = Claims {
        name: "OP".into(),
        sub: operator.public_key().into(),
        nats: Operator {
            system_account: sys.public_key().into(),
            ..Operator::default()
        },
        ..Claims::default()
    };
    jwt::encode(&mut op, operator)
}

/// The sentinel's JWT: a bearer token of the callout account, denied everything.
fn sentinel_jwt(sentinel: &Signer, auth: &Signer) -> String {
    let deny_all = Permission {
        allow: vec![],
        deny: vec![">".into()],
    };
    user_jwt(
        "sentinel",
        sentinel,
        auth,
        User {
            publish: deny_all.clone(),
            subscribe: deny_all,
            bearer_token: true,
            ..User::default()
        },
    )
}

/// Makes the operator, the accounts and the files in `dir`. `auth` is the callout account's
/// key; with [`Options::issuer_signing_key`] the returned signer (a signing key of the
/// callout account) replaces it as the responder's issuer.
pub fn build(
    dir: &Path,
    auth: &Signer,
    o: &Options,
) -> std::io::Result<(OperatorFixture, OperatorConf)> {
    let operator = Signer::generate(KeyKind::Operator);
    let sys = Signer::generate(KeyKind::Account);
    let service = Signer::generate(KeyKind::User);
    let sentinel = Signer::generate(KeyKind::User);
    let mut names = vec![
        (SYSTEM_ACCOUNT.to_string(), sys.public_key().to_string()),
        (
            crate::spec::CALLOUT_ACCOUNT.to_string(),
            auth.public_key().to_string(),
        ),
    ];
    let mut made = Targets::default();
    let sys_is_target = o.targets.iter().any(|t| t == SYSTEM_ACCOUNT);
    if !sys_is_target {
        made.jwts.push((
            sys.public_key().to_string(),
            account_jwt(SYSTEM_ACCOUNT, &sys, &operator, Account::default()),
        ));
    }
    for t in &o.targets {
        if t == SYSTEM_ACCOUNT {
            target_account(t, &sys, &operator, dir, o, &mut made)?;
        } else {
            let key = Signer::generate(KeyKind::Account);
            target_account(t, &key, &operator, dir, o, &mut made)?;
            names.push((t.clone(), key.public_key().to_string()));
        }
    }
    let Targets {
        mut jwts,
        signing_keys,
        scoped_keys,
        mut local_users,
        keys: targets,
    } = made;
    let issuer_sk = o
        .shape
        .issuer_signing_key
        .then(|| Signer::generate(KeyKind::Account));
    let allowed = allowed_keys(&o.allowed, &names);
    jwts.push((
        auth.public_key().to_string(),
        callout_account_jwt(auth, &operator, o, &service, issuer_sk.as_ref(), allowed),
    ));
    let operator_jwt = operator_jwt(&operator, &sys);
    let sentinel_jwt = sentinel_jwt(&sentinel, auth);
    let service_jwt = user_jwt("auth", &service, auth, User::default());
    let creds = dir.join("auth.creds");
    write_private(&creds, format_user_creds(&service_jwt, &service.seed()))?;
    local_users.insert(
        crate::spec::CALLOUT_ACCOUNT.to_string(),
        LocalUser {
            jwt: service_jwt,
            key: Arc::new(service),
        },
    );
    let keys = Arc::new(OperatorKeys {
        callout_account: auth.public_key().to_string(),
        callout_signing_keys: issuer_sk
            .iter()
            .map(|k| k.public_key().to_string())
            .collect(),
        targets,
    });
    Ok((
        OperatorFixture {
            sentinel_jwt: sentinel_jwt.clone(),
            sentinel: Arc::new(sentinel),
            accounts: names,
            creds_file: creds.display().to_string(),
            signing_keys: signing_keys.join(","),
            scoped_keys: scoped_keys.join(","),
            local_users,
            issuer_signing_key: issuer_sk,
            keys,
        },
        OperatorConf {
            operator_jwt,
            system_account: sys.public_key().into(),
            accounts: jwts,
            default_sentinel: o.shape.default_sentinel.then_some(sentinel_jwt),
        },
    ))
}
