//! Responder profiles, end to end: `callout-conformance run --profile FILE` against real
//! nats-servers. The responder here is the reference reading a users.json of its own (in the
//! profile's directory, never the harness's), so the verdicts come from the declared
//! identities alone. Mutants prove the profile cases can fail; the quirk run proves they do not
//! fail a responder that merely writes its JSON differently.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const HARNESS: &str = env!("CARGO_BIN_EXE_callout-conformance");

fn workspace_bin(name: &str) -> PathBuf {
    let p = Path::new(HARNESS).with_file_name(name);
    assert!(
        p.is_file(),
        "build it first: cargo build -p callout-responder --bins (looked for {})",
        p.display()
    );
    p
}

/// The fixture profile in a scratch directory, its responder command starting `responder`
/// (a program and its leading arguments); `edit` changes the profile text.
fn profile_dir(responder: &str, edit: impl Fn(String) -> String) -> tempdir::Dir {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/profile-reference");
    let dir = tempdir::Dir::new("profile");
    std::fs::copy(fixtures.join("users.json"), dir.path().join("users.json")).unwrap();
    let text = std::fs::read_to_string(fixtures.join("profile.toml")).unwrap();
    let text = edit(text.replace("{responder_bin}", responder));
    std::fs::write(dir.path().join("profile.toml"), text).unwrap();
    dir
}

