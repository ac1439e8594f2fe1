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
};
use callout_codec::{jwt, Claims, KeyKind, Permission, Signer, User, UserClaims};

use crate::server::{write_private, OperatorConf};

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
    /// `{signing_keys}`: `ACCOUNT_PUB:FILE,…`.
    pub signing_keys: String,
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

/// Makes the operator, the accounts and the files in `dir`. `auth` is the callout account's
/// key (the responder's issuer), `targets` the target account names, `allowed` the file's
/// `allowed_accounts` (names, or `*`), `xkey` the public curve key when the file seals.
pub fn build(
    dir: &Path,
    auth: &Signer,
    targets: &[String],
    allowed: &[String],
    xkey: Option<&str>,
) -> std::io::Result<(OperatorFixture, OperatorConf)> {
    let operator = Signer::generate(KeyKind::Operator);
    let sys = Signer::generate(KeyKind::Account);
    let service = Signer::generate(KeyKind::User);
    let sentinel = Signer::generate(KeyKind::User);
    let mut names = vec![
        (SYSTEM_ACCOUNT.to_string(), sys.public_key().to_string()),
        (
            crate::runner::CALLOUT_ACCOUNT.to_string(),
            auth.public_key().to_string(),
        ),
    ];
    let mut jwts = vec![(
        sys.public_key().to_string(),
        account_jwt(SYSTEM_ACCOUNT, &sys, &operator, Account::default()),
    )];
    let mut signing_keys = Vec::new();
    let mut target_keys = Vec::new();
    for t in targets {
        let key = Signer::generate(KeyKind::Account);
        let sk = Signer::generate(KeyKind::Account);
        let file = dir.join(format!("{t}.nk"));
        write_private(&file, format!("{}\n", sk.seed()))?;
        signing_keys.push(format!("{}:{}", key.public_key(), file.display()));
        jwts.push((
            key.public_key().to_string(),
            account_jwt(
                t,
                &key,
                &operator,
                Account {
                    signing_keys: vec![SigningKey::Plain(sk.public_key().into())],
                    ..Account::default()
                },
            ),
        ));
        names.push((t.clone(), key.public_key().to_string()));
        target_keys.push(key);
    }
    let allowed_keys: Vec<String> = allowed
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
        .collect();
    jwts.push((
        auth.public_key().to_string(),
        account_jwt(
            crate::runner::CALLOUT_ACCOUNT,
            auth,
            &operator,
            Account {
                authorization: ExternalAuthorization {
                    auth_users: vec![service.public_key().into()],
                    allowed_accounts: if allowed_keys.is_empty() {
                        vec!["*".into()]
                    } else {
                        allowed_keys
                    },
                    xkey: xkey.unwrap_or_default().into(),
                },
                ..Account::default()
            },
        ),
    ));
    let mut op: OperatorClaims = Claims {
        name: "OP".into(),
        sub: operator.public_key().into(),
        nats: Operator {
            system_account: sys.public_key().into(),
            ..Operator::default()
        },
        ..Claims::default()
    };
    let operator_jwt = jwt::encode(&mut op, &operator);
    let deny_all = Permission {
        allow: vec![],
        deny: vec![">".into()],
    };
    let sentinel_jwt = user_jwt(
        "sentinel",
        &sentinel,
        auth,
        User {
            publish: deny_all.clone(),
            subscribe: deny_all,
            bearer_token: true,
            ..User::default()
        },
    );
    let service_jwt = user_jwt("auth", &service, auth, User::default());
    let creds = dir.join("auth.creds");
    write_private(&creds, format_user_creds(&service_jwt, &service.seed()))?;
    Ok((
        OperatorFixture {
            sentinel_jwt,
            sentinel: Arc::new(sentinel),
            accounts: names,
            creds_file: creds.display().to_string(),
            signing_keys: signing_keys.join(","),
        },
        OperatorConf {
            operator_jwt,
            system_account: sys.public_key().into(),
            accounts: jwts,
            default_sentinel: None,
        },
    ))
}
