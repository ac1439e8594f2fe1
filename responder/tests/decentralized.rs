//! The NATS by Example decentralized service's command line (`-nats.url -nats.creds
//! -issuer.seed -xkey.seed -signing.keys -users`, in the example's `-flag=value` form, with
//! `service` replaced by `callout-responder`), against an operator-mode server set up as the
//! example's `main.sh` does: accounts AUTH (the callout, `allowed_accounts: ["*"]`, an xkey),
//! APP1 and APP2 (each with a signing key), SYS; clients bring the deny-all bearer sentinel's
//! JWT plus a user name and password. alice is placed into APP1, bob into APP2 with his
//! permissions, pam is rejected, on nats-server 2.10.26 and 2.15.1. The operator, account and
//! user JWTs and the creds file are made by the codec, so this also proves a real server loads
//! what the codec writes.

use std::time::Duration;

use callout_codec::creds::format_user_creds;
use callout_codec::operator::{
    Account, AccountClaims, ExternalAuthorization, Operator, OperatorClaims, SigningKey,
};
use callout_codec::{jwt, Claims, CurveSecret, KeyKind, Permission, Signer, User, UserClaims};
use callout_conformance::client::{connect, ConnectOptions, ConnectOutcome, SigMode};
use callout_conformance::provision;
use callout_conformance::server::{self, OperatorConf, ServerConf};
use callout_conformance::sut::RunningResponder;
use callout_conformance::userinfo::user_info;

const USERS_JSON: &str = r#"{
  "alice": { "pass": "alice", "account": "APP1" },
  "bob": {
    "pass": "bob",
    "account": "APP2",
    "permissions": {
      "pub": { "allow": ["bob.>", "$SYS.REQ.USER.INFO"] },
      "sub": { "allow": ["bob.>", "_INBOX.>"] },
      "resp": { "max": 1 }
    }
  }
}"#;

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

struct Setup {
    conf: ServerConf,
    dir: std::path::PathBuf,
    argv: Vec<String>,
    sentinel_jwt: String,
    sentinel: std::sync::Arc<Signer>,
    app1: String,
    app2: String,
}

fn setup() -> Setup {
    let operator = Signer::generate(KeyKind::Operator);
    let sys = Signer::generate(KeyKind::Account);
    let auth = Signer::generate(KeyKind::Account);
    let app1 = Signer::generate(KeyKind::Account);
    let app1_sk = Signer::generate(KeyKind::Account);
    let app2 = Signer::generate(KeyKind::Account);
    let app2_sk = Signer::generate(KeyKind::Account);
    let service = Signer::generate(KeyKind::User);
    let sentinel = Signer::generate(KeyKind::User);
    let xkey = CurveSecret::generate();

    let mut op: OperatorClaims = Claims {
        name: "OP".into(),
        sub: operator.public_key().into(),
        nats: Operator {
            system_account: sys.public_key().into(),
            ..Operator::default()
        },
        ..Claims::default()
    };
    let op_jwt = jwt::encode(&mut op, &operator);
    let accounts = vec![
        (
            sys.public_key().to_string(),
            account_jwt("SYS", &sys, &operator, Account::default()),
        ),
        (
            auth.public_key().to_string(),
            account_jwt(
                "AUTH",
                &auth,
                &operator,
                Account {
                    authorization: ExternalAuthorization {
                        auth_users: vec![service.public_key().into()],
                        allowed_accounts: vec!["*".into()],
                        xkey: xkey.public().as_str().into(),
                    },
                    ..Account::default()
                },
            ),
        ),
        (
            app1.public_key().to_string(),
            account_jwt(
                "APP1",
                &app1,
                &operator,
                Account {
                    signing_keys: vec![SigningKey::Plain(app1_sk.public_key().into())],
                    ..Account::default()
                },
            ),
        ),
        (
            app2.public_key().to_string(),
            account_jwt(
                "APP2",
                &app2,
                &operator,
                Account {
                    signing_keys: vec![SigningKey::Plain(app2_sk.public_key().into())],
                    ..Account::default()
                },
            ),
        ),
    ];
    let deny_all = Permission {
        allow: vec![],
        deny: vec![">".into()],
    };
    let sentinel_jwt = user_jwt(
        "sentinel",
        &sentinel,
        &auth,
        User {
            publish: deny_all.clone(),
            subscribe: deny_all,
            bearer_token: true,
            ..User::default()
        },
    );
    let service_jwt = user_jwt("auth", &service, &auth, User::default());

    let dir = server::scratch_dir("decentralized").unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let creds = write(
        "auth.creds",
        &format_user_creds(&service_jwt, &service.seed()),
    );
    let auth_nk = write("AUTH.nk", &format!("{}\n", auth.seed()));
    let app1_nk = write("APP1.nk", &format!("{}\n", app1_sk.seed()));
    let app2_nk = write("APP2.nk", &format!("{}\n", app2_sk.seed()));
    let users = write("users.json", USERS_JSON);
    let conf = ServerConf {
        auth_timeout_secs: 2.0,
        operator: Some(OperatorConf {
            operator_jwt: op_jwt,
            system_account: sys.public_key().into(),
            accounts,
            default_sentinel: None,
        }),
        ..ServerConf::default()
    };
    let responder = env!("CARGO_BIN_EXE_callout-responder").to_string();
    // The example: service -nats.creds=auth.creds -issuer.seed=AUTH.nk -xkey.seed=$XKEY_SEED
    //   -signing.keys=$APP1_PUB:APP1.nk,$APP2_PUB:APP2.nk -users=users.json
    let argv = vec![
        responder,
        "-nats.url=URL".into(),
        format!("-nats.creds={creds}"),
        format!("-issuer.seed={auth_nk}"),
        format!("-xkey.seed={}", xkey.seed()),
        format!(
            "-signing.keys={}:{app1_nk},{}:{app2_nk}",
            app1.public_key(),
            app2.public_key()
        ),
        format!("-users={users}"),
    ];
    Setup {
        conf,
        dir,
        argv,
        sentinel_jwt,
        sentinel: std::sync::Arc::new(sentinel),
        app1: app1.public_key().into(),
        app2: app2.public_key().into(),
    }
}