mod tempdir {
    /// A scratch directory removed on drop.
    pub struct Dir(std::path::PathBuf);
    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let p = std::env::temp_dir().join(format!(
                "callout-test-{tag}-{}-{:x}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Runs `run --profile` with `args`; returns the exit code, the verdict of every case id and
/// the JSON report's results.
fn run(dir: &tempdir::Dir, args: &[&str]) -> (i32, Vec<(String, String, String)>, String) {
    let json = dir.path().join("report.json");
    let out = Command::new(HARNESS)
        .arg("run")
        .arg("--no-color")
        .arg("--profile")
        .arg(dir.path().join("profile.toml"))
        .arg("--report-json")
        .arg(&json)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
        .unwrap_or_else(|_| {
            panic!(
                "no JSON report; stdout:\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let results = report["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_string(),
                r["verdict"].as_str().unwrap_or_default().to_string(),
                r["actual"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (out.status.code().unwrap_or(-1), results, stdout)
}

fn verdict<'a>(results: &'a [(String, String, String)], id: &str) -> &'a str {
    results
        .iter()
        .find(|r| r.0 == id)
        .map(|r| r.1.as_str())
        .unwrap_or_else(|| panic!("no result for {id}: {results:?}"))
}

#[test]
fn the_reference_with_users_of_its_own_passes_its_profile_strictly() {
    let responder = workspace_bin("callout-responder");
    let dir = profile_dir(&responder.display().to_string(), |t| t);
    let (code, results, stdout) = run(&dir, &["--strict"]);
    assert_eq!(code, 0, "{stdout}");
    // Five identities (password, token, rejected, nkey, certificate), then another key's
    // signature, an unknown nkey, an unknown certificate subject, an unknown token, an altered
    // token, a wrong password, an unknown user, none: each id names its identity and check.
    let want = [
        "e2e.profile.alice.admitted",
        "e2e.profile.svc.admitted",
        "e2e.profile.mallory-wrong.rejected",
        "e2e.profile.nk.admitted",
        "e2e.profile.carla.admitted",
        "e2e.profile.nk.foreign-signature",
        "e2e.profile.unknown-nkey",
        "e2e.profile.unknown-cert",
        "e2e.profile.unknown-token",
        "e2e.profile.svc.altered-token",
        "e2e.profile.alice.wrong-password",
        "e2e.profile.unknown-user",
        "e2e.profile.no-credentials",
    ];
    for id in want {
        assert_eq!(verdict(&results, id), "pass", "{id}\n{stdout}");
    }
    let profile_ids: Vec<&str> = results
        .iter()
        .map(|r| r.0.as_str())
        .filter(|id| id.starts_with("e2e.profile."))
        .collect();
    assert_eq!(profile_ids, want, "{results:?}");
    // The cases about the harness's own users.json entries do not apply; everything else ran.
    for id in ["wire.resp.9", "wire.resp.15", "wire.nkey.1", "wire.nkey.5"] {
        let r = results.iter().find(|r| r.0 == id).unwrap();
        assert_eq!(r.1, "skipped", "{id}");
        assert!(r.2.contains("users.json"), "{id}: {}", r.2);
    }
    for id in [
        "wire.resp.7",
        "wire.resp.8",
        "wire.resp.14",
        "wire.hostile.19",
        "wire.hostile.24",
        "wire.robust.1",
        "wire.seal.4",
    ] {
        assert_eq!(verdict(&results, id), "pass", "{id}\n{stdout}");
    }
    // Nothing from the catalog's users.json files runs from a profile.
    assert!(!results
        .iter()
        .any(|r| r.0.starts_with("e2e.") && !r.0.starts_with("e2e.profile.")));
    // `list --profile` lists exactly the cases the run judged, and `--left-out` the ones it
    // skipped, each with its reason.
    let listed = Command::new(HARNESS)
        .args(["list", "--left-out", "--profile"])
        .arg(dir.path().join("profile.toml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&listed.stdout).into_owned();
    let (judged, left) = text.split_once("\nleft out (").expect("a left-out section");
    let ids = |t: &str| -> Vec<String> {
        t.lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| w.starts_with("e2e.") || w.starts_with("wire."))
            .map(String::from)
            .collect()
    };
    let ran: Vec<String> = results
        .iter()
        .filter(|r| r.1 != "skipped")
        .map(|r| r.0.clone())
        .collect();
    let skipped: Vec<String> = results
        .iter()
        .filter(|r| r.1 == "skipped")
        .map(|r| r.0.clone())
        .collect();
    // The same cases (a run orders the wire cases by phase).
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(ids(judged)), sorted(ran), "{text}");
    // Left out: the skipped ones, and the operator-mode cases a profile never runs.
    let (operator, rest): (Vec<String>, Vec<String>) = ids(left)
        .into_iter()
        .partition(|id| id.starts_with("wire.op."));
    assert_eq!(sorted(rest), sorted(skipped), "{text}");
    assert_eq!(operator.len(), 11, "{text}");
    assert!(
        left.contains("-> operator mode only (run --mode operator)"),
        "{text}"
    );
    assert!(
        left.contains("-> skipped: needs the harness's users.json"),
        "{text}"
    );
}

#[test]
fn wire_cases_carry_a_token_when_the_main_identity_has_one() {
    let responder = workspace_bin("callout-responder");
    // svc (a token, account OPS, no declared permissions) becomes the first identity.
    let dir = profile_dir(&responder.display().to_string(), |t| {
        let at = t.find("[[identity]]\nname = \"svc\"").unwrap();
        let end = t[at + 1..]
            .find("[[identity]]")
            .map(|e| e + at + 1)
            .unwrap();
        let svc = t[at..end].to_string();
        let first = t.find("[[identity]]").unwrap();
        let mut out = t.replacen(&svc, "", 1);
        out.insert_str(first, &svc);
        out
    });
    let (code, results, stdout) = run(
        &dir,
        &["--strict", "wire.resp", "wire.hostile", "wire.robust"],
    );
    assert_eq!(code, 0, "{stdout}");
    for id in [
        "wire.resp.7",
        "wire.resp.14",
        "wire.hostile.19",
        "wire.hostile.24",
        "wire.robust.1",
        "wire.robust.2",
    ] {
        assert_eq!(verdict(&results, id), "pass", "{id}\n{stdout}");
    }
    // The token with invalid UTF-8 in it: refused (the reference stays silent: INFO), never admitted.
    assert_ne!(verdict(&results, "wire.hostile.18"), "fail", "{stdout}");
    let perms = results.iter().find(|r| r.0 == "wire.resp.8").unwrap();
    assert_eq!(perms.1, "skipped");
    assert!(perms.2.contains("declares no permissions"), "{}", perms.2);
}

#[test]
fn mutants_fail_the_profile_cases_that_name_their_defect() {
    let mutant = workspace_bin("callout-mutant").display().to_string();
    for (fault, caught) in [
        ("admit-unknown", &["e2e.profile.unknown-user"][..]),
        (
            "skip-nonce-check",
            &["e2e.profile.nk.foreign-signature"][..],
        ),
        ("admit-unknown-cert", &["e2e.profile.unknown-cert"][..]),
        (
            "short-expiry",
            &["e2e.profile.alice.admitted", "e2e.profile.svc.admitted"][..],
        ),
        (
            "no-account",
            &["e2e.profile.alice.admitted", "e2e.profile.svc.admitted"][..],
        ),
        ("ignore-deny", &[][..]),
    ] {
        let dir = profile_dir(&format!("{mutant} -fault {fault}"), |t| t);
        let (code, results, stdout) = run(&dir, &["--strict", "e2e.profile"]);
        if caught.is_empty() {
            // The profile declares no deny lists: nothing to catch, and nothing fails wrongly.
            assert_eq!(code, 0, "{fault}\n{stdout}");
            continue;
        }
        assert_eq!(code, 1, "{fault}\n{stdout}");
        for id in caught {
            assert_eq!(verdict(&results, id), "fail", "{fault}: {id}\n{stdout}");
        }
        // The rejections of declared-rejected identities hold for every mutant here.
        assert_eq!(
            verdict(&results, "e2e.profile.mallory-wrong.rejected"),
            "pass",
            "{fault}\n{stdout}"
        );
    }
}

#[test]
fn a_responder_with_other_json_habits_gets_the_same_verdicts() {
    let mutant = workspace_bin("callout-mutant").display().to_string();
    let dir = profile_dir(&format!("{mutant} -quirk json-nulls,header-order"), |t| t);
    let (code, results, stdout) = run(&dir, &["--strict", "e2e.profile", "wire.resp"]);
    assert_eq!(code, 0, "{stdout}");
    // As for the reference: everything passes, but wire.resp.17 (MAY), which records that
    // a users.json password gives a user JWT without exp.
    assert!(
        results.iter().all(|r| r.1 == "pass"
            || r.1 == "skipped"
            || (r.0 == "wire.resp.17" && r.1 == "informational")),
        "{results:?}"
    );
}

#[test]
fn profile_mistakes_are_usage_errors_naming_file_line_and_fix() {
    let responder = workspace_bin("callout-responder").display().to_string();
    for (edit, want) in [
        (
            (
                "expect = \"admitted\"\naccount = \"APP\"",
                "expect = \"admited\"\naccount = \"APP\"",
            ),
            "expect = \"admited\": use \"admitted\" or \"rejected\"",
        ),
        (
            ("pass = \"alice-Profile-pw-1\"", "pasword = \"x\""),
            "unknown field `pasword`",
        ),
        (
            ("-users {profile_dir}", "-users {profiledir}"),
            "unknown placeholder {profiledir}",
        ),
        (
            ("name = \"mallory-wrong\"", "name = \"unknown-user\""),
            "the case ids e2e.profile.unknown-user and e2e.profile.unknown-user.rejected clash",
        ),
        (
            ("expect = \"admitted\"", "expect = \"rejected\""),
            "account, permissions and expires_in describe an admission",
        ),
    ] {
        let dir = profile_dir(&responder, |t| {
            assert!(t.contains(edit.0), "{}", edit.0);
            t.replacen(edit.0, edit.1, 1)
        });
        let file = dir.path().join("profile.toml");
        let out = Command::new(HARNESS)
            .args(["run", "--profile"])
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{want}: {stderr}");
        assert!(stderr.contains(want), "{want}: {stderr}");
        assert!(stderr.contains(&format!("{}:", file.display())), "{stderr}");
    }
    // A profile and --responder-cmd exclude each other.
    let dir = profile_dir(&responder, |t| t);
    let out = Command::new(HARNESS)
        .args(["run", "--responder-cmd", "x", "--profile"])
        .arg(dir.path().join("profile.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn a_responder_with_keys_of_its_own_is_judged_by_them() {
    use callout_codec::{CurveSecret, KeyKind, Signer};
    let responder = workspace_bin("callout-responder").display().to_string();
    let issuer = Signer::generate(KeyKind::Account);
    let xkey = CurveSecret::generate();
    let dir = profile_dir(&responder, |t| {
        t.replace(
            "-issuer.seed {issuer_seed}",
            &format!("-issuer.seed {}", issuer.seed()),
        )
        .replace(
            "-xkey.seed {xkey_seed}",
            &format!("-xkey.seed {}", xkey.seed()),
        )
        .replace(
            "[server]",
            &format!(
                "[keys]\nissuer = \"{}\"\nxkey = \"{}\"\n\n[server]",
                issuer.public_key(),
                xkey.public().as_str()
            ),
        )
    });
    let (code, results, stdout) = run(&dir, &["--strict", "e2e.profile.alice.admitted", "wire"]);
    assert_eq!(code, 0, "{stdout}");
    for id in [
        "e2e.profile.alice.admitted",
        "wire.resp.1",
        "wire.resp.3",
        "wire.resp.14",
        "wire.seal.1",
        "wire.seal.2",
        "wire.seal.4",
        "wire.hostile.24",
        "wire.robust.2",
    ] {
        assert_eq!(verdict(&results, id), "pass", "{id}\n{stdout}");
    }
    // Every request to a server with an xkey is sealed: the plain-only cases do not apply.
    for id in ["wire.hostile.16", "wire.robust.1"] {
        let r = results.iter().find(|r| r.0 == id).unwrap();
        assert_eq!(r.1, "skipped", "{id}");
        assert!(r.2.contains("its own xkey"), "{id}: {}", r.2);
    }
    // The harness's placeholders would hand it seeds it does not use: a mistake.
    let dir = profile_dir(&responder, |t| {
        t.replace(
            "[server]",
            &format!(
                "[keys]\nissuer = \"{}\"\nxkey = \"{}\"\n\n[server]",
                issuer.public_key(),
                xkey.public().as_str()
            ),
        )
    });
    let out = Command::new(HARNESS)
        .args(["run", "--profile"])
        .arg(dir.path().join("profile.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("brings its own keys"));
}

#[test]
fn an_already_running_responder_is_judged_where_it_connects_and_never_restarted() {
    use callout_codec::{CurveSecret, KeyKind, Signer};
    let responder = workspace_bin("callout-responder");
    let issuer = Signer::generate(KeyKind::Account);
    let xkey = CurveSecret::generate();
    let port = callout_conformance::server::free_port();
    let dir = profile_dir("unused", |t| {
        let cmd_line = t
            .lines()
            .find(|l| l.starts_with("cmd = "))
            .unwrap()
            .to_string();
        t.replace(
            &cmd_line,
            &format!("url = \"nats://127.0.0.1:{port}\"\nuser = \"ext-auth\"\npass = \"ext-auth-Secret-4Rt\""),
        )
        .replace(
            "[server]",
            &format!(
                "[keys]\nissuer = \"{}\"\nxkey = \"{}\"\n\n[server]",
                issuer.public_key(),
                xkey.public().as_str()
            ),
        )
    });
    // The responder runs before the harness does, retrying its connection until a server
    // listens on its port.
    let mut running = Command::new(&responder)
        .args(["-nats.url", &format!("nats://127.0.0.1:{port}")])
        .args([
            "-nats.user",
            "ext-auth",
            "-nats.pass",
            "ext-auth-Secret-4Rt",
        ])
        .args(["-issuer.seed", &issuer.seed(), "-xkey.seed", &xkey.seed()])
        .arg("-users")
        .arg(dir.path().join("users.json"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (code, results, stdout) = run(
        &dir,
        &[
            "--strict",
            "e2e.profile.alice.admitted",
            "e2e.profile.mallory-wrong.rejected",
            "wire.resp",
            "wire.seal",
        ],
    );
    let still_running = running.try_wait().unwrap().is_none();
    let _ = running.kill();
    let _ = running.wait();
    assert_eq!(code, 0, "{stdout}");
    for id in [
        "e2e.profile.alice.admitted",
        "e2e.profile.mallory-wrong.rejected",
        "wire.resp.3",
        "wire.resp.7",
        "wire.seal.4",
    ] {
        assert_eq!(verdict(&results, id), "pass", "{id}\n{stdout}");
    }
    assert!(
        still_running,
        "the harness must not stop a responder it did not start"
    );
    assert!(!stdout.contains("ext-auth-Secret-4Rt"), "{stdout}");
}

/// A responder without xkey support says so with `sealing = false`: the sealed wire cases are
/// UNIMPLEMENTED and nothing fails (before, the sealed phase ran anyway, took any reply for
/// readiness, and failed each case with a restart).
#[test]
fn a_profile_without_sealing_gets_the_sealed_cases_unimplemented() {
    let mutant = workspace_bin("callout-mutant").display().to_string();
    let dir = profile_dir(&format!("{mutant} -quirk no-xkey"), |t| {
        t.replace("[responder]\n", "[responder]\nsealing = false\n")
    });
    let (code, results, stdout) = run(&dir, &["wire.seal", "wire.resp.1"]);
    assert_eq!(code, 0, "{stdout}");
    let sealed: Vec<_> = results
        .iter()
        .filter(|r| r.0.starts_with("wire.seal."))
        .collect();
    assert!(!sealed.is_empty(), "{results:?}");
    assert!(sealed.iter().all(|r| r.1 == "unimplemented"), "{results:?}");
    assert!(
        sealed.iter().all(|r| r.2.contains("sealing = false")),
        "{results:?}"
    );
    assert_eq!(verdict(&results, "wire.resp.1"), "pass", "{results:?}");
}

/// Issue 25, family 2: a responder owes an identity its own permissions, never
/// `$SYS.REQ.USER.INFO` or `_INBOX.>` for the harness. Identities whose permissions leave those
/// out are judged from the server's side (the account from `/connz`) and by behaviour (publish
/// and subscribe probes); a misplaced identity and one with other permissions still FAIL,
/// each named for its own defect.
#[test]
fn identities_without_a_read_back_grant_are_judged_from_the_server_side() {
    let responder = workspace_bin("callout-responder");
    let dir = tempdir::Dir::new("profile-narrow");
    std::fs::write(
        dir.path().join("users.json"),
        r#"{
  "alice": {"pass": "alice-Narrow-pw-1", "account": "APP",
            "permissions": {"pub": {"allow": ["app.>"]}, "sub": {"allow": ["app.>"]}}},
  "svc": {"pass": "svc-Narrow-pw-2", "account": "OPS",
          "permissions": {"pub": {"allow": ["ops.>"]}, "sub": {"deny": [">"]}}},
  "bob": {"pass": "bob-Narrow-pw-3", "account": "OPS",
          "permissions": {"pub": {"allow": ["bob.>"]}}},
  "dave": {"pass": "dave-Narrow-pw-4", "account": "APP",
           "permissions": {"pub": {"allow": ["other.>"]}}}
}"#,
    )
    .unwrap();
    let profile = format!(
        r#"name = "narrow"
[responder]
cmd = "{} -nats.url {{url}} -nats.user {{user}} -nats.pass {{pass}} -issuer.seed {{issuer_seed}} -xkey.seed {{xkey_seed}} -users {{profile_dir}}/users.json"
[server]
accounts = ["APP", "OPS"]

[[identity]]
name = "alice"
user = "alice"
pass = "alice-Narrow-pw-1"
expect = "admitted"
account = "APP"
pub_allow = ["app.>"]
sub_allow = ["app.>"]

[[identity]]
name = "svc"
user = "svc"
pass = "svc-Narrow-pw-2"
expect = "admitted"
account = "OPS"

[[identity]]
name = "bob"
user = "bob"
pass = "bob-Narrow-pw-3"
expect = "admitted"
account = "APP"
pub_allow = ["bob.>"]

[[identity]]
name = "dave"
user = "dave"
pass = "dave-Narrow-pw-4"
expect = "admitted"
account = "APP"
pub_allow = ["dave.>"]
"#,
        responder.display()
    );
    std::fs::write(dir.path().join("profile.toml"), profile).unwrap();
    let (code, results, stdout) = run(&dir, &["--strict", "e2e.profile"]);
    assert_eq!(code, 1, "bob and dave fail\n{stdout}");
    assert_eq!(
        verdict(&results, "e2e.profile.alice.admitted"),
        "pass",
        "{stdout}"
    );
    assert_eq!(
        verdict(&results, "e2e.profile.svc.admitted"),
        "pass",
        "{stdout}"
    );
    let actual = |id: &str| results.iter().find(|r| r.0 == id).unwrap().2.clone();
    assert_eq!(
        verdict(&results, "e2e.profile.bob.admitted"),
        "fail",
        "{stdout}"
    );
    assert!(
        actual("e2e.profile.bob.admitted").contains("account OPS"),
        "{stdout}"
    );
    assert_eq!(
        verdict(&results, "e2e.profile.dave.admitted"),
        "fail",
        "{stdout}"
    );
    assert!(
        actual("e2e.profile.dave.admitted").contains("publish to \"dave.p.q\" refused"),
        "{stdout}"
    );
    // The transcript says how the placement was read.
    assert!(stdout.contains("/connz"), "{stdout}");
}

/// Issue 25, family 1: the wire phases play a server with the profile's `[server] timeout`. A
/// responder answering in 1.2 to 1.3 s is late for the default 1 s (FAIL, see judge.rs) and in
/// time for a profile that declares 2 s: end to end and on the wire alike.
#[test]
fn the_wire_phases_wait_the_profiles_authorization_timeout() {
    let mutant = workspace_bin("callout-mutant");
    let slow = format!("{} -quirk slow-answers=1200..1300", mutant.display());
    let dir = profile_dir(&slow, |t| {
        t.replace(
            "accounts = [\"APP\", \"OPS\"]",
            "accounts = [\"APP\", \"OPS\"]\ntimeout = 2.0",
        )
    });
    let (code, results, stdout) = run(
        &dir,
        &["--strict", "e2e.profile.alice.admitted", "wire.resp.1"],
    );
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        verdict(&results, "e2e.profile.alice.admitted"),
        "pass",
        "{stdout}"
    );
    assert_eq!(verdict(&results, "wire.resp.1"), "pass", "{stdout}");
}

/// Issue 23, items 6 and 9: a profile's mistakes are set-up errors (exit 2) that name the
/// profile and the fix, never a FAIL of the responder; and no error shows a secret: a seed
/// where a public key belongs, a password in the responder's url, a token a broken cred_cmd
/// echoed to stderr.
#[test]
fn profile_mistakes_are_set_up_errors_that_show_no_secret() {
    use callout_codec::{CurveSecret, KeyKind, Signer};
    let responder = workspace_bin("callout-responder").display().to_string();
    let (issuer, other, xkey) = (
        Signer::generate(KeyKind::Account),
        Signer::generate(KeyKind::Account),
        CurveSecret::generate(),
    );
    let keys = |declared: &str, x: &str| {
        let (declared, x) = (declared.to_string(), x.to_string());
        let seed = issuer.seed();
        let xseed = xkey.seed();
        move |t: String| {
            t.replace(
                "-issuer.seed {issuer_seed}",
                &format!("-issuer.seed {seed}"),
            )
            .replace("-xkey.seed {xkey_seed}", &format!("-xkey.seed {xseed}"))
            .replace(
                "[server]",
                &format!("[keys]\nissuer = \"{declared}\"\nxkey = \"{x}\"\n\n[server]"),
            )
        }
    };
    let stderr_of = |dir: &tempdir::Dir, args: &[&str]| {
        let out = Command::new(HARNESS)
            .args(["run", "--no-color", "--profile"])
            .arg(dir.path().join("profile.toml"))
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    // A seed where a public key belongs: refused, and not shown.
    for (i, x) in [
        (issuer.seed(), xkey.public().as_str().to_string()),
        (issuer.public_key().to_string(), xkey.seed()),
    ] {
        let dir = profile_dir(&responder, keys(&i, &x));
        let (code, text) = stderr_of(&dir, &[]);
        assert_eq!(code, Some(2), "{text}");
        assert!(text.contains("is a seed (S…"), "{text}");
        assert!(
            !text.contains(&issuer.seed()) && !text.contains(&xkey.seed()),
            "{text}"
        );
    }
    // A password in the url of an already running responder: refused, and not shown.
    let dir = profile_dir(&responder, |t| {
        let cmd = t
            .lines()
            .find(|l| l.starts_with("cmd = "))
            .unwrap()
            .to_string();
        t.replace(
            &cmd,
            "url = \"nats://svc:Url-Secret-77@127.0.0.1:4333\"\nuser = \"svc\"\npass = \"Url-Secret-77\"",
        )
    });
    let (code, text) = stderr_of(&dir, &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(!text.contains("Url-Secret-77"), "{text}");
    // The responder signs with a key other than the declared one: a set-up error naming the
    // key it signs with, end to end and on the wire.
    let dir = profile_dir(&responder, keys(other.public_key(), xkey.public().as_str()));
    for filter in ["e2e.profile.alice.admitted", "wire.resp.1"] {
        let (code, text) = stderr_of(&dir, &[filter]);
        assert_eq!(code, Some(2), "{filter}: {text}");
        assert!(
            text.contains(&format!("[keys] issuer = \"{}\"", issuer.public_key())),
            "{filter}: {text}"
        );
    }
    // A cred_cmd that fails, echoing its token to stderr: a set-up error naming the profile
    // line, without the token.
    let dir = profile_dir(&responder, |t| {
        t.replace(
            "[[identity]]\nname = \"svc\"\ntoken = \"svc-Profile-token-7Hq2\"",
            "[[identity]]\nname = \"svc\"\ncred_cmd = \"sh -c 'echo Minted-Tok-31; echo token Minted-Tok-31 >&2; exit 141'\"",
        )
    });
    let (code, text) = stderr_of(&dir, &["e2e.profile"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("profile.toml:"), "{text}");
    assert!(text.contains("identity \"svc\": cred_cmd"), "{text}");
    assert!(!text.contains("Minted-Tok-31"), "{text}");
}

/// Issue 22, items 1 and 2: `bench --profile` measures the profile's responder with the
/// identity its wire cases use (here a password minted by a cred_cmd before each connect,
/// outside the clock): every connect and every request is admitted, and each row carries the
/// responder's CPU time per authorization and its peak memory.
#[test]
fn bench_takes_a_profile_and_reports_the_responders_cost() {
    let responder = workspace_bin("callout-responder");
    let dir = profile_dir(&responder.display().to_string(), |t| {
        t.replace(
            "user = \"alice\"\npass = \"alice-Profile-pw-1\"",
            "user = \"alice\"\ncred_cmd = \"echo alice-Profile-pw-1\"\ncred = \"pass\"",
        )
    });
    let json = dir.path().join("bench.json");
    let out = Command::new(HARNESS)
        .args(["bench", "--profile"])
        .arg(dir.path().join("profile.toml"))
        .args(["--connects", "20", "--requests", "300", "--inflight", "8"])
        .args(["--instances", "1", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let run = &r["runs"][0];
    assert_eq!(run["responder"], "reference-own-users", "{run}");
    let c = &run["connect"];
    assert_eq!(c["failures"], 0, "{c}");
    assert_eq!(
        c["mint"]["n"], 20,
        "a cred_cmd ran before each timed connect: {c}"
    );
    assert!(c["responder_cpu_us_per_auth"].as_f64().is_some(), "{c}");
    let w = &run["wire"][0];
    assert_eq!(
        (w["answered"].as_u64(), w["admitted"].as_u64()),
        (Some(300), Some(16)),
        "{w}"
    );
    assert!(
        w["responder_cpu_us_per_auth"].as_f64().unwrap() > 0.0,
        "{w}"
    );
    assert!(w["responder_peak_rss_kib"].as_u64().unwrap() > 0, "{w}");
    assert!(w["stopped"].is_null(), "{w}");
    assert!(
        text.contains("CPU/auth") && text.contains("cred_cmd before each connect"),
        "{text}"
    );
}

/// Issue 23, item 8: a real OIDC token is 8 KB or more, twice nats-server's default control
/// line (4096 bytes). The harness's servers take it, so a responder that admits it passes; a
/// credential longer than any world carries is a usage error naming its size, not a FAIL.
#[test]
fn an_eight_kilobyte_token_is_carried_and_a_longer_than_allowed_one_is_a_setup_error() {
    let responder = workspace_bin("callout-responder").display().to_string();
    let token = format!("oidc-{}xyz", "Ab3x".repeat(1998));
    assert_eq!(token.len(), 8_000);
    let identity = |token: &str| {
        format!("\n[[identity]]\nname = \"oidc\"\ntoken = \"{token}\"\nexpect = \"admitted\"\naccount = \"OPS\"\n")
    };
    let dir = profile_dir(&responder, |t| t + &identity(&token));
    let users = dir.path().join("users.json");
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(&users).unwrap()).unwrap();
    json["oidc"] = serde_json::json!({"token": token, "account": "OPS"});
    std::fs::write(&users, serde_json::to_string(&json).unwrap()).unwrap();
    let (code, results, stdout) = run(&dir, &["--strict", "e2e.profile.oidc.admitted"]);
    assert_eq!(
        verdict(&results, "e2e.profile.oidc.admitted"),
        "pass",
        "{stdout}"
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains(&token), "the token is a secret: {stdout}");

    let huge = "h".repeat(70_000);
    let dir = profile_dir(&responder, |t| t + &identity(&huge));
    let out = Command::new(HARNESS)
        .args(["run", "--profile"])
        .arg(dir.path().join("profile.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("identity \"oidc\"")
            && stderr.contains("is 70000 bytes in the CONNECT line"),
        "{stderr}"
    );
    assert!(!stderr.contains("hhhhhhhh"), "{stderr}");
}
