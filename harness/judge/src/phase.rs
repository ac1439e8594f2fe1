//! The wire phases: the harness plays the server. A phase starts a nats-server *without*
//! `auth_callout` (on a callout server the callout account may not publish to
//! `$SYS.REQ.USER.AUTH`), lets the responder under test connect as usual, and publishes the
//! requests the wire cases forge. One phase per responder configuration (plain, sealed, …);
//! after every case a liveness check, so that a responder that crashes or goes silent is
//! blamed on the case that caused it, restarted, and judged afresh on the rest.

use std::time::{Duration, Instant};

use callout_codec::{jwt, AuthResponse, CurveSecret, KeyKind, Signer};
use callout_leaves::text::Redactor;
use callout_leaves::verdict::{CaseResult, Figure, Level, StderrTail, Verdict};
use callout_world::client::{self, ConnectOptions, ConnectOutcome};
use callout_world::fixture::{Fixture, ServerBackend};
use callout_world::provision::ServerBinary;
use callout_world::spec::WorldSpec;
use callout_world::sut::{ResponderSpec, RunningResponder};

use callout_catalog::wire::{
    catalog, cert, describe, forge, harness_identities, judge, not_applicable, operator,
    wire_users, wire_users_with_nkey, Answer, Config, Exchange, FakeServer, Forged, Identities,
    Judged, Kind, Who, WireCase, ALICE_PASS, BOB_PASS, WRONG_PASS,
};

use crate::grade::{grade, judged, CaseMeta, Grading, Outcome, Record};
use crate::injector::Injector;
use crate::runner::RunOptions;

/// The authorization timeout of the server the harness plays (the scenario files' default,
/// 1 s; a profile's `[server] timeout` replaces it): it waits this long for an answer, as a real server configured with it would, and judges a later answer as that
/// server does (the client was refused at the timeout).
pub const WIRE_AUTH_TIMEOUT: Duration = Duration::from_secs(1);

/// The user of the callout account the harness publishes forged requests as.
const HARNESS_USER: &str = "callout-harness";

/// What running the wire catalog produced.
pub struct WireOutcome {
    /// Results, as for a scenario file.
    pub outcome: crate::runner::ScenarioOutcome,
    /// Times the responder was restarted.
    pub restarts: usize,
    /// stderr per phase (and per restart).
    pub stderr: Vec<StderrTail>,
}

