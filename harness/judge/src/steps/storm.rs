//! The storm step: many connects of the generated users, started evenly over a few seconds
//! and spread round-robin over nodes, each admitted client's account and publish permissions
//! read back through `$SYS.REQ.USER.INFO` (a client given another client's decision shows up
//! there), optionally with one responder instance SIGKILLed part-way. Counts and connect
//! latencies become the case's figures; the transcript line says only what was required.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use callout_catalog::scenario::Scenario;
use callout_leaves::stats::Percentiles;
use callout_leaves::verdict::Figure;
use callout_world::client::{self, ConnectOptions, ConnectOutcome};
use callout_world::fixture::{generated_pass, generated_user, is_generated_decision};
use callout_world::userinfo::user_info;

use callout_world::topology::World;

/// How one connect of a storm ended.
enum End {
    /// Admitted with its own account and permissions, after this long.
    Correct(Duration),
    /// Admitted with another account or other permissions.
    Wrong(String),
    /// `Authorization Violation` well before the timeout: the responder refused it.
    Denied(String),
    /// `Authorization Violation` at the timeout: nobody answered in time.
    TimedOut,
    /// Anything else (a closed socket, no INFO).
    Error(String),
}

/// What a step that acts on the world reports.
pub struct StepReport {
    /// The transcript line (free of counts and times).
    pub line: String,
    /// Expected and actual, when the requirement was broken.
    pub mismatch: Option<(String, String)>,
    /// What was measured.
    pub figures: Vec<Figure>,
}

/// Runs a storm of `count` connects over `nodes` (every cluster node when empty) within
/// `within` seconds; `kill = (instance, fraction)` SIGKILLs that instance (1-based) when that
/// fraction of the connects has started.
pub async fn storm(
    world: &mut World<'_>,
    scn: &Scenario,
    count: usize,
    within: f64,
    nodes: &[String],
    kill: Option<(usize, f64)>,
) -> StepReport {
    let Some(g) = scn.world.generate_users.clone() else {
        return StepReport {
            line: "storm".into(),
            mismatch: Some(("generate_users in the scenario".into(), "none".into())),
            figures: vec![],
        };
    };
    let names: Vec<String> = if nodes.is_empty() {
        world.nodes[..world.cluster]
            .iter()
            .map(|n| n.name.clone())
            .collect()
    } else {
        nodes.to_vec()
    };
    let addrs: Vec<String> = names.iter().map(|n| world.addr(Some(n))).collect();
    let timeout = world.timeout;
    let connect_limit = Duration::from_secs_f64(timeout + 5.0);
    let gap = Duration::from_secs_f64(within / count as f64);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let kill_after = kill.map(|(_, at)| ((count as f64 * at).ceil() as usize).max(1));
    let mut in_flight_at_kill = None;
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        if Some(i) == kill_after {
            if let Some((k, _)) = kill {
                in_flight_at_kill = Some(in_flight.load(Ordering::SeqCst));
                if let Some(x) = world.instances.get_mut(k - 1) {
                    x.killed = true;
                    if let Some(p) = x.proc.as_mut() {
                        p.kill();
                    }
                }
            }
        }
        let due = t0 + gap * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (name, account) = generated_user(&g, i % g.count);
        let addr = addrs[i % addrs.len()].clone();
        let flight = in_flight.clone();
        flight.fetch_add(1, Ordering::SeqCst);
        tasks.push(tokio::spawn(async move {
            let end = one_connect(&addr, name, account, connect_limit, timeout).await;
            flight.fetch_sub(1, Ordering::SeqCst);
            end
        }));
    }
    let paced = t0.elapsed();
    let mut lat = Vec::new();
    let mut tally = Tally::default();
    for t in tasks {
        match t.await {
            Ok(End::Correct(d)) => lat.push(d),
            Ok(End::Wrong(w)) => tally.wrong.push(w),
            Ok(End::Denied(w)) => tally.denied.push(w),
            Ok(End::TimedOut) => tally.timed_out += 1,
            Ok(End::Error(w)) => tally.errors.push(w),
            Err(e) => tally.errors.push(e.to_string()),
        }
    }
    let total = t0.elapsed();
    let mut figures = storm_figures(count, &mut lat, &tally, paced, total);
    if let Some(n) = in_flight_at_kill {
        figures.push(Figure::count("in flight at the kill", n));
    }
    let (line, wanted) = storm_line(count, &names.join(", "), within, kill);
    let problems = tally.problems(kill, in_flight_at_kill.unwrap_or(0), timeout);
    StepReport {
        line,
        mismatch: (!problems.is_empty()).then(|| (wanted, problems.join("; "))),
        figures,
    }
}

