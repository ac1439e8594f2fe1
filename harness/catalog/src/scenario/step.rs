//! One `steps = [...]` entry made into a [`Step`]: exactly one action key, numbers in range,
//! only the fields that action takes, then the action's own values, each mistake with its fix.

use callout_world::spec::CertChoice;

use super::check::check_secs;
use super::raw::RawStep;
use super::{
    ConnectExpect, PubExpect, RequestExpect, RestartTarget, SigMode, Step, SubExpect,
    UserInfoExpect, MAX_GENERATED_USERS, MAX_REPLIES, MAX_STEP_SECS, MAX_STORM,
};

/// Turns a raw step into a [`Step`], or says what is wrong with it (without file or line).
pub(super) fn convert_step(r: RawStep) -> Result<Step, String> {
    let action = the_action(&r)?;
    check_numbers(&r)?;
    check_fields(&r, action)?;
    match action {
        "connect" => connect(r),
        "storm" => storm(r),
        "restart" => Ok(Step::Restart {
            target: match r.restart.as_deref() {
                Some("responder") => RestartTarget::Responder,
                Some(n) => RestartTarget::Node(n.to_string()),
                None => unreachable!("action list above"),
            },
            within: r.within.ok_or("a restart step needs within = SECONDS (how long until a callout is answered again)")?,
        }),
        "delay_answers" => Ok(Step::DelayAnswers(r.delay_answers.unwrap_or(0.0))),
        "subscribe" | "publish" | "request" => conn_step(r, action),
        "reply" => {
            let count = r.count.unwrap_or(1);
            Ok(Step::Reply {
                conn: r.reply.unwrap_or_default(),
                count,
                delivered: r.delivered.unwrap_or(count),
                wait: r.wait.unwrap_or(0.0),
                to: r
                    .to
                    .and_then(|v| v.into_iter().next())
                    .ok_or("a reply step needs to = [\"REQUESTER\"]")?,
            })
        }
        "user_info" => Ok(Step::UserInfo {
            conn: r.user_info.unwrap_or_default(),
            expect: UserInfoExpect {
                account: r.account,
                pub_allow: r.pub_allow,
                pub_deny: r.pub_deny,
                sub_allow: r.sub_allow,
                sub_deny: r.sub_deny,
                pub_deny_includes: r.pub_deny_includes.unwrap_or_default(),
            },
        }),
        "burst" => Ok(Step::Burst {
            count: r.burst.unwrap_or(0),
        }),
        "sleep" => Ok(Step::Sleep(r.sleep.unwrap_or(0.0))),
        "close" => Ok(Step::Close(r.close.unwrap_or_default())),
        "alive" => Ok(Step::Alive(r.alive.unwrap_or_default())),
        "expire" => Ok(Step::Expire {
            conn: r.expire.unwrap_or_default(),
            within: r.within.ok_or(
                "an expire step needs within = SECONDS (how long the credential has left, plus a margin)",
            )?,
        }),
        _ => unreachable!("action list above"),
    }
}

/// The one action key of a step.
fn the_action(r: &RawStep) -> Result<&'static str, String> {
    let actions = [
        ("connect", r.connect.is_some()),
        ("subscribe", r.subscribe.is_some()),
        ("publish", r.publish.is_some()),
        ("reply", r.reply.is_some()),
        ("request", r.request.is_some()),
        ("user_info", r.user_info.is_some()),
        ("burst", r.burst.is_some()),
        ("sleep", r.sleep.is_some()),
        ("close", r.close.is_some()),
        ("alive", r.alive.is_some()),
        ("expire", r.expire.is_some()),
        ("storm", r.storm.is_some()),
        ("restart", r.restart.is_some()),
        ("delay_answers", r.delay_answers.is_some()),
    ];
    let named: Vec<&str> = actions
        .iter()
        .filter(|(_, p)| *p)
        .map(|(n, _)| *n)
        .collect();
    if named.len() != 1 {
        return Err(format!(
            "a step needs exactly one action key (connect, subscribe, publish, reply, request, user_info, burst, sleep, close, alive, expire, storm, restart, delay_answers); this one has {}",
            if named.is_empty() { "none".to_string() } else { named.join(", ") }
        ));
    }
    Ok(named[0])
}

