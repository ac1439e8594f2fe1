//! Replays scenarios against one responder on one server: generates the keys and the users
//! file, starts the server and the responder, waits until the responder answers, runs every
//! case's steps over raw client connections, and grades each case from what crossed the wire.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::grade::{judged, CaseMeta, Grading, Outcome, Record};
use callout_catalog::scenario::{
    Case, ConnectExpect, PubExpect, RequestExpect, Scenario, Step, SubExpect, UserInfoExpect,
};
use callout_leaves::verdict::CaseResult;
use callout_world::client::{self, Client, ConnectOptions, ConnectOutcome, Event, Msg, SigMode};
use callout_world::fixture::{
    generated_pass, generated_user, is_generated_decision, wait_ready, Fixture, Probe,
    ServerBackend,
};
use callout_world::provision::ServerBinary;
use callout_world::sut::ResponderSpec;
use callout_world::userinfo::{user_info, UserInfo};

/// The default of `--ready-timeout`.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Options for a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// `--strict`.
    pub strict: bool,
    /// Id filters (prefix or glob); empty = all.
    pub filters: Vec<String>,
    /// `--fail-on-unimplemented`: UNIMPLEMENTED counts as FAIL, as `--strict` does NON-STRICT.
    pub fail_on_unimplemented: bool,
    /// `--ready-timeout`: how long a responder may take to answer its first callout.
    pub ready_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            strict: false,
            filters: vec![],
            fail_on_unimplemented: false,
            ready_timeout: DEFAULT_READY_TIMEOUT,
        }
    }
}

impl RunOptions {
    /// What the command line says about grading.
    pub fn grading(&self) -> Grading {
        Grading {
            strict: self.strict,
            fail_on_unimplemented: self.fail_on_unimplemented,
        }
    }

    /// True when the case id `id` is selected by the filters (none = all).
    pub fn selects_id(&self, id: &str) -> bool {
        self.filters.is_empty()
            || self
                .filters
                .iter()
                .any(|f| callout_leaves::text::matches_filter(id, f))
    }

    /// True when `case` is selected.
    pub fn selects(&self, case: &Case) -> bool {
        self.selects_id(&case.id)
    }
}

/// What running one scenario file produced.
pub struct ScenarioOutcome {
    /// One result per selected case.
    pub results: Vec<CaseResult>,
    /// Responder stderr tail.
    pub stderr: String,
    /// A set-up error, when nothing could run.
    pub setup_error: Option<String>,
}

fn meta(case: &Case) -> CaseMeta<'_> {
    CaseMeta {
        id: &case.id,
        title: &case.title,
        requirement: &case.requirement,
        cite: &case.cite,
        level: case.level,
        rationale: &case.rationale,
    }
}

fn skipped(case: &Case, why: &str, opts: &RunOptions) -> CaseResult {
    let why = Outcome::Skipped(why.to_string());
    judged(meta(case), why, opts.grading(), Record::default())
}

