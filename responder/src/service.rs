//! The NATS side: connect as the callout account's user, queue-subscribe to
//! `$SYS.REQ.USER.AUTH`, hand each request to the [`Responder`] on a bounded set of tasks
//! spread over every core, publish the answer, reconnect forever, drain on SIGINT/SIGTERM.
//!
//! A decision is about 0.1 ms of CPU (one signature check, two signatures) and no I/O: log
//! lines go to an in-memory buffer that a separate thread writes out (`crate::log`), so
//! nothing here waits on stderr. The decisions run as tasks on the runtime's worker threads,
//! one per core. Handing them to a separate thread pool instead was measured 10-25% slower in
//! throughput on two cores (`callout-conformance bench`): each request then crosses threads
//! twice more.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use futures_util::StreamExt;
use tokio::sync::Semaphore;

use crate::handler::{Outcome, Responder, Verdict};

/// Connection settings.
#[derive(Clone)]
pub struct ServiceConfig {
    /// Server URL.
    pub url: String,
    /// User of the callout account.
    pub user: Option<String>,
    /// Its password.
    pub pass: Option<String>,
    /// Queue group.
    pub queue: String,
    /// Requests handled at once.
    pub workers: usize,
}

/// Runs until SIGINT or SIGTERM, then drains: stops taking requests, finishes those in flight,
/// flushes the answers.
pub async fn run(cfg: ServiceConfig, responder: Arc<Responder>) -> anyhow::Result<()> {
    let mut opts = async_nats::ConnectOptions::new()
        .name("callout-responder")
        .retry_on_initial_connect()
        .max_reconnects(None)
        .event_callback(|ev| async move {
            match ev {
                async_nats::Event::Connected => tracing::info!("connected to NATS"),
                async_nats::Event::Disconnected => {
                    tracing::warn!("disconnected from NATS; reconnecting")
                }
                other => tracing::debug!("nats event: {other}"),
            }
        });
    if let (Some(u), Some(p)) = (&cfg.user, &cfg.pass) {
        opts = opts.user_and_password(u.clone(), p.clone());
    }
    let client = opts
        .connect(&cfg.url)
        .await
        .with_context(|| format!("connecting to {}", cfg.url))?;
    let mut sub = client
        .queue_subscribe(callout_codec::AUTH_CALLOUT_SUBJECT, cfg.queue.clone())
        .await
        .context("subscribing to $SYS.REQ.USER.AUTH")?;
    client.flush().await.context("flushing the subscription")?;
    tracing::info!(subject = callout_codec::AUTH_CALLOUT_SUBJECT, queue = %cfg.queue, workers = cfg.workers, "ready");

    let permits = Arc::new(Semaphore::new(cfg.workers));
    let mut shutdown = Box::pin(shutdown_signal());
    loop {
        tokio::select! {
            _ = &mut shutdown => {
                tracing::info!("signal received; draining");
                break;
            }
            msg = sub.next() => {
                let Some(msg) = msg else { break };
                let Some(reply) = msg.reply.clone() else {
                    tracing::debug!("request without a reply subject ignored");
                    continue;
                };
                let permit = permits.clone().acquire_owned().await.context("worker pool closed")?;
                let responder = responder.clone();
                let client = client.clone();
                tokio::spawn(async move {
                    let started = Instant::now();
                    let header = msg.headers.as_ref().and_then(|h| h.get(callout_codec::SERVER_XKEY_HEADER)).map(|v| v.as_str());
                    let handled = responder.handle(&msg.payload, header, callout_codec::unix_now());
                    if let Outcome::Reply(bytes) = handled.outcome {
                        let bytes = bytes::Bytes::from(bytes);
                        if responder.double_reply() {
                            let _ = client.publish(reply.clone(), bytes.clone()).await;
                        }
                        if let Err(e) = client.publish(reply, bytes).await {
                            tracing::warn!("could not publish an answer: {e}");
                        }
                    }
                    let micros = started.elapsed().as_micros() as u64;
                    match handled.verdict {
                        Verdict::Admitted { account } => tracing::info!(user = %handled.user, %account, verdict = "admitted", micros, "decision"),
                        Verdict::Rejected { reason } => tracing::info!(user = %handled.user, verdict = "rejected", reason, micros, "decision"),
                        Verdict::Dropped { reason } => tracing::warn!(verdict = "dropped", reason, micros, "decision"),
                    }
                    drop(permit);
                });
            }
        }
    }
    let _ = sub.unsubscribe().await;
    // Wait for every handler to finish.
    let _ = permits.acquire_many(cfg.workers as u32).await;
    let _ = client.flush().await;
    tracing::info!("drained; bye");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