/// Seconds, bursts and reply counts within their limits.
fn check_numbers(r: &RawStep) -> Result<(), String> {
    for (field, v, zero_ok) in [
        ("sleep", r.sleep, false),
        ("wait", r.wait, true),
        ("min_secs", r.min_secs, true),
        ("within", r.within, false),
        ("delay_answers", r.delay_answers, true),
    ] {
        if let Some(v) = v {
            check_secs(field, v, 0.0, MAX_STEP_SECS, zero_ok)?;
        }
    }
    if let Some(n) = r.burst {
        if n == 0 || n > MAX_GENERATED_USERS {
            return Err(format!(
                "burst = {n}: give a number from 1 to {MAX_GENERATED_USERS}"
            ));
        }
    }
    for (field, v) in [("count", r.count), ("delivered", r.delivered)] {
        if let Some(n) = v {
            if n > MAX_REPLIES {
                return Err(format!("{field} = {n}: at most {MAX_REPLIES}"));
            }
        }
    }
    Ok(())
}

/// Only the fields `action` takes are set.
fn check_fields(r: &RawStep, action: &str) -> Result<(), String> {
    let allowed: &[&str] = match action {
        "connect" => &[
            "user", "pass", "token", "nkey", "sig", "cert", "cert_cn", "tls", "via", "expect",
            "min_secs", "node", "sentinel", "creds",
        ],
        "storm" => &["within", "nodes", "kill", "at"],
        "restart" => &["within"],
        "subscribe" => &["conn", "queue", "expect"],
        "publish" => &["conn", "payload", "reply_to", "to", "expect"],
        "reply" => &["count", "delivered", "wait", "to"],
        "request" => &["conn", "expect"],
        "expire" => &["within"],
        "user_info" => &[
            "account",
            "pub_allow",
            "pub_deny",
            "sub_allow",
            "sub_deny",
            "pub_deny_includes",
        ],
        _ => &[],
    };
    let present = [
        ("user", r.user.is_some()),
        ("pass", r.pass.is_some()),
        ("token", r.token.is_some()),
        ("nkey", r.nkey.is_some()),
        ("sig", r.sig.is_some()),
        ("cert", r.cert.is_some()),
        ("cert_cn", r.cert_cn.is_some()),
        ("tls", r.tls.is_some()),
        ("via", r.via.is_some()),
        ("conn", r.conn.is_some()),
        ("queue", r.queue.is_some()),
        ("payload", r.payload.is_some()),
        ("reply_to", r.reply_to.is_some()),
        ("to", r.to.is_some()),
        ("count", r.count.is_some()),
        ("delivered", r.delivered.is_some()),
        ("wait", r.wait.is_some()),
        ("min_secs", r.min_secs.is_some()),
        ("within", r.within.is_some()),
        ("account", r.account.is_some()),
        ("pub_allow", r.pub_allow.is_some()),
        ("pub_deny", r.pub_deny.is_some()),
        ("sub_allow", r.sub_allow.is_some()),
        ("sub_deny", r.sub_deny.is_some()),
        ("pub_deny_includes", r.pub_deny_includes.is_some()),
        ("expect", r.expect.is_some()),
        ("node", r.node.is_some()),
        ("sentinel", r.sentinel.is_some()),
        ("creds", r.creds.is_some()),
        ("nodes", r.nodes.is_some()),
        ("kill", r.kill.is_some()),
        ("at", r.at.is_some()),
    ];
    if let Some((k, _)) = present.iter().find(|(k, p)| *p && !allowed.contains(k)) {
        return Err(format!(
            "field {k:?} does not apply to a {action} step (it takes {})",
            if allowed.is_empty() {
                "nothing else".to_string()
            } else {
                allowed.join(", ")
            }
        ));
    }
    Ok(())
}

/// The error for an `expect` that `action` does not take.
fn bad_expect(action: &str, expect: Option<&str>, options: &str) -> String {
    format!(
        "expect = {:?} is not valid for {action}: use {options}",
        expect.unwrap_or("")
    )
}

