//! The injector: the harness's own connection that publishes forged requests on the callout
//! subject, as the server does, and collects what comes back.

use std::time::{Duration, Instant};

use callout_catalog::wire::{Answer, Forged};
use callout_world::client::{self, Client};

/// A connection that publishes forged requests.
pub struct Injector {
    /// The harness's own connection to the server.
    pub client: Client,
    /// How long the server it plays waits for an answer: its authorization timeout.
    pub timeout: Duration,
}

/// How long past the timeout the harness still listens, so that a late answer is seen and
/// reported as late (the server it plays has refused the client by then) rather than as none.
pub const LATE_GRACE: Duration = Duration::from_millis(500);

impl Injector {
    /// An injector on `client` for a server whose authorization timeout is `timeout`.
    pub fn new(client: Client, timeout: Duration) -> Injector {
        Injector { client, timeout }
    }

    /// The seconds the first reply of `answer` took, when it came after the timeout.
    pub fn late(&self, answer: &Answer) -> Option<f64> {
        (!answer.bodies.is_empty() && answer.latency > self.timeout.as_secs_f64())
            .then_some(answer.latency)
    }

    /// Publishes `body` on the callout subject with reply subject `reply`, with the
    /// `Nats-Server-Xkey` header when `header` is set, as the server does.
    pub async fn publish(&mut self, reply: &str, body: &[u8], header: Option<&str>) {
        match header {
            Some(h) => {
                self.client
                    .publish_with_headers(
                        callout_codec::AUTH_CALLOUT_SUBJECT,
                        Some(reply),
                        &[(callout_codec::SERVER_XKEY_HEADER, h)],
                        body,
                    )
                    .await
            }
            None => {
                self.client
                    .publish(callout_codec::AUTH_CALLOUT_SUBJECT, Some(reply), body)
                    .await
            }
        }
    }

    /// Sends `body` (with the xkey header when `header` is set) and collects replies; a status
    /// message from the server is recorded as such and ends the wait.
    pub async fn send(&mut self, body: &[u8], header: Option<&str>, listen: Duration) -> Answer {
        let inbox = self.client.new_inbox();
        let sid = self.client.subscribe(&inbox, None).await;
        let t0 = Instant::now();
        self.publish(&inbox, body, header).await;
        let mut answer = Answer::default();
        let mut deadline = t0 + listen;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.client.next_event(left).await {
                Some(client::Event::Msg(m)) if m.sid == sid => {
                    if let Some(s) = m.status_line() {
                        answer.statuses.push(s);
                        if answer.bodies.is_empty() {
                            break;
                        }
                        continue;
                    }
                    if answer.bodies.is_empty() {
                        answer.latency = t0.elapsed().as_secs_f64();
                        // After the first reply, listen a little longer for a second one.
                        deadline = deadline.min(Instant::now() + Duration::from_millis(150));
                    }
                    answer.bodies.push(m.payload);
                }
                Some(client::Event::Closed) => break,
                Some(_) => {}
                None => break,
            }
        }
        self.client.unsubscribe(sid).await;
        answer
    }

    /// Sends a forged request (twice when it is a replay; the judged answer is the second),
    /// listening as long as the server would wait, and [`LATE_GRACE`] more.
    pub async fn send_forged(&mut self, f: &Forged) -> (Option<Answer>, Answer) {
        let listen = self.timeout + LATE_GRACE;
        let first = if f.replayed {
            Some(self.send(&f.body, f.header.as_deref(), listen).await)
        } else {
            None
        };
        (first, self.send(&f.body, f.header.as_deref(), listen).await)
    }
}
