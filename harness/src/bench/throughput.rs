//! The wire-mode throughput rig: the harness plays the server (a server without `auth_callout`,
//! forged requests signed and sealed before the clock starts, published to
//! `$SYS.REQ.USER.AUTH`), keeps K requests in flight and counts first and duplicate replies, for
//! one or more instances of the responder in a queue group.

use std::time::{Duration, Instant};

use callout_codec::SealingChannel;
use serde::Serialize;

use super::subject::Admitted;
use super::{Percentiles, HARNESS_USER, SYS_ACCOUNT, SYS_USER};
use crate::client::{self, Client, ConnectOptions, ConnectOutcome, Event};
use crate::provision::ServerBinary;
use crate::server::RunningServer;
use crate::sut::{ResponderSpec, RunningResponder};
use crate::wire::{self, FakeServer};
use callout_world::fixture::{Fixture, ProcessBackend, ServerBackend};
use callout_world::procstat;
use callout_world::spec::AuthUser;
use callout_world::spec::WorldSpec;

/// Replies of each throughput point fully decoded and judged, after the clock stops.
const JUDGED_SAMPLE: usize = 16;
/// No throughput point runs longer than this.
const POINT_DEADLINE: Duration = Duration::from_secs(20);

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
    /// CPU time (user + system) the responder's process groups spent on this point, per
    /// answered request, microseconds (`/proc`, good to 10 ms over the point; `None` without
    /// `/proc` or without an answer).
    pub responder_cpu_us_per_auth: Option<f64>,
    /// Peak resident memory of the responder's process groups so far, KiB (`VmHWM`).
    pub responder_peak_rss_kib: Option<u64>,
    /// Why the point stopped before every request was answered; `None` when all were.
    pub stopped: Option<String>,
}

/// A server without callout, the responder's instances, and the harness playing the server.
pub struct WireRig {
    login: Admitted,
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
        world: WorldSpec,
        login: Admitted,
    ) -> Result<WireRig, String> {
        let sys_pass = callout_world::credential::random_secret();
        let mut spec = world;
        spec.injector = Some(HARNESS_USER.into());
        spec.auth_users.push(AuthUser {
            user: SYS_USER.into(),
            pass: sys_pass.clone(),
            account: SYS_ACCOUNT.into(),
        });
        let fixture =
            Fixture::new(&spec).map_err(|e| format!("cannot write the fixture files: {e}"))?;
        let harness_pass = fixture.probe_pass.clone();
        let server = ProcessBackend
            .start(bin, &fixture.conf)
            .await
            .map_err(|e| e.to_string())?;
        let ph = fixture
            .placeholders(&server.url())
            .map_err(|e| format!("cannot write the seed files: {e}"))?;
        let argv = responder.argv(&ph)?;
        let login_as = |user: &str, pass: &str| ConnectOptions {
            user: Some(user.into()),
            pass: Some(pass.into()),
            name: Some("callout-bench".into()),
            ..Default::default()
        };
        let client = admitted(
            client::connect(
                &server.addr(),
                &login_as(HARNESS_USER, &harness_pass),
                Duration::from_secs(5),
            )
            .await,
        )?;
        let sys = admitted(
            client::connect(
                &server.addr(),
                &login_as(SYS_USER, &sys_pass),
                Duration::from_secs(5),
            )
            .await,
        )?;
        let forger = FakeServer::new(fixture.xkey_pub.clone(), fixture.issuer_pub.clone());
        let channel = forger.channel();
        Ok(WireRig {
            login,
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
            callout_world::fixture::CALLOUT_ACCOUNT
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

    /// Signs, seals and frames `n` requests for `login` whose replies go to `prefix.<i>`.
    fn prepare(
        &self,
        n: usize,
        prefix: &str,
        login: &callout_world::credential::Login,
    ) -> Vec<Vec<u8>> {
        let exp = callout_codec::unix_now() + 15;
        (0..n)
            .map(|i| {
                let mut c = self.forger.request_for(login);
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
        // A minted credential is made once per row, before its clock.
        let login = match self.login.login() {
            Ok((l, _)) => l,
            Err(e) => {
                return WirePoint {
                    instances,
                    inflight,
                    requests,
                    stopped: Some(format!("no credential to send: {e}")),
                    ..Default::default()
                }
            }
        };
        let frames = self.prepare(requests, &prefix, &login);
        let mut sent_at: Vec<Option<Instant>> = vec![None; requests];
        let mut done = vec![false; requests];
        let mut latencies = Vec::with_capacity(requests);
        let mut sample = Vec::new();
        let (mut answered, mut duplicates, mut outstanding, mut next) =
            (0usize, 0usize, 0usize, 0usize);
        let mut buf = Vec::new();
        let groups: Vec<i32> = self.procs.iter().map(|p| p.pid() as i32).collect();
        let usage0 = procstat::groups_usage(&groups);
        let t0 = Instant::now();
        let deadline = t0 + POINT_DEADLINE;
        let mut last_answer = t0;
        let mut stopped = None;
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
                stopped = Some("the harness could not publish: its connection failed".into());
                break;
            }
            if answered == requests {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(first) = self.client.next_event(left).await else {
                stopped = Some(format!(
                    "stopped at the {} s limit of a row: {answered} of {requests} answered, {next} sent",
                    POINT_DEADLINE.as_secs()
                ));
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
                stopped = Some(format!(
                    "the server closed the harness's connection: {answered} of {requests} answered"
                ));
                break;
            }
        }
        let seconds = last_answer.duration_since(t0).as_secs_f64();
        let usage1 = procstat::groups_usage(&groups);
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
            responder_cpu_us_per_auth: cpu_per_auth(usage0, usage1, answered),
            responder_peak_rss_kib: usage1.map(|u| u.peak_rss_kib),
            stopped,
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

/// The CPU time between two readings per answer, microseconds.
pub fn cpu_per_auth(
    before: Option<procstat::GroupUsage>,
    after: Option<procstat::GroupUsage>,
    answered: usize,
) -> Option<f64> {
    let (b, a) = (before?, after?);
    (answered > 0).then(|| a.cpu.saturating_sub(b.cpu).as_secs_f64() * 1e6 / answered as f64)
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