/// Runs the wire catalog of one mode (config, or operator: `run --mode operator`) against one
/// responder.
pub async fn run_wire(
    backend: &dyn ServerBackend,
    bin: &ServerBinary,
    responder: &ResponderSpec,
    opts: &RunOptions,
    operator_mode: bool,
    progress: &mut (dyn FnMut(&CaseResult) + Send),
) -> WireOutcome {
    let selected: Vec<&WireCase> = catalog()
        .filter(|c| c.phase(operator_mode).is_some() && opts.selects_id(c.id))
        .collect();
    let mut out = WireOutcome {
        outcome: crate::runner::ScenarioOutcome {
            results: vec![],
            stderr: String::new(),
            setup_error: None,
        },
        restarts: 0,
        stderr: vec![],
    };
    let ids = responder
        .identities
        .clone()
        .unwrap_or_else(|| std::sync::Arc::new(harness_identities()));
    let configs: &[Config] = if operator_mode {
        &[Config::Operator, Config::OperatorSealed]
    } else {
        &[Config::Plain, Config::Sealed, Config::Nkey, Config::Cert]
    };
    for &config in configs {
        let mut cases: Vec<&WireCase> = Vec::new();
        for c in selected
            .iter()
            .copied()
            .filter(|c| c.phase(operator_mode) == Some(config))
        {
            match not_applicable(c, &ids) {
                None => cases.push(c),
                Some(why) => {
                    let r = result(c, Outcome::Skipped(why), opts, Record::default());
                    progress(&r);
                    out.outcome.results.push(r);
                }
            }
        }
        if cases.is_empty() {
            continue;
        }
        let label = format!("wire ({})", config.label());
        if matches!(config, Config::Sealed | Config::OperatorSealed) && !ids.sealing {
            let why = "the profile says the responder has no xkey support (sealing = false): the sealed phase did not run";
            for case in cases {
                let r = result(
                    case,
                    Outcome::Unimplemented(why.into()),
                    opts,
                    Record::default(),
                );
                progress(&r);
                out.outcome.results.push(r);
            }
            continue;
        }
        match Phase::start(backend, bin, responder, config, opts.ready_timeout).await {
            Ok(mut phase) => {
                let mut stopped = None;
                for case in cases {
                    if let Some(why) = &stopped {
                        let why = Outcome::Skipped(format!("not run: {why}"));
                        let r = result(case, why, opts, Record::default());
                        progress(&r);
                        out.outcome.results.push(r);
                        continue;
                    }
                    let started = Instant::now();
                    let (mut outcome, mut transcript, figures) = phase.run(case).await;
                    let duration_ms = started.elapsed().as_millis() as u64;
                    let restart = phase
                        .after_case(case.level, opts.grading(), &mut outcome, &mut transcript)
                        .await;
                    let record = Record {
                        transcript,
                        duration_ms,
                        figures,
                    };
                    let r = result(case, outcome, opts, record);
                    if let Some(restart) = restart {
                        out.stderr.push(StderrTail {
                            source: format!("{label}, until {} stopped it", case.id),
                            text: restart.stderr,
                        });
                        match restart.result {
                            Ok(()) => out.restarts += 1,
                            Err(e) => {
                                let why = format!(
                                    "the responder could not be restarted after {}: {e}",
                                    case.id
                                );
                                out.outcome.setup_error = Some(format!("{label}: {why}"));
                                stopped = Some(why);
                            }
                        }
                    }
                    progress(&r);
                    out.outcome.results.push(r);
                }
                phase.proc.stop(Duration::from_secs(5));
                let text = phase.proc.stderr_tail(40);
                out.outcome.stderr = text.clone();
                out.stderr.push(StderrTail {
                    source: label,
                    text,
                });
            }
            Err(PhaseError::Unimplemented(why, stderr)) => {
                out.stderr.push(StderrTail {
                    source: label,
                    text: stderr,
                });
                for case in cases {
                    let why = Outcome::Unimplemented(why.clone());
                    let r = result(case, why, opts, Record::default());
                    progress(&r);
                    out.outcome.results.push(r);
                }
            }
            Err(PhaseError::Setup(e, stderr)) => {
                out.outcome.setup_error = Some(format!("{label}: {e}"));
                out.outcome.stderr = stderr.clone();
                out.stderr.push(StderrTail {
                    source: label,
                    text: stderr,
                });
                return out;
            }
        }
    }
    out
}

fn result(case: &WireCase, outcome: Outcome, opts: &RunOptions, record: Record) -> CaseResult {
    let meta = CaseMeta {
        id: case.id,
        title: case.title,
        requirement: case.requirement,
        cite: case.cite,
        level: case.level,
        rationale: case.rationale,
    };
    judged(meta, outcome, opts.grading(), record)
}

/// Why a phase did not start: a set-up error, or a sealed configuration the responder does not
/// support (each with the responder's stderr).
pub enum PhaseError {
    Setup(String, String),
    Unimplemented(String, String),
}

/// How the responder is after a case.
enum Health {
    Alive,
    Exited(String),
    Silent(String),
    Refusing(String),
}

/// A restart after a case stopped the responder: the old process's stderr and whether the
/// new one became ready.
struct Restart {
    stderr: String,
    result: Result<(), String>,
}

/// One responder configuration on its own server, the harness playing the server; `fuzz`
/// drives it too.
pub struct Phase {
    pub server: FakeServer,
    pub injector: Injector,
    pub proc: RunningResponder,
    argv: Vec<String>,
    secrets: Vec<String>,
    redact: Redactor,
    /// Secrets written by the responder processes of this phase that were replaced.
    secrets_written: usize,
    /// The request the current case sent, for its evidence.
    last_sent: Option<Forged>,
    config: Config,
    ready_timeout: Duration,
    _fixture: Fixture,
    _nats: callout_world::server::RunningServer,
}

