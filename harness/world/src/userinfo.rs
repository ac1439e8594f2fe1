//! The user-info read-back: what the server says a connection is (its account and
//! permissions), asked through `$SYS.REQ.USER.INFO` on the client's own connection.
//!
//! A responder need not grant that subject (nor `_INBOX.>`): when the server refuses the
//! request with a Permissions Violation, the judge reads the account from the server's side
//! ([`connz_account`]: the monitoring endpoint `/connz?cid=N&auth=true`, whose `account` the
//! server fills for every client connection, `server/monitor.go` `ConnInfo`) and the
//! permissions by behaviour ([`probe`]: publishes and subscriptions that the server allows or
//! refuses with a Permissions Violation). The server reports no permissions per connection on
//! any monitoring endpoint, so behaviour is the only read-back without a grant.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::{Client, Event};

/// What `$SYS.REQ.USER.INFO` reported.
#[derive(Debug, Default)]
pub struct UserInfo {
    /// Account name.
    pub account: String,
    /// Publish allow.
    pub pub_allow: Vec<String>,
    /// Publish deny.
    pub pub_deny: Vec<String>,
    /// Subscribe allow.
    pub sub_allow: Vec<String>,
    /// Subscribe deny.
    pub sub_deny: Vec<String>,
}

fn strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Asks the server who this connection is. In a cluster the request may be answered by a
/// server other than the client's own, and on 2.10.26 (observed) such an answer carries the
/// account but not the permissions, which that server does not know. Only the answer of the
/// client's own server counts (the reply's `server.name` equals the `server_name` of the
/// connection's INFO): the harness asks again, up to 20 times, until its own server answers.
pub async fn user_info(c: &mut Client) -> Result<UserInfo, String> {
    let own = c.info["server_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut others = 0;
    let mut reply = None;
    for _ in 0..20 {
        let (msgs, errs) = c
            .request("$SYS.REQ.USER.INFO", b"", Duration::from_secs(2), 1)
            .await;
        if let Some(e) = errs.first() {
            return Err(e.clone());
        }
        let m = msgs
            .into_iter()
            .next()
            .ok_or("no reply to $SYS.REQ.USER.INFO")?;
        let v: Value = serde_json::from_slice(&m.payload)
            .map_err(|e| format!("user info is not JSON: {e}"))?;
        // A single server without a name in the reply (it always has one) counts as its own.
        match v["server"]["name"].as_str() {
            Some(n) if n != own && !own.is_empty() => others += 1,
            _ => {
                reply = Some(v);
                break;
            }
        }
    }
    let v = reply.ok_or_else(|| {
        format!("{others} replies to $SYS.REQ.USER.INFO, none from the client's own server {own:?}")
    })?;
    let d = &v["data"];
    let p = &d["permissions"];
    Ok(UserInfo {
        account: d["account"].as_str().unwrap_or_default().to_string(),
        pub_allow: strings(&p["publish"]["allow"]),
        pub_deny: strings(&p["publish"]["deny"]),
        sub_allow: strings(&p["subscribe"]["allow"]),
        sub_deny: strings(&p["subscribe"]["deny"]),
    })
}

/// True when `e` is the server refusing the read-back itself: the publish to
/// `$SYS.REQ.USER.INFO` or the subscription to the reply inbox.
pub fn is_read_back_refused(e: &str) -> bool {
    e.starts_with("Permissions Violation for Publish to \"$SYS.REQ.USER.INFO\"")
        || (e.starts_with("Permissions Violation for Subscription to") && e.contains("_INBOX."))
}

/// Waits for the server to answer everything sent so far (a PING), then drops the refusals of
/// the read-back itself ([`is_read_back_refused`]): they are the harness's doing, and a later
/// liveness check must not count them. Other events stay queued.
pub async fn forget_read_back_refusals(c: &mut Client) -> Result<(), String> {
    take_errors(c, "after the read-back", |t| {
        is_read_back_refused(t).then_some(())
    })
    .await
    .map(drop)
}

/// Waits for the server to answer everything sent so far (a PING), then takes the `-ERR`s for
/// which `pick` gives a value (what it gives, in order); every other event stays queued.
async fn take_errors<T>(
    c: &mut Client,
    when: &str,
    pick: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, String> {
    if !c.flush(Duration::from_secs(5)).await {
        return Err(format!(
            "the connection closed or did not answer PING {when}"
        ));
    }
    let mut picked = Vec::new();
    let mut keep = Vec::new();
    for e in c.take_pending() {
        match &e {
            Event::Err(t) => match pick(t) {
                Some(v) => picked.push(v),
                None => keep.push(e),
            },
            _ => keep.push(e),
        }
    }
    c.requeue(keep);
    Ok(picked)
}

/// The account of client connection `cid`, as the server at monitoring port `port` reports it
/// (`GET /connz?cid=N&auth=true`, `connections[0].account`).
pub async fn connz_account(port: u16, cid: u64) -> Result<String, String> {
    let addr = format!("127.0.0.1:{port}");
    let fetch = async {
        let mut s = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| format!("cannot reach the server's monitoring port {addr}: {e}"))?;
        let req = format!("GET /connz?cid={cid}&auth=true HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| format!("monitoring port {addr}: {e}"))?;
        let mut body = Vec::new();
        // HTTP/1.0: the server closes the connection after its answer; connz of one
        // connection is a few kilobytes.
        s.take(1 << 20)
            .read_to_end(&mut body)
            .await
            .map_err(|e| format!("monitoring port {addr}: {e}"))?;
        Ok::<_, String>(body)
    };
    let raw = tokio::time::timeout(Duration::from_secs(5), fetch)
        .await
        .map_err(|_| {
            format!("the server's monitoring port {addr} did not answer /connz in 5 s")
        })??;
    let text = String::from_utf8_lossy(&raw);
    let json = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .ok_or("the monitoring endpoint's answer has no body")?;
    let v: Value = serde_json::from_str(json).map_err(|e| format!("/connz is not JSON: {e}"))?;
    let conn = v["connections"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["cid"].as_u64() == Some(cid)))
        .ok_or_else(|| format!("/connz lists no connection with cid {cid}"))?;
    Ok(conn["account"].as_str().unwrap_or_default().to_string())
}

/// What the server refused of a [`probe`]: the subjects whose publish, and those whose
/// subscription, drew a Permissions Violation.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Refused {
    /// Publish subjects refused.
    pub publish: Vec<String>,
    /// Subscribe subjects refused.
    pub subscribe: Vec<String>,
}

