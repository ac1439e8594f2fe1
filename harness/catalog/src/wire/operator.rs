//! Operator-mode wire cases (`run --mode operator`): what a responder must put in an answer
//! when the server places users by the user JWT's issuer account (`protocol.md §3.2`), checked
//! byte for byte as the server checks it (`§2` rows 8, 16', 18, `§1.7` scoped signing keys).
//!
//! The phase runs on an operator-mode server whose callout account has no `authorization`
//! (so the harness may publish on `$SYS.REQ.USER.AUTH` in it), with the accounts APP1 and APP2
//! (plain signing keys) and APP3 (a scoped signing key); the responder gets the operator-mode
//! placeholders (`{creds}`, `{signing_keys}`, `{scoped_keys}`, `{issuer_seed}`) and the users
//! of [`operator_users`]. Requests name the callout account in `sub`, as the server does.

use callout_codec::Permission;
use serde_json::{json, Value};

use super::{mismatch, Config, Exchange, FakeServer, Finding, Forged, Kind, Who, WireCase};
use callout_leaves::verdict::Level;

/// carol's password: she is placed in APP3, whose signing key is scoped.
pub const CAROL_PASS: &str = "carol-pw-5Vn";

/// The account whose signing key is scoped.
pub const SCOPED_ACCOUNT: &str = "APP3";

/// The users of the operator phases: alice in APP1, bob in APP2 with the permissions of the
/// config-mode cases, carol in APP3 (scoped) with permissions the template must replace.
pub fn operator_users() -> Value {
    json!({
        "alice": {"pass": super::ALICE_PASS, "account": "APP1"},
        "bob": {"pass": super::BOB_PASS, "account": "APP2", "permissions": super::response::bob_permissions()},
        "carol": {"pass": CAROL_PASS, "account": SCOPED_ACCOUNT, "permissions": {
            "pub": {"allow": ["carol.>"]},
            "sub": {"allow": ["carol.>"]}
        }},
    })
}

/// The template of APP3's scoped key: (account, publish, subscribe).
pub fn scope() -> (String, Permission, Permission) {
    (
        SCOPED_ACCOUNT.into(),
        Permission {
            allow: vec!["app3.>".into()],
            deny: vec![],
        },
        Permission {
            allow: vec!["app3.>".into(), "_INBOX.>".into()],
            deny: vec![],
        },
    )
}

