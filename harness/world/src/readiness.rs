//! Readiness: when a world's responder answers callouts. The probe user logs in until it is
//! admitted, or refused well before the server's timeout; an answer tap in the callout account
//! tells a responder that answers too late from one that does not answer at all.

use std::time::{Duration, Instant};

use crate::client::{self, ConnectOptions, ConnectOutcome};
use crate::fixture::Fixture;
use crate::server::RunningServer;
use crate::sut::RunningResponder;

/// How the readiness probe ended.
pub enum Probe {
    Admitted,
    /// Rejected well before the server's timeout: the responder answered.
    Rejected,
}

/// Waits until the responder answers callouts: the probe user is admitted, or rejected well
/// before the server's timeout (the responder answered, and the server refused the answer:
/// the cases will say why). Fails when the responder exits or `ready` (`--ready-timeout`)
/// passes.
pub async fn wait_ready(
    server: &RunningServer,
    fx: &Fixture,
    proc: &mut RunningResponder,
    timeout: f64,
    ready: Duration,
) -> Result<Probe, String> {
    let deadline = Instant::now() + ready;
    let opts = fx.probe_login.clone();
    let mut last = String::from("no attempt");
    // Config mode: the responder's own login (exempt from the callout) times its answers.
    let tap = match &fx.operator {
        None => {
            let login = ConnectOptions {
                user: Some(fx.responder_user.clone()),
                pass: Some(fx.responder_pass.clone()),
                name: Some("callout-conformance answer tap".into()),
                ..Default::default()
            };
            crate::answer_tap::AnswerTap::open(&server.addr(), &login).await
        }
        Some(_) => None,
    };
    // Most responders subscribe within a few hundred milliseconds; a probe sent before that
    // costs a whole server timeout.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while Instant::now() < deadline {
        if let Some(st) = proc.exited() {
            return Err(format!(
                "it exited ({st}); its stderr:\n{}",
                proc.stderr_tail(20)
            ));
        }
        let t0 = Instant::now();
        match client::connect(
            &server.addr(),
            &opts,
            Duration::from_secs_f64(timeout + 3.0),
        )
        .await
        {
            Ok(ConnectOutcome::Admitted(c)) => {
                c.close().await;
                return Ok(Probe::Admitted);
            }
            Ok(ConnectOutcome::Rejected(_)) if t0.elapsed().as_secs_f64() < timeout * 0.7 => {
                return Ok(Probe::Rejected)
            }
            Ok(o) => last = format!("probe connect: {o:?}"),
            Err(e) => last = e.to_string(),
        }
        // Three answers in a row after the server gave up: a responder that answers, too
        // late for any client (a first slow answer alone may be a cold start).
        if let Some(late) = tap.as_ref().and_then(|t| t.late(3, timeout)) {
            let times: Vec<String> = late.iter().map(|t| format!("{t:.2} s")).collect();
            return Err(format!(
                "the responder answers late: {} after the request, past the server's {timeout} s authorization timeout, so the server refuses every client (the wire cases judge it and name the time)",
                times.join(", ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "{} s passed (--ready-timeout); last attempt: {last}",
        ready.as_secs_f64()
    ))
}
