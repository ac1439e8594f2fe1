//! `callout-conformance fuzz`: the harness plays the server (as in wire mode, [`crate::wire`])
//! and sends N mutated requests ([`mutate`]) to any responder, in a plain phase and then a
//! sealed one. It reports:
//! - **crashes**: the process exited. The batch in flight is replayed one input at a time on a
//!   restarted responder to find the input that kills it, which is saved to a file; the run of
//!   that responder ends there, as libFuzzer's does;
//! - **hangs**: the process runs but a good request sent after a batch gets no answer within
//!   the hang timeout (the batch is saved);
//! - **wrong admissions**: a user JWT for an input the [`oracle`] rules out, graded by the
//!   rule's level (MUST → FAIL, SHOULD → NON-STRICT, FAIL with `--strict`); the input is saved;
//! - **memory growth**: the responder's RSS (`/proc/PID/status` `VmRSS`, summed over its process
//!   group, so a wrapper that does not `exec` is measured with its child), sampled after every
//!   batch: the lowest of the last quarter of the samples against the highest of the first
//!   quarter; more than doubled *and* more than 64 MiB larger is a finding. The buffers a
//!   responder grows for a batch of inputs up to 1 MiB each in flight are there early and stay
//!   (a plateau); a leak keeps growing past them.
//!
//! Requests are pipelined: a batch of [`BATCH`] inputs is published without waiting (a refusal
//! may be silence), then one good request whose answer proves the responder still serves.
//! Answers are matched to inputs by their reply subject, so a late answer is still judged.

mod args;
pub mod mutate;
pub mod oracle;

pub use args::FuzzArgs;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;

use crate::client::Event;
use crate::phase::{Phase, PhaseError};
use crate::provision::{self, ServerBinary};
use crate::sut::ResponderSpec;
use crate::verdict::Level;
use crate::wire::{judge, Answer, Config, Judged};
use callout_world::fixture::ProcessBackend;

pub use mutate::Input;

/// Inputs per batch: published back to back, then a good request as liveness probe.
pub const BATCH: usize = 64;
/// The default `--requests`: enough for the crash mutant, small enough for a CI step.
pub const DEFAULT_REQUESTS: usize = 5_000;
/// The largest `--requests`.
pub const MAX_REQUESTS: usize = 100_000_000;
/// How long the probe after a batch may wait for its answer before the run calls it a hang.
pub const HANG_TIMEOUT: Duration = Duration::from_secs(5);
/// Wrong-admission inputs saved per responder (all are counted).
const MAX_SAVED: usize = 20;

/// What `fuzz` does.
#[derive(Clone, Debug)]
pub struct FuzzOptions {
    /// Inputs per responder, split between the plain and the sealed phase.
    pub requests: usize,
    /// The seed of the mutations.
    pub seed: u64,
    /// Where crashing, hanging and wrongly admitted inputs are saved.
    pub findings: PathBuf,
    /// `--json`.
    pub json: Option<PathBuf>,
    /// NON-STRICT findings count as failures.
    pub strict: bool,
    /// How long a responder may take to answer its first request.
    pub ready_timeout: Duration,
}

/// One finding, with the file its input was saved to.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// `crash`, `hang`, `wrong-admission`, `memory-growth` or `setup`.
    pub kind: String,
    /// `FAIL` or `NON-STRICT`.
    pub verdict: String,
    /// plain or sealed.
    pub phase: String,
    /// What happened, in words.
    pub detail: String,
    /// The mutation of the input, when one is to blame.
    pub mutation: Option<String>,
    /// The saved input (body; a `.txt` beside it says how it was sent).
    pub input_file: Option<PathBuf>,
}

