//! `callout-conformance diff`: the same identities against two responders, on the same server
//! version, and what each decided, compared field by field. For people porting a responder
//! between languages or backends: both are sent the same good requests (the harness plays the
//! server, as in the wire cases) and the decoded user JWTs (account, permissions, limits, the
//! expiry relative to the JWT's `iat`, the name) or error texts are compared; what must differ
//! between two runs (keys, `jti`, `sub` = the request's user key, times) is left out.
//!
//! The identities: the harness's users.json (alice, bob with permissions, bob with a wrong
//! password, a user without a password, an unknown user), or, with `--profile`, the
//! credential of each case of the profile that logs in with a password or a token (the
//! declared identities and the undeclared credentials the profile's cases try), the profile's
//! responder being the first of the two.
//!
//! Exit codes: 0 the same decisions, 1 a difference, 2 a set-up or usage error.

mod args;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use callout_catalog::scenario::Step;
use callout_catalog::wire::{judge, Config, Judged};
use callout_judge::phase::{Phase, PhaseError};
use callout_world::credential::Login;
use callout_world::fixture::ProcessBackend;

use crate::provision::{self, ServerBinary};
use crate::sut::ResponderSpec;

pub use args::{DiffArgs, DiffOptions};

/// A login the two responders are asked about, and what it is.
#[derive(Clone, Debug)]
pub struct Probe {
    /// What the login is (`alice`, `e2e.profile.unknown-user`).
    pub label: String,
    /// Its credential (minted already, for a profile's cred_cmd).
    pub login: Login,
}

/// One field that differs.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Difference {
    /// The login.
    pub identity: String,
    /// The JSON path of the field (`admitted.nats.pub.deny`).
    pub field: String,
    /// The first responder's value (`null`: absent).
    pub first: Value,
    /// The second's.
    pub second: Value,
}

/// The JSON output.
#[derive(Clone, Debug, Serialize)]
pub struct DiffReport {
    /// Harness version.
    pub tool_version: String,
    /// nats-server version.
    pub server_version: String,
    /// The two responders' names.
    pub responders: [String; 2],
    /// The identities compared.
    pub identities: Vec<String>,
    /// Every field that differs.
    pub differences: Vec<Difference>,
}

/// The decision an answer carries, with what must differ between two runs left out.
pub fn decision(j: &Judged) -> Value {
    match j {
        Judged::Admitted(u) => {
            let mut v = serde_json::to_value(u.as_ref()).unwrap_or(Value::Null);
            let iat = v["iat"].as_i64().unwrap_or(0);
            if let Some(m) = v.as_object_mut() {
                for k in ["iat", "jti", "iss", "sub"] {
                    m.remove(k);
                }
                if let Some(exp) = m.remove("exp").and_then(|e| e.as_i64()) {
                    m.insert("exp_after_iat_s".into(), json!(exp - iat));
                }
            }
            if let Some(ia) = v.pointer_mut("/nats/issuer_account") {
                // A key: which one differs between runs; that there is one does not.
                *ia = json!("(an account key)");
            }
            json!({ "admitted": v })
        }
        Judged::Error(e) => json!({ "refused": e }),
        Judged::EmptyBody => json!({ "refused": "(an empty body)" }),
        Judged::Garbage(g) => json!({ "unusable answer": g }),
        Judged::Silence => json!({ "no answer": true }),
        Judged::NoResponders => json!({ "no responder": true }),
    }
}

/// Flattens `v` into `path -> leaf` (arrays are leaves, compared whole).
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), v.clone());
        }
    }
}

