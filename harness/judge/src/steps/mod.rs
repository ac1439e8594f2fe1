//! The steps of a case, one module per kind: `connect` opens (and closes) connections,
//! `messages` subscribes, publishes, replies and requests, `user_info` reads a decision back
//! (one connection, or a burst of generated users; `placement` when the server refuses the
//! read-back), `liveness` checks that a connection is
//! still admitted or expires in time. The steps that act on a whole world are `storm` (many
//! connects) and `fault` (restarts and delayed answers). [`run_step`] picks one by kind.

pub(crate) mod connect;
pub mod fault;
pub(crate) mod liveness;
pub(crate) mod messages;
pub(crate) mod placement;
pub mod storm;
pub(crate) mod user_info;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use callout_catalog::scenario::{Scenario, Step};
use callout_leaves::verdict::Figure;
use callout_world::client::{Client, Event, Msg};
use callout_world::fixture::Fixture;
use callout_world::topology::World;

/// How long a step waits for a message it expects.
pub(crate) const WAIT: Duration = Duration::from_secs(2);

/// A connection of a case, with what it has received so far.
pub(crate) struct Conn {
    pub(crate) client: Client,
    pub(crate) msgs: Vec<Msg>,
    pub(crate) errs: Vec<String>,
    pub(crate) closed: bool,
}

impl Conn {
    /// A connection just admitted, that has received nothing yet.
    pub(crate) fn new(client: Client) -> Conn {
        Conn {
            client,
            msgs: vec![],
            errs: vec![],
            closed: false,
        }
    }

    pub(crate) fn absorb(&mut self, events: Vec<Event>) {
        for e in events {
            match e {
                Event::Msg(m) => self.msgs.push(m),
                Event::Err(e) => self.errs.push(e),
                Event::Closed => self.closed = true,
                Event::Info(_) | Event::Pong => {}
            }
        }
    }

    pub(crate) async fn sync(&mut self) {
        let ok = self.client.flush(Duration::from_secs(3)).await;
        let p = self.client.take_pending();
        self.absorb(p);
        if !ok {
            self.closed = true;
        }
    }

    /// Waits up to `timeout` for a message on `subject` beyond the first `seen`.
    pub(crate) async fn wait_msg(&mut self, subject: &str, seen: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.msgs.iter().filter(|m| m.subject == subject).count() > seen {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.client.next_event(left).await {
                Some(e) => self.absorb(vec![e]),
                None => return false,
            }
        }
    }

    pub(crate) fn count(&self, subject: &str) -> usize {
        self.msgs.iter().filter(|m| m.subject == subject).count()
    }
}

/// The connections of a case, by name.
pub(crate) type Conns = HashMap<String, Conn>;

/// One step's line in the transcript, and the mismatch if any.
pub(crate) struct StepLine {
    pub(crate) line: String,
    pub(crate) mismatch: Option<(String, String)>,
    pub(crate) figures: Vec<Figure>,
}

impl From<storm::StepReport> for StepLine {
    fn from(r: storm::StepReport) -> StepLine {
        StepLine {
            line: r.line,
            mismatch: r.mismatch,
            figures: r.figures,
        }
    }
}

/// A step that went as required.
pub(crate) fn ok(line: String) -> StepLine {
    StepLine {
        line,
        mismatch: None,
        figures: vec![],
    }
}

/// A step that broke the requirement: what was expected and what happened.
pub(crate) fn bad(
    line: String,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> StepLine {
    StepLine {
        line,
        mismatch: Some((expected.into(), actual.into())),
        figures: vec![],
    }
}

/// A step on a connection that is not open.
pub(crate) fn missing(name: &str) -> StepLine {
    bad(
        format!("(no connection {name:?})"),
        format!("connection {name:?} to be open"),
        "it was never opened, or its connect failed",
    )
}

/// Runs one step of a case.
pub(crate) async fn run_step(
    step: &Step,
    scn: &Scenario,
    fixture: &Fixture,
    world: &mut World<'_>,
    conns: &mut Conns,
    ready_limit: Duration,
) -> StepLine {
    let connect_timeout = Duration::from_secs_f64(scn.world.timeout + 5.0);
    match step {
        Step::Connect {
            name,
            user,
            pass,
            token,
            nkey,
            sig,
            expect,
            min_secs,
            cred_cmd,
            cert,
            tls,
            websocket,
            node,
            sentinel,
            creds,
        } => {
            let step = connect::ConnectStep {
                name,
                user,
                pass,
                token,
                nkey,
                sig: *sig,
                expect: *expect,
                min_secs: *min_secs,
                cred_cmd,
                cert,
                tls: *tls,
                websocket: *websocket,
                node,
                sentinel: *sentinel,
                creds,
            };
            step.run(fixture, world, conns, connect_timeout).await
        }
        Step::Subscribe {
            subject,
            conn,
            queue,
            expect,
        } => messages::subscribe(conns, subject, conn, queue.as_deref(), *expect).await,
        Step::Publish {
            subject,
            conn,
            payload,
            reply_to,
            to,
            expect,
        } => {
            let publish = messages::Publish {
                subject,
                conn,
                payload,
                reply_to: reply_to.as_deref(),
                to,
                expect: *expect,
            };
            publish.run(conns).await
        }
        Step::Reply {
            conn,
            count,
            delivered,
            wait,
            to,
        } => messages::reply(conns, conn, *count, *delivered, *wait, to).await,
        Step::Request {
            subject,
            conn,
            expect,
        } => messages::request(conns, subject, conn, *expect).await,
        Step::UserInfo { conn, expect } => {
            user_info::user_info(conns, world, fixture, conn, expect).await
        }
        Step::Burst { count } => {
            user_info::burst(scn, &world.addr(None), *count, connect_timeout).await
        }
        Step::Storm {
            count,
            within,
            nodes,
            kill,
        } => storm::storm(world, scn, *count, *within, nodes, *kill)
            .await
            .into(),
        Step::Restart { target, within } => {
            fault::restart(world, scn, target, *within, ready_limit)
                .await
                .into()
        }
        Step::DelayAnswers(secs) => fault::delay_answers(world, *secs).into(),
        Step::Sleep(s) => {
            tokio::time::sleep(Duration::from_secs_f64(*s)).await;
            ok(format!("sleep {s} s"))
        }
        Step::Alive(name) => liveness::alive(conns, name).await,
        Step::Expire { conn, within } => liveness::expire(conns, conn, *within).await,
        Step::Close(name) => connect::close(conns, name).await,
    }
}