/// One phase's counts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PhaseStats {
    /// plain or sealed.
    pub phase: String,
    /// Inputs published.
    pub sent: usize,
    /// Inputs the oracle rules out.
    pub invalid: usize,
    /// Replies received to inputs (admissions, errors, unusable answers).
    pub answered: usize,
    /// User JWTs for inputs the oracle accepts.
    pub admitted_valid: usize,
    /// User JWTs for inputs it rules out (each is a finding).
    pub admitted_invalid: usize,
    /// Responder RSS after the first batch, KiB.
    pub rss_before_kib: Option<u64>,
    /// At the end of the phase, KiB.
    pub rss_after_kib: Option<u64>,
    /// The highest RSS of the first quarter of the batches, KiB.
    pub rss_early_peak_kib: Option<u64>,
    /// The lowest RSS of the last quarter of the batches, KiB.
    pub rss_late_low_kib: Option<u64>,
    /// RSS after every batch, KiB (for the window above; not in the JSON).
    #[serde(skip)]
    pub rss_samples: Vec<u64>,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Inputs per second, probes included in the time.
    pub inputs_per_sec: f64,
}

/// Everything found for one responder.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FuzzRun {
    /// Column name.
    pub responder: String,
    /// The command template.
    pub command: String,
    /// nats-server version.
    pub server_version: String,
    /// The seed (replays the same mutations).
    pub seed: u64,
    /// Inputs asked for.
    pub requests: usize,
    /// Per phase.
    pub phases: Vec<PhaseStats>,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// Inputs drawn per mutation operator.
    pub mutations: std::collections::BTreeMap<String, usize>,
}

impl FuzzRun {
    /// True when a finding fails the run (NON-STRICT ones only with `strict`).
    pub fn failed(&self, strict: bool) -> bool {
        self.findings
            .iter()
            .any(|f| f.verdict == "FAIL" || (strict && f.verdict == "NON-STRICT"))
    }
}

/// The JSON output.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FuzzReport {
    /// Harness version.
    pub tool_version: String,
    /// One per responder.
    pub runs: Vec<FuzzRun>,
}

/// Resident set size of the responder's process group (its PID is the group id) in KiB,
/// summed over every member: a responder started through a wrapper that does not `exec` is
/// the wrapper and its child, and the child's memory is what grows (`/proc`; `None`
/// elsewhere).
pub fn rss_kib(pid: u32) -> Option<u64> {
    callout_world::procstat::group_usage(pid as i32).map(|u| u.rss_kib)
}

/// The RSS a phase is judged by: the highest of the first quarter of `samples` (the buffers a
/// responder grows under this load, reached early) and the lowest of the last quarter.
pub fn growth_window(samples: &[u64]) -> Option<(u64, u64)> {
    let q = (samples.len() / 4).max(1);
    let early = *samples.get(..q)?.iter().max()?;
    let late = *samples
        .get(samples.len().saturating_sub(q)..)?
        .iter()
        .min()?;
    Some((early, late))
}

/// True when RSS grew past the documented threshold: more than doubled and more than 64 MiB.
pub fn grew(before: u64, after: u64) -> bool {
    after > before.saturating_mul(2) && after.saturating_sub(before) > 64 * 1024
}

fn save(dir: &Path, name: &str, input: &Input, phase: &str, note: &str) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let bin = dir.join(format!("{name}.bin"));
    std::fs::write(&bin, &input.body).ok()?;
    let meta = format!(
        "phase: {phase}\nmutation: {}\nNats-Server-Xkey header: {}\nbody: {} bytes ({})\n{note}\n",
        input.mutation,
        input.header.as_deref().unwrap_or("(none)"),
        input.body.len(),
        bin.display()
    );
    std::fs::write(dir.join(format!("{name}.txt")), meta).ok()?;
    Some(bin)
}