/// The operator-mode wire cases.
pub static CASES: &[WireCase] = &[
    WireCase {
        id: "wire.op.1",
        title: "the user JWT is issued by the target account",
        requirement: "alice's user JWT (users.json account APP1) is signed by APP1's key or one of APP1's signing keys, and names APP1 in issuer_account when a signing key signs",
        cite: "protocol.md §2 rows 16', 18 (Signing keys)",
        level: Level::Must,
        rationale: "operator mode places a user by the issuer account of the user JWT: signed by another key, or by a signing key without issuer_account, the server refuses the user or places her elsewhere",
        config: Config::Operator,
        needs: &[],
        kind: Kind::Response { who: Who::Alice, verify: alice_issued_by_app1 },
    },
    WireCase {
        id: "wire.op.2",
        title: "each account's users are signed with that account's key",
        requirement: "bob's user JWT (users.json account APP2) is issued by APP2, not by APP1 or the callout account",
        cite: "protocol.md §2 rows 16', 18",
        level: Level::Must,
        rationale: "a responder that signs every user with one key puts every user into one account, or gets them refused",
        config: Config::Operator,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: bob_issued_by_app2 },
    },
    WireCase {
        id: "wire.op.3",
        title: "the response is signed by the callout account or its signing key",
        requirement: "an unsealed response's iss is the callout account (the request's sub) or one of its signing keys",
        cite: "protocol.md §1.6 (Who must sign, operator mode); §2 row 8",
        level: Level::Must,
        rationale: "the server refuses an unsealed response from any other signer (Auth callout signing key is unknown); servers before 2.15.0 let a foreign signer through when it claims issuer_account = the callout account, so this is judged here, not left to the server",
        config: Config::Operator,
        needs: &[],
        kind: Kind::Response { who: Who::Alice, verify: response_signer },
    },
    WireCase {
        id: "wire.op.4",
        title: "the response's issuer_account, if set, is the callout account",
        requirement: "the response's issuer_account is absent or the callout account's public key",
        cite: "protocol.md §1.6 (Who must sign); §2 row 8",
        level: Level::Must,
        rationale: "the server checks issuer_account in place of iss: any other account there gets the answer refused, and claiming the callout account for a foreign signer is the spoof servers before 2.15.0 accepted",
        config: Config::Operator,
        needs: &[],
        kind: Kind::Response { who: Who::Alice, verify: response_issuer_account },
    },
    WireCase {
        id: "wire.op.5",
        title: "a plain signing key's user carries the users.json permissions",
        requirement: "bob's user JWT (APP2, plain signing key) has exactly his users.json pub/sub allow and deny lists and resp",
        cite: "protocol.md §1.7 (pub/sub/resp)",
        level: Level::Must,
        rationale: "with a plain signing key the user JWT is the only source of the client's permissions: dropping them gives bob all of APP2",
        config: Config::Operator,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: super::response::permissions },
    },
    WireCase {
        id: "wire.op.6",
        title: "a scoped key's user carries no permissions or limits",
        requirement: "carol's user JWT (APP3, scoped signing key) has no pub, sub, resp, subs, data, payload, src, times, bearer_token or allowed_connection_types (her users.json permissions give way to the template)",
        cite: "protocol.md §1.7 (Scoped signing keys)",
        level: Level::Must,
        rationale: "the server refuses a scoped user with any permission or limit of its own (scoped users require no permissions or limits set), Go's default -1 limits included",
        config: Config::Operator,
        needs: &[],
        kind: Kind::Response { who: Who::Carol, verify: scoped_user_is_empty },
    },
    WireCase {
        id: "wire.op.7",
        title: "a scoped account's user is issued by its scoped key",
        requirement: "carol's user JWT is signed by APP3's (scoped) signing key with issuer_account APP3",
        cite: "protocol.md §2 rows 16', 18; §1.7 (Scoped signing keys)",
        level: Level::Must,
        rationale: "the template applies only to users the scoped key signs; signed otherwise, carol is refused or lands elsewhere",
        config: Config::Operator,
        needs: &[],
        kind: Kind::Response { who: Who::Carol, verify: carol_issued_by_app3 },
    },
    WireCase {
        id: "wire.op.8",
        title: "a request for another callout account is not admitted",
        requirement: "a request whose sub names an account other than the callout account the responder serves is not answered with an admission",
        cite: "protocol.md §3.2 (Request)",
        level: Level::Should,
        rationale: "the server always names its callout account in sub; a request naming another one was not sent by this server's callout, and admitting it signs credentials for whoever sent it",
        config: Config::Operator,
        needs: &[],
        kind: Kind::Hostile(foreign_callout_account),
    },
    WireCase {
        id: "wire.op.9",
        title: "a sealed operator-mode request gets a sealed answer",
        requirement: "with the callout account's xkey, a sealed request for alice is answered sealed to the server's xkey and opens to a response",
        cite: "protocol.md §1.4; §3.2 (Enabling)",
        level: Level::Must,
        rationale: "the account JWT's xkey makes the server seal every request and open every answer; an unsealed answer to a sealed request exposes the user JWT",
        config: Config::OperatorSealed,
        needs: &[],
        kind: Kind::Response { who: Who::Alice, verify: sealed_answer },
    },
    WireCase {
        id: "wire.op.10",
        title: "a sealed answer's user JWT is still issued by the target account",
        requirement: "in the sealed answer, alice's user JWT is signed by APP1's key or signing key with issuer_account APP1",
        cite: "protocol.md §2 rows 16', 18",
        level: Level::Must,
        rationale: "sealing skips only the response-signer check; the user JWT's issuer decides the placement either way",
        config: Config::OperatorSealed,
        needs: &[],
        kind: Kind::Response { who: Who::Alice, verify: alice_issued_by_app1 },
    },
    WireCase {
        id: "wire.op.11",
        title: "a sealed response is signed by the callout account too",
        requirement: "a sealed response's iss is the callout account or one of its signing keys",
        cite: "protocol.md §1.6 (Who must sign)",
        level: Level::Should,
        rationale: "the server skips the signer check for sealed answers on every version seen, so a wrong signer works until the xkey is dropped or the server starts checking; NON-STRICT, not FAIL, because the server accepts it",
        config: Config::OperatorSealed,
        needs: &[],
        kind: Kind::Response { who: Who::Alice, verify: response_signer },
    },
];

/// The operator keys of the phase.
fn keys<'a>(x: &'a Exchange) -> Result<&'a callout_world::operator::OperatorKeys, super::Mismatch> {
    x.server
        .operator
        .as_deref()
        .ok_or_else(|| mismatch("an operator-mode phase", "a config-mode phase"))
}