impl Phase {
    pub async fn start(
        backend: &dyn ServerBackend,
        bin: &ServerBinary,
        responder: &ResponderSpec,
        config: Config,
        ready_timeout: Duration,
    ) -> Result<Phase, PhaseError> {
        let ids = std::sync::Arc::new(if config.is_operator() {
            Identities {
                bob_account: "APP2".into(),
                users: operator::operator_users(),
                ..harness_identities()
            }
        } else {
            responder
                .identities
                .clone()
                .unwrap_or_else(|| std::sync::Arc::new(harness_identities()))
                .refreshed()
                .map_err(|e| PhaseError::Setup(e, String::new()))?
        });
        let spec = WorldSpec {
            origin: "wire".into(),
            injector: Some(HARNESS_USER.into()),
            accounts: if config.is_operator() {
                vec![
                    "APP1".into(),
                    "APP2".into(),
                    operator::SCOPED_ACCOUNT.into(),
                ]
            } else if ids.bob_account == "APP" {
                vec!["APP".into()]
            } else {
                vec!["APP".into(), ids.bob_account.clone()]
            },
            xkey: matches!(config, Config::Sealed | Config::OperatorSealed) || ids.always_sealed(),
            timeout: ids.auth_timeout.unwrap_or(WIRE_AUTH_TIMEOUT.as_secs_f64()),
            users_json: match config {
                Config::Nkey if ids.users_json => wire_users_with_nkey(),
                Config::Cert if ids.users_json => {
                    let mut u = wire_users();
                    u[cert::CERT_USER] = serde_json::json!({
                        "cert_subject": callout_world::tls::subject_of(cert::CERT_USER),
                        "account": "APP",
                    });
                    u
                }
                _ => ids.users.clone(),
            },
            keys: ids.keys.clone(),
            attach: ids.attach.clone(),
            operator: config.is_operator(),
            operator_shape: if config.is_operator() {
                callout_world::spec::OperatorShape {
                    scoped: vec![operator::scope()],
                    callout_off: true,
                    ..Default::default()
                }
            } else {
                Default::default()
            },
            ..WorldSpec::default()
        };
        let setup = |e: String| PhaseError::Setup(e, String::new());
        let fixture = Fixture::new(&spec).map_err(|e| setup(e.to_string()))?;
        let harness_pass = fixture.probe_pass.clone();
        let nats = backend
            .start(bin, &fixture.conf)
            .await
            .map_err(|e| setup(e.to_string()))?;
        let ph = fixture
            .placeholders(&nats.url())
            .map_err(|e| setup(e.to_string()))?;
        // Every secret the harness handed out: the placeholders' seeds and passwords, and the
        // credentials the requests carry. The responder's stderr is redacted of them, and each
        // one it writes is counted (wire.output.1).
        let secrets: Vec<String> = ph
            .secrets()
            .into_iter()
            .chain([ALICE_PASS, BOB_PASS, WRONG_PASS, &harness_pass].map(String::from))
            .chain(ids.secrets())
            .collect();
        let (argv, proc) = if ids.attach.is_some() {
            (vec![], RunningResponder::attached())
        } else {
            let argv = responder.argv(&ph).map_err(setup)?;
            let proc = RunningResponder::start(&argv, secrets.clone()).map_err(setup)?;
            (argv, proc)
        };
        // Operator mode: the harness logs in as the callout account's service user (the
        // account has no callout in this phase, so nothing stops it publishing requests).
        let opts = match fixture
            .operator
            .as_ref()
            .and_then(|o| o.local_users.get(callout_world::fixture::CALLOUT_ACCOUNT))
        {
            Some(u) => ConnectOptions {
                jwt: Some(u.jwt.clone()),
                nkey: Some((u.key.clone(), callout_world::client::SigMode::Valid)),
                ..Default::default()
            },
            None => ConnectOptions {
                user: Some(HARNESS_USER.into()),
                pass: Some(harness_pass.clone()),
                ..Default::default()
            },
        };
        let client = match client::connect(&nats.addr(), &opts, Duration::from_secs(5)).await {
            Ok(ConnectOutcome::Admitted(c)) => c,
            other => {
                return Err(setup(format!(
                    "the harness could not connect to its own server: {other:?}"
                )))
            }
        };
        let server = FakeServer {
            key: Signer::generate(KeyKind::Server),
            xkey: CurveSecret::generate(),
            responder_xkey: fixture.xkey_pub.clone(),
            issuer: fixture.issuer_pub.clone(),
            ids: ids.clone(),
            operator: fixture.operator.as_ref().map(|o| o.keys.clone()),
            handed_out: Default::default(),
            forge_errors: Default::default(),
        };
        let redact = Redactor::new(secrets.iter().cloned());
        let mut phase = Phase {
            server,
            injector: Injector::new(
                client,
                ids.auth_timeout
                    .map_or(WIRE_AUTH_TIMEOUT, Duration::from_secs_f64),
            ),
            proc,
            argv,
            secrets,
            redact,
            secrets_written: 0,
            last_sent: None,
            config,
            ready_timeout,
            _fixture: fixture,
            _nats: nats,
        };
        match phase.wait_ready().await {
            Ok(()) => Ok(phase),
            Err(why) => {
                let exited = phase.proc.exited().is_some();
                phase.proc.stop(Duration::from_secs(3));
                let stderr = phase.proc.stderr_tail(30);
                if config == Config::Sealed && !exited {
                    Err(PhaseError::Unimplemented(why, stderr))
                } else {
                    Err(PhaseError::Setup(why, stderr))
                }
            }
        }
    }

