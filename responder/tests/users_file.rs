//! users.json at the scale and in the spellings real deployments bring: `cert_subject` values
//! written the ways OpenSSL and people write a subject, checked against the subject the
//! responder reads from a real certificate; and token users by the thousand, each found, a
//! duplicate named. (The work of a token lookup is counted in `token_index`'s unit tests and
//! timed in `benches/benches/users.rs`, never asserted by a clock here.)

use callout_codec::ClientTls;
use callout_responder::cert::verified_subject;
use callout_responder::users::UserDirectory;

/// Made with `openssl req -x509 -subj "/O=Acme/CN=alice"`. OpenSSL prints its subject as
/// `O = Acme, CN = alice` (default), `/O=Acme/CN=alice` (`-nameopt compat`) and
/// `CN=alice,O=Acme` (`-nameopt RFC2253`).
const SIMPLE: &str = "\
-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUCAMpAFPrsXsGdooh7v9cBbBe5dMwCgYIKoZIzj0EAwIw
HzENMAsGA1UECgwEQWNtZTEOMAwGA1UEAwwFYWxpY2UwIBcNMjYxMjA3MjA0MTUw
WhgPMjEyNjExMTMyMDQxNTBaMB8xDTALBgNVBAoMBEFjbWUxDjAMBgNVBAMMBWFs
aWNlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEhPkONHpIRLMPVdKSh2BBpzMy
r/5gt5W139h9gcODCC0kkbYrqaaslr2rY42P7pUpHOA+7Zafxqe7SM15AFzGaKNT
MFEwHQYDVR0OBBYEFM7IZ/cLRWFf1fUC676++y7wEneBMB8GA1UdIwQYMBaAFM7I
Z/cLRWFf1fUC676++y7wEneBMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SAAwRQIgCzLcrpVbHrf7LoWkGlcd5H9GXLcc0dlShlN8m34Nv8MCIQDTzy1VXaHW
bf6IHIAsZSNB1X6IBDbu+zUB8ljN5xW8Dg==
-----END CERTIFICATE-----
";

/// Made with `openssl req -x509 -multivalue-rdn -subj "/C=US/O=Acme\, Inc./OU=Dev+UID=alice7/CN=alice"`:
/// an escaped comma and a multi-valued RDN. `-nameopt RFC2253` prints
/// `CN=alice,UID=alice7+OU=Dev,O=Acme\, Inc.,C=US`.
const ACME: &str = "\
-----BEGIN CERTIFICATE-----
MIICAzCCAamgAwIBAgIUIU0SgS41efFlNR4GM0hUjh9mB4EwCgYIKoZIzj0EAwIw
VjELMAkGA1UEBhMCVVMxEzARBgNVBAoMCkFjbWUsIEluYy4xIjAKBgNVBAsMA0Rl
djAUBgoJkiaJk/IsZAEBDAZhbGljZTcxDjAMBgNVBAMMBWFsaWNlMCAXDTI2MTIw
NzIwNDE0OVoYDzIxMjYxMTEzMjA0MTQ5WjBWMQswCQYDVQQGEwJVUzETMBEGA1UE
CgwKQWNtZSwgSW5jLjEiMAoGA1UECwwDRGV2MBQGCgmSJomT8ixkAQEMBmFsaWNl
NzEOMAwGA1UEAwwFYWxpY2UwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAStfoC3
hRWSpSvopmMFcfUjGOgpI8b9Hd+bV8+SEhUvO0e5I0cRtlSv66jeNL6HGlpqiL23
yLTMj8PzDhj6Gngio1MwUTAdBgNVHQ4EFgQUq1IVLyZVlf7us9DrIwNm6SIFrsMw
HwYDVR0jBBgwFoAUq1IVLyZVlf7us9DrIwNm6SIFrsMwDwYDVR0TAQH/BAUwAwEB
/zAKBggqhkjOPQQDAgNIADBFAiEA1U+1/RwCg3BkY24coK2AiKr9h/1BFiGrgBB3
wtXWzPICIEfknA67gWcaeX67rxcnt7aqQmF7qM8WrBTqMv+MS5BN
-----END CERTIFICATE-----
";

fn subject_of(pem: &str) -> String {
    verified_subject(Some(&ClientTls {
        version: "1.3".into(),
        verified_chains: vec![vec![pem.to_string()]],
        ..Default::default()
    }))
    .expect("the fixture parses")
}