/// The fields in which two decisions about `identity` differ.
pub fn compare(identity: &str, a: &Value, b: &Value) -> Vec<Difference> {
    let (mut fa, mut fb) = (BTreeMap::new(), BTreeMap::new());
    flatten("", a, &mut fa);
    flatten("", b, &mut fb);
    let fields: std::collections::BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    fields
        .into_iter()
        .filter_map(|f| {
            let (x, y) = (fa.get(f), fb.get(f));
            (x != y).then(|| Difference {
                identity: identity.to_string(),
                field: f.clone(),
                first: x.cloned().unwrap_or(Value::Null),
                second: y.cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// The logins of the harness's users.json.
fn harness_probes() -> Vec<Probe> {
    use callout_catalog::wire::{ALICE_PASS, BOB_PASS};
    [
        ("alice", Login::password("alice", ALICE_PASS)),
        ("bob", Login::password("bob", BOB_PASS)),
        (
            "bob with a wrong password",
            Login::password("bob", BOB_PASS).with_wrong_secret(),
        ),
        (
            "nopass with an empty password",
            Login::password("nopass", ""),
        ),
        (
            "an unknown user",
            Login::password("nobody-here", "some-pw-1"),
        ),
    ]
    .into_iter()
    .map(|(l, login)| Probe {
        label: l.into(),
        login,
    })
    .collect()
}

/// The logins of a profile: the first connect of each case that logs in with a password or a
/// token (a cred_cmd minted now).
pub fn profile_probes(p: &crate::profile::Profile) -> Result<Vec<Probe>, String> {
    let mut out = Vec::new();
    for c in &p.scenario.cases {
        let Some(Step::Connect {
            user,
            pass,
            token,
            cred_cmd,
            nkey: None,
            tls: false,
            ..
        }) = c.steps.first()
        else {
            continue;
        };
        let mut login = Login {
            user: user.clone(),
            pass: pass.clone(),
            token: token.clone(),
        };
        if let Some(cmd) = cred_cmd {
            let secret = cmd.mint()?;
            match cmd.kind {
                crate::profile::CredKind::Token => login.token = Some(secret),
                crate::profile::CredKind::Password => login.pass = Some(secret),
            }
        }
        out.push(Probe {
            label: c.id.clone(),
            login,
        });
    }
    Ok(out)
}

/// What `responder` decides for each probe, the harness playing a server with `config`.
async fn decisions(
    bin: &ServerBinary,
    responder: &ResponderSpec,
    config: Config,
    probes: &[Probe],
    opts: &DiffOptions,
) -> Result<Vec<Value>, String> {
    let mut phase = Phase::start(&ProcessBackend, bin, responder, config, opts.ready_timeout)
        .await
        .map_err(|e| match e {
            PhaseError::Setup(m, stderr) | PhaseError::Unimplemented(m, stderr) => {
                format!("{}: {m}\n{stderr}", responder.name)
            }
        })?;
    let mut out = Vec::new();
    for p in probes {
        let f = phase.server.good_for(&p.login);
        let (_, answer) = phase.injector.send_forged(&f).await;
        out.push(decision(&judge(&answer, &phase.server)));
    }
    phase.proc.stop(std::time::Duration::from_secs(5));
    Ok(out)
}

/// Runs the comparison; the report, or a set-up error.
pub async fn diff(
    bin: &ServerBinary,
    pair: &[ResponderSpec; 2],
    probes: &[Probe],
    opts: &DiffOptions,
) -> Result<DiffReport, String> {
    let config = if opts.sealed {
        Config::Sealed
    } else {
        Config::Plain
    };
    let a = decisions(bin, &pair[0], config, probes, opts).await?;
    let b = decisions(bin, &pair[1], config, probes, opts).await?;
    let differences = probes
        .iter()
        .zip(a.iter().zip(&b))
        .flat_map(|(p, (x, y))| compare(&p.label, x, y))
        .collect();
    Ok(DiffReport {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        server_version: bin.version.clone(),
        responders: [pair[0].name.clone(), pair[1].name.clone()],
        identities: probes.iter().map(|p| p.label.clone()).collect(),
        differences,
    })
}

/// The terminal text.
pub fn text(r: &DiffReport) -> String {
    let mut out = format!(
        "diff of {} and {} on nats-server {} ({} identities)\n",
        r.responders[0],
        r.responders[1],
        r.server_version,
        r.identities.len()
    );
    for id in &r.identities {
        let d: Vec<&Difference> = r.differences.iter().filter(|d| &d.identity == id).collect();
        if d.is_empty() {
            out.push_str(&format!("  {id}: the same\n"));
            continue;
        }
        out.push_str(&format!("  {id}:\n"));
        for x in d {
            out.push_str(&format!(
                "    {}: {} | {}\n",
                x.field,
                callout_leaves::text::visible(&x.first.to_string()),
                callout_leaves::text::visible(&x.second.to_string())
            ));
        }
    }
    out.push_str(&format!("{} difference(s)\n", r.differences.len()));
    out
}

/// `callout-conformance diff`; returns the exit code.
pub fn main(opts: DiffOptions) -> i32 {
    let run = || -> Result<DiffReport, String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?;
        let bin = provision::resolve(&opts.version, opts.nats_server.as_deref())
            .map_err(|e| e.to_string())?;
        let probes = match &opts.profile {
            Some(p) => profile_probes(p)?,
            None => harness_probes(),
        };
        rt.block_on(diff(&bin, &opts.pair, &probes, &opts))
    };
    let report = match run() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("callout-conformance diff: {e}");
            return 2;
        }
    };
    print!("{}", text(&report));
    if let Some(path) = &opts.json {
        let json = serde_json::to_string_pretty(&report).unwrap_or_default();
        if let Err(e) = std::fs::write(path, json) {
            eprintln!(
                "callout-conformance diff: cannot write {}: {e}",
                path.display()
            );
            return 2;
        }
    }
    if report.differences.is_empty() {
        0
    } else {
        1
    }
}
