//! `callout-conformance bench`: how fast a responder is, measured only through what crosses the
//! wire, so that any responder can be compared with the reference on the same server.
//!
//! Two measurements per responder:
//! - **Connect latency.** N sequential connects through the callout on a real `auth_callout`
//!   server, interleaved with N connects by an auth user that bypasses the callout on the same
//!   server. The difference of the two medians is the latency the callout adds.
//! - **Wire throughput.** The harness plays the server, as in wire mode (`wire.rs`): a server
//!   without `auth_callout`, the responder connected as usual, and the harness publishing forged
//!   requests to `$SYS.REQ.USER.AUTH`. It keeps K requests in flight, for several K and for 1, 2
//!   or 4 instances of the responder. Instances share the load only through a queue group (the
//!   reference joins `q`); the bench counts duplicate replies, so a responder without a queue
//!   group shows up as doing the same work several times. Every request is signed (and
//!   sealed) before the clock starts, so the harness's own crypto is not measured.
//!
//! Every loop is bounded by a count and a deadline, everything binds to loopback, and every
//! process the bench starts is stopped by PID before it returns.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use callout_codec::{CurveSecret, KeyKind, SealingChannel, Signer};
use serde::Serialize;

use crate::client::{self, Client, ConnectOptions, ConnectOutcome, Event};
use crate::provision::{self, ServerBinary};
use crate::runner::{self, Fixture, ProcessBackend, ServerBackend};
use crate::server::RunningServer;
use crate::sut::{self, ResponderSpec, RunningResponder};
use crate::wire::{self, FakeServer};

/// `callout-conformance bench --help`.
pub const HELP: &str = "\
callout-conformance bench: latency and throughput of NATS auth-callout responders

Usage:
  callout-conformance bench [options]

Options:
  --responder reference         measure the reference responder (default when no --responder-cmd)
  --responder-cmd 'TEMPLATE'    measure another responder; repeatable, one column each
                                (placeholders as for run: {url} {user} {pass} {issuer_seed} ...)
  --server-version V[,V...]     nats-server versions (default 2.15.1)
  --nats-server PATH            use this binary (also NATS_SERVER_BIN) instead of downloading
  --connects N                  sequential connects per route (default 200; 0 skips them)
  --requests N                  requests per throughput point (default 4000; 0 skips them)
  --inflight K[,K...]           requests kept in flight (default 1,8,64,256)
  --instances M[,M...]          responder instances in one queue group (default 1,2,4)
  --plain                       no xkey: requests and replies are not sealed (default sealed)
  --json FILE                   write the results as JSON
  --svg FILE                    write a plot of latency percentiles and throughput

Connect latency: N sequential connects through the callout, interleaved with N connects by an
auth user that bypasses it, on the same server; added latency = callout p50 - bypass p50.
Throughput: the harness plays the server (a server without auth_callout, forged requests
published to $SYS.REQ.USER.AUTH, prepared before the clock starts) with K requests in flight.
Instances share the load only through a queue group: the reference responder joins queue group
\"q\". A responder that subscribes without one answers every request once per instance; the
bench counts those duplicate replies, and the instance sweep then measures repeated work.

Exit codes: 0 measured, 2 a set-up or usage error.
";

const BENCH_USER: &str = "bench";
const BENCH_PASS: &str = "bench-pw-4Tz";
const BYPASS_USER: &str = "bench-bypass";
const BYPASS_PASS: &str = "bench-bypass-pw-8Lm";
const HARNESS_USER: &str = "callout-bench-harness";
const SYS_USER: &str = "callout-bench-sys";
const SYS_ACCOUNT: &str = "SYS";
/// Replies of each throughput point fully decoded and judged, after the clock stops.
const JUDGED_SAMPLE: usize = 16;
/// No throughput point runs longer than this.
const POINT_DEADLINE: Duration = Duration::from_secs(20);

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Sequential connects per route (0 = skip).
    pub connects: usize,
    /// Requests per throughput point (0 = skip).
    pub requests: usize,
    /// Requests kept in flight.
    pub inflight: Vec<usize>,
    /// Responder instances.
    pub instances: Vec<usize>,
    /// Seal requests and replies (an xkey is configured).
    pub xkey: bool,
    /// `--json`.
    pub json: Option<PathBuf>,
    /// `--svg`.
    pub svg: Option<PathBuf>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            connects: 200,
            requests: 4000,
            inflight: vec![1, 8, 64, 256],
            instances: vec![1, 2, 4],
            xkey: true,
            json: None,
            svg: None,
        }
    }
}

/// Latency percentiles of a set of samples, in microseconds (nearest-rank).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Samples.
    pub n: usize,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest sample.
    pub max_us: f64,
    /// Mean.
    pub mean_us: f64,
}

impl Percentiles {
    /// Computes the percentiles of `samples` (sorted in place).
    pub fn of(samples: &mut [Duration]) -> Percentiles {
        samples.sort_unstable();
        let n = samples.len();
        if n == 0 {
            return Percentiles::default();
        }
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let rank = |p: f64| us(samples[((p * n as f64).ceil() as usize).clamp(1, n) - 1]);
        Percentiles {
            n,
            p50_us: rank(0.50),
            p90_us: rank(0.90),
            p99_us: rank(0.99),
            max_us: us(samples[n - 1]),
            mean_us: samples.iter().map(|d| us(*d)).sum::<f64>() / n as f64,
        }
    }
}

