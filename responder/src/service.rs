//! The NATS side: connect as the callout account's user, queue-subscribe to
//! `$SYS.REQ.USER.AUTH`, hand each request to the [`Responder`] on a bounded set of tasks
//! spread over every core, publish the answer, reconnect forever, drain on SIGINT/SIGTERM
//! within a deadline (a second signal exits at once). A subscription the client library ends
//! on its own is served again on a fresh connection (a second apart once it happened more than
//! [`MAX_LOST`] times in a minute).
//!
//! A decision is about 0.1 ms of CPU (one signature check, two signatures) and no I/O: log
//! lines go to an in-memory buffer that a separate thread writes out (`crate::log`), so
//! nothing here waits on stderr. The decisions run as tasks on the runtime's worker threads,
//! one per core. Handing them to a separate thread pool instead was measured 10-25% slower in
//! throughput on two cores (`callout-conformance bench`): each request then crosses threads
//! twice more.
//!
//! The server the responder is connected to is the one it trusts: its key (`server_id` in the
//! INFO, read again after every reconnect) is handed to the replay guard, whose place is kept
//! for that key's requests (`crate::replay`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use tokio::sync::Semaphore;

use crate::handler::{Outcome, Responder, Verdict};
use crate::nats_url::{NatsUrl, UrlCredentials};
use crate::policy::Policy;

/// Connection settings.
#[derive(Clone)]
pub struct ServiceConfig {
    /// The servers, checked, credentials taken out.
    pub url: NatsUrl,
    /// User of the callout account (`-nats.user`); the URL's credentials win, as in Go.
    pub user: Option<String>,
    /// Its password.
    pub pass: Option<String>,
    /// The text of a creds file (`-nats.creds`, operator mode), checked at start-up.
    pub creds: Option<String>,
    /// Queue group.
    pub queue: String,
    /// Requests handled at once.
    pub workers: usize,
    /// How long the drain after a signal may take before the responder exits anyway.
    pub drain_timeout: Duration,
}

/// How the service ended, when it did not fail.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Signalled, and every request in flight was answered and flushed.
    Drained,
    /// Signalled before the first connection: nothing was in flight.
    BeforeReady,
}

/// The signals that stop the service, registered once so that a second signal during the
/// drain is seen, not lost to the default handler's absence.
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn register() -> anyhow::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                term: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
                int: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs until SIGINT or SIGTERM, then drains: stops taking requests, finishes those in flight,
/// flushes the answers. The drain ends after `cfg.drain_timeout` at the latest (the server may
/// be gone, and a flush would wait for it forever), or at once on a second signal; either is
/// an error, because answers may have been lost.
pub async fn run<P: Policy>(
    cfg: ServiceConfig,
    responder: Arc<Responder<P>>,
) -> anyhow::Result<Stopped> {
    let mut signals = StopSignals::register()?;
    let permits = Arc::new(Semaphore::new(cfg.workers));
    let mut lost: std::collections::VecDeque<Instant> = Default::default();
    loop {
        let connected = Arc::new(AtomicBool::new(true));
        let (client, sub) = tokio::select! {
            started = connect(&cfg, connected.clone()) => started?,
            _ = signals.next() => {
                tracing::info!("signal received before the connection was up; bye");
                return Ok(Stopped::BeforeReady);
            }
        };
        tracing::info!(subject = callout_codec::AUTH_CALLOUT_SUBJECT, queue = %cfg.queue, workers = cfg.workers, "ready");
        // Serving ends with the first signal; dropping the subscription then unsubscribes.
        let signalled = tokio::select! {
            served = serve(sub, &client, &responder, &permits, &connected) => {
                served?;
                false
            }
            _ = signals.next() => true,
        };
        if !signalled {
            // The connection is gone with the subscription: nothing can be flushed. Give the
            // handlers in flight a moment to finish (their publishes fail at once), then
            // connect again.
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                permits.acquire_many(cfg.workers as u32),
            )
            .await;
            let now = Instant::now();
            lost.retain(|t| now.duration_since(*t) < LOST_WINDOW);
            lost.push_back(now);
            // Nobody asked us to stop: the client library ended the subscription. async-nats
            // 0.51 and 0.52 do so when their reader task panics on a header value holding a
            // lone CR (nats-io/nats.rs#1612), which any client allowed to publish on the
            // subject can send. A fresh connection serves again; one that keeps breaking is
            // retried a second apart, so a flood of such messages cannot spin the CPU.
            tracing::error!(
                lost_in_last_minute = lost.len(),
                "the subscription to {} ended without a signal (the client library's connection broke); connecting again",
                callout_codec::AUTH_CALLOUT_SUBJECT
            );
            if lost.len() > MAX_LOST {
                tokio::select! {
                    _ = tokio::time::sleep(LOST_BACKOFF) => {}
                    _ = signals.next() => return Ok(Stopped::BeforeReady),
                }
            }
            continue;
        }
        tracing::info!(
            deadline_ms = cfg.drain_timeout.as_millis() as u64,
            "signal received; draining (a second signal exits at once)"
        );
        let drain = async {
            // Every handler holds a permit until it has published its answer.
            let all = permits.acquire_many(cfg.workers as u32).await;
            let _ = client.flush().await;
            drop(all);
        };
        let drained = tokio::select! {
            drained = tokio::time::timeout(cfg.drain_timeout, drain) => drained.is_ok(),
            _ = signals.next() => anyhow::bail!("second signal during the drain; exiting at once, answers in flight may be lost"),
        };
        if drained {
            tracing::info!("drained; bye");
            return Ok(Stopped::Drained);
        }
        anyhow::bail!(
            "the drain did not finish within {:?} (is the server reachable?); exiting, answers in flight may be lost",
            cfg.drain_timeout
        );
    }
}

