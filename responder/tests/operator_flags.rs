//! Start-up checks of the operator-mode flags: a bad `-nats.creds` or `-signing.keys` is an
//! error naming the flag, the file and the fix, before anything connects; no seed is printed.

use callout_codec::creds::format_user_creds;
use callout_codec::{KeyKind, Signer};
use callout_responder::flags::Flags;
use callout_responder::{build, service_config};

fn flags(args: &[String]) -> Flags {
    Flags::parse(args.iter().cloned()).unwrap()
}

#[test]
fn bad_creds_and_signing_keys_are_refused_with_the_fix() {
    let dir = std::env::temp_dir().join(format!("operator-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let user = Signer::generate(KeyKind::User);
    let good = dir.join("auth.creds");
    std::fs::write(&good, format_user_creds("a.b.c", &user.seed())).unwrap();
    let bad = dir.join("bad.creds");
    std::fs::write(&bad, "not a creds file\n").unwrap();
    let s = |p: &std::path::Path| p.display().to_string();

    let f = flags(&[format!("-nats.creds={}", s(&good))]);
    assert!(service_config(&f).unwrap().creds.is_some());

    for (args, needle) in [
        (
            vec![format!("-nats.creds={}", s(&bad))],
            "no user JWT block",
        ),
        (
            vec!["-nats.creds=/nonexistent/auth.creds".to_string()],
            "cannot read /nonexistent/auth.creds",
        ),
        (
            vec![
                format!("-nats.creds={}", s(&good)),
                "-nats.user=auth".into(),
                "-nats.pass=x".into(),
            ],
            "pass one or the other",
        ),
    ] {
        let e = service_config(&flags(&args)).err().unwrap_or_default();
        assert!(e.contains(needle), "{args:?}: {e}");
        assert!(!e.contains(&user.seed()));
    }

    // users.json places a user in an account without a signing key.
    let issuer = Signer::generate(KeyKind::Account);
    let app1 = Signer::generate(KeyKind::Account);
    let sk = Signer::generate(KeyKind::Account);
    std::fs::write(dir.join("APP1.nk"), sk.seed()).unwrap();
    std::fs::write(
        dir.join("users.json"),
        r#"{"alice": {"pass": "a", "account": "APP1"}, "bob": {"pass": "b", "account": "APP3"}}"#,
    )
    .unwrap();
    let f = flags(&[
        format!("-issuer.seed={}", issuer.seed()),
        format!("-users={}", s(&dir.join("users.json"))),
        format!(
            "-signing.keys={}:{}",
            app1.public_key(),
            s(&dir.join("APP1.nk"))
        ),
    ]);
    let e = build(&f, None, false).err().unwrap_or_default();
    assert!(
        e.contains("user \"bob\" is placed in account \"APP3\", which has no -signing.keys entry"),
        "{e}"
    );
    // The same account in -scoped.keys: bob's account now has a (scoped) key.
    let app3 = Signer::generate(KeyKind::Account);
    let scoped_sk = Signer::generate(KeyKind::Account);
    std::fs::write(dir.join("APP3.nk"), scoped_sk.seed()).unwrap();
    let signing = format!(
        "-signing.keys={}:{}",
        app1.public_key(),
        s(&dir.join("APP1.nk"))
    );
    let scoped = format!(
        "-scoped.keys={}:{}",
        app3.public_key(),
        s(&dir.join("APP3.nk"))
    );
    let users = format!("-users={}", s(&dir.join("users.json")));
    let seed = format!("-issuer.seed={}", issuer.seed());
    assert!(build(
        &flags(&[seed.clone(), users.clone(), signing.clone(), scoped.clone()]),
        None,
        false
    )
    .is_ok());
    for (args, needle) in [
        (
            vec![seed.clone(), users.clone(), scoped.clone()],
            "-scoped.keys is given without -signing.keys",
        ),
        (
            vec![
                seed.clone(),
                users.clone(),
                signing.clone(),
                format!(
                    "-scoped.keys={}:{}",
                    app1.public_key(),
                    s(&dir.join("APP1.nk"))
                ),
            ],
            "a second file for account \"APP1\"",
        ),
        (
            vec![
                seed.clone(),
                users.clone(),
                signing.clone(),
                scoped.clone(),
                format!("-nats.creds={}", s(&good)),
            ],
            "the JWT is not a valid user JWT",
        ),
    ] {
        let e = build(&flags(&args), None, false).err().unwrap_or_default();
        assert!(e.contains(needle), "{args:?}: {e}");
        assert!(!e.contains(&scoped_sk.seed()) && !e.contains(&sk.seed()));
    }
    let _ = std::fs::remove_dir_all(dir);
}
