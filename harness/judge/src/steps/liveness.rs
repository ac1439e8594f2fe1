//! The steps about a connection's life after its connect: it is still admitted (a PING
//! answered, no `-ERR`), or the server ends it with `User Authentication Expired` in time.

use std::time::{Duration, Instant};

use super::{bad, missing, ok, Conns, StepLine};

/// The alive step.
pub(crate) async fn alive(conns: &mut Conns, name: &str) -> StepLine {
    let Some(c) = conns.get_mut(name) else {
        return missing(name);
    };
    c.sync().await;
    if let Some(e) = c.errs.first() {
        bad(
            format!("{name} still admitted -> -ERR '{e}'"),
            "still connected, no -ERR",
            format!("-ERR '{e}'"),
        )
    } else if c.closed {
        bad(
            format!("{name} still admitted -> closed"),
            "still connected",
            "the server closed the connection",
        )
    } else {
        ok(format!("{name} still admitted (PING answered)"))
    }
}

/// The expire step: waits up to `within` seconds for the server to close `conn` with
/// `User Authentication Expired`, and forgets the connection.
pub(crate) async fn expire(conns: &mut Conns, conn: &str, within: f64) -> StepLine {
    let Some(mut c) = conns.remove(conn) else {
        return missing(conn);
    };
    let deadline = Instant::now() + Duration::from_secs_f64(within);
    while !c.closed && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        match c.client.next_event(left).await {
            Some(e) => c.absorb(vec![e]),
            None => break,
        }
    }
    let expired = c.errs.iter().any(|e| e == "User Authentication Expired");
    let line = format!("{conn} disconnected by the server within {within} s");
    let got = match (c.closed, c.errs.last()) {
        (false, _) => "still connected".to_string(),
        (true, Some(e)) => format!("closed with -ERR '{e}'"),
        (true, None) => "closed without an -ERR".to_string(),
    };
    c.client.close().await;
    if expired && got.starts_with("closed") {
        ok(format!("{line} -> -ERR 'User Authentication Expired'"))
    } else {
        bad(
            format!("{line} -> {got}"),
            format!("-ERR 'User Authentication Expired' within {within} s"),
            got,
        )
    }
}