/// One connect of a storm, as generated user `name` of `account`, to `addr`; `timeout` is
/// the server's, to tell a timeout from a denial.
async fn one_connect(
    addr: &str,
    name: String,
    account: String,
    connect_limit: Duration,
    timeout: f64,
) -> End {
    let opts = ConnectOptions {
        user: Some(name.clone()),
        pass: Some(generated_pass(&name)),
        name: Some(name.clone()),
        ..Default::default()
    };
    let started = Instant::now();
    match client::connect(addr, &opts, connect_limit).await {
        Ok(ConnectOutcome::Admitted(mut c)) => {
            let took = started.elapsed();
            let end = match user_info(&mut c).await {
                Ok(info) if is_generated_decision(&info, &name, &account) => End::Correct(took),
                Ok(info) => End::Wrong(format!(
                    "{name} (on {addr}) placed in {} with pub allow {:?}",
                    info.account, info.pub_allow
                )),
                Err(e) => End::Error(format!("{name}: user info: {e}")),
            };
            c.close().await;
            end
        }
        Ok(ConnectOutcome::Rejected(e))
            if e == "Authorization Violation"
                && started.elapsed().as_secs_f64() >= timeout * 0.8 =>
        {
            End::TimedOut
        }
        Ok(ConnectOutcome::Rejected(e)) => End::Denied(format!("{name}: {e}")),
        Ok(o) => End::Error(format!("{name}: {o:?}")),
        Err(e) => End::Error(format!("{name}: {e}")),
    }
}

/// What the connects of a storm ended in, beyond the admitted ones' latencies.
#[derive(Default)]
struct Tally {
    wrong: Vec<String>,
    denied: Vec<String>,
    errors: Vec<String>,
    timed_out: usize,
}

/// The storm's figures: the counts, the pacing, and the admitted connects' latencies (none
/// when nobody was admitted).
fn storm_figures(
    count: usize,
    lat: &mut [Duration],
    tally: &Tally,
    paced: Duration,
    total: Duration,
) -> Vec<Figure> {
    let p = Percentiles::of(lat);
    let us = |v: f64| Duration::from_secs_f64(v / 1e6);
    let mut figures = vec![
        Figure::count("connects", count),
        Figure::count("admitted", p.n),
        Figure::count("denied", tally.denied.len()),
        Figure::count("timed out", tally.timed_out),
        Figure::count("errors", tally.errors.len()),
        Figure::count("wrong account or permissions", tally.wrong.len()),
        Figure::ms("started within", paced),
        Figure::ms("all done after", total),
    ];
    // Latencies of the admitted connects only; none when nobody was admitted.
    if p.n > 0 {
        figures.extend([
            Figure::ms("connect p50", us(p.p50_us)),
            Figure::ms("connect p90", us(p.p90_us)),
            Figure::ms("connect p99", us(p.p99_us)),
            Figure::ms("connect max", us(p.max_us)),
        ]);
    }
    figures
}

/// The storm's transcript line and what it requires, in words.
fn storm_line(
    count: usize,
    list: &str,
    within: f64,
    kill: Option<(usize, f64)>,
) -> (String, String) {
    match kill {
        None => (
            format!("storm of {count} connects across {list} within {within} s -> every one admitted with its own account and permissions"),
            format!("all {count} admitted with their own account and permissions"),
        ),
        Some((k, at)) => (
            format!("storm of {count} connects across {list} within {within} s, responder instance {k} killed (SIGKILL) after {:.0}% -> no wrong admission, no denial, timeouts only among the connects in flight at the kill", at * 100.0),
            "no wrong admission, no denial, no error, and no more timeouts than connects in flight at the kill".to_string(),
        ),
    }
}

impl Tally {
    /// What broke the requirement, each with an example; more timeouts than
    /// `allowed_timeouts` (the connects in flight at a kill) too. `timeout`: the server's.
    fn problems(
        &mut self,
        kill: Option<(usize, f64)>,
        allowed_timeouts: usize,
        timeout: f64,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        let mut sample = |what: &str, v: &mut Vec<String>| {
            if !v.is_empty() {
                v.sort();
                problems.push(format!("{} {what}, e.g. {}", v.len(), v[0]));
            }
        };
        sample(
            "admitted with another's account or permissions",
            &mut self.wrong,
        );
        sample("denied", &mut self.denied);
        sample("failed", &mut self.errors);
        let timed_out = self.timed_out;
        if timed_out > allowed_timeouts {
            problems.push(match kill {
                None => {
                    format!(
                        "{timed_out} timed out (nobody answered within the server's {timeout} s)"
                    )
                }
                Some(_) => format!(
                    "{timed_out} timed out, more than the {allowed_timeouts} in flight at the kill"
                ),
            });
        }
        problems
    }
}
