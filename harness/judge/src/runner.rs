//! Replays scenarios against one responder on one server: generates the keys and the users
//! file, starts the server and the responder, waits until the responder answers, runs every
//! case's steps over raw client connections, and grades each case from what crossed the wire.

use std::time::{Duration, Instant};

use crate::grade::{judged, CaseMeta, Grading, Outcome, Record};
use crate::steps::{run_step, Conns};
use callout_catalog::scenario::{Case, Scenario, Step};
use callout_leaves::verdict::CaseResult;
use callout_world::fixture::{wait_ready, Fixture, Probe, ServerBackend};
use callout_world::provision::ServerBinary;
use callout_world::sut::ResponderSpec;
use callout_world::topology::World;

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
    if let Err(e) = mint_once(&selected) {
        out.setup_error = Some(format!(
            "{}: {e}; the credential of a declared identity must be made before anything is judged",
            scn.path.display()
        ));
        return out;
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
    let mut world = match World::start(&scn.world, &fixture, backend, bin, responder).await {
        Ok(w) => w,
        Err(e) => {
            out.setup_error = Some(e);
            return out;
        }
    };
    let unimplemented = match make_ready(scn, &fixture, &mut world, opts).await {
        Ok(unimplemented) => unimplemented,
        Err(failure) => {
            out.stderr = failure.stderr;
            out.setup_error = Some(failure.error);
            return out;
        }
    };
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
        note_exit(&mut world, &mut outcome, &mut record);
        let r = judged(meta(case), outcome, opts.grading(), record);
        progress(&r);
        out.results.push(r);
        if let Err(e) = heal(scn, case, &mut world, opts).await {
            out.setup_error = Some(e);
            break;
        }
    }
    if scn.world.responder_present {
        out.stderr = world.stop_responders(40);
    }
    drop(world);
    out
}

/// Runs every `cred_cmd` of the selected cases once before the file starts: a command that
/// cannot make its credential (it fails, times out, prints no usable line) is a mistake of
/// the profile, a set-up error naming where it is declared, never the responder's FAIL.
fn mint_once(selected: &[&Case]) -> Result<(), String> {
    let mut minted: Vec<&[String]> = Vec::new();
    for step in selected.iter().flat_map(|c| &c.steps) {
        if let Step::Connect {
            cred_cmd: Some(cmd),
            ..
        } = step
        {
            if !minted.contains(&cmd.argv.as_slice()) {
                cmd.mint()?;
                minted.push(&cmd.argv);
            }
        }
    }
    Ok(())
}

/// Why a world never became ready: the set-up error, and the responder's stderr tail when
/// it had been started.
struct SetupFailure {
    stderr: String,
    error: String,
}

/// Starts the responders, waits until they answer the probe (on every node of a cluster),
/// and starts the leaf servers. `Ok(Some(why))`: the responder lacks the scenario's feature,
/// and every case is UNIMPLEMENTED for that reason.
async fn make_ready(
    scn: &Scenario,
    fixture: &Fixture,
    world: &mut World<'_>,
    opts: &RunOptions,
) -> Result<Option<String>, SetupFailure> {
    let mut unimplemented = None;
    if scn.world.responder_present {
        if let Err(error) = world.start_responders(&scn.world).await {
            return Err(SetupFailure {
                stderr: String::new(),
                error,
            });
        }
        unimplemented = probe(scn, fixture, world, opts).await?;
        if !scn.world.topology.is_plain() && unimplemented.is_none() {
            if let Err(why) = world.wait_all_nodes(opts.ready_timeout).await {
                return Err(SetupFailure {
                    stderr: world.stop_responders(40),
                    error: format!(
                        "{}: the responder did not serve every node: {why}",
                        scn.path.display()
                    ),
                });
            }
        }
    }
    if let Err(e) = world.start_leafs().await {
        return Err(SetupFailure {
            stderr: world.stop_responders(40),
            error: format!("{}: {e}", scn.path.display()),
        });
    }
    Ok(unimplemented)
}

