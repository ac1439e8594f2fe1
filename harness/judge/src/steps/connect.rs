//! The connect step: the CONNECT a case asks for (user and password, token, nkey, a minted
//! credential, a client certificate, the operator's sentinel or an account's own creds, over
//! TCP, TLS or a WebSocket, on a chosen node), its transcript line, and the outcome compared
//! with the expected one. An admitted connection joins the case's connections; `close` ends
//! one.

use std::time::{Duration, Instant};

use callout_catalog::profile::{CredCmd, CredKind};
use callout_catalog::scenario::ConnectExpect;
use callout_world::client::{self, ClientError, ConnectOptions, ConnectOutcome, SigMode};
use callout_world::fixture::Fixture;
use callout_world::spec::CertChoice;
use callout_world::topology::World;

use super::{bad, missing, ok, Conn, Conns, StepLine};

/// A connect step, borrowed from the scenario.
pub(crate) struct ConnectStep<'a> {
    pub(crate) name: &'a String,
    pub(crate) user: &'a Option<String>,
    pub(crate) pass: &'a Option<String>,
    pub(crate) token: &'a Option<String>,
    pub(crate) nkey: &'a Option<String>,
    pub(crate) sig: SigMode,
    pub(crate) expect: ConnectExpect,
    pub(crate) min_secs: Option<f64>,
    pub(crate) cred_cmd: &'a Option<CredCmd>,
    pub(crate) cert: &'a CertChoice,
    pub(crate) tls: bool,
    pub(crate) websocket: bool,
    pub(crate) node: &'a Option<String>,
    pub(crate) sentinel: bool,
    pub(crate) creds: &'a Option<String>,
}