/// Connect latency through the callout and around it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ConnectResult {
    /// Connects of a user the responder admits.
    pub callout: Percentiles,
    /// Connects of an auth user (no callout).
    pub bypass: Percentiles,
    /// `callout.p50 - bypass.p50`.
    pub added_p50_us: f64,
    /// Connects that were not admitted (each one is an error in the responder or the set-up).
    pub failures: usize,
}

/// One throughput point.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WirePoint {
    /// Responder instances.
    pub instances: usize,
    /// Requests in flight.
    pub inflight: usize,
    /// Requests sent.
    pub requests: usize,
    /// Requests answered (first reply).
    pub answered: usize,
    /// Replies beyond the first for a request.
    pub duplicate_replies: usize,
    /// Wall time from the first publish to the last answer, seconds.
    pub seconds: f64,
    /// `answered / seconds`.
    pub auths_per_sec: f64,
    /// Publish-to-answer latency, including the wait behind other requests in flight.
    pub latency: Percentiles,
    /// Of the first replies, how many were decoded, and how many admitted the user.
    pub judged: usize,
    /// See `judged`.
    pub admitted: usize,
}

/// Everything measured for one responder on one server.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BenchRun {
    /// Column name.
    pub responder: String,
    /// The command template.
    pub command: String,
    /// nats-server version.
    pub server_version: String,
    /// Cores available to this machine.
    pub cores: usize,
    /// Build profile of the harness (the reference responder found beside it shares it).
    pub build_profile: String,
    /// Sealed requests and replies.
    pub xkey: bool,
    /// Connect latency, unless skipped.
    pub connect: Option<ConnectResult>,
    /// Throughput points.
    pub wire: Vec<WirePoint>,
    /// Set-up errors, if any.
    pub errors: Vec<String>,
}

/// The whole `bench` output.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BenchReport {
    /// Harness version.
    pub tool_version: String,
    /// One per responder and server version.
    pub runs: Vec<BenchRun>,
}

/// `debug` or `release`: numbers of a debug build say little.
pub fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The configuration every bench run uses, as a scenario file (data, not code): an account for
/// the admitted user, a system account, an auth user that bypasses the callout, and one user
/// with permissions so that the user JWT is of a realistic size.
fn bench_scenario(xkey: bool) -> Result<crate::scenario::Scenario, String> {
    let text = format!(
        r#"title = "bench"
[server]
accounts = ["APP", "{SYS_ACCOUNT}"]
system_account = "{SYS_ACCOUNT}"
xkey = {xkey}
timeout = 2.0
auth_users = [ {{ user = "{BYPASS_USER}", pass = "{BYPASS_PASS}", account = "APP" }} ]

[users.{BENCH_USER}]
pass = "{BENCH_PASS}"
account = "APP"
permissions = {{ pub = {{ allow = ["bench.>", "orders.*"], deny = ["bench.secret"] }}, sub = {{ allow = ["_INBOX.>", "bench.>"] }}, resp = {{ max = 1, ttl = 1000000000 }} }}
"#
    );
    crate::scenario::parse(&text, std::path::Path::new("bench")).map_err(|e| e.to_string())
}

/// Which way a connect goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// A user the responder admits.
    Callout,
    /// An auth user: the server admits it without asking the responder.
    Bypass,
}

/// A callout server with one responder, for connect latency.
pub struct ConnectRig {
    proc: RunningResponder,
    server: RunningServer,
    _fixture: Fixture,
}

