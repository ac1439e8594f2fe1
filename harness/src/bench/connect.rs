//! The connect-latency rig: a real `auth_callout` server with one responder, and sequential
//! connects through the callout interleaved with connects of an auth user that bypasses it.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::subject::Admitted;
use super::{Percentiles, BYPASS_PASS, BYPASS_USER};
use crate::client::{self, ConnectOptions, ConnectOutcome};
use crate::provision::ServerBinary;
use crate::server::RunningServer;
use crate::sut::{ResponderSpec, RunningResponder};
use callout_world::credential::Login;
use callout_world::fixture::{Fixture, ProcessBackend, ServerBackend};
use callout_world::procstat;
use callout_world::spec::WorldSpec;

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
    /// CPU time (user + system) of the responder's process group per connect through the
    /// callout, microseconds (`/proc`; the bypass connects never reach it).
    pub responder_cpu_us_per_auth: Option<f64>,
    /// Peak resident memory of the responder's process group, KiB (`VmHWM`).
    pub responder_peak_rss_kib: Option<u64>,
    /// With a profile whose identity mints its credential (`cred_cmd`): how long minting
    /// took, before each connect through the callout and outside its clock.
    pub mint: Option<Percentiles>,
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
    login: Admitted,
    proc: RunningResponder,
    server: RunningServer,
    _fixture: Fixture,
}

impl ConnectRig {
    /// Starts the server and the responder and waits until the responder admits a user.
    pub async fn start(
        bin: &ServerBinary,
        responder: &ResponderSpec,
        world: &WorldSpec,
        login: Admitted,
    ) -> Result<ConnectRig, String> {
        let fixture =
            Fixture::new(world).map_err(|e| format!("cannot write the fixture files: {e}"))?;
        let server = ProcessBackend
            .start(bin, &fixture.conf)
            .await
            .map_err(|e| e.to_string())?;
        let ph = fixture
            .placeholders(&server.url())
            .map_err(|e| format!("cannot write the seed files: {e}"))?;
        let argv = responder.argv(&ph)?;
        let proc = RunningResponder::start(&argv, ph.secrets())?;
        let mut rig = ConnectRig {
            login,
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
            let (login, _) = rig.login.login()?;
            let last = match rig.connect(Route::Callout, &login).await {
                Ok(_) => return Ok(rig),
                Err(e) => e,
            };
            if Instant::now() > deadline {
                return Err(format!("the responder did not admit the bench user within 20 s (last: {last}); its stderr:\n{}", rig.proc.stderr_tail(20)));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One connect with `login` (through the callout; the bypass route has its own): TCP,
    /// INFO, CONNECT and PING until PONG. Returns the time to PONG.
    pub async fn connect(&self, route: Route, login: &Login) -> Result<Duration, String> {
        let opts = match route {
            Route::Callout => ConnectOptions {
                user: login.user.clone(),
                pass: login.pass.clone(),
                token: login.token.clone(),
                ..Default::default()
            },
            Route::Bypass => ConnectOptions {
                user: Some(BYPASS_USER.into()),
                pass: Some(BYPASS_PASS.into()),
                ..Default::default()
            },
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

    /// `n` sequential connects per route, interleaved, after a short warm-up. A minted
    /// credential is made before each connect through the callout, outside its clock.
    pub async fn measure(&self, n: usize) -> ConnectResult {
        let Ok((mut login, _)) = self.login.login() else {
            return ConnectResult {
                failures: 2 * n,
                ..Default::default()
            };
        };
        for _ in 0..n.min(20) {
            let _ = self.connect(Route::Callout, &login).await;
            let _ = self.connect(Route::Bypass, &login).await;
        }
        let mut mints = Vec::new();
        let (mut callout, mut bypass, mut failures) =
            (Vec::with_capacity(n), Vec::with_capacity(n), 0);
        let group = [self.proc.pid() as i32];
        let usage0 = procstat::groups_usage(&group);
        for _ in 0..n {
            match self.login.login() {
                Ok((fresh, took)) => {
                    login = fresh;
                    mints.extend(took);
                }
                Err(_) => failures += 1,
            }
            match self.connect(Route::Callout, &login).await {
                Ok(d) => callout.push(d),
                Err(_) => failures += 1,
            }
            match self.connect(Route::Bypass, &login).await {
                Ok(d) => bypass.push(d),
                Err(_) => failures += 1,
            }
        }
        let usage1 = procstat::groups_usage(&group);
        let responder_cpu_us_per_auth =
            super::throughput::cpu_per_auth(usage0, usage1, callout.len());
        let callout = Percentiles::of(&mut callout);
        let bypass = Percentiles::of(&mut bypass);
        ConnectResult {
            added_p50_us: callout.p50_us - bypass.p50_us,
            callout,
            bypass,
            failures,
            responder_cpu_us_per_auth,
            responder_peak_rss_kib: usage1.map(|u| u.peak_rss_kib),
            mint: (!mints.is_empty()).then(|| Percentiles::of(&mut mints)),
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
