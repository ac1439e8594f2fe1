//! The servers and responder instances one scenario file runs on (`[topology]`): one node and
//! one instance by default; a cluster of nodes with routes between every pair, leaf servers of
//! the first node, several instances in one queue group on one node or one per node, and a
//! delaying link between each instance and its node. `World` starts them, finds a node's
//! address for a connect step, restarts what a fault step stopped, and heals what a case broke
//! before the next case. The steps that act on the whole world (storms, restarts, delays)
//! belong to the judge.
//!
//! Every server stays on loopback; the responder instances get the same placeholders as a
//! single responder, with `{url}` naming their node (or their link).

pub mod link;

use std::time::{Duration, Instant};

use crate::client::{self, ConnectOptions, ConnectOutcome};
use crate::fixture::{Fixture, ServerBackend};
use crate::provision::ServerBinary;
use crate::server::{ClusterConf, LeafRemote, RunningServer, ServerConf};
use crate::spec::{ResponderOn, WorldSpec};
use crate::sut::{ResponderSpec, RunningResponder};

/// One server of the world.
pub struct Node {
    /// `n1` … or a leaf's name.
    pub name: String,
    /// Its config (with its client port fixed, so a restart comes back where clients expect
    /// it).
    pub conf: ServerConf,
    /// The running server; `None` while a fault step has it stopped.
    pub server: Option<RunningServer>,
    /// Its client port.
    pub port: u16,
}

impl Node {
    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// One responder instance.
pub struct Instance {
    /// The node it connects to (index into the cluster nodes).
    pub node: usize,
    /// The process (`None` after a kill, until healed).
    pub proc: Option<RunningResponder>,
    /// The delaying link it connects through, with `slow_link`.
    pub link: Option<link::Link>,
    /// Stderr of its earlier processes (a killed or restarted instance).
    pub old_stderr: String,
    /// Killed on purpose by a fault step: its exit is not the responder's doing.
    pub killed: bool,
}

/// The servers and responder instances of one scenario file.
pub struct World<'a> {
    /// Cluster nodes `n1` … `nN`, then the leaf servers.
    pub nodes: Vec<Node>,
    /// How many of `nodes` are cluster nodes.
    pub cluster: usize,
    /// Responder instances.
    pub instances: Vec<Instance>,
    backend: &'a dyn ServerBackend,
    bin: &'a ServerBinary,
    responder: &'a ResponderSpec,
    fixture: &'a Fixture,
    /// The server's authorization timeout, seconds.
    pub timeout: f64,
}

fn free_ports(n: usize) -> Vec<u16> {
    // Bind them all at once so that no two are the same.
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .filter_map(|_| std::net::TcpListener::bind("127.0.0.1:0").ok())
        .collect();
    listeners
        .iter()
        .filter_map(|l| l.local_addr().ok().map(|a| a.port()))
        .collect()
}