impl ConnectRig {
    /// Starts the server and the responder and waits until the responder admits a user.
    pub async fn start(
        bin: &ServerBinary,
        responder: &ResponderSpec,
        xkey: bool,
    ) -> Result<ConnectRig, String> {
        let fixture = Fixture::new(&bench_scenario(xkey)?)
            .map_err(|e| format!("cannot write the fixture files: {e}"))?;
        let server = ProcessBackend
            .start(bin, &fixture.conf)
            .await
            .map_err(|e| e.to_string())?;
        let ph = fixture
            .placeholders(&server.url())
            .map_err(|e| format!("cannot write the seed files: {e}"))?;
        let argv = sut::render(&responder.template, &ph)?;
        let proc = RunningResponder::start(&argv, ph.secrets())?;
        let mut rig = ConnectRig {
            proc,
            server,
            _fixture: fixture,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = rig.proc.exited() {
                return Err(format!(
                    "the responder exited ({st}); its stderr:\n{}",
                    rig.proc.stderr_tail(20)
                ));
            }
            let last = match rig.connect(Route::Callout).await {
                Ok(_) => return Ok(rig),
                Err(e) => e,
            };
            if Instant::now() > deadline {
                return Err(format!("the responder did not admit the bench user within 20 s (last: {last}); its stderr:\n{}", rig.proc.stderr_tail(20)));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One connect: TCP, INFO, CONNECT and PING until PONG. Returns the time to PONG.
    pub async fn connect(&self, route: Route) -> Result<Duration, String> {
        let (user, pass) = match route {
            Route::Callout => (BENCH_USER, BENCH_PASS),
            Route::Bypass => (BYPASS_USER, BYPASS_PASS),
        };
        let opts = ConnectOptions {
            user: Some(user.into()),
            pass: Some(pass.into()),
            ..Default::default()
        };
        let t0 = Instant::now();
        match client::connect(&self.server.addr(), &opts, Duration::from_secs(5)).await {
            Ok(ConnectOutcome::Admitted(c)) => {
                let d = t0.elapsed();
                c.close().await;
                Ok(d)
            }
            Ok(other) => Err(format!("{route:?} connect: {other:?}")),
            Err(e) => Err(format!("{route:?} connect: {e}")),
        }
    }

    /// `n` sequential connects per route, interleaved, after a short warm-up.
    pub async fn measure(&self, n: usize) -> ConnectResult {
        for _ in 0..n.min(20) {
            let _ = self.connect(Route::Callout).await;
            let _ = self.connect(Route::Bypass).await;
        }
        let (mut callout, mut bypass, mut failures) =
            (Vec::with_capacity(n), Vec::with_capacity(n), 0);
        for _ in 0..n {
            match self.connect(Route::Callout).await {
                Ok(d) => callout.push(d),
                Err(_) => failures += 1,
            }
            match self.connect(Route::Bypass).await {
                Ok(d) => bypass.push(d),
                Err(_) => failures += 1,
            }
        }
        let callout = Percentiles::of(&mut callout);
        let bypass = Percentiles::of(&mut bypass);
        ConnectResult {
            added_p50_us: callout.p50_us - bypass.p50_us,
            callout,
            bypass,
            failures,
        }
    }

    /// Stops the responder (SIGTERM, then SIGKILL) and the server; returns the responder's
    /// stderr tail.
    pub fn stop(mut self) -> String {
        self.proc.stop(Duration::from_secs(5));
        self.server.stop();
        self.proc.stderr_tail(40)
    }
}

/// A server without callout, the responder's instances, and the harness playing the server.
pub struct WireRig {
    procs: Vec<RunningResponder>,
    client: Client,
    sys: Client,
    forger: FakeServer,
    channel: Option<SealingChannel>,
    argv: Vec<String>,
    secrets: Vec<String>,
    connz_works: bool,
    server: RunningServer,
    _fixture: Fixture,
}

impl WireRig {
    /// Starts the server and connects the harness; no responder runs yet.
    pub async fn start(
        bin: &ServerBinary,
        responder: &ResponderSpec,
        xkey: bool,
    ) -> Result<WireRig, String> {
        let mut fixture = Fixture::new(&bench_scenario(xkey)?)
            .map_err(|e| format!("cannot write the fixture files: {e}"))?;
        fixture.conf.callout = None;
        let harness_pass = fixture.probe_pass.clone();
        let sys_pass = format!("{}-sys", fixture.probe_pass);
        for a in fixture.conf.accounts.iter_mut() {
            if a.name == runner::CALLOUT_ACCOUNT {
                a.users.push((HARNESS_USER.into(), harness_pass.clone()));
            } else if a.name == SYS_ACCOUNT {
                a.users.push((SYS_USER.into(), sys_pass.clone()));
            }
        }
        let server = ProcessBackend
            .start(bin, &fixture.conf)
            .await
            .map_err(|e| e.to_string())?;
        let ph = fixture
            .placeholders(&server.url())
            .map_err(|e| format!("cannot write the seed files: {e}"))?;
        let argv = sut::render(&responder.template, &ph)?;
        let login = |user: &str, pass: &str| ConnectOptions {
            user: Some(user.into()),
            pass: Some(pass.into()),
            name: Some("callout-bench".into()),
            ..Default::default()
        };
        let client = admitted(
            client::connect(
                &server.addr(),
                &login(HARNESS_USER, &harness_pass),
                Duration::from_secs(5),
            )
            .await,
        )?;
        let sys = admitted(
            client::connect(
                &server.addr(),
                &login(SYS_USER, &sys_pass),
                Duration::from_secs(5),
            )
            .await,
        )?;
        let forger = FakeServer {
            key: Signer::generate(KeyKind::Server),
            xkey: CurveSecret::generate(),
            responder_xkey: fixture.xkey.as_ref().map(|x| x.public().clone()),
            issuer: fixture.issuer.public_key().to_string(),
        };
        let channel = forger.channel();
        Ok(WireRig {
            procs: Vec::new(),
            client,
            sys,
            forger,
            channel,
            argv,
            secrets: ph.secrets(),
            connz_works: true,
            server,
            _fixture: fixture,
        })
    }

    /// How many subscriptions on `$SYS.REQ.USER.AUTH` the server sees in the callout account
    /// (`None` when the server does not answer the monitoring request).
    async fn subscribers(&mut self) -> Option<usize> {
        let filter = format!(
            r#"{{"acc":"{}","subscriptions":true}}"#,
            runner::CALLOUT_ACCOUNT
        );
        let (msgs, _) = self
            .sys
            .request(
                "$SYS.REQ.SERVER.PING.CONNZ",
                filter.as_bytes(),
                Duration::from_secs(1),
                1,
            )
            .await;
        let v: serde_json::Value = serde_json::from_slice(&msgs.first()?.payload).ok()?;
        let conns = v["data"]["connections"].as_array()?;
        Some(
            conns
                .iter()
                .filter_map(|c| c["subscriptions_list"].as_array())
                .map(|l| {
                    l.iter()
                        .filter(|s| s.as_str() == Some(callout_codec::AUTH_CALLOUT_SUBJECT))
                        .count()
                })
                .sum(),
        )
    }

    /// Starts or stops instances until `m` run, then waits until `m` subscriptions exist and a
    /// request is answered.
    pub async fn set_instances(&mut self, m: usize) -> Result<(), String> {
        while self.procs.len() > m {
            if let Some(mut p) = self.procs.pop() {
                p.stop(Duration::from_secs(5));
            }
        }
        while self.procs.len() < m {
            self.procs
                .push(RunningResponder::start(&self.argv, self.secrets.clone())?);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            for p in self.procs.iter_mut() {
                if let Some(st) = p.exited() {
                    return Err(format!(
                        "a responder instance exited ({st}); its stderr:\n{}",
                        p.stderr_tail(20)
                    ));
                }
            }
            let subs = if self.connz_works {
                self.subscribers().await
            } else {
                None
            };
            if subs.is_none() && self.connz_works {
                self.connz_works = false;
                eprintln!("  the server does not answer CONNZ; waiting 1 s for the instances to subscribe instead");
            }
            let subscribed = match subs {
                Some(n) => n == m,
                None => self
                    .procs
                    .iter()
                    .all(|p| p.uptime() > Duration::from_secs(1)),
            };
            if subscribed {
                let p = self.run_point(m, 1, 8, false).await;
                if p.answered == 8 {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                let tail = self
                    .procs
                    .last()
                    .map(|p| p.stderr_tail(20))
                    .unwrap_or_default();
                return Err(format!("{m} instance(s) did not all subscribe to $SYS.REQ.USER.AUTH and answer within 20 s (subscriptions seen: {subs:?}); stderr of the last:\n{tail}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Signs, seals and frames `n` requests whose replies go to `prefix.<i>`.
    fn prepare(&self, n: usize, prefix: &str) -> Vec<Vec<u8>> {
        let exp = callout_codec::unix_now() + 15;
        (0..n)
            .map(|i| {
                let mut c = self.forger.request(Some(BENCH_USER), Some(BENCH_PASS));
                c.exp = exp;
                let token = self.forger.sign(&mut c);
                let reply = format!("{prefix}.{i}");
                match &self.channel {
                    Some(ch) => hpub(
                        &reply,
                        self.forger.xkey.public().as_str(),
                        &ch.seal(token.as_bytes()),
                    ),
                    None => {
                        let mut f = format!(
                            "PUB {} {reply} {}\r\n",
                            callout_codec::AUTH_CALLOUT_SUBJECT,
                            token.len()
                        )
                        .into_bytes();
                        f.extend_from_slice(token.as_bytes());
                        f.extend_from_slice(b"\r\n");
                        f
                    }
                }
            })
            .collect()
    }

    /// Sends `requests` prepared requests keeping `inflight` outstanding; `judge` decodes a
    /// sample of the replies after the clock stops.
    pub async fn run_point(
        &mut self,
        instances: usize,
        inflight: usize,
        requests: usize,
        judge: bool,
    ) -> WirePoint {
        let prefix = self.client.new_inbox();
        let sid = self.client.subscribe(&format!("{prefix}.*"), None).await;
        self.client.flush(Duration::from_secs(3)).await;
        let frames = self.prepare(requests, &prefix);
        let mut sent_at: Vec<Option<Instant>> = vec![None; requests];
        let mut done = vec![false; requests];
        let mut latencies = Vec::with_capacity(requests);
        let mut sample = Vec::new();
        let (mut answered, mut duplicates, mut outstanding, mut next) =
            (0usize, 0usize, 0usize, 0usize);
        let mut buf = Vec::new();
        let t0 = Instant::now();
        let deadline = t0 + POINT_DEADLINE;
        let mut last_answer = t0;
        loop {
            buf.clear();
            let now = Instant::now();
            while outstanding < inflight && next < requests {
                buf.extend_from_slice(&frames[next]);
                sent_at[next] = Some(now);
                next += 1;
                outstanding += 1;
            }
            if !buf.is_empty() && !self.client.send_raw(&buf).await {
                break;
            }
            if answered == requests {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(first) = self.client.next_event(left).await else {
                break;
            };
            let mut events = vec![first];
            events.extend(self.client.take_pending());
            let now = Instant::now();
            let mut closed = false;
            for ev in events {
                match ev {
                    Event::Msg(m) if m.sid == sid => {
                        let Some(i) = m
                            .subject
                            .rsplit('.')
                            .next()
                            .and_then(|i| i.parse::<usize>().ok())
                            .filter(|i| *i < requests)
                        else {
                            continue;
                        };
                        let Some(at) = sent_at[i] else { continue };
                        if done[i] {
                            duplicates += 1;
                            continue;
                        }
                        done[i] = true;
                        latencies.push(now - at);
                        answered += 1;
                        outstanding -= 1;
                        last_answer = now;
                        if judge && sample.len() < JUDGED_SAMPLE {
                            sample.push(m.payload);
                        }
                    }
                    Event::Closed => closed = true,
                    _ => {}
                }
            }
            if closed {
                break;
            }
        }
        let seconds = last_answer.duration_since(t0).as_secs_f64();
        // Late duplicates of the last requests (another instance answering them too).
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.client.flush(Duration::from_secs(3)).await;
        for ev in self.client.take_pending() {
            if matches!(&ev, Event::Msg(m) if m.sid == sid) {
                duplicates += 1;
            }
        }
        self.client.unsubscribe(sid).await;
        let admitted = sample
            .iter()
            .filter(|b| is_admission(&wire::decode_reply(b, &self.forger)))
            .count();
        WirePoint {
            instances,
            inflight,
            requests,
            answered,
            duplicate_replies: duplicates,
            seconds,
            auths_per_sec: if seconds > 0.0 {
                answered as f64 / seconds
            } else {
                0.0
            },
            latency: Percentiles::of(&mut latencies),
            judged: sample.len(),
            admitted,
        }
    }

    /// Stops every instance and the server; returns the last instance's stderr tail.
    pub fn stop(mut self) -> String {
        let mut tail = String::new();
        while let Some(mut p) = self.procs.pop() {
            p.stop(Duration::from_secs(5));
            if tail.is_empty() {
                tail = p.stderr_tail(40);
            }
        }
        self.server.stop();
        tail
    }
}

fn admitted(o: Result<ConnectOutcome, client::ClientError>) -> Result<Client, String> {
    match o {
        Ok(ConnectOutcome::Admitted(c)) => Ok(c),
        other => Err(format!(
            "the harness could not connect to its own server: {other:?}"
        )),
    }
}

fn is_admission(d: &wire::Decoded) -> bool {
    matches!(&d.response, Ok(r) if r.nats.error.is_empty() && !r.nats.jwt.is_empty())
}

/// An `HPUB` of a sealed request with the `Nats-Server-Xkey` header.
fn hpub(reply: &str, xkey: &str, body: &[u8]) -> Vec<u8> {
    let headers = format!(
        "NATS/1.0\r\n{}: {xkey}\r\n\r\n",
        callout_codec::SERVER_XKEY_HEADER
    );
    let mut f = format!(
        "HPUB {} {reply} {} {}\r\n",
        callout_codec::AUTH_CALLOUT_SUBJECT,
        headers.len(),
        headers.len() + body.len()
    )
    .into_bytes();
    f.extend_from_slice(headers.as_bytes());
    f.extend_from_slice(body);
    f.extend_from_slice(b"\r\n");
    f
}

/// Measures one responder on one server.
pub async fn bench_responder(
    bin: &ServerBinary,
    responder: &ResponderSpec,
    opts: &BenchOptions,
) -> BenchRun {
    let mut run = BenchRun {
        responder: responder.name.clone(),
        command: responder.template.clone(),
        server_version: bin.version.clone(),
        cores: cores(),
        build_profile: build_profile().into(),
        xkey: opts.xkey,
        ..Default::default()
    };
    if opts.connects > 0 {
        eprintln!(
            "bench {} on nats-server {}: {} connects through the callout and {} bypassing it",
            responder.name, bin.version, opts.connects, opts.connects
        );
        match ConnectRig::start(bin, responder, opts.xkey).await {
            Ok(rig) => {
                let r = rig.measure(opts.connects).await;
                let tail = rig.stop();
                if r.failures > 0 {
                    run.errors.push(format!(
                        "{} connect(s) were not admitted; responder stderr:\n{tail}",
                        r.failures
                    ));
                }
                run.connect = Some(r);
            }
            Err(e) => run.errors.push(format!("connect latency: {e}")),
        }
    }
    if opts.requests > 0 {
        match WireRig::start(bin, responder, opts.xkey).await {
            Ok(mut rig) => {
                'sweep: for &m in &opts.instances {
                    if let Err(e) = rig.set_instances(m).await {
                        run.errors
                            .push(format!("throughput with {m} instance(s): {e}"));
                        break 'sweep;
                    }
                    // Warm-up: not recorded.
                    rig.run_point(m, 8, 400, false).await;
                    for &k in &opts.inflight {
                        let p = rig.run_point(m, k, opts.requests, true).await;
                        eprintln!(
                            "  {m} instance(s), {k:>3} in flight: {:>8.0} auths/s, p50 {}",
                            p.auths_per_sec,
                            fmt_us(p.latency.p50_us)
                        );
                        run.wire.push(p);
                    }
                }
                rig.stop();
            }
            Err(e) => run.errors.push(format!("throughput: {e}")),
        }
    }
    run
}

/// Formats microseconds for a table: `87 µs`, `1.42 ms`.
pub fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

/// The terminal table.
pub fn terminal(report: &BenchReport) -> String {
    let mut out = String::new();
    for run in &report.runs {
        let _ = writeln!(
            out,
            "\n== {} on nats-server {} ({} cores, {} build, xkey {}) ==",
            run.responder,
            run.server_version,
            run.cores,
            run.build_profile,
            if run.xkey { "on" } else { "off" }
        );
        let _ = writeln!(out, "command: {}", run.command);
        if run.build_profile == "debug" {
            let _ = writeln!(
                out,
                "warning: a debug build; build with --release for numbers that mean something"
            );
        }
        if let Some(c) = &run.connect {
            let _ = writeln!(out, "\nconnect latency ({} sequential connects each)   p50        p90        p99        max", c.callout.n);
            for (label, p) in [
                ("through the callout", &c.callout),
                ("bypass (auth user)", &c.bypass),
            ] {
                let _ = writeln!(
                    out,
                    "  {label:<42} {:>10} {:>10} {:>10} {:>10}",
                    fmt_us(p.p50_us),
                    fmt_us(p.p90_us),
                    fmt_us(p.p99_us),
                    fmt_us(p.max_us)
                );
            }
            let _ = writeln!(
                out,
                "  {:<42} {:>10}",
                "added latency (callout p50 - bypass p50)",
                fmt_us(c.added_p50_us)
            );
        }
        if !run.wire.is_empty() {
            let _ = writeln!(out, "\nthroughput, harness playing the server ({} requests per row, prepared before the clock)", run.wire[0].requests);
            let _ = writeln!(out, "  instances  in flight    auths/s        p50        p90        p99        max  answered  dup  admitted");
            for p in &run.wire {
                let _ = writeln!(
                    out,
                    "  {:>9}  {:>9}  {:>9.0}  {:>9} {:>10} {:>10} {:>10}  {:>8}  {:>3}  {:>4}/{}",
                    p.instances,
                    p.inflight,
                    p.auths_per_sec,
                    fmt_us(p.latency.p50_us),
                    fmt_us(p.latency.p90_us),
                    fmt_us(p.latency.p99_us),
                    fmt_us(p.latency.max_us),
                    p.answered,
                    p.duplicate_replies,
                    p.admitted,
                    p.judged
                );
            }
        }
        for e in &run.errors {
            let _ = writeln!(out, "\nerror: {e}");
        }
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round axis step for `max / 5`.
fn nice_step(max: f64) -> f64 {
    let raw = (max / 5.0).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    mag * if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    }
}

const PALETTE: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];
const DASHES: &[&str] = &["", "6,3", "2,2", "8,2,2,2"];

/// A plot frame: the panel's plot area and its linear y axis.
/// Writes the "requests in flight" x axis (tick labels and title) under a panel.
fn in_flight_axis(out: &mut String, p: &Panel, inflights: &[usize], x: impl Fn(usize) -> f64) {
    for k in inflights {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{k}</text>"#,
            x(*k),
            p.y + p.h + 14.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">requests in flight</text>"#,
        p.x + p.w / 2.0,
        p.y + p.h + 28.0
    );
}

struct Panel {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Panel {
    fn frame(
        &self,
        out: &mut String,
        title: &str,
        ymax: f64,
        ylabel: &str,
        fmt: &dyn Fn(f64) -> String,
    ) -> f64 {
        let step = nice_step(ymax);
        let top = (ymax / step).ceil().max(1.0) * step;
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-weight="bold">{}</text>"#,
            self.x,
            self.y - 14.0,
            xml(title)
        );
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#999"/>"##,
            self.x, self.y, self.w, self.h
        );
        let mut v = 0.0;
        while v <= top + step / 2.0 {
            let y = self.y + self.h - v / top * self.h;
            let _ = writeln!(
                out,
                r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="10">{}</text>"##,
                self.x,
                self.x + self.w,
                self.x - 4.0,
                y + 3.0,
                fmt(v)
            );
            v += step;
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" transform="rotate(-90 {:.1} {:.1})" text-anchor="middle">{}</text>"#,
            self.x - 44.0,
            self.y + self.h / 2.0,
            self.x - 44.0,
            self.y + self.h / 2.0,
            xml(ylabel)
        );
        top
    }

    fn y_of(&self, v: f64, top: f64) -> f64 {
        self.y + self.h - (v / top).clamp(0.0, 1.0) * self.h
    }
}

/// A hand-written SVG: connect latency percentiles (through the callout and bypassing it),
/// throughput against requests in flight (one line per responder and instance count), and the
/// wire latency percentiles of one instance.
pub fn svg(report: &BenchReport) -> String {
    let (width, height) = (1080.0, 470.0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let subtitle = report
        .runs
        .first()
        .map(|r| {
            format!(
                "nats-server {}, {} cores, {} build, xkey {}",
                r.server_version,
                r.cores,
                r.build_profile,
                if r.xkey { "on" } else { "off" }
            )
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        r##"<text x="20" y="22" font-size="15" font-weight="bold">NATS auth callout: responder latency and throughput</text><text x="20" y="40" fill="#555">{}</text>"##,
        xml(&subtitle)
    );
    let ms = |v: f64| {
        if v >= 10_000.0 {
            format!("{:.0}", v / 1000.0)
        } else {
            format!("{:.1}", v / 1000.0)
        }
    };
    // Panel 1: connect latency.
    let p1 = Panel {
        x: 70.0,
        y: 80.0,
        w: 270.0,
        h: 280.0,
    };
    let connects: Vec<(usize, &BenchRun, &ConnectResult)> = report
        .runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.connect.as_ref().map(|c| (i, r, c)))
        .collect();
    let ymax = connects
        .iter()
        .map(|(_, _, c)| c.callout.p99_us.max(c.bypass.p99_us))
        .fold(1.0, f64::max);
    let top = p1.frame(
        &mut out,
        "connect latency (ms): p50 / p90 / p99",
        ymax,
        "ms",
        &ms,
    );
    let groups = (connects.len() * 2).max(1) as f64;
    let gw = p1.w / groups;
    for (gi, (ri, run, c)) in connects.iter().enumerate() {
        let color = PALETTE[ri % PALETTE.len()];
        for (si, (label, p)) in [("callout", &c.callout), ("bypass", &c.bypass)]
            .iter()
            .enumerate()
        {
            let gx = p1.x + (gi * 2 + si) as f64 * gw;
            let bw = (gw - 12.0) / 3.0;
            for (bi, (v, op)) in [(p.p50_us, 1.0), (p.p90_us, 0.6), (p.p99_us, 0.3)]
                .iter()
                .enumerate()
            {
                let y = p1.y_of(*v, top);
                let _ = writeln!(
                    out,
                    r#"<rect x="{:.1}" y="{y:.1}" width="{bw:.1}" height="{:.1}" fill="{color}" fill-opacity="{op}"><title>{} {label} p{}: {}</title></rect>"#,
                    gx + 6.0 + bi as f64 * bw,
                    p1.y + p1.h - y,
                    xml(&run.responder),
                    [50, 90, 99][bi],
                    fmt_us(*v)
                );
            }
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{label}</text>"#,
                gx + gw / 2.0,
                p1.y + p1.h + 14.0
            );
        }
        // The responder's name under its pair of groups, cut to fit.
        let name: String = run
            .responder
            .chars()
            .take((2.0 * gw / 6.0) as usize)
            .collect();
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="{color}">{}</text>"#,
            p1.x + (gi * 2 + 1) as f64 * gw,
            p1.y + p1.h + 28.0,
            xml(&name)
        );
    }
    // Panel 2: throughput against in-flight.
    let inflights: Vec<usize> = {
        let mut v: Vec<usize> = report
            .runs
            .iter()
            .flat_map(|r| r.wire.iter().map(|p| p.inflight))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let xs = |k: usize, p: &Panel| {
        let i = inflights.iter().position(|x| *x == k).unwrap_or(0) as f64;
        p.x + 20.0 + i * (p.w - 40.0) / (inflights.len().max(2) - 1) as f64
    };
    let p2 = Panel {
        x: 430.0,
        y: 80.0,
        w: 270.0,
        h: 280.0,
    };
    let ymax = report
        .runs
        .iter()
        .flat_map(|r| r.wire.iter().map(|p| p.auths_per_sec))
        .fold(1.0, f64::max);
    let top = p2.frame(
        &mut out,
        "throughput (auths/s) by requests in flight",
        ymax,
        "auths/s",
        &|v| format!("{v:.0}"),
    );
    let mut legend: Vec<(String, String, String)> = Vec::new();
    for (ri, run) in report.runs.iter().enumerate() {
        let color = PALETTE[ri % PALETTE.len()];
        let mut instances: Vec<usize> = run.wire.iter().map(|p| p.instances).collect();
        instances.dedup();
        for (ii, m) in instances.iter().enumerate() {
            let dash = DASHES[ii % DASHES.len()];
            let pts: Vec<String> = run
                .wire
                .iter()
                .filter(|p| p.instances == *m)
                .map(|p| {
                    format!(
                        "{:.1},{:.1}",
                        xs(p.inflight, &p2),
                        p2.y_of(p.auths_per_sec, top)
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>"#,
                pts.join(" ")
            );
            for p in run.wire.iter().filter(|p| p.instances == *m) {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"><title>{} x{m}, {} in flight: {:.0} auths/s</title></circle>"#,
                    xs(p.inflight, &p2),
                    p2.y_of(p.auths_per_sec, top),
                    xml(&run.responder),
                    p.inflight,
                    p.auths_per_sec
                );
            }
            legend.push((
                color.to_string(),
                dash.to_string(),
                format!("{} x{m}", run.responder),
            ));
        }
    }
    in_flight_axis(&mut out, &p2, &inflights, |k| xs(k, &p2));
    // Panel 3: wire latency of the first instance count, p50 solid and p99 dashed.
    let p3 = Panel {
        x: 790.0,
        y: 80.0,
        w: 270.0,
        h: 280.0,
    };
    let first_m = report
        .runs
        .iter()
        .flat_map(|r| r.wire.first().map(|p| p.instances))
        .next()
        .unwrap_or(1);
    let ymax = report
        .runs
        .iter()
        .flat_map(|r| {
            r.wire
                .iter()
                .filter(|p| p.instances == first_m)
                .map(|p| p.latency.p99_us)
        })
        .fold(1.0, f64::max);
    let top = p3.frame(
        &mut out,
        &format!("answer latency (ms), {first_m} instance(s)"),
        ymax,
        "ms (solid p50, dashed p99)",
        &ms,
    );
    for (ri, run) in report.runs.iter().enumerate() {
        let color = PALETTE[ri % PALETTE.len()];
        for (dash, pick) in [("", 0), ("6,3", 1)] {
            let pts: Vec<String> = run
                .wire
                .iter()
                .filter(|p| p.instances == first_m)
                .map(|p| {
                    format!(
                        "{:.1},{:.1}",
                        xs(p.inflight, &p3),
                        p3.y_of(
                            if pick == 0 {
                                p.latency.p50_us
                            } else {
                                p.latency.p99_us
                            },
                            top
                        )
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>"#,
                pts.join(" ")
            );
        }
    }
    in_flight_axis(&mut out, &p3, &inflights, |k| xs(k, &p3));
    // Legend.
    let mut y = 410.0;
    let mut x = 70.0;
    for (color, dash, label) in &legend {
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/><text x="{:.1}" y="{y:.1}">{}</text>"#,
            y - 4.0,
            x + 24.0,
            y - 4.0,
            x + 30.0,
            xml(label)
        );
        x += (40.0 + 7.0 * label.chars().count() as f64).max(150.0);
        if x > width - 250.0 {
            x = 70.0;
            y += 18.0;
        }
    }
    if legend.is_empty() {
        for (ri, run) in report.runs.iter().enumerate() {
            let _ = writeln!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="14" height="10" fill="{}"/><text x="{:.1}" y="{y:.1}">{}</text>"#,
                y - 10.0,
                PALETTE[ri % PALETTE.len()],
                x + 20.0,
                xml(&run.responder)
            );
            x += 190.0;
        }
    }
    let _ = writeln!(
        out,
        r##"<text x="70" y="{:.1}" fill="#555" font-size="10">bars: p50 (solid), p90, p99 (lighter); lines: one per responder and instance count</text>"##,
        height - 12.0
    );
    out.push_str("</svg>\n");
    out
}

fn parse_list(flag: &str, v: &str) -> Result<Vec<usize>, String> {
    let list: Result<Vec<usize>, _> = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse::<usize>)
        .collect();
    match list {
        Ok(l) if !l.is_empty() && l.iter().all(|n| *n > 0 && *n <= 4096) => Ok(l),
        _ => Err(format!(
            "{flag} {v:?}: give positive numbers separated by commas, e.g. 1,8,64"
        )),
    }
}

/// Splits the bench-only flags from those `run` shares (responders, versions, server binary).
pub fn parse_args(args: &[String]) -> Result<(BenchOptions, crate::cli::Args), String> {
    let mut o = BenchOptions::default();
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = crate::cli::split_flag(arg);
        let mut value = |name: &str| crate::cli::flag_value(&inline, &mut it, name);
        let count = |name: &str, v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{name} {v:?}: give a whole number"))
        };
        match flag.as_str() {
            "--connects" => o.connects = count("--connects", value("--connects")?)?.min(100_000),
            "--requests" => o.requests = count("--requests", value("--requests")?)?.min(1_000_000),
            "--inflight" => o.inflight = parse_list("--inflight", &value("--inflight")?)?,
            "--instances" => o.instances = parse_list("--instances", &value("--instances")?)?,
            "--plain" => o.xkey = false,
            "--json" => o.json = Some(value("--json")?.into()),
            "--svg" => o.svg = Some(value("--svg")?.into()),
            "--backend"
            | "--scenarios"
            | "--report-json"
            | "--junit"
            | "--markdown"
            | "--strict"
            | "--dry-run"
            | "--transcripts"
            | "--fail-on-unimplemented"
            | "--ready-timeout" => {
                return Err(format!("{flag} does not apply to bench; see bench --help"));
            }
            _ => rest.push(arg.clone()),
        }
    }
    let mut a = crate::cli::parse_args(&rest)?;
    if a.command != "run" || !a.filters.is_empty() {
        let extra = std::iter::once(a.command.clone())
            .chain(a.filters.iter().cloned())
            .filter(|w| w != "run")
            .collect::<Vec<_>>();
        return Err(format!(
            "bench takes no case filters (got {}); see bench --help",
            extra.join(" ")
        ));
    }
    a.command = "bench".into();
    Ok((o, a))
}

/// `callout-conformance bench ARGS`; returns the exit code.
pub fn main(args: &[String]) -> i32 {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return 0;
    }
    let (opts, a) = match parse_args(args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("callout-conformance bench: {e}");
            return 2;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("callout-conformance bench: cannot start the runtime: {e}");
            return 2;
        }
    };
    if build_profile() == "debug" {
        eprintln!("callout-conformance bench: warning: this is a debug build; build with --release (cargo run --release -p ci -- bench)");
    }
    let mut report = BenchReport {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        runs: vec![],
    };
    for version in &a.versions {
        let bin = match provision::resolve(version, a.nats_server.as_deref()) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("callout-conformance bench: {e}");
                return 2;
            }
        };
        for r in &a.responders {
            let run = rt.block_on(bench_responder(&bin, r, &opts));
            report.runs.push(run);
        }
    }
    print!("{}", terminal(&report));
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    for (path, text) in [(&opts.json, json), (&opts.svg, svg(&report))] {
        if let Some(p) = path {
            if let Err(e) = std::fs::write(p, text) {
                eprintln!(
                    "callout-conformance bench: cannot write {}: {e}",
                    p.display()
                );
                return 2;
            }
        }
    }
    if report.runs.iter().any(|r| !r.errors.is_empty()) {
        2
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!(
            (p.n, p.p50_us, p.p90_us, p.p99_us, p.max_us),
            (100, 50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(Percentiles::of(&mut []), Percentiles::default());
        let mut one = vec![Duration::from_micros(7)];
        assert_eq!(Percentiles::of(&mut one).p99_us, 7.0);
    }

    #[test]
    fn bench_flags_and_shared_flags() {
        let s = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (o, a) = parse_args(&s(&[
            "--connects",
            "50",
            "--inflight=1,4",
            "--plain",
            "--responder-cmd",
            "./svc {url}",
            "--server-version",
            "2.10.26",
        ]))
        .unwrap();
        assert_eq!(
            (o.connects, o.inflight.clone(), o.xkey),
            (50, vec![1, 4], false)
        );
        assert_eq!(
            a.responders
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            vec!["svc"]
        );
        assert_eq!(a.versions, vec!["2.10.26"]);
        assert!(parse_args(&s(&["--inflight", "0"]))
            .unwrap_err()
            .contains("positive"));
        assert!(parse_args(&s(&["e2e.seed"]))
            .unwrap_err()
            .contains("no case filters"));
        assert!(parse_args(&s(&["--strict"]))
            .unwrap_err()
            .contains("does not apply"));
    }

    #[test]
    fn the_bench_configuration_parses() {
        let s = bench_scenario(true).unwrap();
        assert!(s.xkey);
        assert_eq!(s.users_json[BENCH_USER]["permissions"]["resp"]["max"], 1);
        assert_eq!(s.auth_users[0].user, BYPASS_USER);
    }

    #[test]
    fn svg_is_well_formed_enough() {
        let run = BenchRun {
            responder: "a<b".into(),
            connect: Some(ConnectResult {
                callout: Percentiles {
                    n: 1,
                    p50_us: 900.0,
                    p90_us: 1000.0,
                    p99_us: 1500.0,
                    max_us: 2000.0,
                    mean_us: 950.0,
                },
                ..Default::default()
            }),
            wire: vec![
                WirePoint {
                    instances: 1,
                    inflight: 1,
                    auths_per_sec: 3000.0,
                    ..Default::default()
                },
                WirePoint {
                    instances: 1,
                    inflight: 8,
                    auths_per_sec: 9000.0,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let out = svg(&BenchReport {
            tool_version: "0".into(),
            runs: vec![run],
        });
        assert!(out.starts_with("<svg") && out.trim_end().ends_with("</svg>"));
        assert!(out.contains("a&lt;b x1") && !out.contains("a<b"));
        assert!(out.contains("<polyline"));
    }
}
