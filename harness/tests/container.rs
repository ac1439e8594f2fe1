//! The container backend end to end: nats-server 2.15.1 in a container (Podman here), a user
//! admitted and a wrong password rejected, and the container gone once the server is dropped.
//!
//! Needs a container engine (`ci/install-podman.sh` installs Podman) and, for the Podman
//! service, root. The Podman API service started by `ensure_engine` is shared and left running;
//! `ci/install-podman.sh stop` stops it.

use std::time::{Duration, Instant};

use callout_conformance::client::{connect, ConnectOptions, ConnectOutcome};
use callout_conformance::container::{containers_on_port, ensure_engine, start_container};
use callout_conformance::provision::resolve;
use callout_conformance::server::{AccountConf, CalloutConf, ServerConf, ServerError};

#[tokio::test]
async fn container_server_admits_a_user_and_is_removed_on_drop() {
    let bin = resolve("2.15.1", None).expect("provision nats-server 2.15.1");
    ensure_engine().expect("a container engine");
    let conf = ServerConf {
        accounts: vec![AccountConf {
            nkeys: vec![],
            name: "APP".into(),
            users: vec![("a".into(), "a".into())],
        }],
        auth_timeout_secs: 1.0,
        ..ServerConf::default()
    };

    // The first start may build the image; time a second one too.
    let t = Instant::now();
    let first = start_container(&bin, &conf)
        .await
        .expect("start the container");
    eprintln!(
        "first container start (image build if missing + start): {:?}",
        t.elapsed()
    );
    drop(first);
    let t = Instant::now();
    let server = start_container(&bin, &conf)
        .await
        .expect("start the container");
    eprintln!("container start: {:?}", t.elapsed());
    assert_eq!(server.version, bin.version);
    // The log is collected asynchronously (it lags the readiness wait a little).
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.log().contains("Server is ready") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        server.log().contains("Server is ready"),
        "log:\n{}",
        server.log()
    );

    let ids = containers_on_port(server.port).expect("list containers");
    assert_eq!(
        ids.len(),
        1,
        "one container publishes port {}: {ids:?}",
        server.port
    );

    let good = ConnectOptions {
        user: Some("a".into()),
        pass: Some("a".into()),
        ..Default::default()
    };
    match connect(&server.addr(), &good, Duration::from_secs(5))
        .await
        .expect("connect")
    {
        ConnectOutcome::Admitted(c) => c.close().await,
        other => panic!(
            "user a/a should be admitted, got {other:?}; log:\n{}",
            server.log()
        ),
    }
    let bad = ConnectOptions {
        user: Some("a".into()),
        pass: Some("wrong".into()),
        ..Default::default()
    };
    let outcome = connect(&server.addr(), &bad, Duration::from_secs(5))
        .await
        .expect("connect");
    assert!(
        matches!(&outcome, ConnectOutcome::Rejected(e) if e == "Authorization Violation"),
        "a wrong password should be rejected, got {outcome:?}"
    );

    let port = server.port;
    let t = Instant::now();
    drop(server);
    eprintln!("container removal: {:?}", t.elapsed());
    let left = containers_on_port(port).expect("list containers");
    assert!(
        left.is_empty(),
        "the container should be gone after drop: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_server_with_a_bad_config_reports_the_servers_complaint() {
    let bin = resolve("2.15.1", None).expect("provision nats-server 2.15.1");
    ensure_engine().expect("a container engine");
    let conf = ServerConf {
        accounts: vec![AccountConf {
            nkeys: vec![],
            name: "APP".into(),
            users: vec![("a".into(), "a".into())],
        }],
        callout: Some(CalloutConf {
            issuer: "not-an-account-key".into(),
            account: "APP".into(),
            ..CalloutConf::default()
        }),
        auth_timeout_secs: 1.0,
        ..ServerConf::default()
    };
    match start_container(&bin, &conf).await {
        Err(ServerError::NotReady { detail, log }) => {
            let text = format!("{detail}\n{log}");
            assert!(
                text.contains("not-an-account-key"),
                "the server's complaint should be reported: {text}"
            );
        }
        Err(other) => panic!("expected NotReady, got {other}"),
        Ok(server) => panic!("a bad issuer should not start; log:\n{}", server.log()),
    }
}