/// One good request (a liveness probe) through the pipelined subscription; what came back.
/// The probe is sent again after a 503 (nobody subscribed: a responder connecting again after
/// its connection broke) and after a second without an answer (it went to a connection that
/// broke before reading it), until [`HANG_TIMEOUT`] has passed: a hang is a responder that
/// answers none of them.
async fn probe(phase: &mut Phase, prefix: &str, n: usize, pending: &mut Pending) -> Judged {
    const PROBE_RESEND: Duration = Duration::from_secs(1);
    let deadline = Instant::now() + HANG_TIMEOUT;
    let mut attempt = 0;
    let mut subject = String::new();
    let mut last = Judged::Silence;
    let mut resend = true;
    loop {
        if resend {
            resend = false;
            attempt += 1;
            let good = phase.server.good_for(&phase.server.ids.alice);
            // Not a number after the last dot: never taken for the answer to an input.
            subject = format!("{prefix}.p{n}-{attempt}");
            phase
                .injector
                .publish(&subject, &good.body, good.header.as_deref())
                .await;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return last;
        }
        let Some(event) = phase
            .injector
            .client
            .next_event(left.min(PROBE_RESEND))
            .await
        else {
            resend = true;
            continue;
        };
        match Some(event) {
            Some(Event::Msg(m)) if m.subject == subject => {
                let mut a = Answer::default();
                if let Some(s) = m.status_line() {
                    a.statuses.push(s);
                } else {
                    a.bodies.push(m.payload);
                }
                let j = judge(&a, &phase.server);
                if !matches!(j, Judged::NoResponders) {
                    return j;
                }
                last = j;
                resend = true;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Some(Event::Msg(m)) => {
                let st = m.status_line();
                pending.answers.push((m.subject, m.payload, st))
            }
            Some(Event::Closed) => return Judged::Silence,
            Some(_) => {}
            None => return Judged::Silence,
        }
    }
}

/// Answers to inputs received while waiting for a probe, judged after it.
#[derive(Default)]
struct Pending {
    answers: Vec<(String, Vec<u8>, Option<String>)>,
}

struct PhaseRun<'a> {
    opts: &'a FuzzOptions,
    run: &'a mut FuzzRun,
    label: &'static str,
    stats: PhaseStats,
    saved: usize,
}

impl PhaseRun<'_> {
    fn finding(&mut self, kind: &str, level: Level, detail: String, input: Option<(&Input, &str)>) {
        let input_file = input.and_then(|(i, note)| {
            if kind == "wrong-admission" && self.saved >= MAX_SAVED {
                return None;
            }
            self.saved += 1;
            let name = format!(
                "{kind}-{}-{}-seed{}-{}",
                self.run.responder,
                self.label,
                self.opts.seed,
                self.run.findings.len()
            );
            save(&self.opts.findings, &name, i, self.label, note)
        });
        self.run.findings.push(Finding {
            kind: kind.into(),
            verdict: level.on_breach().label().to_string(),
            phase: self.label.into(),
            detail,
            mutation: input.map(|(i, _)| i.mutation.clone()),
            input_file,
        });
    }

    /// Judges one answer to input `idx`.
    fn judge_answer(
        &mut self,
        phase: &Phase,
        inputs: &Inputs,
        subject: &str,
        payload: Vec<u8>,
        status: Option<String>,
    ) {
        let Some(idx) = subject
            .rsplit('.')
            .next()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            return;
        };
        if status.is_some() {
            return; // 503: nobody subscribed; the probe tells what happened.
        }
        self.stats.answered += 1;
        let Some((input, verdict)) = inputs.get(&idx) else {
            return;
        };
        let a = Answer {
            bodies: vec![payload],
            ..Answer::default()
        };
        if let Judged::Admitted(u) = judge(&a, &phase.server) {
            match verdict {
                None => self.stats.admitted_valid += 1,
                Some(why) => {
                    self.stats.admitted_invalid += 1;
                    let detail = format!(
                        "admitted into {:?} a request that must not be: {}",
                        u.aud, why.why
                    );
                    let input = input.clone();
                    self.finding(
                        "wrong-admission",
                        why.level,
                        detail,
                        Some((&input, &why.why)),
                    );
                }
            }
        }
    }
}

