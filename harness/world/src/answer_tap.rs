//! The answer tap: a connection in the callout account (as the responder's own user, which
//! the server exempts from the callout) subscribed to `$SYS.REQ.USER.AUTH` and to the server's
//! reply inboxes (`$SYS._INBOX.>`, `server/events.go` `newRespInbox`), timing each answer from
//! the request the server sent. The server gives up on an answer after its authorization
//! timeout and logs that only at debug level, so this is how readiness tells a responder that
//! answers late (every client refused) from one that does not answer at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::client::{self, ConnectOptions, ConnectOutcome, Event};

/// A running tap; closes its connection when dropped (its subscriptions must not outlive
/// the readiness wait).
pub struct AnswerTap {
    answers: Arc<Mutex<Vec<f64>>>,
    stop: Arc<tokio::sync::Notify>,
}

impl AnswerTap {
    /// Connects to `addr` with `login` and starts timing answers; `None` when the login is
    /// not admitted (the tap is a diagnosis, never a requirement).
    pub async fn open(addr: &str, login: &ConnectOptions) -> Option<AnswerTap> {
        let Ok(ConnectOutcome::Admitted(mut c)) =
            client::connect(addr, login, Duration::from_secs(3)).await
        else {
            return None;
        };
        c.subscribe("$SYS.REQ.USER.AUTH", None).await;
        c.subscribe("$SYS._INBOX.>", None).await;
        if !c.flush(Duration::from_secs(3)).await {
            return None;
        }
        let answers = Arc::new(Mutex::new(Vec::new()));
        let sink = answers.clone();
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopped = stop.clone();
        tokio::spawn(async move {
            let mut sent: HashMap<String, Instant> = HashMap::new();
            loop {
                let event = tokio::select! {
                    e = c.next_event(Duration::from_secs(3600)) => e,
                    _ = stopped.notified() => break,
                };
                match event {
                    Some(Event::Msg(m)) if m.subject == "$SYS.REQ.USER.AUTH" => {
                        if let Some(r) = m.reply {
                            sent.insert(r, Instant::now());
                        }
                    }
                    Some(Event::Msg(m)) => {
                        if let Some(t0) = sent.remove(&m.subject) {
                            if let Ok(mut a) = sink.lock() {
                                a.push(t0.elapsed().as_secs_f64());
                            }
                        }
                    }
                    Some(Event::Closed) => return,
                    _ => {}
                }
            }
            c.close().await;
        });
        Some(AnswerTap { answers, stop })
    }

    /// The answer times seen so far, in seconds, oldest first.
    pub fn answers(&self) -> Vec<f64> {
        self.answers.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// The last `n` answer times when there are `n` and every one came after `timeout`
    /// seconds: a responder that answers, but too late for the server.
    pub fn late(&self, n: usize, timeout: f64) -> Option<Vec<f64>> {
        let a = self.answers();
        let last = a.get(a.len().checked_sub(n)?..)?;
        last.iter().all(|t| *t > timeout).then(|| last.to_vec())
    }
}

impl Drop for AnswerTap {
    fn drop(&mut self) {
        // A stored permit: the task stops at its next wait even if it is not waiting now.
        self.stop.notify_one();
    }
}