/// Publishes once to each of `pubs` and subscribes (then unsubscribes) to each of `subs` on
/// `c`, then a PING: the server answers every refused one with `-ERR 'Permissions Violation
/// for Publish to "S"'` (or `Subscription to "S"`) before the PONG. Other events stay queued.
pub async fn probe(c: &mut Client, pubs: &[String], subs: &[String]) -> Result<Refused, String> {
    for s in pubs {
        c.publish(s, None, b"").await;
    }
    for s in subs {
        let sid = c.subscribe(s, None).await;
        c.unsubscribe(sid).await;
    }
    // A refusal names its subject: `Permissions Violation for Publish to "S"`.
    let subject = |text: &str, prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|r| r.strip_prefix(" \""))
            .and_then(|r| r.split('"').next())
            .map(String::from)
    };
    let refusals = take_errors(c, "during the permission probes", |t| {
        subject(t, "Permissions Violation for Publish to")
            .map(|s| (true, s))
            .or_else(|| subject(t, "Permissions Violation for Subscription to").map(|s| (false, s)))
    })
    .await?;
    let mut refused = Refused::default();
    for (publish, s) in refusals {
        if publish {
            refused.publish.push(s);
        } else {
            refused.subscribe.push(s);
        }
    }
    Ok(refused)
}
