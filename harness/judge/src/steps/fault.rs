//! Fault steps: restart the responder instances, restart a node under running instances, and
//! make the answers late through the slow link. Each restart measures how long until a
//! callout is answered again (a figure), and more than the step's `within` is a breach.

use std::time::{Duration, Instant};

use callout_catalog::scenario::{RestartTarget, Scenario};
use callout_leaves::verdict::Figure;

use super::storm::StepReport;
use callout_world::topology::World;

/// Restarts `target` and waits up to `within` seconds (and at least until
/// `ready_limit`, to report a figure) for the probe to be admitted on every cluster node.
pub async fn restart(
    world: &mut World<'_>,
    scn: &Scenario,
    target: &RestartTarget,
    within: f64,
    ready_limit: Duration,
) -> StepReport {
    let limit = ready_limit.max(Duration::from_secs_f64(within));
    let (line, t0, name) = match target {
        RestartTarget::Responder => {
            if scn.world.attach.is_some() {
                return StepReport {
                    line: "restart the responder".into(),
                    mismatch: Some((
                        "a responder the harness started".into(),
                        "an already running responder (the harness cannot restart it)".into(),
                    )),
                    figures: vec![],
                };
            }
            for i in world.instances.iter_mut() {
                if let Some(mut p) = i.proc.take() {
                    p.stop(Duration::from_secs(5));
                    i.old_stderr.push_str(&p.stderr_tail(20));
                    i.old_stderr.push('\n');
                }
            }
            // Let the server drop the old subscriptions, so no request goes to a gone one.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let t0 = Instant::now();
            for j in 0..world.instances.len() {
                if let Err(e) = world.spawn_instance(j, &scn.world) {
                    return StepReport {
                        line: "restart the responder".into(),
                        mismatch: Some(("the responder starts again".into(), e)),
                        figures: vec![],
                    };
                }
            }
            (
                format!("restart the responder -> a callout is answered again within {within} s"),
                t0,
                "responder serves again after",
            )
        }
        RestartTarget::Node(n) => {
            let Some(i) = world.nodes.iter().position(|x| &x.name == n) else {
                return StepReport {
                    line: format!("restart {n}"),
                    mismatch: Some(("a node of the file".into(), format!("no node {n}"))),
                    figures: vec![],
                };
            };
            if let Some(mut s) = world.nodes[i].server.take() {
                s.stop();
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            if let Err(e) = world.start_node(i).await {
                return StepReport {
                    line: format!("restart {n}"),
                    mismatch: Some((format!("{n} starts again"), e)),
                    figures: vec![],
                };
            }
            (
                format!("restart the server {n} under the running responder -> a callout is answered again within {within} s"),
                Instant::now(),
                "serves again after the server is back",
            )
        }
    };
    match world.time_to_serve(t0, limit).await {
        Ok(took) => {
            let figures = vec![Figure::ms(name, took)];
            let mismatch = (took.as_secs_f64() > within).then(|| {
                (
                    format!("a callout answered within {within} s"),
                    format!("answered again after {:.2} s", took.as_secs_f64()),
                )
            });
            StepReport {
                line,
                mismatch,
                figures,
            }
        }
        Err(e) => StepReport {
            line,
            mismatch: Some((format!("a callout answered within {within} s"), e)),
            figures: vec![],
        },
    }
}

/// Sets the slow link's delay on every instance.
pub fn delay_answers(world: &mut World<'_>, secs: f64) -> StepReport {
    for i in &world.instances {
        if let Some(l) = &i.link {
            l.set_delay(Duration::from_secs_f64(secs));
        }
    }
    StepReport {
        line: if secs == 0.0 {
            "the responder's answers pass at once again".into()
        } else {
            format!("every byte the responder sends is held for {secs} s")
        },
        mismatch: None,
        figures: vec![],
    }
}
