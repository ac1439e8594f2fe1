//! What a profile becomes: the `e2e.profile.N` cases (one per declared identity, then the
//! credentials nobody declared) and the identities the wire cases carry.

use serde_json::json;

use super::{Credential, Identity};
use crate::profile::NkeySeed;
use crate::scenario::{Case, ConnectExpect, Step};
use crate::wire::{Identities, Login};
use callout_leaves::verdict::Level;
use callout_world::client::SigMode;
use callout_world::spec::CertChoice;

/// The identities the wire cases carry: the first admitted identity without an expiry plays
/// both alice and bob. A minted credential is made again when each phase starts
/// ([`Identities::refresh`]).
pub(super) fn wire_identities(main: &Identity) -> Identities {
    let p = &main.placement;
    let declared = [&p.pub_allow, &p.pub_deny, &p.sub_allow, &p.sub_deny]
        .iter()
        .any(|l| l.is_some());
    let list = |l: &Option<Vec<String>>| json!(l.clone().unwrap_or_default());
    let login = Login {
        user: main.credential.user.clone(),
        pass: main.credential.pass.clone(),
        token: main.credential.token.clone(),
    };
    Identities {
        alice: login.clone(),
        bob: login,
        bob_account: p.account.clone().unwrap_or_default(),
        bob_permissions: declared.then(|| {
            json!({"pub": {"allow": list(&p.pub_allow), "deny": list(&p.pub_deny)},
                   "sub": {"allow": list(&p.sub_allow), "deny": list(&p.sub_deny)}})
        }),
        users_json: false,
        users: json!({}),
        refresh: Some(main.credential.clone()),
        keys: None,
        attach: None,
        sealing: true,
        auth_timeout: None,
        unusable: (!main.credential.wire_ready()).then(|| {
            "the profile's admitted identities log in with an nkey or a certificate only; the wire cases carry a password or a token: declare one such identity".to_string()
        }),
    }
}

fn case(
    id: String,
    title: String,
    requirement: String,
    cite: &str,
    rationale: &str,
    steps: Vec<Step>,
) -> Case {
    Case {
        id: format!("e2e.profile.{id}"),
        title,
        requirement,
        cite: cite.into(),
        level: Level::Must,
        rationale: rationale.into(),
        min_server: None,
        before_server: None,
        steps,
        line: 0,
    }
}

/// A connect of identity `who` (the name its nkey is known by) with `cred`.
fn connect(who: &str, cred: &Credential, expect: ConnectExpect) -> Step {
    Step::Connect {
        name: "c".into(),
        user: cred.user.clone(),
        pass: cred.pass.clone(),
        token: cred.token.clone(),
        nkey: cred.nkey_seed.as_ref().map(|_| who.to_string()),
        sig: Default::default(),
        expect,
        min_secs: None,
        cred_cmd: cred.cmd.clone(),
        tls: cred.cert_cn.is_some(),
        cert: cred
            .cert_cn
            .clone()
            .map(CertChoice::Stranger)
            .unwrap_or_default(),
        websocket: false,
        node: None,
        sentinel: true,
        creds: None,
    }
}

/// The policy cases of a profile, in order: one per identity, then the credentials nobody
/// declared.
pub(super) fn cases(identities: &[Identity], timeout: f64) -> (Vec<Case>, Vec<(String, NkeySeed)>) {
    let mut out = Vec::new();
    let mut nkeys: Vec<(String, NkeySeed)> = identities
        .iter()
        .filter_map(|i| Some((i.name.clone(), i.credential.nkey_seed.clone()?)))
        .collect();
    let hold = (timeout * 3.0).max(3.0);
    for i in identities {
        out.push(declared(i, hold));
    }
    let random = callout_world::credential::random_secret();
    nkey_refusals(identities, &mut out, &mut nkeys);
    unknown_credentials(identities, &random, &mut out);
    (out, nkeys)
}

/// The case of declared identity `i` (`e2e.profile.NAME.rejected`, `.admitted` or
/// `.expires`): rejected; admitted, placed and still admitted after `hold` seconds; or
/// admitted until its credential expires.
fn declared(i: &Identity, hold: f64) -> Case {
    let c = &i.credential;
    let id = |check: &str| format!("{}.{check}", i.name);
    match (i.expect, i.expires_in) {
        (ConnectExpect::Rejected | ConnectExpect::Refused | ConnectExpect::Closed, _) => case(
            id("rejected"),
            format!("{} is rejected", i.name),
            format!("the profile declares identity {:?} rejected: its CONNECT is refused with Authorization Violation", i.name),
            "protocol.md §2 (What the client sees)",
            "a credential the responder means to refuse lets its holder in",
            vec![connect(&i.name, c, ConnectExpect::Rejected)],
        ),
        (ConnectExpect::Admitted, None) => case(
            id("admitted"),
            format!(
                "{} is admitted into {} with its declared permissions and stays admitted",
                i.name,
                i.placement.account.as_deref().unwrap_or("")
            ),
            format!("identity {:?} is admitted, placed in the declared account with exactly the declared permissions (read back through $SYS.REQ.USER.INFO, or, when the responder rightly did not grant it, from the server's /connz and by publish and subscribe probes), and still connected {hold} s later, past the server's authorization timeout", i.name),
            "protocol.md §1.7 (aud); §1.8 (Session lifetime)",
            "a misplaced user reaches another account's data; a user JWT that expires early disconnects every client of this credential",
            vec![
                connect(&i.name, c, ConnectExpect::Admitted),
                Step::UserInfo { conn: "c".into(), expect: i.placement.clone() },
                Step::Sleep(hold),
                Step::Alive("c".into()),
            ],
        ),
        (ConnectExpect::Admitted, Some(x)) => case(
            id("expires"),
            format!("{} is admitted until its credential expires, then disconnected", i.name),
            format!("identity {:?}, whose credential expires {x} s after it is made, is admitted into the declared account, and the server disconnects it with User Authentication Expired by then: the user JWT's exp does not outlive the credential", i.name),
            "protocol.md §1.7 (exp); §1.8 (Session lifetime)",
            "a user JWT without the credential's expiry keeps a client connected after its credential ran out, for as long as the connection lasts",
            vec![
                connect(&i.name, c, ConnectExpect::Admitted),
                Step::UserInfo { conn: "c".into(), expect: i.placement.clone() },
                Step::Expire { conn: "c".into(), within: x + 3.0 },
            ],
        ),
    }
}