/// The user JWT is signed by account `name` or one of its signing keys, with `issuer_account`
/// naming the account when a signing key signs (and never naming another account).
fn issued_by(x: &Exchange, name: &str) -> Finding {
    let k = keys(x)?;
    let t = k
        .target(name)
        .ok_or_else(|| mismatch(format!("account {name} in the fixture"), "none"))?;
    let u = x.user()?;
    let ia = &u.nats.issuer_account;
    let want = format!("signed by {name}'s key, or by its signing key with issuer_account {name}");
    if u.iss == t.account {
        if ia.is_empty() || *ia == t.account {
            return Ok(format!("signed by {name}'s own key"));
        }
        return Err(mismatch(
            want,
            format!(
                "signed by {name}'s own key with issuer_account = {}",
                k.whose(ia)
            ),
        ));
    }
    if t.signing_keys.contains(&u.iss) {
        if *ia == t.account {
            return Ok(format!(
                "signed by {name}'s signing key, issuer_account {name}"
            ));
        }
        let got = if ia.is_empty() {
            "no issuer_account (the server refuses it: the signer is no account)".to_string()
        } else {
            format!("issuer_account = {}", k.whose(ia))
        };
        return Err(mismatch(
            want,
            format!("signed by {name}'s signing key, {got}"),
        ));
    }
    Err(mismatch(
        want,
        format!(
            "signed by {}{}",
            k.whose(&u.iss),
            if ia.is_empty() {
                String::new()
            } else {
                format!(", issuer_account = {}", k.whose(ia))
            }
        ),
    ))
}

fn alice_issued_by_app1(x: &Exchange) -> Finding {
    issued_by(x, "APP1")
}

fn bob_issued_by_app2(x: &Exchange) -> Finding {
    issued_by(x, "APP2")
}

fn carol_issued_by_app3(x: &Exchange) -> Finding {
    issued_by(x, SCOPED_ACCOUNT)
}

fn response_signer(x: &Exchange) -> Finding {
    let k = keys(x)?;
    let r = x.response()?;
    if r.iss == k.callout_account || k.callout_signing_keys.contains(&r.iss) {
        Ok(format!("response signed by {}", k.whose(&r.iss)))
    } else {
        Err(mismatch(
            "a response signed by the callout account or one of its signing keys",
            format!("signed by {}", k.whose(&r.iss)),
        ))
    }
}

fn response_issuer_account(x: &Exchange) -> Finding {
    let k = keys(x)?;
    let r = x.response()?;
    let ia = &r.nats.issuer_account;
    if ia.is_empty() {
        Ok("no issuer_account".into())
    } else if *ia == k.callout_account {
        Ok("issuer_account = the callout account".into())
    } else {
        Err(mismatch(
            "no issuer_account, or the callout account",
            format!("issuer_account = {}", k.whose(ia)),
        ))
    }
}

fn scoped_user_is_empty(x: &Exchange) -> Finding {
    let u = x.user()?;
    let n = &u.nats;
    let set: Vec<&str> = [
        ("pub", !n.publish.is_empty()),
        ("sub", !n.subscribe.is_empty()),
        ("resp", n.resp.is_some()),
        ("subs", n.subs != 0),
        ("data", n.data != 0),
        ("payload", n.payload != 0),
        ("src", !n.src.is_empty()),
        ("times", !n.times.is_empty()),
        ("times_location", !n.times_location.is_empty()),
        ("bearer_token", n.bearer_token),
        ("proxy_required", n.proxy_required),
        (
            "allowed_connection_types",
            !n.allowed_connection_types.is_empty(),
        ),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(k, _)| k)
    .collect();
    if set.is_empty() {
        Ok("no permissions or limits: the template applies".into())
    } else {
        Err(mismatch(
            "no permissions or limits in a scoped user's JWT",
            format!("set: {}", set.join(", ")),
        ))
    }
}

fn sealed_answer(x: &Exchange) -> Finding {
    let d = x.decoded()?;
    if !d.sealed {
        return Err(mismatch(
            "a sealed answer",
            "a plain JWT (the user JWT crossed the wire in the clear)",
        ));
    }
    d.response
        .map(|_| "sealed to the server's xkey; opens to a response".to_string())
        .map_err(|e| mismatch("a sealed answer that opens", e))
}

fn foreign_callout_account(s: &FakeServer) -> Forged {
    let other = callout_codec::Signer::generate(callout_codec::KeyKind::Account);
    s.edited_for(&s.ids.alice, |c| c.sub = other.public_key().to_string())
}