/// Waits until the first responder instance answers the probe user's login on the first
/// node. A responder that rejects the probe, or never admits it, with a users.json extension
/// on does not implement that extension (`Ok(Some(why))`).
async fn probe(
    scn: &Scenario,
    fixture: &Fixture,
    world: &mut World<'_>,
    opts: &RunOptions,
) -> Result<Option<String>, SetupFailure> {
    let mut unimplemented = None;
    let first = world.nodes[0].server.as_ref();
    let ready = match (first, world.instances[0].proc.as_mut()) {
        (Some(server), Some(proc)) => {
            wait_ready(server, fixture, proc, scn.world.timeout, opts.ready_timeout).await
        }
        _ => Err("no server or responder".to_string()),
    };
    if let (Ok(Probe::Rejected), Some(f)) = (&ready, scn.world.feature.filter(|f| f.is_login())) {
        let f = f.name();
        unimplemented = Some(format!(
            "the responder answered and rejected the probe user's {f} login: it does not implement the {f} users.json extension"
        ));
    }
    if matches!(ready, Ok(Probe::Rejected)) {
        if let Some(why) = foreign_signer(fixture, world).await {
            return Err(SetupFailure {
                stderr: world.stop_responders(40),
                error: format!("{}: {why}", scn.path.display()),
            });
        }
    }
    if let Err(why) = ready {
        if scn.world.feature.is_some() && world.exited().is_none() {
            unimplemented = Some(format!(
                "the responder never admitted the probe user with {} on: {why}",
                scn.world.feature.map_or("", |f| f.name())
            ));
        } else {
            return Err(SetupFailure {
                stderr: world.stop_responders(40),
                error: format!(
                    "{}: the responder did not become ready: {why}",
                    scn.path.display()
                ),
            });
        }
    }
    Ok(unimplemented)
}

/// With a profile's `[keys]`: the server refused the probe's answer because another key
/// signed it (its log says "Wrong issuer for auth callout response …, expected A… got A…",
/// `server/auth_callout.go`). That is a mistake of the profile, named with the fix.
/// The log may lag the client's refusal a little (a container's by about 0.25 s).
async fn foreign_signer(fixture: &Fixture, world: &World<'_>) -> Option<String> {
    if !fixture.own_issuer() {
        return None;
    }
    let mut log = String::new();
    for _ in 0..10 {
        log = world.first()?.log();
        if log.contains("Wrong issuer for auth callout response") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let line = log
        .lines()
        .find(|l| l.contains("Wrong issuer for auth callout response"))?;
    let got = line.rsplit("got ").next()?.trim().trim_matches('"');
    Some(format!(
        "the responder signs its answers with {got}, but the profile's [keys] issuer is {}: give [keys] issuer = \"{got}\" (the public key of the seed it signs with)",
        fixture.issuer_pub
    ))
}

/// A responder instance that exited during a case: a line in its transcript, and a met
/// requirement becomes a broken one.
fn note_exit(world: &mut World<'_>, outcome: &mut Outcome, record: &mut Record) {
    if let Some((j, status)) = world.exited() {
        let who = if world.instances.len() > 1 {
            format!("responder instance {}", j + 1)
        } else {
            "responder".to_string()
        };
        record.transcript.push(format!("{who} exited ({status})"));
        if *outcome == Outcome::Met {
            *outcome = Outcome::broken(
                "the responder keeps running",
                format!("the {who} exited ({status})"),
            );
        }
    }
}

/// After a case on a cluster: starts again what the case stopped and waits until the
/// responder serves every node again.
async fn heal(
    scn: &Scenario,
    case: &Case,
    world: &mut World<'_>,
    opts: &RunOptions,
) -> Result<(), String> {
    if !scn.world.responder_present || scn.world.topology.is_plain() {
        return Ok(());
    }
    if world.heal(&scn.world).await? {
        if let Err(why) = world.wait_all_nodes(opts.ready_timeout).await {
            return Err(format!(
                "{}: after {} the responder did not serve every node again: {why}",
                scn.path.display(),
                case.id
            ));
        }
    }
    Ok(())
}

/// Runs one case on fresh connections: its outcome, ungraded, and what it did.
pub async fn run_case(
    case: &Case,
    scn: &Scenario,
    fixture: &Fixture,
    world: &mut World<'_>,
    ready_limit: Duration,
) -> (Outcome, Record) {
    let started = Instant::now();
    let mut conns = Conns::new();
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