/// The inputs of the last few batches by index, with the oracle's verdict on each.
type Inputs = HashMap<usize, (Input, Option<oracle::Inadmissible>)>;

impl PhaseRun<'_> {
    /// Makes, counts, judges and publishes the inputs `range` (to `PREFIX.INDEX`); returns
    /// them as the batch.
    async fn send_batch(
        &mut self,
        phase: &mut Phase,
        rng: &mut StdRng,
        prefix: &str,
        range: std::ops::Range<usize>,
        inputs: &mut Inputs,
    ) -> Vec<Input> {
        let mut batch = Vec::with_capacity(range.len());
        for i in range {
            let input = mutate::input(&phase.server, rng);
            *self
                .run
                .mutations
                .entry(op_name(&input.mutation))
                .or_default() += 1;
            let verdict = oracle::judge_input(
                &input.body,
                input.header.as_deref(),
                &phase.server,
                callout_codec::unix_now(),
            );
            if verdict.is_some() {
                self.stats.invalid += 1;
            }
            phase
                .injector
                .publish(
                    &format!("{prefix}.{i}"),
                    &input.body,
                    input.header.as_deref(),
                )
                .await;
            batch.push(input.clone());
            inputs.insert(i, (input, verdict));
        }
        batch
    }

    /// Judges the answers the probe set aside and those already received.
    fn take_answers(&mut self, phase: &mut Phase, mut pending: Pending, inputs: &Inputs) {
        for (s, p, st) in pending.answers.drain(..) {
            self.judge_answer(phase, inputs, &s, p, st);
        }
        for e in phase.injector.client.take_pending() {
            if let Event::Msg(m) = e {
                let st = m.status_line();
                self.judge_answer(phase, inputs, &m.subject, m.payload, st);
            }
        }
    }

    /// After a batch and the probe's verdict `j`: a crash, a hang or a refusal is a finding
    /// (the batch saved), and ends the phase (true).
    async fn after_batch(&mut self, phase: &mut Phase, batch: &[Input], j: &Judged) -> bool {
        let exited = wait_exit(phase).await;
        match (exited, j) {
            (None, Judged::Admitted(_)) => false,
            (Some(status), _) => {
                crashed(self, phase, batch, &status).await;
                true
            }
            (None, Judged::Silence) => {
                self.finding(
                    "hang",
                    Level::Must,
                    format!(
                        "the responder runs but a good request after this batch got no answer in {} s; the batch of {} inputs is saved",
                        HANG_TIMEOUT.as_secs(),
                        batch.len()
                    ),
                    None,
                );
                save_batch(self, batch, "hang");
                true
            }
            (None, other) => {
                self.finding(
                    "hang",
                    Level::Must,
                    format!(
                        "after this batch a good request got {} instead of an admission; the batch is saved",
                        crate::wire::describe(other)
                    ),
                    None,
                );
                save_batch(self, batch, "refusing");
                true
            }
        }
    }

    /// Judges the answers that arrive within 300 ms after the last batch.
    async fn late_answers(&mut self, phase: &mut Phase, inputs: &Inputs) {
        let until = Instant::now() + Duration::from_millis(300);
        while let Some(Event::Msg(m)) = phase
            .injector
            .client
            .next_event(until.saturating_duration_since(Instant::now()))
            .await
        {
            let st = m.status_line();
            self.judge_answer(phase, inputs, &m.subject, m.payload, st);
        }
    }

    /// The last RSS sample, and a finding when the RSS kept growing over the phase.
    fn check_growth(&mut self, phase: &Phase) {
        self.stats.rss_after_kib = rss_kib(phase.proc.pid());
        if let Some(a) = self.stats.rss_after_kib {
            self.stats.rss_samples.push(a);
        }
        if let Some((early, late)) = growth_window(&self.stats.rss_samples) {
            self.stats.rss_early_peak_kib = Some(early);
            self.stats.rss_late_low_kib = Some(late);
            if grew(early, late) {
                self.finding(
                    "memory-growth",
                    Level::Must,
                    format!(
                        "RSS kept growing: at least {late} KiB over the last quarter of {} inputs, against at most {early} KiB over the first",
                        self.stats.sent
                    ),
                    None,
                );
            }
        }
    }
}

