//! The user-info read-back: what the server says a connection is (its account and
//! permissions), asked through `$SYS.REQ.USER.INFO` on the client's own connection.

use std::time::Duration;

use serde_json::Value;

use crate::client::Client;

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