    /// Ready when a good request gets a reply from a responder (any reply: the cases judge
    /// it). A status message from the server (503: nobody subscribed yet) is not a reply.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + self.ready_timeout;
        loop {
            if let Some(st) = self.proc.exited() {
                return Err(format!("the responder exited ({st}) before it answered"));
            }
            let (_, j) = self.good().await;
            // In a sealed phase only an answer the server can use shows the responder opens
            // sealed requests: an empty body or bytes nobody can decode do not.
            let usable = matches!(j, Judged::Admitted(_) | Judged::Error(_));
            if j.is_reply() && (usable || !self.server.sealing()) {
                return self.signed_as_declared(&j);
            }
            if matches!(j, Judged::NoResponders) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "a good {} request for {} was never answered in {} s (--ready-timeout); last: {}",
                    self.config.label(),
                    self.server.ids.alice.label(),
                    self.ready_timeout.as_secs_f64(),
                    describe(&j)
                ));
            }
        }
    }

    /// With a profile's `[keys]`, the first admission must be signed by the declared issuer:
    /// another signer is a mistake of the profile (a set-up error naming the fix), not a
    /// FAIL of every case.
    fn signed_as_declared(&self, j: &Judged) -> Result<(), String> {
        match (&self.server.ids.keys, j) {
            (Some(k), Judged::Admitted(u)) if u.iss != k.issuer => Err(format!(
                "the responder signs its user JWTs with {}, but the profile's [keys] issuer is {}: give [keys] issuer = \"{}\" (the public key of the seed it signs with)",
                u.iss, k.issuer, u.iss
            )),
            _ => Ok(()),
        }
    }

    pub async fn good(&mut self) -> (Forged, Judged) {
        let f = self.server.good_for(&self.server.ids.alice);
        let (_, ans) = self.injector.send_forged(&f).await;
        let j = judge(&ans, &self.server);
        (f, j)
    }

    /// Runs `case`: its outcome, its transcript, and the answer time as a figure.
    async fn run(&mut self, case: &WireCase) -> (Outcome, Vec<String>, Vec<Figure>) {
        let (outcome, mut t, answer) = match case.kind {
            Kind::Response { who, verify } => self.run_response(who, verify).await,
            Kind::Hostile(forge) => self.run_hostile(case, forge).await,
            Kind::Robust(forge) => self.run_robust(case, forge).await,
            Kind::Leak(forge) => self.run_leak(case, forge).await,
            Kind::Output => self.run_output(),
        };
        if matches!(
            outcome,
            Outcome::Breached { .. } | Outcome::Broken { .. } | Outcome::Noted { .. }
        ) {
            if let Some(f) = self.last_sent.take() {
                t.extend(forge::request_evidence(&f, &self.redact));
            }
            t.extend(forge::evidence(&answer, &self.server, &self.redact));
        }
        // The answer time of a case that did not pass (a passing one needs no figure).
        let figures = if answer.bodies.is_empty() || outcome == Outcome::Met {
            vec![]
        } else {
            let took = Duration::from_secs_f64(answer.latency);
            vec![Figure::ms("answer", took)]
        };
        (outcome, t, figures)
    }

    /// Forges a request and sends it (twice for a replay): the first answer of a replay and
    /// the judged one; a mutation that could not be made is the case's outcome instead.
    async fn forge_and_send(
        &mut self,
        forge: fn(&FakeServer) -> Forged,
    ) -> Result<(Option<Answer>, Answer), Outcome> {
        let f = forge(&self.server);
        if let Some(e) = self.forge_error() {
            return Err(e);
        }
        let sent = self.injector.send_forged(&f).await;
        self.last_sent = Some(f);
        Ok(sent)
    }

    /// A mutation the forging could not make: the request was not sent, and the case is an
    /// error of the harness, not a verdict on the responder.
    fn forge_error(&self) -> Option<Outcome> {
        let errors = self.server.take_forge_errors();
        (!errors.is_empty()).then(|| {
            Outcome::Skipped(format!(
                "a defect of the harness, not of the responder: the forged request could not be made ({}); please report it",
                errors.join("; ")
            ))
        })
    }

    /// A good request for `who`; `verify` checks the answer.
    async fn run_response(
        &mut self,
        who: Who,
        verify: fn(&Exchange) -> callout_catalog::wire::Finding,
    ) -> (Outcome, Vec<String>, Answer) {
        let mode = if self.server.sealing() {
            "sealed"
        } else {
            "plain"
        };
        let login = who.login(&self.server.ids);
        let pass = login.secret().to_string();
        let f = self.server.good_for(&login);
        let (_, answer) = self.injector.send_forged(&f).await;
        self.last_sent = Some(f.clone());
        let n = answer.bodies.len();
        let mut t = vec![format!(
            "{mode} request for {}{} -> {n} repl{}",
            login.label(),
            if who == Who::BobWrongPassword {
                " (a wrong secret)"
            } else {
                ""
            },
            if n == 1 { "y" } else { "ies" }
        )];
        let j = judge(&answer, &self.server);
        let outcome = if let Some(late) = self.injector.late(&answer) {
            self.late_good(late)
        } else if !j.is_reply() && who != Who::Bob {
            // Silence for a wrong or missing password is a safe refusal.
            t.push(format!(
                "{} (the server would deny at its timeout)",
                describe(&j)
            ));
            Outcome::noted("a signed error", describe(&j))
        } else if !j.is_reply() {
            Outcome::broken("a reply to a good request", describe(&j))
        } else {
            let ex = Exchange {
                server: &self.server,
                request: &f.claims,
                answer: &answer,
                pass: &pass,
            };
            match verify(&ex) {
                Ok(line) => {
                    t.push(line);
                    Outcome::Met
                }
                Err(m) => {
                    t.push(format!("expected {}; got {}", m.expected, m.actual));
                    Outcome::breached(m.expected, m.actual)
                }
            }
        };
        (outcome, t, answer)
    }

    /// The responder's output so far in this phase: no secret the harness handed out in it.
    fn run_output(&self) -> (Outcome, Vec<String>, Answer) {
        let n = self.secrets_written + self.proc.secrets_written();
        let outcome = if n == 0 {
            Outcome::Met
        } else {
            Outcome::breached(
                "no password, token or seed the harness handed out in the responder's output",
                format!(
                    "the responder wrote a secret the harness handed it to its output {n} time(s) (redacted in this report; see its stderr)"
                ),
            )
        };
        let t = vec![format!(
            "the responder's output in this phase: {n} secret(s) written"
        )];
        (outcome, t, Answer::default())
    }

    /// A good request answered after the server's timeout: the server refused the client.
    fn late_good(&self, late: f64) -> Outcome {
        let t = self.injector.timeout.as_secs_f64();
        Outcome::broken(
            format!("an answer within the server's {t} s authorization timeout"),
            format!("answered after {late:.2} s: the server had refused the client at {t} s"),
        )
    }

    /// A forged request that must not be admitted.
    async fn run_hostile(
        &mut self,
        case: &WireCase,
        forge: fn(&FakeServer) -> Forged,
    ) -> (Outcome, Vec<String>, Answer) {
        let (first, answer) = match self.forge_and_send(forge).await {
            Ok(sent) => sent,
            Err(e) => return (e, vec![], Answer::default()),
        };
        let mut t = Vec::new();
        if let Some(first) = first {
            t.push(format!(
                "first sending -> {}",
                describe(&judge(&first, &self.server))
            ));
        }
        let j = judge(&answer, &self.server);
        t.push(format!(
            "{} -> {}",
            case.title,
            self.redact.apply(&describe(&j))
        ));
        let sent = {
            let f = self
                .last_sent
                .as_ref()
                .expect("forge_and_send keeps what it sent");
            let o = &f.claims.nats.connect_opts;
            let p = o.pass.expose();
            if p.is_empty() {
                o.auth_token.expose()
            } else {
                p
            }
            .to_string()
        };
        let to_attacker = self.admitted_to_attacker(&answer);
        let outcome = match &j {
            _ if to_attacker.is_some() => Outcome::breached(
                "not admitted (a signed error, or silence)",
                format!(
                    "admitted, with the answer sealed to the unsigned header key {} (wire.hostile.30 judges the sealing)",
                    callout_leaves::text::short(to_attacker.as_deref().unwrap_or_default())
                ),
            ),
            _ if self.injector.late(&answer).is_some() => Outcome::noted(
                "a signed error",
                format!(
                    "{} after {:.2} s, past the server's {} s timeout: the server had refused the client (a safe refusal)",
                    describe(&j),
                    answer.latency,
                    self.injector.timeout.as_secs_f64()
                ),
            ),
            Judged::Admitted(u) => Outcome::breached(
                "not admitted (a signed error, or silence)",
                format!("admitted into {:?}", u.aud),
            ),
            Judged::Error(e) if !sent.is_empty() && e.contains(&sent) => Outcome::broken(
                "an error text without the password",
                "the error text contains the password",
            ),
            Judged::Error(_) => Outcome::Met,
            Judged::NoResponders => Outcome::broken("an answer, or silence", describe(&j)),
            other => Outcome::noted(
                "a signed error",
                format!("{} (a safe refusal; the server would wait for its timeout or log the bad answer)", describe(other)),
            ),
        };
        (outcome, t, answer)
    }

    /// A valid but unusual request that must be admitted.
    async fn run_robust(
        &mut self,
        case: &WireCase,
        forge: fn(&FakeServer) -> Forged,
    ) -> (Outcome, Vec<String>, Answer) {
        let (_, answer) = match self.forge_and_send(forge).await {
            Ok(sent) => sent,
            Err(e) => return (e, vec![], Answer::default()),
        };
        let j = judge(&answer, &self.server);
        let t = vec![format!("{} -> {}", case.title, describe(&j))];
        let late = self.injector.late(&answer);
        let outcome = match &j {
            _ if late.is_some() => self.late_good(late.unwrap_or_default()),
            Judged::Admitted(_) => Outcome::Met,
            Judged::Silence | Judged::NoResponders => Outcome::broken("admitted", describe(&j)),
            other => Outcome::breached("admitted", describe(other)),
        };
        (outcome, t, answer)
    }

    /// The header key of an attacker that opens `answer` to a user JWT, when one does: the
    /// responder admitted the request, to whoever holds that key.
    fn admitted_to_attacker(&self, answer: &Answer) -> Option<String> {
        answer.bodies.iter().find_map(|b| {
            let (key, opened) = self.server.opened_by_attacker(b)?;
            let r = jwt::decode::<AuthResponse>(&String::from_utf8_lossy(&opened)).ok()?;
            (!r.nats.jwt.is_empty()).then_some(key)
        })
    }

    /// A forged request whose answer must be readable by the server alone: every key the
    /// harness handed to an attacker is tried on it.
    async fn run_leak(
        &mut self,
        case: &WireCase,
        forge: fn(&FakeServer) -> Forged,
    ) -> (Outcome, Vec<String>, Answer) {
        let (_, answer) = match self.forge_and_send(forge).await {
            Ok(sent) => sent,
            Err(e) => return (e, vec![], Answer::default()),
        };
        let j = judge(&answer, &self.server);
        let mut t = vec![format!("{} -> {}", case.title, describe(&j))];
        let leaked = answer
            .bodies
            .iter()
            .find_map(|b| self.server.opened_by_attacker(b));
        let outcome = match leaked {
            None => {
                t.push("no key handed to the attacker opens the answer".into());
                Outcome::Met
            }
            Some((key, _)) => {
                let what = if self.admitted_to_attacker(&answer).is_some() {
                    "the user JWT was"
                } else {
                    "the answer was"
                };
                Outcome::breached(
                    "an answer sealed to the signed server_id.xkey, which only the server can open",
                    format!(
                        "{what} sealed to the unsigned header key {}: whoever rewrote the header can open it",
                        callout_leaves::text::short(&key)
                    ),
                )
            }
        };
        (outcome, t, answer)
    }

    /// The liveness check after a case: the process still runs and a good request is still
    /// admitted. When it is not, the case that caused it carries the finding (unless it failed
    /// on its own answer already, which then stays the reason) and the responder is restarted.
    async fn after_case(
        &mut self,
        level: Level,
        g: Grading,
        outcome: &mut Outcome,
        transcript: &mut Vec<String>,
    ) -> Option<Restart> {
        let health = self.health().await;
        let finding = match health {
            Health::Alive => {
                transcript.push("liveness: a good request afterwards -> admitted".into());
                return None;
            }
            Health::Exited(st) => {
                let tail = self.proc.stderr_tail(5);
                transcript.push(format!("liveness: the responder exited ({st})"));
                if !tail.is_empty() {
                    transcript.push(format!(
                        "liveness: its stderr ends: {}",
                        tail.replace('\n', " | ")
                    ));
                }
                format!("the responder exited ({st}) on this request")
            }
            Health::Silent(d) => {
                transcript.push(format!("liveness: a good request afterwards -> {d}"));
                "the responder stopped answering after this request".to_string()
            }
            Health::Refusing(d) => {
                transcript.push(format!("liveness: a good request afterwards -> {d}"));
                format!("after this request the responder refuses good requests: {d}")
            }
        };
        // A case that failed on its own answer keeps that as the reason.
        let failed = grade(level, outcome, g) == Verdict::Fail;
        match outcome {
            Outcome::Breached { actual, .. } | Outcome::Broken { actual, .. } if failed => {
                *actual = format!("{actual}; liveness: {finding}");
            }
            _ => *outcome = Outcome::broken("the responder keeps answering good requests", finding),
        }
        let stderr = {
            self.proc.stop(Duration::from_secs(3));
            self.proc.stderr_tail(40)
        };
        let result = self.restart().await;
        transcript.push(match &result {
            Ok(()) => "the harness restarted the responder".to_string(),
            Err(e) => format!("the harness could not restart the responder: {e}"),
        });
        Some(Restart { stderr, result })
    }

    async fn health(&mut self) -> Health {
        if let Some(st) = self.proc.exited() {
            return Health::Exited(st);
        }
        let (_, j) = self.good().await;
        match j {
            Judged::Admitted(_) => Health::Alive,
            Judged::NoResponders | Judged::Silence => {
                // A process that is dying may still be on its way out.
                for _ in 0..20 {
                    if let Some(st) = self.proc.exited() {
                        return Health::Exited(st);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Health::Silent(describe(&j))
            }
            other => Health::Refusing(self.redact.apply(&describe(&other))),
        }
    }

    pub async fn restart(&mut self) -> Result<(), String> {
        if self.proc.is_attached() {
            return Err("the responder was already running, and the harness does not restart what it did not start".into());
        }
        self.secrets_written += self.proc.secrets_written();
        self.proc = RunningResponder::start(&self.argv, self.secrets.clone())?;
        self.wait_ready().await
    }
}