/// A `connect` step.
fn connect(r: RawStep) -> Result<Step, String> {
    let expect = r.expect.as_deref();
    Ok(Step::Connect {
        name: r.connect.unwrap_or_default(),
        user: r.user,
        pass: r.pass,
        token: r.token,
        sig: match (r.sig.as_deref(), r.nkey.is_some()) {
            (None, _) => SigMode::Valid,
            (Some(_), false) => {
                return Err("sig applies only with nkey = \"USER\" (the users entry whose key signs the nonce)".into())
            }
            (Some(s), true) => SigMode::parse(s).ok_or_else(|| {
                format!("sig = {s:?}: use \"valid\", \"missing\", \"wrong-key\" or \"other-nonce\"")
            })?,
        },
        nkey: r.nkey,
        tls: r.tls.unwrap_or(false) || r.cert.is_some() || r.cert_cn.is_some(),
        cert: match (r.cert, r.cert_cn) {
            (Some(_), Some(_)) => {
                return Err("give cert (a user's certificate) or cert_cn (a subject nobody has), not both".into())
            }
            (Some(n), None) => CertChoice::User(n),
            (None, Some(n)) => CertChoice::Stranger(n),
            (None, None) => CertChoice::None,
        },
        websocket: match r.via.as_deref() {
            None | Some("tcp") => false,
            Some("websocket") => true,
            Some(o) => return Err(format!("via = {o:?}: use \"tcp\" (default) or \"websocket\"")),
        },
        expect: match expect {
            None | Some("admitted") => ConnectExpect::Admitted,
            Some("rejected") => ConnectExpect::Rejected,
            Some("refused") => ConnectExpect::Refused,
            Some("closed") => ConnectExpect::Closed,
            _ => return Err(bad_expect("connect", expect, "\"admitted\", \"rejected\", \"refused\" (before authentication: TLS) or \"closed\" (without -ERR)")),
        },
        min_secs: r.min_secs,
        cred_cmd: None,
        node: r.node,
        sentinel: r.sentinel.unwrap_or(true),
        creds: r.creds,
    })
}

/// A `storm` step.
fn storm(r: RawStep) -> Result<Step, String> {
    let count = r.storm.unwrap_or(0);
    if count == 0 || count > MAX_STORM {
        return Err(format!("storm = {count}: give 1 to {MAX_STORM} connects"));
    }
    let kill = match (r.kill, r.at) {
        (None, None) => None,
        (Some(k), at) => {
            let at = at.unwrap_or(0.3);
            if !(at > 0.0 && at < 1.0) {
                return Err(format!("at = {at}: the fraction of the storm's connects started before the kill, between 0 and 1 (exclusive)"));
            }
            Some((k, at))
        }
        (None, Some(_)) => {
            return Err("at applies only with kill = N (the responder instance to kill)".into())
        }
    };
    Ok(Step::Storm {
        count,
        within: r
            .within
            .ok_or("a storm step needs within = SECONDS (the connects start evenly over it)")?,
        nodes: r.nodes.unwrap_or_default(),
        kill,
    })
}

/// A step on one connection: `subscribe`, `publish` or `request`.
fn conn_step(r: RawStep, action: &str) -> Result<Step, String> {
    let conn = r
        .conn
        .clone()
        .ok_or_else(|| format!("a {action} step needs conn = \"NAME\" (the connection to use)"))?;
    let expect = r.expect.as_deref();
    Ok(match action {
        "subscribe" => Step::Subscribe {
            subject: r.subscribe.unwrap_or_default(),
            conn,
            queue: r.queue,
            expect: match expect {
                None | Some("ok") => SubExpect::Ok,
                Some("denied") => SubExpect::Denied,
                _ => return Err(bad_expect(action, expect, "\"ok\" or \"denied\"")),
            },
        },
        "publish" => Step::Publish {
            subject: r.publish.unwrap_or_default(),
            conn,
            payload: r.payload.unwrap_or_else(|| "hello".into()),
            reply_to: r.reply_to,
            to: r.to.unwrap_or_default(),
            expect: match expect {
                None | Some("delivered") => PubExpect::Delivered,
                Some("denied") => PubExpect::Denied,
                Some("not_delivered") => PubExpect::NotDelivered,
                _ => {
                    return Err(bad_expect(
                        action,
                        expect,
                        "\"delivered\", \"denied\" or \"not_delivered\"",
                    ))
                }
            },
        },
        "request" => Step::Request {
            subject: r.request.unwrap_or_default(),
            conn,
            expect: match expect {
                None | Some("replied") => RequestExpect::Replied,
                Some("no_responders") => RequestExpect::NoResponders,
                Some("denied") => RequestExpect::Denied,
                _ => {
                    return Err(bad_expect(
                        action,
                        expect,
                        "\"replied\", \"no_responders\" or \"denied\"",
                    ))
                }
            },
        },
        _ => unreachable!("conn_step is called for subscribe, publish and request"),
    })
}
