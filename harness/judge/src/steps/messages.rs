//! The message steps: subscribe, publish (to named receivers, or a request to nobody in
//! particular), reply to the last request received, and request with an inbox. Each one
//! reads the server's `Permissions Violation` errors and what reached the other connections,
//! and compares them with the expected outcome.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use callout_catalog::scenario::{PubExpect, RequestExpect, SubExpect};

use super::{bad, missing, ok, Conns, StepLine, WAIT};

/// The first `Permissions Violation for KIND` among `errs`.
fn perm_violation(errs: &[String], kind: &str) -> Option<String> {
    errs.iter()
        .find(|e| e.starts_with(&format!("Permissions Violation for {kind}")))
        .cloned()
}

/// The subscribe step.
pub(crate) async fn subscribe(
    conns: &mut Conns,
    subject: &str,
    conn: &str,
    queue: Option<&str>,
    expect: SubExpect,
) -> StepLine {
    let Some(c) = conns.get_mut(conn) else {
        return missing(conn);
    };
    let before = c.errs.len();
    c.client.subscribe(subject, queue).await;
    c.sync().await;
    let q = queue.map(|q| format!(" (queue {q})")).unwrap_or_default();
    let head = format!("{conn} subscribe {subject:?}{q}");
    let denied = perm_violation(&c.errs[before..], "Subscription");
    match (denied, expect) {
        (None, SubExpect::Ok) => ok(format!("{head} -> ok")),
        (Some(e), SubExpect::Denied) => ok(format!("{head} -> denied: {e}")),
        (None, SubExpect::Denied) => bad(
            format!("{head} -> ok"),
            "Permissions Violation for Subscription",
            "subscription accepted",
        ),
        (Some(e), SubExpect::Ok) => {
            bad(format!("{head} -> denied: {e}"), "subscription accepted", e)
        }
    }
}

/// A publish step, borrowed from the scenario.
pub(crate) struct Publish<'a> {
    pub(crate) subject: &'a str,
    pub(crate) conn: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) reply_to: Option<&'a str>,
    pub(crate) to: &'a [String],
    pub(crate) expect: PubExpect,
}

impl Publish<'_> {
    /// Publishes, then looks for the message at every receiver.
    pub(crate) async fn run(&self, conns: &mut Conns) -> StepLine {
        let (subject, conn) = (self.subject, self.conn);
        let mut before_counts = HashMap::new();
        for t in self.to {
            match conns.get_mut(t) {
                Some(l) => {
                    l.sync().await;
                    before_counts.insert(t.clone(), l.count(subject));
                }
                None => return missing(t),
            }
        }
        let Some(c) = conns.get_mut(conn) else {
            return missing(conn);
        };
        let reply = match self.reply_to {
            Some("inbox") => {
                let inbox = c.client.new_inbox();
                c.client.subscribe(&inbox, None).await;
                Some(inbox)
            }
            other => other.map(String::from),
        };
        let before = c.errs.len();
        c.client
            .publish(subject, reply.as_deref(), self.payload.as_bytes())
            .await;
        c.sync().await;
        let denied = perm_violation(&c.errs[before..], "Publish");
        let head = format!(
            "{conn} publish {subject:?}{}",
            if reply.is_some() { " with reply" } else { "" }
        );
        let (got, missed) = self.receivers(conns, &before_counts).await;
        self.judge(&head, denied, &got, &missed)
    }

    /// The receivers the message reached, and those it did not.
    async fn receivers(
        &self,
        conns: &mut Conns,
        before_counts: &HashMap<String, usize>,
    ) -> (Vec<String>, Vec<String>) {
        let mut got = Vec::new();
        let mut missed = Vec::new();
        for t in self.to {
            let seen = before_counts.get(t).copied().unwrap_or(0);
            let Some(l) = conns.get_mut(t) else { continue };
            let arrived = if self.expect == PubExpect::Delivered {
                l.wait_msg(self.subject, seen, WAIT).await
            } else {
                l.sync().await;
                l.count(self.subject) > seen
            };
            if arrived {
                got.push(t.clone());
            } else {
                missed.push(t.clone());
            }
        }
        (got, missed)
    }

    /// The outcome (`denied`: the publisher's permissions violation) against the expected one.
    fn judge(
        &self,
        head: &str,
        denied: Option<String>,
        got: &[String],
        missed: &[String],
    ) -> StepLine {
        let desc = |got: &[String]| {
            if got.is_empty() {
                "delivered to nobody".to_string()
            } else {
                format!("delivered to {}", got.join(", "))
            }
        };
        match self.expect {
            PubExpect::Delivered => match denied {
                Some(e) => bad(format!("{head} -> denied: {e}"), "delivered", e),
                None if missed.is_empty() => ok(format!("{head} -> {}", desc(got))),
                None => bad(
                    format!("{head} -> {}", desc(got)),
                    format!("delivered to {}", self.to.join(", ")),
                    format!("not delivered to {}", missed.join(", ")),
                ),
            },
            PubExpect::Denied => match denied {
                Some(e) if got.is_empty() => ok(format!("{head} -> denied: {e}")),
                Some(e) => bad(
                    format!("{head} -> denied: {e}, but {}", desc(got)),
                    "denied and delivered to nobody",
                    desc(got),
                ),
                None => bad(
                    format!("{head} -> accepted, {}", desc(got)),
                    "Permissions Violation for Publish",
                    format!("accepted, {}", desc(got)),
                ),
            },
            PubExpect::NotDelivered => match denied {
                Some(e) => bad(
                    format!("{head} -> denied: {e}"),
                    "accepted and delivered to nobody",
                    e,
                ),
                None if got.is_empty() => ok(format!("{head} -> accepted, delivered to nobody")),
                None => bad(
                    format!("{head} -> accepted, {}", desc(got)),
                    "delivered to nobody",
                    desc(got),
                ),
            },
        }
    }
}