impl ConnectStep<'_> {
    /// Connects, and keeps the connection when it is admitted as expected.
    pub(crate) async fn run(
        &self,
        fixture: &Fixture,
        world: &World<'_>,
        conns: &mut Conns,
        connect_timeout: Duration,
    ) -> StepLine {
        let user = self.user();
        let opts = match self.options(fixture, &user) {
            Ok(opts) => opts,
            Err(line) => return line,
        };
        let line_head = self.line_head(fixture, &user);
        let t0 = Instant::now();
        let outcome =
            client::connect(&world.addr(self.node.as_deref()), &opts, connect_timeout).await;
        let took = t0.elapsed().as_secs_f64();
        self.judge(outcome, &line_head, took, conns).await
    }

    /// The CONNECT user: the step's, or the connection's name when nothing else identifies
    /// the client.
    fn user(&self) -> Option<String> {
        let anonymous = self.tls && *self.cert != CertChoice::None && self.user.is_none();
        if self.token.is_some()
            || self.nkey.is_some()
            || self.cred_cmd.is_some()
            || anonymous
            || self.creds.is_some()
        {
            self.user.clone()
        } else {
            Some(self.user.clone().unwrap_or_else(|| self.name.clone()))
        }
    }

    /// The client's options: credentials, the operator's JWTs and the transport; or the
    /// step's line when one of them cannot be had.
    fn options(
        &self,
        fixture: &Fixture,
        user: &Option<String>,
    ) -> Result<ConnectOptions, StepLine> {
        let name = self.name;
        // A minted credential is made just before the connect, so that a short-lived one
        // has its whole life ahead of it.
        let (mut pass, mut token) = (self.pass.clone(), self.token.clone());
        if let Some(cmd) = self.cred_cmd {
            match cmd.mint() {
                Ok(secret) => match cmd.kind {
                    CredKind::Token => token = Some(secret),
                    CredKind::Password => pass = Some(secret),
                },
                Err(e) => {
                    return Err(bad(
                        format!("connect {name}: cred_cmd failed"),
                        "a credential from cred_cmd",
                        e,
                    ))
                }
            }
        }
        let opts = ConnectOptions {
            user: user.clone(),
            pass,
            token,
            name: Some(name.clone()),
            nkey: self
                .nkey
                .as_ref()
                .and_then(|n| fixture.nkeys.get(n))
                .map(|k| (k.clone(), self.sig)),
            jwt: None,
            tls: None,
            websocket: None,
        };
        let opts = self.operator_options(fixture, opts)?;
        match fixture.transport(self.tls, self.cert, self.websocket) {
            Ok((tls, websocket)) => Ok(ConnectOptions {
                tls,
                websocket,
                ..opts
            }),
            Err(e) => Err(bad(format!("connect {name}"), "a transport", e)),
        }
    }

    /// Operator mode: the sentinel's JWT, and the nonce signed with its key; or the JWT and
    /// key of an account's own user.
    fn operator_options(
        &self,
        fixture: &Fixture,
        opts: ConnectOptions,
    ) -> Result<ConnectOptions, StepLine> {
        Ok(match (&fixture.operator, self.sentinel, self.creds) {
            (Some(o), true, Some(c)) => match o.local_users.get(c) {
                Some(u) => ConnectOptions {
                    jwt: Some(u.jwt.clone()),
                    nkey: Some((u.key.clone(), SigMode::Valid)),
                    ..opts
                },
                None => {
                    return Err(bad(
                        format!("connect {}", self.name),
                        "a user of the account creds names",
                        format!("no user of account {c:?}"),
                    ))
                }
            },
            (Some(o), true, None) => ConnectOptions {
                jwt: Some(o.sentinel_jwt.clone()),
                nkey: Some((o.sentinel.clone(), SigMode::Valid)),
                ..opts
            },
            _ => opts,
        })
    }

    /// The transcript line up to the outcome: who connects, how, and where.
    fn line_head(&self, fixture: &Fixture, user: &Option<String>) -> String {
        let name = self.name;
        let sig = self.sig;
        let mut line_head = match (self.nkey, user, self.cert) {
            _ if self.creds.is_some() && user.is_none() => format!("connect {name}"),
            (Some(n), _, _) if sig == SigMode::Valid => {
                format!("connect {name} with the nkey of {n:?}")
            }
            (Some(n), _, _) => format!("connect {name} with the nkey of {n:?}, sig {sig:?}"),
            (None, Some(u), _) => format!("connect {name} as {u:?}"),
            (None, None, CertChoice::User(u)) => {
                format!("connect {name} with the certificate of {u:?}")
            }
            (None, None, CertChoice::Stranger(cn)) => {
                format!("connect {name} with a CA-signed certificate for CN={cn}")
            }
            (None, None, CertChoice::None) => {
                format!("connect {name} as \"(token)\"")
            }
        };
        if self.tls {
            line_head.push_str(if *self.cert == CertChoice::None {
                " over TLS without a certificate"
            } else {
                " over TLS"
            });
        }
        if self.websocket {
            line_head.push_str(" over WebSocket");
        }
        if let Some(n) = self.node {
            line_head.push_str(&format!(" on {n}"));
        }
        match (&fixture.operator, self.sentinel, self.creds) {
            (Some(_), _, Some(c)) => line_head.push_str(&format!(" with {c}'s own creds")),
            (Some(_), false, _) => line_head.push_str(" without the sentinel's JWT"),
            _ => {}
        }
        line_head
    }

    /// The outcome against the expected one; an admitted connection is kept when expected,
    /// closed otherwise.
    async fn judge(
        &self,
        outcome: Result<ConnectOutcome, ClientError>,
        line_head: &str,
        took: f64,
        conns: &mut Conns,
    ) -> StepLine {
        let (expect, min_secs) = (self.expect, self.min_secs);
        match (outcome, expect) {
            (Ok(ConnectOutcome::Admitted(c)), ConnectExpect::Admitted) => {
                conns.insert(self.name.clone(), Conn::new(c));
                ok(format!("{line_head} -> admitted"))
            }
            (Ok(ConnectOutcome::Admitted(c)), _) => {
                c.close().await;
                bad(
                    format!("{line_head} -> admitted"),
                    connect_want(expect),
                    "admitted",
                )
            }
            (Ok(ConnectOutcome::Rejected(e)), ConnectExpect::Rejected)
                if e == "Authorization Violation" =>
            {
                turned_away(line_head, &format!("rejected: {e}"), min_secs, took)
            }
            (Ok(ConnectOutcome::Rejected(e)), _) => bad(
                format!("{line_head} -> rejected: {e}"),
                connect_want(expect),
                format!("rejected: {e}"),
            ),
            (
                Ok(ConnectOutcome::TlsRefused(_) | ConnectOutcome::Closed),
                ConnectExpect::Refused,
            ) => ok(format!("{line_head} -> refused before authentication")),
            (Ok(ConnectOutcome::TlsRefused(e)), _) => bad(
                format!("{line_head} -> refused by TLS"),
                connect_want(expect),
                format!("the TLS session failed: {e}"),
            ),
            (Ok(ConnectOutcome::Closed), ConnectExpect::Closed) => {
                turned_away(line_head, "closed without -ERR", min_secs, took)
            }
            (Ok(ConnectOutcome::Closed), _) => bad(
                format!("{line_head} -> closed without -ERR"),
                connect_want(expect),
                "connection closed without -ERR",
            ),
            (Err(e), _) => bad(
                format!("{line_head} -> error"),
                connect_want(expect),
                e.to_string(),
            ),
        }
    }
}

/// A connect turned away as expected (`what`: "rejected: …" or "closed without -ERR"), no
/// earlier than `min_secs` when given (timeouts).
fn turned_away(line_head: &str, what: &str, min_secs: Option<f64>, took: f64) -> StepLine {
    match min_secs {
        Some(min) if took + 0.05 < min => bad(
            format!("{line_head} -> {what} (early)"),
            format!("turned away after at least {min} s"),
            format!("{what} after {took:.2} s"),
        ),
        Some(_) => ok(format!("{line_head} -> {what} (after the timeout)")),
        None => ok(format!("{line_head} -> {what}")),
    }
}

/// What a connect expecting `e` wanted, in words.
fn connect_want(e: ConnectExpect) -> &'static str {
    match e {
        ConnectExpect::Admitted => "admitted",
        ConnectExpect::Rejected => "rejected: Authorization Violation",
        ConnectExpect::Refused => "refused before authentication (TLS)",
        ConnectExpect::Closed => "closed without -ERR",
    }
}

/// The close step: closes the connection and forgets it.
pub(crate) async fn close(conns: &mut Conns, name: &str) -> StepLine {
    match conns.remove(name) {
        Some(c) => {
            c.client.close().await;
            ok(format!("close {name}"))
        }
        None => missing(name),
    }
}