fn login(s: &Setup, user: &str, pass: &str) -> ConnectOptions {
    ConnectOptions {
        user: Some(user.into()),
        pass: Some(pass.into()),
        jwt: Some(s.sentinel_jwt.clone()),
        nkey: Some((s.sentinel.clone(), SigMode::Valid)),
        ..Default::default()
    }
}

async fn the_example_places_alice_and_bob_and_rejects_pam(version: &str) {
    let bin = provision::resolve(version, None).expect("nats-server");
    let mut s = setup();
    let srv = server::start_process(&bin, &s.conf).expect("an operator-mode server starts");
    s.argv[1] = format!("-nats.url={}", srv.url());
    let mut proc = RunningResponder::start(&s.argv, vec![]).expect("responder starts");
    let mut alice = None;
    let mut last = String::new();
    for _ in 0..60 {
        match connect(
            &srv.addr(),
            &login(&s, "alice", "alice"),
            Duration::from_secs(5),
        )
        .await
        {
            Ok(ConnectOutcome::Admitted(c)) => {
                alice = Some(c);
                break;
            }
            other => last = format!("{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(mut alice) = alice else {
        panic!(
            "alice was not admitted on {version}: {last}\nresponder stderr:\n{}\nserver log:\n{}",
            proc.stderr_tail(30),
            srv.log()
        );
    };
    let info = user_info(&mut alice).await.expect("alice's user info");
    assert_eq!(info.account, s.app1, "alice is placed in APP1 on {version}");
    alice.close().await;

    let mut bob = match connect(
        &srv.addr(),
        &login(&s, "bob", "bob"),
        Duration::from_secs(5),
    )
    .await
    {
        Ok(ConnectOutcome::Admitted(c)) => c,
        other => panic!("bob on {version}: {other:?}\n{}", proc.stderr_tail(30)),
    };
    let info = user_info(&mut bob).await.expect("bob's user info");
    assert_eq!(info.account, s.app2, "bob is placed in APP2 on {version}");
    assert_eq!(info.pub_allow, ["$SYS.REQ.USER.INFO", "bob.>"]);
    assert_eq!(info.sub_allow, ["_INBOX.>", "bob.>"]);
    bob.close().await;

    match connect(
        &srv.addr(),
        &login(&s, "pam", "pam"),
        Duration::from_secs(5),
    )
    .await
    {
        Ok(ConnectOutcome::Rejected(e)) => assert_eq!(e, "Authorization Violation"),
        other => panic!("pam on {version}: expected Authorization Violation, got {other:?}"),
    }
    // A client without the sentinel JWT is refused by the server with no callout.
    let no_jwt = ConnectOptions {
        user: Some("alice".into()),
        pass: Some("alice".into()),
        ..Default::default()
    };
    match connect(&srv.addr(), &no_jwt, Duration::from_secs(5)).await {
        Ok(ConnectOutcome::Rejected(e)) => assert_eq!(e, "Authorization Violation"),
        other => {
            panic!("no sentinel on {version}: expected Authorization Violation, got {other:?}")
        }
    }
    let status = proc.stop(Duration::from_secs(5));
    assert!(status.contains("exit status: 0"), "{status}");
    let log = proc.stderr_tail(500);
    assert!(
        log.contains("user=\"alice\"") && log.contains("user=\"pam\""),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[tokio::test]
async fn the_decentralized_example_command_line_works_on_2_15_1() {
    the_example_places_alice_and_bob_and_rejects_pam("2.15.1").await;
}

#[tokio::test]
async fn the_decentralized_example_command_line_works_on_2_10_26() {
    the_example_places_alice_and_bob_and_rejects_pam("2.10.26").await;
}
