//! What a bench measures besides the responder: the world both rigs start from and the login
//! the responder admits. The catalog's own bench user (in the users.json the harness hands the
//! responder), or, with `--profile`, the profile's world and the identity its wire cases use
//! (a password or a token, minted by its `cred_cmd` outside the clock).

use std::sync::Arc;
use std::time::{Duration, Instant};

use callout_world::credential::{Identities, Login};
use callout_world::spec::{AuthUser, WorldSpec};

use super::{BENCH_PASS, BENCH_USER, BYPASS_PASS, BYPASS_USER, SYS_ACCOUNT};

/// A profile's part of a bench (`bench --profile FILE`).
#[derive(Clone, Debug)]
pub struct BenchProfile {
    /// The profile's world (its accounts, keys, timeout).
    pub world: WorldSpec,
    /// Its identities: `alice` is the login measured, `refresh` mints it again.
    pub ids: Arc<Identities>,
}

/// The login the responder admits, made again before each use when it is minted.
#[derive(Clone, Debug)]
pub struct Admitted {
    fixed: Login,
    minted: Option<Arc<Identities>>,
}

impl Admitted {
    /// The login now, and how long minting it took (`None`: a fixed credential).
    pub fn login(&self) -> Result<(Login, Option<Duration>), String> {
        match &self.minted {
            None => Ok((self.fixed.clone(), None)),
            Some(ids) => {
                let t0 = Instant::now();
                let fresh = ids.refreshed()?;
                Ok((fresh.alice.clone(), Some(t0.elapsed())))
            }
        }
    }
}

/// The login the bench measures.
pub fn admitted(profile: Option<&BenchProfile>) -> Admitted {
    match profile {
        None => Admitted {
            fixed: Login::password(BENCH_USER, BENCH_PASS),
            minted: None,
        },
        Some(p) => Admitted {
            fixed: p.ids.alice.clone(),
            minted: p.ids.refresh.as_ref().map(|_| p.ids.clone()),
        },
    }
}

/// The world both rigs start from: the bench user (admitted into APP with permissions), or
/// the profile's world; in both a user that bypasses the callout and a system account.
pub fn world(xkey: bool, profile: Option<&BenchProfile>) -> WorldSpec {
    let bypass = AuthUser {
        user: BYPASS_USER.into(),
        pass: BYPASS_PASS.into(),
        account: "APP".into(),
    };
    let Some(p) = profile else {
        return WorldSpec {
            origin: "bench".into(),
            accounts: vec!["APP".into(), SYS_ACCOUNT.into()],
            system_account: Some(SYS_ACCOUNT.into()),
            xkey,
            timeout: 2.0,
            auth_users: vec![bypass],
            users_json: serde_json::json!({
                BENCH_USER: {
                    "pass": BENCH_PASS,
                    "account": "APP",
                    "permissions": {
                        "pub": { "allow": ["bench.>", "orders.*"], "deny": ["bench.secret"] },
                        "sub": { "allow": ["_INBOX.>", "bench.>"] },
                        "resp": { "max": 1, "ttl": 1_000_000_000 },
                    },
                },
            }),
            ..WorldSpec::default()
        };
    };
    let mut w = p.world.clone();
    w.origin = "bench".into();
    w.xkey = xkey && p.ids.sealing;
    for a in ["APP", SYS_ACCOUNT] {
        if !w.accounts.iter().any(|x| x == a) {
            w.accounts.push(a.into());
        }
    }
    w.system_account = Some(SYS_ACCOUNT.into());
    w.auth_users.push(bypass);
    w
}
