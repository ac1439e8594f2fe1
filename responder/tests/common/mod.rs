//! What the process-level responder tests share: a callout server config, the responder
//! binary started against it, an admission probe, and signals sent by PID.

#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

use callout_codec::{CurveSecret, KeyKind, Signer};
use callout_conformance::client::{connect, ConnectOptions, ConnectOutcome};
use callout_conformance::provision::{self, ServerBinary};
use callout_conformance::server::{self, AccountConf, CalloutConf, RunningServer, ServerConf};
use callout_conformance::sut::RunningResponder;

pub const BIN: &str = env!("CARGO_BIN_EXE_callout-responder");

pub struct Setup {
    pub bin: ServerBinary,
    pub conf: ServerConf,
    pub issuer: Signer,
    pub xkey: CurveSecret,
    pub dir: std::path::PathBuf,
}

/// A server config with callout account AUTH (user `auth`, password `auth-pw`), target
/// account APP, and a users.json admitting alice.
pub fn setup(tag: &str) -> Setup {
    let bin = provision::resolve(provision::DEFAULT_SERVER_VERSION, None).expect("nats-server");
    let issuer = Signer::generate(KeyKind::Account);
    let xkey = CurveSecret::generate();
    let conf = ServerConf {
        accounts: vec![
            AccountConf {
                name: "AUTH".into(),
                users: vec![("auth".into(), "auth-pw".into())],
                ..Default::default()
            },
            AccountConf {
                name: "APP".into(),
                users: vec![],
                ..Default::default()
            },
        ],
        system_account: None,
        callout: Some(CalloutConf {
            issuer: issuer.public_key().into(),
            account: "AUTH".into(),
            auth_users: vec!["auth".into()],
            xkey: Some(xkey.public().as_str().into()),
            allowed_accounts: vec![],
        }),
        auth_timeout_secs: 2.0,
        max_payload: None,
        port: None,
        tls: None,
        websocket_port: None,
        ..Default::default()
    };
    let dir = server::scratch_dir(tag).unwrap();
    std::fs::write(
        dir.join("users.json"),
        r#"{"alice": {"pass": "alice-pw", "account": "APP"}}"#,
    )
    .unwrap();
    Setup {
        bin,
        conf,
        issuer,
        xkey,
        dir,
    }
}

/// The responder's argv against `url` with `extra` flags; no `-nats.user`/`-nats.pass` when
/// `with_user` is false (credentials then come from the URL).
pub fn responder_argv(s: &Setup, url: &str, with_user: bool, extra: &[&str]) -> Vec<String> {
    let mut argv: Vec<String> = vec![BIN.into(), "-nats.url".into(), url.into()];
    if with_user {
        argv.extend(["-nats.user", "auth", "-nats.pass", "auth-pw"].map(String::from));
    }
    argv.extend([
        "-issuer.seed".to_string(),
        s.issuer.seed(),
        "-xkey.seed".to_string(),
        s.xkey.seed(),
        "-users".to_string(),
        s.dir.join("users.json").to_str().unwrap().to_string(),
    ]);
    argv.extend(extra.iter().map(|x| x.to_string()));
    argv
}

/// Starts the responder; stderr is captured unredacted, so tests can look for secrets in it.
pub fn start_responder(argv: &[String]) -> RunningResponder {
    RunningResponder::start(argv, vec![]).expect("responder")
}

pub async fn alice_admitted_within(srv: &RunningServer, secs: u64) -> bool {
    let opts = ConnectOptions {
        user: Some("alice".into()),
        pass: Some("alice-pw".into()),
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Ok(ConnectOutcome::Admitted(c)) =
            connect(&srv.addr(), &opts, Duration::from_secs(5)).await
        {
            c.close().await;
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Sends `signal` (`TERM`, `INT`) to the responder by PID.
pub fn signal(r: &RunningResponder, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(r.pid().to_string())
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{signal} {}", r.pid());
}

/// Waits up to `limit` for the responder to exit; its status text and how long it took.
pub fn wait_exit(r: &mut RunningResponder, limit: Duration) -> Option<(String, Duration)> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if let Some(s) = r.exited() {
            return Some((s, t0.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Waits up to `limit` for a stderr line containing `needle`.
pub fn wait_stderr(r: &RunningResponder, needle: &str, limit: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if r.stderr_tail(10_000).contains(needle) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Runs the binary until it exits (at most 10 s, then it is killed and the code is -1): exit
/// code and stderr.
pub fn run_to_exit(args: &[&str]) -> (i32, String) {
    use std::io::Read;
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    let mut pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    let t0 = Instant::now();
    let code = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st.code().unwrap_or(-1);
        }
        if t0.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, reader.join().unwrap_or_default())
}