fn load(cert_subject: &str) -> Result<UserDirectory, callout_responder::users::UsersError> {
    let json = serde_json::json!({"alice": {"cert_subject": cert_subject, "account": "APP"}});
    UserDirectory::parse(&json.to_string(), "users.json")
}

/// Whether a users.json entry written `cert_subject` admits the holder of `pem`.
fn places(cert_subject: &str, pem: &str) -> bool {
    let d = load(cert_subject).unwrap_or_else(|e| panic!("{cert_subject:?} refused: {e}"));
    d.by_cert_subject(&subject_of(pem)).map(|(n, _)| n) == Some("alice")
}

#[test]
fn every_accepted_spelling_places_the_certificate() {
    assert_eq!(subject_of(SIMPLE), "CN=alice,O=Acme");
    for written in [
        "CN=alice,O=Acme",
        "cn=alice,o=Acme",
        "commonName=alice,organizationName=Acme",
        "2.5.4.3=alice,2.5.4.10=Acme",
    ] {
        assert!(places(written, SIMPLE), "{written:?}");
    }
    // What `openssl x509 -noout -subject -nameopt RFC2253` prints, although it shows the
    // multi-valued RDN in another order than the responder does.
    assert!(places(
        r"CN=alice,UID=alice7+OU=Dev,O=Acme\, Inc.,C=US",
        ACME
    ));
    assert!(places(
        r"cn=alice,ou=Dev+uid=alice7,o=Acme\2C Inc.,c=US",
        ACME
    ));
    assert!(!places("CN=alice,O=Acme", ACME), "another subject");
}

#[test]
fn openssls_other_prints_are_refused_and_the_fix_places_the_certificate() {
    for (written, pem) in [
        ("/O=Acme/CN=alice", SIMPLE),
        ("O = Acme, CN = alice", SIMPLE),
        ("CN=alice, O=Acme", SIMPLE),
        ("/C=US/O=Acme, Inc./OU=Dev+UID=alice7/CN=alice", ACME),
    ] {
        let e = load(written).expect_err(written);
        assert_eq!(e.location, r#"user "alice", field "cert_subject""#, "{e}");
        assert!(e.to_string().starts_with("users.json: "), "{e}");
        assert!(e.fix.contains("-nameopt RFC2253"), "{e}");
        // The fix quotes the form to write; written back, it places the certificate.
        let fix = e
            .fix
            .strip_prefix("write ")
            .expect("the fix names the form");
        let quoted: String = serde_json::Deserializer::from_str(fix)
            .into_iter::<String>()
            .next()
            .expect("a quoted form")
            .expect("a JSON string");
        assert!(
            places(&quoted, pem),
            "{written:?}: the fix {quoted:?} does not place it"
        );
    }
}

#[test]
fn thousands_of_token_users_each_find_their_own_and_a_duplicate_is_named() {
    const N: usize = 20_000;
    let token = |i: usize| format!("tok-{i:06}-{}", "k".repeat(i % 7));
    let mut users = serde_json::Map::new();
    for i in 0..N {
        users.insert(
            format!("u{i}"),
            serde_json::json!({"token": token(i), "account": "APP"}),
        );
    }
    users.insert(
        "pw".into(),
        serde_json::json!({"pass": "tok-000001-k", "account": "APP"}),
    );
    let d = UserDirectory::parse(
        &serde_json::Value::Object(users.clone()).to_string(),
        "users.json",
    )
    .unwrap();
    assert_eq!(d.len(), N + 1);
    for i in (0..N).step_by(97) {
        assert_eq!(
            d.by_token(&token(i)).map(|(n, _)| n.to_string()),
            Some(format!("u{i}"))
        );
    }
    for miss in [
        "",
        "tok-000001-",
        "tok-000001-kk",
        "TOK-000001-k",
        &"x".repeat(3_900),
    ] {
        assert!(d.by_token(miss).is_none(), "{miss:?}");
    }
    assert!(
        d.by_token("tok-000001-k").is_some_and(|(n, _)| n == "u1"),
        "a password is not a token"
    );

    users.insert(
        "zz-late".into(),
        serde_json::json!({"token": token(12_345), "account": "APP"}),
    );
    let e = UserDirectory::parse(&serde_json::Value::Object(users).to_string(), "users.json")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"users.json: user "zz-late", field "token": is also the token of user "u12345". Fix: give each user its own token"#
    );
}
