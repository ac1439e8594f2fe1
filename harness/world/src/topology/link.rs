//! The slow link: a loopback TCP proxy between a responder instance and its node that holds
//! every byte the responder sends for a settable delay (bytes keep their order), so that a
//! fast responder's answers reach the server after its timeout. Bytes from the server pass at
//! once. Each accepted connection gets its own upstream connection; when either side closes,
//! both do, so a restarted server looks to the responder like a restarted server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// A running link; stopped on drop.
pub struct Link {
    addr: String,
    delay_ms: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Link {
    /// Listens on a free loopback port and forwards to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> std::io::Result<Link> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let delay_ms = Arc::new(AtomicU64::new(0));
        let upstream = upstream.to_string();
        let d = delay_ms.clone();
        let task = tokio::spawn(async move {
            let mut conns: Vec<JoinHandle<()>> = Vec::new();
            while let Ok((down, _)) = listener.accept().await {
                conns.retain(|c| !c.is_finished());
                let up = upstream.clone();
                let d = d.clone();
                conns.push(tokio::spawn(async move {
                    if let Ok(up) = TcpStream::connect(&up).await {
                        pipe(down, up, d).await;
                    }
                }));
            }
            for c in conns {
                c.abort();
            }
        });
        Ok(Link {
            addr,
            delay_ms,
            task,
        })
    }

    /// `127.0.0.1:PORT`, where the responder connects.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Holds the responder's bytes this long from now on (zero: pass them at once).
    pub fn set_delay(&self, d: Duration) {
        self.delay_ms
            .store(d.as_millis().min(u64::MAX as u128) as u64, Ordering::SeqCst);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies both ways until either side closes; responder → server bytes wait out the delay
/// that was set when they arrived.
async fn pipe(down: TcpStream, up: TcpStream, delay_ms: Arc<AtomicU64>) {
    let (mut down_r, mut down_w) = down.into_split();
    let (mut up_r, mut up_w) = up.into_split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match down_r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let due =
                        Instant::now() + Duration::from_millis(delay_ms.load(Ordering::SeqCst));
                    if tx.send((due, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((due, bytes)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if up_w.write_all(&bytes).await.is_err() {
                break;
            }
        }
    };
    let back = async move {
        let _ = tokio::io::copy(&mut up_r, &mut down_w).await;
        let _ = down_w.shutdown().await;
    };
    // Whichever direction ends first ends the connection.
    tokio::select! {
        _ = async { tokio::join!(reader, writer) } => {}
        _ = back => {}
    }
}