impl<'a> World<'a> {
    /// Starts the servers of `spec` (no responder yet). A plain file gets exactly the one
    /// server it always had.
    pub async fn start(
        spec: &WorldSpec,
        fixture: &'a Fixture,
        backend: &'a dyn ServerBackend,
        bin: &'a ServerBinary,
        responder: &'a ResponderSpec,
    ) -> Result<World<'a>, String> {
        let t = &spec.topology;
        let mut world = World {
            nodes: vec![],
            cluster: t.nodes,
            instances: vec![],
            backend,
            bin,
            responder,
            fixture,
            timeout: spec.timeout,
        };
        if t.nodes == 1 && t.leafs.is_empty() {
            let server = backend
                .start(bin, &fixture.conf)
                .await
                .map_err(|e| format!("{}: {e}", spec.origin.display()))?;
            let mut conf = fixture.conf.clone();
            conf.port = Some(server.port);
            world.nodes.push(Node {
                name: "n1".into(),
                port: server.port,
                conf,
                server: Some(server),
            });
            return Ok(world);
        }
        let ports = free_ports(2 * t.nodes + 1 + t.leafs.len());
        if ports.len() != 2 * t.nodes + 1 + t.leafs.len() {
            return Err("cannot find free loopback ports for the topology".into());
        }
        let (client_ports, rest) = ports.split_at(t.nodes);
        let (route_ports, rest) = rest.split_at(t.nodes);
        let leaf_listen = rest[0];
        let leaf_ports = &rest[1..];
        for i in 0..t.nodes {
            let mut conf = fixture.conf.clone();
            conf.port = Some(client_ports[i]);
            conf.server_name = Some(format!("n{}", i + 1));
            if t.nodes > 1 {
                conf.cluster = Some(ClusterConf {
                    name: "callout".into(),
                    port: route_ports[i],
                    routes: (0..t.nodes)
                        .filter(|j| *j != i)
                        .map(|j| route_ports[j])
                        .collect(),
                });
            }
            if i == 0 && !t.leafs.is_empty() {
                conf.leafnode_port = Some(leaf_listen);
            }
            world.nodes.push(Node {
                name: format!("n{}", i + 1),
                port: client_ports[i],
                conf,
                server: None,
            });
        }
        for (l, port) in t.leafs.iter().zip(leaf_ports) {
            let conf = ServerConf {
                server_name: Some(l.name.clone()),
                auth_timeout_secs: spec.timeout,
                port: Some(*port),
                leaf_remotes: vec![LeafRemote {
                    url: format!("nats-leaf://{}:{}@127.0.0.1:{leaf_listen}", l.user, l.pass),
                    account: None,
                }],
                ..Default::default()
            };
            world.nodes.push(Node {
                name: l.name.clone(),
                port: *port,
                conf,
                server: None,
            });
        }
        // Leaf servers start once the responder answers (`start_leafs`): a leaf connection
        // called out before that times out and waits for its reconnect interval.
        for i in 0..world.cluster {
            world
                .start_node(i)
                .await
                .map_err(|e| format!("{}: {e}", spec.origin.display()))?;
        }
        Ok(world)
    }

    /// Starts node `i` from its config.
    pub async fn start_node(&mut self, i: usize) -> Result<(), String> {
        let n = &mut self.nodes[i];
        let server = self
            .backend
            .start(self.bin, &n.conf)
            .await
            .map_err(|e| format!("node {}: {e}", n.name))?;
        n.server = Some(server);
        Ok(())
    }

    /// The first node's server (set-up errors and logs).
    pub fn first(&self) -> Option<&RunningServer> {
        self.nodes.first().and_then(|n| n.server.as_ref())
    }

    /// The address of `node` (`None`: the first node).
    pub fn addr(&self, node: Option<&str>) -> String {
        match node {
            None => self.nodes[0].addr(),
            Some(n) => self
                .nodes
                .iter()
                .find(|x| x.name == n)
                .map(Node::addr)
                .unwrap_or_else(|| self.nodes[0].addr()),
        }
    }

    /// The monitoring port of the server a client's INFO names (`server_name`); with one
    /// server, that server's.
    pub fn monitor_port(&self, server_name: &str) -> Option<u16> {
        let running = |n: &Node| n.server.as_ref().and_then(|s| s.monitor_port);
        if self.nodes.len() == 1 {
            return running(&self.nodes[0]);
        }
        self.nodes
            .iter()
            .find(|n| n.conf.server_name.as_deref().unwrap_or("callout_test") == server_name)
            .and_then(running)
    }

    /// The node instance `j` of `count` connects to.
    fn node_of(on: &ResponderOn, j: usize, cluster: usize) -> usize {
        match on {
            ResponderOn::Node(n) => *n,
            ResponderOn::Each => j % cluster,
        }
    }

    /// Starts every responder instance (a file with a responder): through its link with
    /// `slow_link`, with the placeholders of its node.
    pub async fn start_responders(&mut self, spec: &WorldSpec) -> Result<(), String> {
        let t = &spec.topology;
        for j in 0..t.responders {
            let node = Self::node_of(&t.responder_on, j, self.cluster);
            let link = if t.slow_link {
                Some(
                    link::Link::start(&self.nodes[node].addr())
                        .await
                        .map_err(|e| format!("cannot start the slow link: {e}"))?,
                )
            } else {
                None
            };
            self.instances.push(Instance {
                node,
                proc: None,
                link,
                old_stderr: String::new(),
                killed: false,
            });
            self.spawn_instance(j, spec)?;
        }
        Ok(())
    }

    /// Starts instance `j`'s process (again).
    pub fn spawn_instance(&mut self, j: usize, spec: &WorldSpec) -> Result<(), String> {
        let inst = &self.instances[j];
        let url = match &inst.link {
            Some(l) => format!("nats://{}", l.addr()),
            None => format!("nats://{}", self.nodes[inst.node].addr()),
        };
        let proc = if spec.attach.is_some() {
            RunningResponder::attached()
        } else {
            let ph = self
                .fixture
                .placeholders(&url)
                .map_err(|e| format!("cannot write seed files: {e}"))?;
            let argv = self.responder.argv(&ph)?;
            RunningResponder::start(&argv, ph.secrets())?
        };
        self.instances[j].proc = Some(proc);
        self.instances[j].killed = false;
        Ok(())
    }

    /// The first instance that has exited, with its status.
    pub fn exited(&mut self) -> Option<(usize, String)> {
        self.instances
            .iter_mut()
            .enumerate()
            .filter(|(_, i)| !i.killed)
            .find_map(|(j, i)| i.proc.as_mut().and_then(|p| p.exited()).map(|s| (j, s)))
    }

    /// Stops every instance; returns the stderr of them all (the last lines of each).
    pub fn stop_responders(&mut self, lines: usize) -> String {
        let many = self.instances.len() > 1;
        let mut out = String::new();
        for (j, i) in self.instances.iter_mut().enumerate() {
            let mut text = std::mem::take(&mut i.old_stderr);
            if let Some(mut p) = i.proc.take() {
                p.stop(Duration::from_secs(5));
                text.push_str(&p.stderr_tail(lines));
            }
            if many {
                out.push_str(&format!("--- instance {} ---\n", j + 1));
            }
            out.push_str(&text);
            if many && !out.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }

    /// The last `lines` of instance 0's stderr (set-up errors).
    pub fn stderr_tail(&self, lines: usize) -> String {
        self.instances
            .first()
            .and_then(|i| i.proc.as_ref())
            .map(|p| p.stderr_tail(lines))
            .unwrap_or_default()
    }

    /// One probe login on `addr`: admitted, or why not.
    pub async fn probe(&self, addr: &str) -> Result<(), String> {
        let opts: ConnectOptions = self.fixture.probe_login.clone();
        match client::connect(addr, &opts, Duration::from_secs_f64(self.timeout + 3.0)).await {
            Ok(ConnectOutcome::Admitted(c)) => {
                c.close().await;
                Ok(())
            }
            Ok(o) => Err(format!("probe connect: {o:?}")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// How long until a callout is answered again on every cluster node, measured from `t0`:
    /// a probe starts every 100 ms without waiting for the previous one (a probe sent before
    /// the responder subscribed waits out the server's whole timeout, which would round every
    /// figure up to it), and the first admission on a node counts. Gives up after `limit`.
    pub async fn time_to_serve(&self, t0: Instant, limit: Duration) -> Result<Duration, String> {
        for n in &self.nodes[..self.cluster] {
            let mut probes = tokio::task::JoinSet::new();
            let mut last = String::from("no attempt");
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let served = loop {
                if t0.elapsed() > limit {
                    break false;
                }
                tokio::select! {
                    _ = tick.tick() => {
                        let addr = n.addr();
                        let opts = self.fixture.probe_login.clone();
                        let wait = Duration::from_secs_f64(self.timeout + 3.0);
                        probes.spawn(async move {
                            match client::connect(&addr, &opts, wait).await {
                                Ok(ConnectOutcome::Admitted(c)) => {
                                    c.close().await;
                                    Ok(())
                                }
                                Ok(o) => Err(format!("probe connect: {o:?}")),
                                Err(e) => Err(e.to_string()),
                            }
                        });
                    }
                    Some(done) = probes.join_next() => match done {
                        Ok(Ok(())) => break true,
                        Ok(Err(e)) => last = e,
                        Err(e) => last = e.to_string(),
                    },
                }
            };
            probes.abort_all();
            if !served {
                return Err(format!(
                    "node {} did not admit the probe within {} s; last attempt: {last}",
                    n.name,
                    limit.as_secs_f64()
                ));
            }
        }
        Ok(t0.elapsed())
    }

    /// Waits until the probe is admitted on every cluster node (callouts cross the routes),
    /// up to `limit`. Returns how long it took.
    pub async fn wait_all_nodes(&self, limit: Duration) -> Result<Duration, String> {
        let t0 = Instant::now();
        for n in &self.nodes[..self.cluster] {
            loop {
                let last = match self.probe(&n.addr()).await {
                    Ok(()) => break,
                    Err(e) => e,
                };
                if t0.elapsed() > limit {
                    return Err(format!(
                        "node {} did not admit the probe within {} s; last attempt: {last}",
                        n.name,
                        limit.as_secs_f64()
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(t0.elapsed())
    }

    /// Starts the leaf servers and waits until each has connected to the hub (its log says
    /// so), up to 5 s in all, and then for the callout of those connections to be answered;
    /// a leaf whose credentials the callout refuses is dropped, which its cases check.
    pub async fn start_leafs(&mut self) -> Result<(), String> {
        for i in self.cluster..self.nodes.len() {
            self.start_node(i).await?;
        }
        if self.nodes.len() == self.cluster {
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for n in &self.nodes[self.cluster..] {
            while Instant::now() < deadline {
                let linked = n
                    .server
                    .as_ref()
                    .is_some_and(|s| s.log().contains("Leafnode connection created"));
                if linked {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(())
    }

    /// After a case: restarts what it left stopped (nodes, killed instances) and resets the
    /// links; true when anything was healed (the caller waits for readiness again).
    pub async fn heal(&mut self, spec: &WorldSpec) -> Result<bool, String> {
        let mut healed = false;
        for i in 0..self.nodes.len() {
            if self.nodes[i].server.is_none() {
                self.start_node(i).await?;
                healed = true;
            }
        }
        for j in 0..self.instances.len() {
            if let Some(l) = &self.instances[j].link {
                l.set_delay(Duration::ZERO);
            }
            let gone = match self.instances[j].proc.as_mut() {
                None => true,
                Some(p) => p.exited().is_some(),
            };
            if gone && spec.attach.is_none() && !spec.topology.is_plain() {
                if let Some(mut p) = self.instances[j].proc.take() {
                    p.stop(Duration::from_secs(1));
                    let tail = p.stderr_tail(20);
                    self.instances[j].old_stderr.push_str(&tail);
                    self.instances[j].old_stderr.push('\n');
                }
                self.spawn_instance(j, spec)?;
                healed = true;
            }
        }
        Ok(healed)
    }
}