/// Runs one scenario file against one responder on one server.
pub async fn run_scenario(
    scn: &Scenario,
    backend: &dyn ServerBackend,
    bin: &ServerBinary,
    responder: &ResponderSpec,
    opts: &RunOptions,
    progress: &mut (dyn FnMut(&CaseResult) + Send),
) -> ScenarioOutcome {
    let selected: Vec<&Case> = scn.cases.iter().filter(|c| opts.selects(c)).collect();
    let mut out = ScenarioOutcome {
        results: vec![],
        stderr: String::new(),
        setup_error: None,
    };
    if selected.is_empty() {
        return out;
    }
    if let Some(min) = &scn.min_server {
        if !callout_leaves::version::version_at_least(&bin.version, min) {
            for c in selected {
                let r = skipped(c, &format!("needs nats-server {min} or later"), opts);
                progress(&r);
                out.results.push(r);
            }
            return out;
        }
    }
    let fixture = match Fixture::new(&scn.world) {
        Ok(f) => f,
        Err(e) => {
            out.setup_error = Some(format!(
                "{}: cannot write the fixture files: {e}",
                scn.path.display()
            ));
            return out;
        }
    };
    let mut world =
        match callout_world::topology::World::start(&scn.world, &fixture, backend, bin, responder)
            .await
        {
            Ok(w) => w,
            Err(e) => {
                out.setup_error = Some(e);
                return out;
            }
        };
    let mut unimplemented = None;
    if scn.world.responder_present {
        if let Err(e) = world.start_responders(&scn.world).await {
            out.setup_error = Some(e);
            return out;
        }
        let first = world.nodes[0].server.as_ref();
        let ready = match (first, world.instances[0].proc.as_mut()) {
            (Some(server), Some(proc)) => {
                wait_ready(
                    server,
                    &fixture,
                    proc,
                    scn.world.timeout,
                    opts.ready_timeout,
                )
                .await
            }
            _ => Err("no server or responder".to_string()),
        };
        if let (Ok(Probe::Rejected), Some(f)) = (&ready, scn.world.feature.filter(|f| f.is_login()))
        {
            let f = f.name();
            unimplemented = Some(format!(
                "the responder answered and rejected the probe user's {f} login: it does not implement the {f} users.json extension"
            ));
        }
        if let Err(why) = ready {
            if scn.world.feature.is_some() && world.exited().is_none() {
                unimplemented = Some(format!(
                    "the responder never admitted the probe user with {} on: {why}",
                    scn.world.feature.map_or("", |f| f.name())
                ));
            } else {
                out.stderr = world.stop_responders(40);
                out.setup_error = Some(format!(
                    "{}: the responder did not become ready: {why}",
                    scn.path.display()
                ));
                return out;
            }
        }
        if !scn.world.topology.is_plain() && unimplemented.is_none() {
            if let Err(why) = world.wait_all_nodes(opts.ready_timeout).await {
                out.stderr = world.stop_responders(40);
                out.setup_error = Some(format!(
                    "{}: the responder did not serve every node: {why}",
                    scn.path.display()
                ));
                return out;
            }
        }
    }
    if let Err(e) = world.start_leafs().await {
        out.stderr = world.stop_responders(40);
        out.setup_error = Some(format!("{}: {e}", scn.path.display()));
        return out;
    }
    for case in selected {
        if let Some(why) = case.outside_servers(&bin.version) {
            let r = skipped(case, &why, opts);
            progress(&r);
            out.results.push(r);
            continue;
        }
        let (mut outcome, mut record) = if let Some(why) = &unimplemented {
            (Outcome::Unimplemented(why.clone()), Record::default())
        } else {
            run_case(case, scn, &fixture, &mut world, opts.ready_timeout).await
        };
        if let Some((j, status)) = world.exited() {
            let who = if world.instances.len() > 1 {
                format!("responder instance {}", j + 1)
            } else {
                "responder".to_string()
            };
            record.transcript.push(format!("{who} exited ({status})"));
            if outcome == Outcome::Met {
                outcome = Outcome::broken(
                    "the responder keeps running",
                    format!("the {who} exited ({status})"),
                );
            }
        }
        let r = judged(meta(case), outcome, opts.grading(), record);
        progress(&r);
        out.results.push(r);
        if scn.world.responder_present && !scn.world.topology.is_plain() {
            match world.heal(&scn.world).await {
                Ok(true) => {
                    if let Err(why) = world.wait_all_nodes(opts.ready_timeout).await {
                        out.setup_error = Some(format!(
                            "{}: after {} the responder did not serve every node again: {why}",
                            scn.path.display(),
                            case.id
                        ));
                        break;
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    out.setup_error = Some(e);
                    break;
                }
            }
        }
    }
    if scn.world.responder_present {
        out.stderr = world.stop_responders(40);
    }
    drop(world);
    out
}

/// A connection of a case, with what it has received so far.
struct Conn {
    client: Client,
    msgs: Vec<Msg>,
    errs: Vec<String>,
    closed: bool,
}

impl Conn {
    fn absorb(&mut self, events: Vec<Event>) {
        for e in events {
            match e {
                Event::Msg(m) => self.msgs.push(m),
                Event::Err(e) => self.errs.push(e),
                Event::Closed => self.closed = true,
                Event::Info(_) | Event::Pong => {}
            }
        }
    }

    async fn sync(&mut self) {
        let ok = self.client.flush(Duration::from_secs(3)).await;
        let p = self.client.take_pending();
        self.absorb(p);
        if !ok {
            self.closed = true;
        }
    }

    /// Waits up to `timeout` for a message on `subject` beyond the first `seen`.
    async fn wait_msg(&mut self, subject: &str, seen: usize, timeout: Duration) -> bool {
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

    fn count(&self, subject: &str) -> usize {
        self.msgs.iter().filter(|m| m.subject == subject).count()
    }
}

/// One step's line in the transcript, and the mismatch if any.
struct StepLine {
    line: String,
    mismatch: Option<(String, String)>,
    figures: Vec<callout_leaves::verdict::Figure>,
}

impl From<crate::steps::storm::StepReport> for StepLine {
    fn from(r: crate::steps::storm::StepReport) -> StepLine {
        StepLine {
            line: r.line,
            mismatch: r.mismatch,
            figures: r.figures,
        }
    }
}

fn ok(line: String) -> StepLine {
    StepLine {
        line,
        mismatch: None,
        figures: vec![],
    }
}

fn bad(line: String, expected: impl Into<String>, actual: impl Into<String>) -> StepLine {
    StepLine {
        line,
        mismatch: Some((expected.into(), actual.into())),
        figures: vec![],
    }
}

/// Runs one case on fresh connections: its outcome, ungraded, and what it did.
pub async fn run_case(
    case: &Case,
    scn: &Scenario,
    fixture: &Fixture,
    world: &mut callout_world::topology::World<'_>,
    ready_limit: Duration,
) -> (Outcome, Record) {
    let started = Instant::now();
    let mut conns: HashMap<String, Conn> = HashMap::new();
    let mut transcript = Vec::new();
    let mut outcome = Outcome::Met;
    let mut figures = Vec::new();
    for step in &case.steps {
        let sl = run_step(step, scn, fixture, world, &mut conns, ready_limit).await;
        figures.extend(sl.figures);
        match sl.mismatch {
            None => transcript.push(sl.line),
            Some((e, a)) => {
                transcript.push(format!("{}   <-- expected {e}", sl.line));
                outcome = Outcome::breached(e, a);
                break;
            }
        }
    }
    for (_, c) in conns.drain() {
        c.client.close().await;
    }
    let record = Record {
        transcript,
        duration_ms: started.elapsed().as_millis() as u64,
        figures,
    };
    (outcome, record)
}

const WAIT: Duration = Duration::from_secs(2);

/// A connect turned away as expected (`what`: "rejected: …" or "closed without -ERR"), no
/// earlier than `min_secs` when given (timeouts).
fn turned_away(line_head: &str, what: &str, min_secs: Option<f64>, took: f64) -> StepLine {
    match min_secs {
        Some(min) if took + 0.05 < min => bad(
            format!("{line_head} -> {what} (early)"),
            format!("turned away after at least {min} s"),
            format!("{what} after {took:.2} s"),
        ),
        Some(_) => ok(format!("{line_head} -> {what} (after the timeout)")),
        None => ok(format!("{line_head} -> {what}")),
    }
}

/// What a connect expecting `e` wanted, in words.
fn connect_want(e: ConnectExpect) -> &'static str {
    match e {
        ConnectExpect::Admitted => "admitted",
        ConnectExpect::Rejected => "rejected: Authorization Violation",
        ConnectExpect::Refused => "refused before authentication (TLS)",
        ConnectExpect::Closed => "closed without -ERR",
    }
}

fn perm_violation(errs: &[String], kind: &str) -> Option<String> {
    errs.iter()
        .find(|e| e.starts_with(&format!("Permissions Violation for {kind}")))
        .cloned()
}

async fn run_step(
    step: &Step,
    scn: &Scenario,
    fixture: &Fixture,
    world: &mut callout_world::topology::World<'_>,
    conns: &mut HashMap<String, Conn>,
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
            let anonymous =
                *tls && *cert != callout_world::spec::CertChoice::None && user.is_none();
            let user = if token.is_some()
                || nkey.is_some()
                || cred_cmd.is_some()
                || anonymous
                || creds.is_some()
            {
                user.clone()
            } else {
                Some(user.clone().unwrap_or_else(|| name.clone()))
            };
            // A minted credential is made just before the connect, so that a short-lived one
            // has its whole life ahead of it.
            let (mut pass, mut token) = (pass.clone(), token.clone());
            if let Some(cmd) = cred_cmd {
                match cmd.mint() {
                    Ok(secret) => match cmd.kind {
                        callout_catalog::profile::CredKind::Token => token = Some(secret),
                        callout_catalog::profile::CredKind::Password => pass = Some(secret),
                    },
                    Err(e) => {
                        return bad(
                            format!("connect {name}: cred_cmd failed"),
                            "a credential from cred_cmd",
                            e,
                        )
                    }
                }
            }
            let opts = ConnectOptions {
                user: user.clone(),
                pass,
                token,
                name: Some(name.clone()),
                nkey: nkey
                    .as_ref()
                    .and_then(|n| fixture.nkeys.get(n))
                    .map(|k| (k.clone(), *sig)),
                jwt: None,
                tls: None,
                websocket: None,
            };
            // Operator mode: the sentinel's JWT, and the nonce signed with its key.
            let opts = match (&fixture.operator, sentinel, creds) {
                (Some(o), true, Some(c)) => match o.local_users.get(c) {
                    Some(u) => ConnectOptions {
                        jwt: Some(u.jwt.clone()),
                        nkey: Some((u.key.clone(), SigMode::Valid)),
                        ..opts
                    },
                    None => {
                        return bad(
                            format!("connect {name}"),
                            "a user of the account creds names",
                            format!("no user of account {c:?}"),
                        )
                    }
                },
                (Some(o), true, None) => ConnectOptions {
                    jwt: Some(o.sentinel_jwt.clone()),
                    nkey: Some((o.sentinel.clone(), SigMode::Valid)),
                    ..opts
                },
                _ => opts,
            };
            let opts = match fixture.transport(*tls, cert, *websocket) {
                Ok((tls, websocket)) => ConnectOptions {
                    tls,
                    websocket,
                    ..opts
                },
                Err(e) => return bad(format!("connect {name}"), "a transport", e),
            };
            let mut line_head = match (nkey, &user, cert) {
                _ if creds.is_some() && user.is_none() => format!("connect {name}"),
                (Some(n), _, _) if *sig == SigMode::Valid => {
                    format!("connect {name} with the nkey of {n:?}")
                }
                (Some(n), _, _) => format!("connect {name} with the nkey of {n:?}, sig {sig:?}"),
                (None, Some(u), _) => format!("connect {name} as {u:?}"),
                (None, None, callout_world::spec::CertChoice::User(u)) => {
                    format!("connect {name} with the certificate of {u:?}")
                }
                (None, None, callout_world::spec::CertChoice::Stranger(cn)) => {
                    format!("connect {name} with a CA-signed certificate for CN={cn}")
                }
                (None, None, callout_world::spec::CertChoice::None) => {
                    format!("connect {name} as \"(token)\"")
                }
            };
            if *tls {
                line_head.push_str(if *cert == callout_world::spec::CertChoice::None {
                    " over TLS without a certificate"
                } else {
                    " over TLS"
                });
            }
            if *websocket {
                line_head.push_str(" over WebSocket");
            }
            if let Some(n) = node {
                line_head.push_str(&format!(" on {n}"));
            }
            match (&fixture.operator, sentinel, creds) {
                (Some(_), _, Some(c)) => line_head.push_str(&format!(" with {c}'s own creds")),
                (Some(_), false, _) => line_head.push_str(" without the sentinel's JWT"),
                _ => {}
            }
            let t0 = Instant::now();
            let outcome =
                client::connect(&world.addr(node.as_deref()), &opts, connect_timeout).await;
            let took = t0.elapsed().as_secs_f64();
            match (outcome, expect) {
                (Ok(ConnectOutcome::Admitted(c)), ConnectExpect::Admitted) => {
                    conns.insert(
                        name.clone(),
                        Conn {
                            client: c,
                            msgs: vec![],
                            errs: vec![],
                            closed: false,
                        },
                    );
                    ok(format!("{line_head} -> admitted"))
                }
                (Ok(ConnectOutcome::Admitted(c)), _) => {
                    c.close().await;
                    bad(
                        format!("{line_head} -> admitted"),
                        connect_want(*expect),
                        "admitted",
                    )
                }
                (Ok(ConnectOutcome::Rejected(e)), ConnectExpect::Rejected)
                    if e == "Authorization Violation" =>
                {
                    turned_away(&line_head, &format!("rejected: {e}"), *min_secs, took)
                }
                (Ok(ConnectOutcome::Rejected(e)), _) => bad(
                    format!("{line_head} -> rejected: {e}"),
                    connect_want(*expect),
                    format!("rejected: {e}"),
                ),
                (
                    Ok(ConnectOutcome::TlsRefused(_) | ConnectOutcome::Closed),
                    ConnectExpect::Refused,
                ) => ok(format!("{line_head} -> refused before authentication")),
                (Ok(ConnectOutcome::TlsRefused(e)), _) => bad(
                    format!("{line_head} -> refused by TLS"),
                    connect_want(*expect),
                    format!("the TLS session failed: {e}"),
                ),
                (Ok(ConnectOutcome::Closed), ConnectExpect::Closed) => {
                    turned_away(&line_head, "closed without -ERR", *min_secs, took)
                }
                (Ok(ConnectOutcome::Closed), _) => bad(
                    format!("{line_head} -> closed without -ERR"),
                    connect_want(*expect),
                    "connection closed without -ERR",
                ),
                (Err(e), _) => bad(
                    format!("{line_head} -> error"),
                    connect_want(*expect),
                    e.to_string(),
                ),
            }
        }
        Step::Subscribe {
            subject,
            conn,
            queue,
            expect,
        } => {
            let Some(c) = conns.get_mut(conn) else {
                return missing(conn);
            };
            let before = c.errs.len();
            c.client.subscribe(subject, queue.as_deref()).await;
            c.sync().await;
            let q = queue
                .as_ref()
                .map(|q| format!(" (queue {q})"))
                .unwrap_or_default();
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
        Step::Publish {
            subject,
            conn,
            payload,
            reply_to,
            to,
            expect,
        } => {
            let mut before_counts = HashMap::new();
            for t in to {
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
            let reply = match reply_to.as_deref() {
                Some("inbox") => {
                    let inbox = c.client.new_inbox();
                    c.client.subscribe(&inbox, None).await;
                    Some(inbox)
                }
                other => other.map(String::from),
            };
            let before = c.errs.len();
            c.client
                .publish(subject, reply.as_deref(), payload.as_bytes())
                .await;
            c.sync().await;
            let denied = perm_violation(&c.errs[before..], "Publish");
            let head = format!(
                "{conn} publish {subject:?}{}",
                if reply.is_some() { " with reply" } else { "" }
            );
            let mut got = Vec::new();
            let mut missed = Vec::new();
            for t in to {
                let seen = before_counts.get(t).copied().unwrap_or(0);
                let Some(l) = conns.get_mut(t) else { continue };
                let arrived = if *expect == PubExpect::Delivered {
                    l.wait_msg(subject, seen, WAIT).await
                } else {
                    l.sync().await;
                    l.count(subject) > seen
                };
                if arrived {
                    got.push(t.clone());
                } else {
                    missed.push(t.clone());
                }
            }
            let desc = |got: &[String]| {
                if got.is_empty() {
                    "delivered to nobody".to_string()
                } else {
                    format!("delivered to {}", got.join(", "))
                }
            };
            match expect {
                PubExpect::Delivered => match denied {
                    Some(e) => bad(format!("{head} -> denied: {e}"), "delivered", e),
                    None if missed.is_empty() => ok(format!("{head} -> {}", desc(&got))),
                    None => bad(
                        format!("{head} -> {}", desc(&got)),
                        format!("delivered to {}", to.join(", ")),
                        format!("not delivered to {}", missed.join(", ")),
                    ),
                },
                PubExpect::Denied => match denied {
                    Some(e) if got.is_empty() => ok(format!("{head} -> denied: {e}")),
                    Some(e) => bad(
                        format!("{head} -> denied: {e}, but {}", desc(&got)),
                        "denied and delivered to nobody",
                        desc(&got),
                    ),
                    None => bad(
                        format!("{head} -> accepted, {}", desc(&got)),
                        "Permissions Violation for Publish",
                        format!("accepted, {}", desc(&got)),
                    ),
                },
                PubExpect::NotDelivered => match denied {
                    Some(e) => bad(
                        format!("{head} -> denied: {e}"),
                        "accepted and delivered to nobody",
                        e,
                    ),
                    None if got.is_empty() => {
                        ok(format!("{head} -> accepted, delivered to nobody"))
                    }
                    None => bad(
                        format!("{head} -> accepted, {}", desc(&got)),
                        "delivered to nobody",
                        desc(&got),
                    ),
                },
            }
        }
        Step::Reply {
            conn,
            count,
            delivered,
            wait,
            to,
        } => {
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
            if *wait > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(*wait)).await;
            }
            let before = c.errs.len();
            for i in 0..*count {
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
            while r.count(&reply) < seen + *count && Instant::now() < deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                match r.client.next_event(left).await {
                    Some(e) => r.absorb(vec![e]),
                    None => break,
                }
            }
            let got = r.count(&reply) - seen;
            let line = format!(
                "{conn} replies {count} time(s) -> {got} delivered to {to}, {denied} denied"
            );
            if got == *delivered {
                ok(line)
            } else {
                bad(
                    line,
                    format!("{delivered} delivered"),
                    format!("{got} delivered, {denied} denied"),
                )
            }
        }
        Step::Request {
            subject,
            conn,
            expect,
        } => {
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
        Step::UserInfo { conn, expect } => {
            let Some(c) = conns.get_mut(conn) else {
                return missing(conn);
            };
            match user_info(&mut c.client).await {
                Ok(mut info) => {
                    // Operator mode reports the account's public key: show and compare names.
                    if let Some(o) = &fixture.operator {
                        info.account = o.name_of(&info.account);
                    }
                    check_user_info(conn, &info, expect)
                }
                Err(e) => bad(format!("{conn} user info -> {e}"), "a user info reply", e),
            }
        }
        Step::Burst { count } => burst(scn, &world.addr(None), *count, connect_timeout).await,
        Step::Storm {
            count,
            within,
            nodes,
            kill,
        } => crate::steps::storm::storm(world, scn, *count, *within, nodes, *kill)
            .await
            .into(),
        Step::Restart { target, within } => {
            crate::steps::fault::restart(world, scn, target, *within, ready_limit)
                .await
                .into()
        }
        Step::DelayAnswers(secs) => crate::steps::fault::delay_answers(world, *secs).into(),
        Step::Sleep(s) => {
            tokio::time::sleep(Duration::from_secs_f64(*s)).await;
            ok(format!("sleep {s} s"))
        }
        Step::Alive(name) => match conns.get_mut(name) {
            Some(c) => {
                c.sync().await;
                if let Some(e) = c.errs.first() {
                    bad(
                        format!("{name} still admitted -> -ERR '{e}'"),
                        "still connected, no -ERR",
                        format!("-ERR '{e}'"),
                    )
                } else if c.closed {
                    bad(
                        format!("{name} still admitted -> closed"),
                        "still connected",
                        "the server closed the connection",
                    )
                } else {
                    ok(format!("{name} still admitted (PING answered)"))
                }
            }
            None => missing(name),
        },
        Step::Expire { conn, within } => match conns.remove(conn) {
            Some(mut c) => {
                let deadline = Instant::now() + Duration::from_secs_f64(*within);
                while !c.closed && Instant::now() < deadline {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match c.client.next_event(left).await {
                        Some(e) => c.absorb(vec![e]),
                        None => break,
                    }
                }
                let expired = c.errs.iter().any(|e| e == "User Authentication Expired");
                let line = format!("{conn} disconnected by the server within {within} s");
                let got = match (c.closed, c.errs.last()) {
                    (false, _) => "still connected".to_string(),
                    (true, Some(e)) => format!("closed with -ERR '{e}'"),
                    (true, None) => "closed without an -ERR".to_string(),
                };
                c.client.close().await;
                if expired && got.starts_with("closed") {
                    ok(format!("{line} -> -ERR 'User Authentication Expired'"))
                } else {
                    bad(
                        format!("{line} -> {got}"),
                        format!("-ERR 'User Authentication Expired' within {within} s"),
                        got,
                    )
                }
            }
            None => missing(conn),
        },
        Step::Close(name) => match conns.remove(name) {
            Some(c) => {
                c.client.close().await;
                ok(format!("close {name}"))
            }
            None => missing(name),
        },
    }
}

fn missing(name: &str) -> StepLine {
    bad(
        format!("(no connection {name:?})"),
        format!("connection {name:?} to be open"),
        "it was never opened, or its connect failed",
    )
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

async fn burst(scn: &Scenario, addr: &str, count: usize, timeout: Duration) -> StepLine {
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
                    let r = match user_info(&mut c).await {
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