/// Fuzzes one responder on one server.
pub async fn fuzz_responder(
    bin: &ServerBinary,
    responder: &ResponderSpec,
    opts: &FuzzOptions,
) -> FuzzRun {
    let mut run = FuzzRun {
        responder: responder.name.clone(),
        command: responder.template.clone(),
        server_version: bin.version.clone(),
        seed: opts.seed,
        requests: opts.requests,
        ..Default::default()
    };
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let plain_n = opts.requests.div_ceil(2);
    for (config, n, label) in [
        (Config::Plain, plain_n, "plain"),
        (Config::Sealed, opts.requests - plain_n, "sealed"),
    ] {
        if n == 0 {
            continue;
        }
        let stop = fuzz_phase(bin, responder, opts, &mut run, &mut rng, config, n, label).await;
        if stop {
            break;
        }
    }
    run
}

/// One phase; true when the run of this responder must stop (a crash, a hang, a set-up error).
#[allow(clippy::too_many_arguments)]
async fn fuzz_phase(
    bin: &ServerBinary,
    responder: &ResponderSpec,
    opts: &FuzzOptions,
    run: &mut FuzzRun,
    rng: &mut StdRng,
    config: Config,
    n: usize,
    label: &'static str,
) -> bool {
    let mut phase =
        match Phase::start(&ProcessBackend, bin, responder, config, opts.ready_timeout).await {
            Ok(p) => p,
            Err(PhaseError::Setup(e, stderr)) | Err(PhaseError::Unimplemented(e, stderr)) => {
                run.findings.push(Finding {
                    kind: "setup".into(),
                    verdict: "FAIL".into(),
                    phase: label.into(),
                    detail: format!("{e}; stderr: {}", stderr.replace('\n', " | ")),
                    mutation: None,
                    input_file: None,
                });
                return true;
            }
        };
    let prefix = format!(
        "_FUZZ.{}",
        phase.injector.client.new_inbox().replace('.', "_")
    );
    let sid = phase
        .injector
        .client
        .subscribe(&format!("{prefix}.>"), None)
        .await;
    let mut pr = PhaseRun {
        opts,
        run,
        label,
        stats: PhaseStats {
            phase: label.into(),
            ..Default::default()
        },
        saved: 0,
    };
    let started = Instant::now();
    // Inputs of the last few batches, kept so that a late answer is still judged.
    let mut inputs: Inputs = HashMap::new();
    let mut stop = false;
    let mut batch_no = 0;
    while pr.stats.sent < n {
        let size = BATCH.min(n - pr.stats.sent);
        let first = pr.stats.sent;
        let batch = pr
            .send_batch(&mut phase, rng, &prefix, first..first + size, &mut inputs)
            .await;
        pr.stats.sent += size;
        batch_no += 1;
        let mut pending = Pending::default();
        let j = probe(&mut phase, &prefix, batch_no, &mut pending).await;
        pr.take_answers(&mut phase, pending, &inputs);
        inputs.retain(|k, _| *k + 4 * BATCH >= first);
        if let Some(rss) = rss_kib(phase.proc.pid()) {
            pr.stats.rss_samples.push(rss);
        }
        if batch_no == 1 {
            pr.stats.rss_before_kib = pr.stats.rss_samples.last().copied();
        }
        if pr.after_batch(&mut phase, &batch, &j).await {
            stop = true;
            break;
        }
    }
    pr.late_answers(&mut phase, &inputs).await;
    phase.injector.client.unsubscribe(sid).await;
    if !stop {
        pr.check_growth(&phase);
    }
    pr.stats.seconds = started.elapsed().as_secs_f64();
    pr.stats.inputs_per_sec = pr.stats.sent as f64 / pr.stats.seconds.max(1e-9);
    let stats = std::mem::take(&mut pr.stats);
    run.phases.push(stats);
    phase.proc.stop(Duration::from_secs(5));
    stop
}

