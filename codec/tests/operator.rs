//! Operator-mode claims: the field names, order and `omitempty` of nats-io/jwt v2's
//! `Operator`, `Account` (`OperatorLimits` flattened, `SigningKeys` as strings or scope
//! objects, `ExternalAuthorization`), round trips, and who may sign what. A real server loading
//! them is `responder/tests/decentralized.rs`.

use callout_codec::operator::{
    Account, AccountClaims, AccountLimits, ExternalAuthorization, Operator, OperatorClaims,
    SigningKey, UserTemplate,
};
use callout_codec::{jwt, Claims, JwtError, KeyKind, Permission, Signer};

fn payload(token: &str) -> serde_json::Value {
    jwt::peek_payload(token).unwrap()
}

#[test]
fn an_account_encodes_in_jwts_field_order_with_explicit_limits() {
    let operator = Signer::generate(KeyKind::Operator);
    let acct = Signer::generate(KeyKind::Account);
    let sk = Signer::generate(KeyKind::Account);
    let scoped = Signer::generate(KeyKind::Account);
    let mut c: AccountClaims = Claims {
        name: "AUTH".into(),
        sub: acct.public_key().into(),
        nats: Account {
            signing_keys: vec![
                SigningKey::Plain(sk.public_key().into()),
                SigningKey::scoped(
                    scoped.public_key(),
                    "reader",
                    UserTemplate {
                        subscribe: Permission {
                            allow: vec!["app.>".into()],
                            deny: vec![],
                        },
                        subs: -1,
                        data: -1,
                        payload: -1,
                        ..UserTemplate::default()
                    },
                ),
            ],
            authorization: ExternalAuthorization {
                auth_users: vec!["UABC".into()],
                allowed_accounts: vec!["*".into()],
                xkey: String::new(),
            },
            ..Account::default()
        },
        ..Claims::default()
    };
    let token = jwt::encode(&mut c, &operator);
    let text =
        String::from_utf8(jwt::b64_decode(token.split('.').nth(1).unwrap(), "payload").unwrap())
            .unwrap();
    // ClaimsData first, then nats: limits (NatsLimits, AccountLimits), signing_keys,
    // authorization, type, version.
    let nats = &text[text.find("\"nats\":").unwrap()..];
    let order = [
        "\"limits\"",
        "\"signing_keys\"",
        "\"authorization\"",
        "\"type\":\"account\"",
        "\"version\":2",
    ];
    let at: Vec<usize> = order.iter().map(|k| nats.find(k).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{nats}");
    assert!(nats.contains(r#""limits":{"subs":-1,"data":-1,"payload":-1,"imports":-1,"exports":-1,"wildcards":true,"conn":-1,"leaf":-1}"#), "{nats}");
    let v = payload(&token);
    assert_eq!(v["nats"]["signing_keys"][0], sk.public_key());
    assert_eq!(v["nats"]["signing_keys"][1]["kind"], "user_scope");
    assert_eq!(
        v["nats"]["signing_keys"][1]["template"]["sub"]["allow"][0],
        "app.>"
    );
    assert_eq!(
        v["nats"]["authorization"],
        serde_json::json!({"auth_users": ["UABC"], "allowed_accounts": ["*"]})
    );
    let back: AccountClaims = jwt::decode(&token).unwrap();
    assert_eq!(back.nats, c.nats);
    assert!(back.nats.has_signing_key(scoped.public_key()));
    // An account without callout has no authorization object at all.
    let mut plain: AccountClaims = Claims {
        sub: acct.public_key().into(),
        ..Claims::default()
    };
    let t = jwt::encode(&mut plain, &operator);
    assert!(payload(&t)["nats"].get("authorization").is_none());
    assert!(payload(&t)["nats"].get("signing_keys").is_none());
}

#[test]
fn operators_sign_accounts_and_themselves_and_accounts_do_not() {
    let operator = Signer::generate(KeyKind::Operator);
    let mut op: OperatorClaims = Claims {
        sub: operator.public_key().into(),
        nats: Operator {
            system_account: "ASYS".into(),
            strict_signing_key_usage: true,
            signing_keys: vec!["OSK".into()],
            ..Operator::default()
        },
        ..Claims::default()
    };
    let t = jwt::encode(&mut op, &operator);
    let v = payload(&t);
    assert_eq!(v["nats"]["type"], "operator");
    assert_eq!(v["nats"]["strict_signing_key_usage"], true);
    assert_eq!(v["nats"]["system_account"], "ASYS");
    assert_eq!(jwt::decode::<Operator>(&t).unwrap().nats, op.nats);
    // An account JWT signed by an account key is refused: its issuer must be an operator.
    let acct = Signer::generate(KeyKind::Account);
    let mut a: AccountClaims = Claims {
        sub: acct.public_key().into(),
        ..Claims::default()
    };
    let forged = jwt::encode(&mut a, &acct);
    assert!(matches!(
        jwt::decode::<Account>(&forged),
        Err(JwtError::IssuerPrefix(_))
    ));
    // An operator JWT is not an account JWT.
    assert!(matches!(
        jwt::decode::<Account>(&t),
        Err(JwtError::WrongType { .. })
    ));
    assert_eq!(
        AccountLimits::default().conn,
        -1,
        "nobody connects with conn 0"
    );
}
