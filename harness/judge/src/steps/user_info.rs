//! The steps that read a decision back through `$SYS.REQ.USER.INFO`: one connection's
//! account and permissions compared with the expected ones, and a burst of generated users
//! connecting at once, each of whom must get its own account and permissions.

use std::time::Duration;

use callout_catalog::scenario::{Scenario, UserInfoExpect};
use callout_world::client::{self, ConnectOptions, ConnectOutcome};
use callout_world::fixture::{generated_pass, generated_user, is_generated_decision, Fixture};
use callout_world::topology::World;
use callout_world::userinfo::{is_read_back_refused, user_info as read_user_info, UserInfo};

use super::{bad, missing, ok, Conns, StepLine};

/// The user info step. When the server refuses the read-back (the responder rightly granted
/// neither `$SYS.REQ.USER.INFO` nor `_INBOX.>`), the placement is read without it
/// ([`super::placement`]).
pub(crate) async fn user_info(
    conns: &mut Conns,
    world: &World<'_>,
    fixture: &Fixture,
    conn: &str,
    expect: &UserInfoExpect,
) -> StepLine {
    let Some(c) = conns.get_mut(conn) else {
        return missing(conn);
    };
    match read_user_info(&mut c.client).await {
        Ok(mut info) => {
            // Operator mode reports the account's public key: show and compare names.
            if let Some(o) = &fixture.operator {
                info.account = o.name_of(&info.account);
            }
            check_user_info(conn, &info, expect)
        }
        Err(e) if is_read_back_refused(&e) => {
            super::placement::without_grant(&mut c.client, world, fixture, conn, expect, &e).await
        }
        Err(e) => bad(format!("{conn} user info -> {e}"), "a user info reply", e),
    }
}

fn check_user_info(conn: &str, info: &UserInfo, e: &UserInfoExpect) -> StepLine {
    let mut parts = vec![format!("account {}", info.account)];
    let sorted = |v: &Vec<String>| {
        let mut v = v.clone();
        v.sort();
        v
    };
    let mut mismatch = None;
    if let Some(a) = &e.account {
        if &info.account != a {
            mismatch.get_or_insert((format!("account {a}"), format!("account {}", info.account)));
        }
    }
    let lists = [
        ("pub allow", &e.pub_allow, &info.pub_allow),
        ("pub deny", &e.pub_deny, &info.pub_deny),
        ("sub allow", &e.sub_allow, &info.sub_allow),
        ("sub deny", &e.sub_deny, &info.sub_deny),
    ];
    for (label, want, got) in lists {
        if let Some(w) = want {
            parts.push(format!("{label} {got:?}"));
            if &sorted(w) != got {
                mismatch.get_or_insert((
                    format!("{label} {:?}", sorted(w)),
                    format!("{label} {got:?}"),
                ));
            }
        }
    }
    for s in &e.pub_deny_includes {
        parts.push(format!("pub deny includes {s:?}"));
        if !info.pub_deny.contains(s) {
            mismatch.get_or_insert((
                format!("pub deny to include {s:?}"),
                format!("pub deny {:?}", info.pub_deny),
            ));
        }
    }
    let line = format!("{conn} user info -> {}", parts.join(", "));
    match mismatch {
        None => ok(line),
        Some((w, g)) => bad(line, w, g),
    }
}

/// The burst step: `count` generated users connect at once.
pub(crate) async fn burst(scn: &Scenario, addr: &str, count: usize, timeout: Duration) -> StepLine {
    let Some(g) = scn.world.generate_users.clone() else {
        return bad(
            "burst".into(),
            "generate_users in the scenario",
            "no generated users",
        );
    };
    let count = count.min(g.count);
    let mut tasks = Vec::new();
    for i in 0..count {
        let addr = addr.to_string();
        let (name, account) = generated_user(&g, i);
        tasks.push(tokio::spawn(async move {
            let opts = ConnectOptions {
                user: Some(name.clone()),
                pass: Some(generated_pass(&name)),
                name: Some(name.clone()),
                ..Default::default()
            };
            match client::connect(&addr, &opts, timeout).await {
                Ok(ConnectOutcome::Admitted(mut c)) => {
                    let r = match read_user_info(&mut c).await {
                        Ok(info) if is_generated_decision(&info, &name, &account) => Ok(()),
                        Ok(info) => Err(format!(
                            "{name}: account {} pub allow {:?}",
                            info.account, info.pub_allow
                        )),
                        Err(e) => Err(format!("{name}: {e}")),
                    };
                    c.close().await;
                    r
                }
                Ok(o) => Err(format!("{name}: {o:?}")),
                Err(e) => Err(format!("{name}: {e}")),
            }
        }));
    }
    let mut failures = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let line = format!(
        "burst of {count} connects -> {} with their own account and permissions",
        count - failures.len()
    );
    if failures.is_empty() {
        ok(line)
    } else {
        failures.sort();
        bad(
            line,
            format!("all {count} admitted with their own account and permissions"),
            format!(
                "{} wrong, e.g. {}",
                failures.len(),
                failures
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
    }
}