fn op_name(mutation: &str) -> String {
    mutation.split(' ').next().unwrap_or(mutation).to_string()
}

/// Gives a dying process a moment to be seen as exited.
async fn wait_exit(phase: &mut Phase) -> Option<String> {
    if let Some(s) = phase.proc.exited() {
        return Some(s);
    }
    None
}

fn save_batch(pr: &mut PhaseRun<'_>, batch: &[Input], what: &str) {
    for (i, input) in batch.iter().enumerate() {
        let name = format!(
            "{what}-{}-{}-seed{}-batch-{i}",
            pr.run.responder, pr.label, pr.opts.seed
        );
        save(
            &pr.opts.findings,
            &name,
            input,
            pr.label,
            "one input of the batch in flight",
        );
    }
}

/// The responder exited during `batch`: restart it and replay the batch one input at a time
/// to find the one that kills it; save it (or the whole batch, when none does alone).
async fn crashed(pr: &mut PhaseRun<'_>, phase: &mut Phase, batch: &[Input], status: &str) {
    let tail = phase.proc.stderr_tail(5).replace('\n', " | ");
    phase.proc.stop(Duration::from_secs(3));
    if let Err(e) = phase.restart().await {
        pr.finding(
            "crash",
            Level::Must,
            format!("the responder exited ({status}; stderr ends: {tail}) and could not be restarted to find the input: {e}"),
            None,
        );
        save_batch(pr, batch, "crash");
        return;
    }
    for (k, input) in batch.iter().enumerate() {
        let _ = phase
            .injector
            .send(
                &input.body,
                input.header.as_deref(),
                Duration::from_millis(30),
            )
            .await;
        let (_, j) = phase.good().await;
        let gone = match phase.proc.exited() {
            Some(s) => Some(s),
            None if !matches!(j, Judged::Admitted(_)) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                phase.proc.exited()
            }
            None => None,
        };
        if let Some(s) = gone {
            pr.finding(
                "crash",
                Level::Must,
                format!(
                    "the responder exited ({status}; stderr ends: {tail}); replayed alone, input {k} of the batch kills it again ({s})"
                ),
                Some((input, "replay: publish these bytes to $SYS.REQ.USER.AUTH with this header")),
            );
            return;
        }
    }
    pr.finding(
        "crash",
        Level::Must,
        format!("the responder exited ({status}; stderr ends: {tail}); no input of the batch kills it alone, the batch is saved"),
        None,
    );
    save_batch(pr, batch, "crash");
}

/// Parses a `--seed` value or draws one from the clock.
pub fn seed_or_clock(seed: Option<u64>) -> u64 {
    seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    })
}