/// The reply step: `conn` replies `count` times (after `wait` seconds) to the last request it
/// received, and `delivered` of the replies must reach `to`.
pub(crate) async fn reply(
    conns: &mut Conns,
    conn: &str,
    count: usize,
    delivered: usize,
    wait: f64,
    to: &str,
) -> StepLine {
    let Some(c) = conns.get_mut(conn) else {
        return missing(conn);
    };
    c.sync().await;
    let Some(reply) = c.msgs.iter().rev().find_map(|m| m.reply.clone()) else {
        return bad(
            format!("{conn} reply"),
            "a received request to reply to",
            "no message with a reply subject",
        );
    };
    if wait > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
    let before = c.errs.len();
    for i in 0..count {
        c.client
            .publish(&reply, None, format!("reply {i}").as_bytes())
            .await;
    }
    c.sync().await;
    let denied = c.errs[before..]
        .iter()
        .filter(|e| e.starts_with("Permissions Violation for Publish"))
        .count();
    let Some(r) = conns.get_mut(to) else {
        return missing(to);
    };
    let seen = r.count(&reply);
    let deadline = Instant::now() + Duration::from_millis(700);
    while r.count(&reply) < seen + count && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        match r.client.next_event(left).await {
            Some(e) => r.absorb(vec![e]),
            None => break,
        }
    }
    let got = r.count(&reply) - seen;
    let line =
        format!("{conn} replies {count} time(s) -> {got} delivered to {to}, {denied} denied");
    if got == delivered {
        ok(line)
    } else {
        bad(
            line,
            format!("{delivered} delivered"),
            format!("{got} delivered, {denied} denied"),
        )
    }
}

/// The request step: a request with an inbox, and what came back.
pub(crate) async fn request(
    conns: &mut Conns,
    subject: &str,
    conn: &str,
    expect: RequestExpect,
) -> StepLine {
    let Some(c) = conns.get_mut(conn) else {
        return missing(conn);
    };
    let (msgs, errs) = c
        .client
        .request(subject, b"", Duration::from_millis(1500), 1)
        .await;
    let head = format!("{conn} request {subject:?}");
    let denied = perm_violation(&errs, "Publish");
    let no_resp = msgs.iter().any(|m| m.status() == Some(503));
    let real = msgs.iter().filter(|m| m.status().is_none()).count();
    let got = if let Some(e) = &denied {
        format!("denied: {e}")
    } else if real > 0 {
        "replied".to_string()
    } else if no_resp {
        "no responders".to_string()
    } else {
        "no reply".to_string()
    };
    let want = match expect {
        RequestExpect::Replied => "replied",
        RequestExpect::NoResponders => "no responders",
        RequestExpect::Denied => "denied",
    };
    if got.starts_with(want) {
        ok(format!("{head} -> {got}"))
    } else {
        bad(format!("{head} -> {got}"), want, got)
    }
}