/// How many lost subscriptions within [`LOST_WINDOW`] are served again at once; beyond that,
/// each reconnect waits [`LOST_BACKOFF`].
pub const MAX_LOST: usize = 5;
/// The window [`MAX_LOST`] counts in.
pub const LOST_WINDOW: Duration = Duration::from_secs(60);
/// The pause before reconnecting when the subscription keeps being lost.
pub const LOST_BACKOFF: Duration = Duration::from_secs(1);

/// A fresh client, connected (retrying forever), subscribed and flushed. `connected` is set on
/// every (re)connection, so that the server's key is read again.
async fn connect(
    cfg: &ServiceConfig,
    connected: Arc<AtomicBool>,
) -> anyhow::Result<(async_nats::Client, async_nats::Subscriber)> {
    let mut opts = async_nats::ConnectOptions::new()
        .name("callout-responder")
        .retry_on_initial_connect()
        .max_reconnects(None)
        .event_callback(move |ev| {
            let connected = connected.clone();
            async move {
                match ev {
                    async_nats::Event::Connected => {
                        connected.store(true, Ordering::SeqCst);
                        tracing::info!("connected to NATS")
                    }
                    async_nats::Event::Disconnected => {
                        tracing::warn!("disconnected from NATS; reconnecting")
                    }
                    other => tracing::debug!("nats event: {other}"),
                }
            }
        });
    match &cfg.url.credentials {
        Some(UrlCredentials::UserPass(u, p)) => {
            opts = opts.user_and_password(u.clone(), p.expose().to_string())
        }
        Some(UrlCredentials::Token(t)) => opts = opts.token(t.expose().to_string()),
        None => {
            if let (Some(u), Some(p)) = (&cfg.user, &cfg.pass) {
                opts = opts.user_and_password(u.clone(), p.clone());
            }
        }
    }
    if let Some(text) = &cfg.creds {
        opts = opts
            .credentials(text)
            .context("loading the -nats.creds file")?;
    }
    let client = opts
        .connect(cfg.url.servers.clone())
        .await
        .with_context(|| format!("connecting to {}", cfg.url.redacted))?;
    let sub = client
        .queue_subscribe(callout_codec::AUTH_CALLOUT_SUBJECT, cfg.queue.clone())
        .await
        .context("subscribing to $SYS.REQ.USER.AUTH")?;
    client.flush().await.context("flushing the subscription")?;
    Ok((client, sub))
}

/// Hands the key of the server the client is connected to to the replay guard, once per
/// connection (`connected` is set by the client's events).
fn trust_connected_server<P: Policy>(
    client: &async_nats::Client,
    responder: &Responder<P>,
    connected: &AtomicBool,
) {
    if !connected.load(Ordering::Relaxed) || !connected.swap(false, Ordering::SeqCst) {
        return;
    }
    let Some(info) = client.try_server_info() else {
        connected.store(true, Ordering::SeqCst);
        return;
    };
    if responder.trust_server_key(&info.server_id) {
        tracing::info!(
            server = %info.server_id,
            "requests signed by the connected server's key keep their place in the replay guard"
        );
    }
}

/// Takes requests until the subscription ends, each on a task holding one of `permits`.
async fn serve<P: Policy>(
    mut sub: async_nats::Subscriber,
    client: &async_nats::Client,
    responder: &Arc<Responder<P>>,
    permits: &Arc<Semaphore>,
    connected: &AtomicBool,
) -> anyhow::Result<()> {
    trust_connected_server(client, responder, connected);
    while let Some(msg) = sub.next().await {
        trust_connected_server(client, responder, connected);
        let Some(reply) = msg.reply.clone() else {
            tracing::debug!("request without a reply subject ignored");
            continue;
        };
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .context("worker pool closed")?;
        let responder = responder.clone();
        let client = client.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let header = msg
                .headers
                .as_ref()
                .and_then(|h| h.get(callout_codec::SERVER_XKEY_HEADER))
                .map(|v| v.as_str());
            let handled = responder.handle(&msg.payload, header, callout_codec::unix_now());
            if let Outcome::Reply(bytes) = handled.outcome {
                if let Some(d) = responder.policy().hold() {
                    tokio::time::sleep(d).await;
                }
                let bytes = bytes::Bytes::from(bytes);
                if responder.policy().double_reply() {
                    let _ = client.publish(reply.clone(), bytes.clone()).await;
                }
                if let Err(e) = client.publish(reply, bytes).await {
                    tracing::warn!("could not publish an answer: {e}");
                }
            }
            let micros = started.elapsed().as_micros() as u64;
            match handled.verdict {
                Verdict::Admitted { account } => {
                    tracing::info!(user = %handled.user, %account, verdict = "admitted", micros, "decision")
                }
                Verdict::Rejected { reason } => {
                    tracing::info!(user = %handled.user, verdict = "rejected", reason, micros, "decision")
                }
                Verdict::Dropped { reason } => {
                    tracing::warn!(verdict = "dropped", reason, micros, "decision")
                }
            }
            drop(permit);
        });
    }
    Ok(())
}
