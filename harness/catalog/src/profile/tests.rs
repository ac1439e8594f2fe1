//! The profile parser's unit tests: the cases and wire identities a profile makes, and each
//! mistake it can hold, with the line and fix its error names.

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
    let argv = p.responder.argv(&sut::Placeholders::default()).unwrap();
    assert_eq!(argv.last().map(String::as_str), Some("/p/k"), "{argv:?}");
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
    assert_eq!(
        ids,
        [
            "e2e.profile.a.admitted",
            "e2e.profile.b.admitted",
            "e2e.profile.x.rejected",
            "e2e.profile.unknown-token",
            "e2e.profile.a.altered-token",
            "e2e.profile.b.wrong-password",
            "e2e.profile.unknown-user",
            "e2e.profile.no-credentials",
        ]
    );
    // Ids name identities, not positions: an identity inserted first changes no other id.
    let inserted = BASE.replacen(
        "[[identity]]",
        "[[identity]]\nname = \"first\"\ntoken = \"tok-first\"\nexpect = \"rejected\"\n\n[[identity]]",
        1,
    );
    let again = parse_str(&inserted).unwrap();
    let again: Vec<String> = again.scenario.cases.iter().map(|c| c.id.clone()).collect();
    assert_eq!(again[0], "e2e.profile.first.rejected");
    assert!(ids.iter().all(|id| again.contains(id)), "{again:?}");
    // An identity whose name makes an id clash with another is refused, naming both.
    let clash = BASE.replacen("name = \"x\"", "name = \"unknown-user\"", 1);
    let e = parse_str(&clash).unwrap_err();
    assert!(e.message.contains("e2e.profile.unknown-user"), "{e}");
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
    let long_token = format!("token = \"{}\"", "t".repeat(70_000));
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
        // A token longer than the world carries: a set-up error naming its size, not a FAIL
        // of the responder. 8 000 bytes (a real OIDC token) is within the limit.
        (
            "token = \"tok-a\"",
            long_token.as_str(),
            "is 70000 bytes in the CONNECT line",
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
    let long = BASE.replacen("tok-a", &"t".repeat(8_000), 1);
    parse_str(&long).expect("an 8 000-byte token is within what a world carries");
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

/// A scratch directory named `name` (created empty) under one of this process's own.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("callout-catalog-profile-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_profile_dir_with_spaces_and_braces_is_one_word_and_never_expanded() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch_dir("a {pass} b{bogus}");
    let script = dir.join("x.sh");
    std::fs::write(&script, "#!/bin/sh\necho \"tok-from-x $#\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let profile = dir.join("profile.toml");
    std::fs::write(
        &profile,
        r#"
[responder]
cmd = "{profile_dir}/resp.sh -url {url} -pass {pass} -users \"{profile_dir}/users.json\""

[[identity]]
name = "a"
cred_cmd = "{profile_dir}/x.sh"
expect = "admitted"
account = "APP"
"#,
    )
    .unwrap();
    let p = load(&profile).unwrap_or_else(|e| panic!("{e}"));
    let d = dir.display().to_string();
    // The cred_cmd runs the file in that directory, as one word, with no arguments.
    let cmd = p.identities[0].credential.cmd.clone().unwrap();
    assert_eq!(cmd.argv, [format!("{d}/x.sh")]);
    assert_eq!(cmd.mint().unwrap(), "tok-from-x 0");
    // The responder's command: the directory as it is, the password only where {pass} is.
    let ph = sut::Placeholders {
        url: "nats://127.0.0.1:1".into(),
        pass: "the-pass-9Zq".into(),
        ..Default::default()
    };
    let argv = p.responder.argv(&ph).unwrap();
    assert_eq!(
        argv,
        [
            format!("{d}/resp.sh"),
            "-url".into(),
            "nats://127.0.0.1:1".into(),
            "-pass".into(),
            "the-pass-9Zq".into(),
            "-users".into(),
            format!("{d}/users.json"),
        ]
    );
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}