/// The terminal summary.
pub fn summary(report: &FuzzReport) -> String {
    let mut out = String::new();
    for r in &report.runs {
        out.push_str(&format!(
            "fuzz {} (nats-server {}, seed {}, {} inputs asked)\n",
            r.responder, r.server_version, r.seed, r.requests
        ));
        for p in &r.phases {
            out.push_str(&format!(
                "  {:<6} sent {:>9}  invalid {:>9}  answered {:>9}  admitted valid {:>7}  admitted invalid {:>5}  RSS {} -> {} KiB  {:.0} inputs/s\n",
                p.phase, p.sent, p.invalid, p.answered, p.admitted_valid, p.admitted_invalid,
                p.rss_before_kib.map_or("?".into(), |v| v.to_string()),
                p.rss_after_kib.map_or("?".into(), |v| v.to_string()),
                p.inputs_per_sec
            ));
        }
        let count = |k: &str| r.findings.iter().filter(|f| f.kind == k).count();
        out.push_str(&format!(
            "  crashes {}  hangs {}  wrong admissions {}  memory growth {}\n",
            count("crash"),
            count("hang"),
            count("wrong-admission"),
            count("memory-growth")
        ));
        for f in &r.findings {
            out.push_str(&format!(
                "  {} {} ({}): {}{}\n",
                f.verdict,
                f.kind,
                f.phase,
                f.detail,
                f.input_file
                    .as_ref()
                    .map(|p| format!("; input saved to {}", p.display()))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

/// `callout-conformance fuzz`; returns the exit code (0 nothing found, 1 a finding, 2 a set-up
/// or usage error).
pub fn main(opts: FuzzOptions, targets: crate::flags::Targets) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("callout-conformance fuzz: cannot start the runtime: {e}");
            return 2;
        }
    };
    let version = targets
        .versions
        .first()
        .cloned()
        .unwrap_or_else(|| provision::DEFAULT_SERVER_VERSION.into());
    let bin = match provision::resolve(&version, targets.nats_server.as_deref()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("callout-conformance fuzz: {e}");
            return 2;
        }
    };
    eprintln!(
        "callout-conformance fuzz: seed {} (pass --seed {} to replay), {} inputs per responder",
        opts.seed, opts.seed, opts.requests
    );
    let mut report = FuzzReport {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        runs: vec![],
    };
    for r in &targets.responders {
        report
            .runs
            .push(rt.block_on(fuzz_responder(&bin, r, &opts)));
    }
    print!("{}", summary(&report));
    if let Some(p) = &opts.json {
        let json = serde_json::to_string_pretty(&report).unwrap_or_default();
        if let Err(e) = std::fs::write(p, json) {
            eprintln!(
                "callout-conformance fuzz: cannot write {}: {e}",
                p.display()
            );
            return 2;
        }
    }
    let setup = report
        .runs
        .iter()
        .any(|r| r.findings.iter().any(|f| f.kind == "setup"));
    if report.runs.iter().any(|r| {
        r.findings.iter().any(|f| {
            f.kind != "setup" && (f.verdict == "FAIL" || (opts.strict && f.verdict == "NON-STRICT"))
        })
    }) {
        1
    } else if setup {
        2
    } else {
        0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use callout_codec::{CurveSecret, KeyKind, Signer};

    use crate::wire::FakeServer;

    /// A harness server identity, sealed (with a responder xkey) or plain.
    pub(crate) fn server(sealed: bool) -> FakeServer {
        FakeServer::new(
            sealed.then(|| CurveSecret::generate().public().clone()),
            Signer::generate(KeyKind::Account).public_key().to_string(),
        )
    }

    #[test]
    fn a_plateau_reached_early_is_not_growth_and_a_steady_climb_is() {
        // Buffers grown in the first batches, then flat: no finding.
        let plateau: Vec<u64> = [6_000, 60_000, 110_000]
            .into_iter()
            .chain(std::iter::repeat_n(110_000, 40))
            .collect();
        let (early, late) = super::growth_window(&plateau).unwrap();
        assert!(!super::grew(early, late), "{early} {late}");
        // A leak: up a little every batch.
        let leak: Vec<u64> = (0..100).map(|i| 6_000 + i * 2_000).collect();
        let (early, late) = super::growth_window(&leak).unwrap();
        assert!(super::grew(early, late), "{early} {late}");
        assert_eq!(super::growth_window(&[]), None);
        assert_eq!(super::growth_window(&[5]), Some((5, 5)));
    }

    #[test]
    fn memory_growth_needs_both_doubling_and_64_mib() {
        assert!(!super::grew(10_000, 30_000));
        assert!(!super::grew(200_000, 300_000));
        assert!(super::grew(10_000, 90_000));
    }
}