/// A credential with nothing set.
fn blank() -> Credential {
    Credential {
        user: None,
        pass: None,
        token: None,
        cmd: None,
        nkey_seed: None,
        cert_cn: None,
    }
}

/// Case `e2e.profile.ID`: a connect with `cred`, which nobody declared, is rejected.
fn rejected(id: String, title: &str, req: &str, cred: Credential) -> Case {
    case(
        id,
        title.into(),
        req.into(),
        "protocol.md §2 (What the client sees); §1.8 (token logins)",
        "deny by default: a credential the responder never issued lets anyone in",
        vec![connect("unknown", &cred, ConnectExpect::Rejected)],
    )
}

/// With an admitted nkey identity: its key with another key's signature, and a key nobody
/// has (added to `nkeys`), are rejected.
fn nkey_refusals(
    identities: &[Identity],
    out: &mut Vec<Case>,
    nkeys: &mut Vec<(String, NkeySeed)>,
) {
    let Some(i) = identities
        .iter()
        .find(|i| i.expect == ConnectExpect::Admitted && i.credential.nkey_seed.is_some())
    else {
        return;
    };
    let mut step = connect(&i.name, &i.credential, ConnectExpect::Rejected);
    if let Step::Connect { sig, .. } = &mut step {
        *sig = SigMode::WrongKey;
    }
    out.push(case(
        format!("{}.foreign-signature", i.name),
        format!("{}'s nkey with another key's signature is rejected", i.name),
        "a login with a declared public nkey whose nonce signature another key made is refused: the responder verifies sig (the server forwards it unverified)".into(),
        "protocol.md §1.8 (Who verifies the signature)",
        "public keys are public: admitting by nkey alone lets anyone log in as its owner",
        vec![step],
    ));
    let unknown = callout_codec::Signer::generate(callout_codec::KeyKind::User).seed();
    nkeys.push(("unknown-nkey".into(), NkeySeed::new(unknown)));
    out.push(case(
        "unknown-nkey".into(),
        "an unknown nkey is rejected".into(),
        "a login with an nkey no identity has, validly signed by its own key, is refused".into(),
        "protocol.md §1.8 (nkey logins)",
        "deny by default: a key the responder never knew lets anyone in",
        vec![connect(
            "unknown-nkey",
            &Credential {
                nkey_seed: Some(NkeySeed::new(String::new())),
                ..blank()
            },
            ConnectExpect::Rejected,
        )],
    ));
}

/// The certificates, tokens, users and passwords nobody declared (made with `random`), each
/// rejected, then a client without credentials.
fn unknown_credentials(identities: &[Identity], random: &str, out: &mut Vec<Case>) {
    if identities.iter().any(|i| i.credential.cert_cn.is_some()) {
        out.push(rejected(
            "unknown-cert".into(),
            "a certificate of an unknown subject is rejected",
            "a client certificate the server verified (the run's CA signed it), whose subject no identity has, is refused",
            Credential {
                cert_cn: Some(format!("unknown-{}", &random[..8])),
                ..blank()
            },
        ));
    }
    if identities.iter().any(|i| i.credential.is_token()) {
        out.push(rejected(
            "unknown-token".into(),
            "an unknown token is rejected",
            "a CONNECT with an auth_token no identity holds is refused",
            Credential {
                token: Some(format!("unknown-{random}")),
                ..blank()
            },
        ));
    }
    if let Some(i) = identities
        .iter()
        .find(|i| i.expect == ConnectExpect::Admitted && i.credential.is_token())
    {
        let mut cred = i.credential.clone();
        match &mut cred.cmd {
            Some(cmd) => cmd.alter = true,
            None => {
                cred.token = cred.token.as_deref().map(|t| {
                    Login::token(t)
                        .with_wrong_secret()
                        .token
                        .unwrap_or_default()
                })
            }
        }
        out.push(rejected(
            format!("{}.altered-token", i.name),
            &format!("{}'s token with its first character changed is rejected", i.name),
            "a token one character away from an admitted one is refused (the whole token is checked)",
            cred,
        ));
    }
    if let Some(i) = identities.iter().find(|i| {
        i.expect == ConnectExpect::Admitted
            && i.credential.user.is_some()
            && !i.credential.is_token()
    }) {
        out.push(rejected(
            format!("{}.wrong-password", i.name),
            &format!("{} with a wrong password is rejected", i.name),
            "a declared user with a password it does not have is refused",
            Credential {
                user: i.credential.user.clone(),
                pass: Some(format!("wrong-{random}")),
                ..blank()
            },
        ));
        out.push(rejected(
            "unknown-user".into(),
            "an unknown user is rejected",
            "a user name no identity has is refused",
            Credential {
                user: Some(format!("unknown-{}", &random[..8])),
                pass: Some(random.to_string()),
                ..blank()
            },
        ));
    }
    out.push(rejected(
        "no-credentials".into(),
        "a client without credentials is rejected",
        "a CONNECT with no user, password or token is refused",
        Credential {
            user: Some(String::new()),
            ..blank()
        },
    ));
}
