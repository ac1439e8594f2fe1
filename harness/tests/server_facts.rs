//! What real servers put in the authorization request, observed rather than assumed
//! (`docs/protocol.md` §1.5 and §1.8): the harness subscribes to `$SYS.REQ.USER.AUTH` itself,
//! as a responder would, and reads the requests of clients it connects. These facts decide
//! what a responder may rely on, so a server release that changes one fails here first.
//!
//! - A token login: `connect_opts.auth_token` carries the token on every version;
//!   `client_info.user` carries the token itself before 2.10.28 (and 2.11.0–2.11.1) and
//!   `[REDACTED]` from then on.
//! - A user JWT sent by a client in config mode is discarded: `connect_opts.jwt` is empty.

use std::time::Duration;

use callout_codec::{jwt, AuthRequest};
use callout_conformance::client::{self, ConnectOptions, ConnectOutcome, Event};
use callout_conformance::fixture::{Fixture, RESPONDER_USER};
use callout_conformance::spec::WorldSpec;
use callout_conformance::{provision, server};

/// Connects a client with `opts` on a callout server of `version` and returns the
/// authorization request the server published for it.
async fn request_for(version: &str, opts: ConnectOptions) -> callout_codec::Claims<AuthRequest> {
    let bin = provision::resolve(version, None).expect("nats-server");
    let spec = WorldSpec {
        origin: "server-facts".into(),
        accounts: vec!["APP".into()],
        ..WorldSpec::default()
    };
    let fixture = Fixture::new(&spec).unwrap();
    let conf = fixture.conf.clone();
    let srv = tokio::task::spawn_blocking(move || server::start_process(&bin, &conf))
        .await
        .unwrap()
        .expect("server");
    let addr = srv.addr();
    let responder = ConnectOptions {
        user: Some(RESPONDER_USER.into()),
        pass: Some(fixture.responder_pass.clone()),
        ..Default::default()
    };
    let ConnectOutcome::Admitted(mut sub) =
        client::connect(&addr, &responder, Duration::from_secs(5))
            .await
            .unwrap()
    else {
        panic!("the callout account's user is not admitted");
    };
    sub.subscribe("$SYS.REQ.USER.AUTH", None).await;
    assert!(sub.flush(Duration::from_secs(3)).await);
    // Nobody answers: the client is refused at the server's timeout, after the request is out.
    let login =
        tokio::spawn(async move { client::connect(&addr, &opts, Duration::from_secs(5)).await });
    let msg = loop {
        match sub.next_event(Duration::from_secs(5)).await {
            Some(Event::Msg(m)) if m.subject == "$SYS.REQ.USER.AUTH" => break m,
            Some(_) => continue,
            None => panic!("no authorization request within 5 s"),
        }
    };
    let _ = login.await;
    sub.close().await;
    drop(srv);
    let token = String::from_utf8(msg.payload).expect("a plain request (no xkey)");
    jwt::decode::<AuthRequest>(&token).expect("a request signed by the server")
}

fn token_login() -> ConnectOptions {
    ConnectOptions {
        token: Some("tok-observed-5Jk8".into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_reaches_the_responder_in_connect_opts_and_client_info_user_is_redacted_since_2_10_28(
) {
    for (version, info_user) in [("2.10.26", "tok-observed-5Jk8"), ("2.15.1", "[REDACTED]")] {
        let r = request_for(version, token_login()).await;
        assert_eq!(
            r.nats.connect_opts.auth_token.expose(),
            "tok-observed-5Jk8",
            "{version}"
        );
        assert_eq!(r.nats.connect_opts.user, "", "{version}");
        assert_eq!(r.nats.client_info.user.expose(), info_user, "{version}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_jwt_sent_in_config_mode_is_discarded() {
    let some_jwt = {
        let key = callout_codec::Signer::generate(callout_codec::KeyKind::Account);
        let mut u: callout_codec::Claims<callout_codec::User> = callout_codec::Claims {
            sub: callout_codec::Signer::generate(callout_codec::KeyKind::User)
                .public_key()
                .into(),
            ..Default::default()
        };
        jwt::encode(&mut u, &key)
    };
    for version in ["2.10.26", "2.15.1"] {
        let r = request_for(
            version,
            ConnectOptions {
                user: Some("carol".into()),
                pass: Some("carol-pw".into()),
                jwt: Some(some_jwt.clone()),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(r.nats.connect_opts.jwt.expose(), "", "{version}");
        assert_eq!(r.nats.connect_opts.user, "carol", "{version}");
    }
}
