//! The world a case runs in: nats-server processes and containers, clusters, leaf nodes and
//! slow links, TLS material, operator-mode fixtures, credentials, the responder process under
//! test, the raw client with its user-info read-back, and the clean-up that undoes all of it.
//!
//! Architecture invariant: the world knows no case and no verdict. It is started from a
//! [`spec::WorldSpec`] and reports what happened (a connect's outcome, a process's exit);
//! deciding whether that is right belongs to the judge.

pub mod answer_tap;
pub mod cleanup;
pub mod client;
pub mod container;
pub mod credential;
pub mod fixture;
pub mod oneshot;
pub mod operator;
pub mod procstat;
pub mod provision;
pub mod readiness;
pub mod server;
pub mod spec;
pub mod strays;
pub mod sut;
pub mod tls;
pub mod topology;
pub mod userinfo;

/// The container backend (see [`container`]): checks the engine once, then starts servers
/// in containers.
pub fn backend_container() -> Result<Box<dyn fixture::ServerBackend>, String> {
    container::ensure_engine().map_err(|e| e.to_string())?;
    Ok(Box::new(fixture::ContainerBackend))
}
