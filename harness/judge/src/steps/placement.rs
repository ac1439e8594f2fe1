//! The read-back without a grant. A responder owes a client the permissions its identity
//! needs, not `$SYS.REQ.USER.INFO` and `_INBOX.>` for the harness: when the server refuses the
//! read-back with a Permissions Violation, the account comes from the server's side (its
//! monitoring endpoint, `userinfo::connz_account`) and the permissions from behaviour: a
//! subject of every declared allow pattern must be allowed, a subject of every declared deny
//! pattern refused, and a subject outside every allow pattern refused
//! (`userinfo::probe`). This shows what the permissions do, not their exact lists: a list
//! with an extra entry that no probe touches goes unseen.

use callout_catalog::scenario::UserInfoExpect;
use callout_world::client::Client;
use callout_world::fixture::Fixture;
use callout_world::topology::World;
use callout_world::userinfo::{connz_account, forget_read_back_refusals, probe};

use super::{bad, ok, StepLine};

/// A subject that `pattern` matches: `*` becomes `p`, `>` becomes `p.q`.
fn concrete(pattern: &str) -> String {
    pattern
        .split('.')
        .map(|t| match t {
            "*" => "p",
            ">" => "p.q",
            t => t,
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// NATS subject matching: `*` one token, `>` one or more at the end.
pub(crate) fn matches(pattern: &str, subject: &str) -> bool {
    let mut s = subject.split('.');
    for p in pattern.split('.') {
        match (p, s.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (p, Some(t)) if p == t => {}
            _ => return false,
        }
    }
    s.next().is_none()
}

/// The probes of one direction: subjects that must be allowed and subjects that must be
/// refused, from the declared allow and deny patterns (and `deny_includes`).
fn plan(
    allow: Option<&Vec<String>>,
    deny: Option<&Vec<String>>,
    deny_includes: &[String],
    outside: &str,
) -> (Vec<String>, Vec<String>) {
    let denied = |s: &str| deny.is_some_and(|d| d.iter().any(|p| matches(p, s)));
    let mut allowed = Vec::new();
    let mut refused: Vec<String> = deny
        .into_iter()
        .flatten()
        .chain(deny_includes)
        .map(|p| concrete(p))
        .collect();
    if let Some(allow) = allow {
        allowed.extend(allow.iter().map(|p| concrete(p)).filter(|s| !denied(s)));
        let inside = allow.iter().any(|p| matches(p, outside));
        match (allow.is_empty(), inside) {
            // No allow list: everything not denied is allowed.
            (true, _) if !denied(outside) => allowed.push(outside.to_string()),
            (false, false) => refused.push(outside.to_string()),
            _ => {}
        }
    }
    refused.sort();
    refused.dedup();
    (allowed, refused)
}

/// The placement of `conn` (client `c`) read without the grant the server refused
/// (`refused_with` is its error).
pub(crate) async fn without_grant(
    c: &mut Client,
    world: &World<'_>,
    fixture: &Fixture,
    conn: &str,
    expect: &UserInfoExpect,
    refused_with: &str,
) -> StepLine {
    let head = format!(
        "{conn} placement, read without $SYS.REQ.USER.INFO (the server refused it: {refused_with})"
    );
    if let Err(e) = forget_read_back_refusals(c).await {
        return bad(head, "the connection to stay open", e);
    }
    let cid = c.info["client_id"].as_u64().unwrap_or_default();
    let mut parts = Vec::new();
    let mut mismatch = None;
    if let Some(want) = &expect.account {
        let server = c.info["server_name"].as_str().unwrap_or_default();
        let Some(port) = world.monitor_port(server) else {
            return bad(
                head,
                "the server's monitoring port",
                format!("no monitoring port for server {server:?}"),
            );
        };
        let mut got = match connz_account(port, cid).await {
            Ok(a) => a,
            Err(e) => return bad(head, "the account from /connz", e),
        };
        if let Some(o) = &fixture.operator {
            got = o.name_of(&got);
        }
        parts.push(format!("account {got} (/connz)"));
        if &got != want {
            mismatch = Some((format!("account {want}"), format!("account {got}")));
        }
    }
    let outside = format!("callout_probe.outside.{cid}");
    let (pub_ok, pub_no) = plan(
        expect.pub_allow.as_ref(),
        expect.pub_deny.as_ref(),
        &expect.pub_deny_includes,
        &outside,
    );
    let (sub_ok, sub_no) = plan(
        expect.sub_allow.as_ref(),
        expect.sub_deny.as_ref(),
        &[],
        &outside,
    );
    let pubs: Vec<String> = pub_ok.iter().chain(&pub_no).cloned().collect();
    let subs: Vec<String> = sub_ok.iter().chain(&sub_no).cloned().collect();
    if !pubs.is_empty() || !subs.is_empty() {
        let r = match probe(c, &pubs, &subs).await {
            Ok(r) => r,
            Err(e) => return bad(head, "answers to the permission probes", e),
        };
        for (verb, ok_list, no_list, got) in [
            ("publish", &pub_ok, &pub_no, &r.publish),
            ("subscribe", &sub_ok, &sub_no, &r.subscribe),
        ] {
            if ok_list.is_empty() && no_list.is_empty() {
                continue;
            }
            parts.push(format!("{verb} allowed {ok_list:?}, refused {no_list:?}"));
            let wrongly_refused: Vec<&String> =
                ok_list.iter().filter(|s| got.contains(s)).collect();
            let wrongly_allowed: Vec<&String> =
                no_list.iter().filter(|s| !got.contains(s)).collect();
            if let Some(s) = wrongly_refused.first() {
                mismatch.get_or_insert((
                    format!("{verb} to {s:?} allowed"),
                    format!("{verb} to {s:?} refused (Permissions Violation)"),
                ));
            }
            if let Some(s) = wrongly_allowed.first() {
                mismatch.get_or_insert((
                    format!("{verb} to {s:?} refused"),
                    format!("{verb} to {s:?} allowed"),
                ));
            }
        }
    }
    let line = format!("{head} -> {}", parts.join(", "));
    match mismatch {
        None => ok(line),
        Some((w, g)) => bad(line, w, g),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_match_as_the_server_matches_them() {
        assert!(matches("app.>", "app.a.b"));
        assert!(!matches("app.>", "app"));
        assert!(matches("app.*", "app.x"));
        assert!(!matches("app.*", "app.x.y"));
        assert!(matches("$SYS.REQ.USER.INFO", "$SYS.REQ.USER.INFO"));
        assert!(!matches("a.b", "a.c"));
    }

    #[test]
    fn probes_follow_the_declared_lists() {
        let allow = vec!["app.>".to_string(), "in.*".to_string()];
        let deny = vec!["app.secret".to_string()];
        let (ok, no) = plan(Some(&allow), Some(&deny), &[], "callout_probe.outside.1");
        assert_eq!(ok, vec!["app.p.q", "in.p"]);
        assert_eq!(no, vec!["app.secret", "callout_probe.outside.1"]);
        // An empty allow list restricts nothing; an allow of ">" leaves no outside subject.
        let (ok, no) = plan(Some(&vec![]), None, &[], "o.x");
        assert_eq!((ok, no), (vec!["o.x".to_string()], vec![]));
        let (ok, no) = plan(Some(&vec![">".into()]), None, &[], "o.x");
        assert_eq!((ok, no), (vec!["p.q".to_string()], vec![]));
        // Nothing declared, nothing probed.
        assert_eq!(plan(None, None, &[], "o.x"), (vec![], vec![]));
    }
}
