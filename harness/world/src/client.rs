//! A minimal NATS client speaking the text protocol directly, so the harness sees exactly what
//! the server says: the literal `-ERR` text, whether a message arrived, when the socket closed.
//! A general client library hides those behind retries and error enums. A reader task parses
//! the stream into [`Event`]s; the client answers the server's PINGs itself.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use callout_codec::{nkey, KeyKind, Signer};
use serde_json::Value;
use thiserror::Error;
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf,
    WriteHalf,
};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};

/// The byte stream a client talks over: TCP, TLS over TCP, or a WebSocket's frames.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}
type Io = Box<dyn Stream>;

/// A message delivered on a subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Msg {
    /// Subject.
    pub subject: String,
    /// Subscription id.
    pub sid: u64,
    /// Reply subject.
    pub reply: Option<String>,
    /// Raw header block (`NATS/1.0\r\n…`), when sent with headers.
    pub headers: Option<String>,
    /// Body.
    pub payload: Vec<u8>,
}

impl Msg {
    /// The status code of a status message (`NATS/1.0 503`, `NATS/1.0 408 Request Timeout`),
    /// which the server sends itself: 503 means nobody is subscribed to the subject. A status
    /// message is never a reply from a subscriber.
    pub fn status(&self) -> Option<u16> {
        let first = self.headers.as_ref()?.lines().next()?;
        let rest = first.strip_prefix("NATS/1.0")?.trim_start();
        let code = rest.split_whitespace().next()?;
        (code.len() == 3).then(|| code.parse().ok()).flatten()
    }

    /// The status line of a status message, for transcripts (`503`, `408 Request Timeout`).
    pub fn status_line(&self) -> Option<String> {
        self.status()?;
        let first = self.headers.as_ref()?.lines().next()?;
        Some(first.trim_start_matches("NATS/1.0").trim().to_string())
    }

    /// The value of header `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<String> {
        let h = self.headers.as_ref()?;
        h.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// What the server sent.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A message.
    Msg(Msg),
    /// `-ERR 'text'`, with the quotes removed.
    Err(String),
    /// An async INFO.
    Info(Value),
    /// The answer to our PING.
    Pong,
    /// The socket closed.
    Closed,
}

/// Transport failures (not protocol outcomes: a rejected connect is a [`ConnectOutcome`]).
#[derive(Debug, Error)]
pub enum ClientError {
    /// TCP or I/O error.
    #[error("i/o error talking to {addr}: {detail}")]
    Io {
        /// Server address.
        addr: String,
        /// What failed.
        detail: String,
    },
    /// No INFO or no answer in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// An nkey login, but the server's INFO carried no nonce to sign.
    #[error("the server's INFO has no nonce to sign: a config-mode server sends one only when it has an nkey user (nkey.go nonceRequired)")]
    NoNonce,
    /// The server's first line was not INFO.
    #[error("the server did not start with INFO: {0:?}")]
    NoInfo(String),
}

/// What a CONNECT sends.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// `user`.
    pub user: Option<String>,
    /// `pass`.
    pub pass: Option<String>,
    /// `auth_token`.
    pub token: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `nkey` and `sig`: log in with this user key, signing the INFO nonce as `sig` says.
    pub nkey: Option<(Arc<Signer>, SigMode)>,
    /// `jwt`: a user JWT (config mode discards it, except for MQTT clients: `protocol.md
    /// §1.5`).
    pub jwt: Option<String>,
    /// Start TLS after the server's INFO (trusting the run's CA, presenting a certificate or
    /// not).
    pub tls: Option<crate::tls::ClientTls>,
    /// Connect over WebSocket to this `host:port` (the server's `websocket` listener) instead
    /// of the address given to [`connect`].
    pub websocket: Option<String>,
}

/// How a client signs the server's nonce when it logs in with an nkey (`protocol.md §1.5`
/// connect_opts): as a real client does, or in one of the ways a forger would.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigMode {
    /// `sig` is the user key's signature over the INFO nonce.
    #[default]
    Valid,
    /// No `sig` at all.
    Missing,
    /// `sig` is another key's signature over the nonce (a forger who knows only the public key).
    WrongKey,
    /// `sig` is the user key's signature over another nonce (a replayed login).
    OtherNonce,
}

impl SigMode {
    /// The scenario spelling: `valid`, `missing`, `wrong-key`, `other-nonce`.
    pub fn parse(s: &str) -> Option<SigMode> {
        Some(match s {
            "valid" => SigMode::Valid,
            "missing" => SigMode::Missing,
            "wrong-key" => SigMode::WrongKey,
            "other-nonce" => SigMode::OtherNonce,
            _ => return None,
        })
    }

    /// The `sig` to send for `key` when the server's nonce is `nonce`.
    pub fn signature(self, key: &Signer, nonce: &str) -> Option<String> {
        match self {
            SigMode::Valid => Some(nkey::sign_nonce(key, nonce)),
            SigMode::Missing => None,
            SigMode::WrongKey => Some(nkey::sign_nonce(&Signer::generate(KeyKind::User), nonce)),
            SigMode::OtherNonce => Some(nkey::sign_nonce(key, &format!("{nonce}-another-login"))),
        }
    }
}

/// How a connect attempt ended.
pub enum ConnectOutcome {
    /// PONG received: the server admitted us.
    Admitted(Client),
    /// `-ERR` received instead; the text without quotes.
    Rejected(String),
    /// The socket closed without an `-ERR`.
    Closed,
    /// The TLS handshake failed, or the server ended TLS with an alert (a client certificate
    /// it did not accept): the connection never reached authentication.
    TlsRefused(String),
}

impl std::fmt::Debug for ConnectOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectOutcome::Admitted(_) => f.write_str("Admitted"),
            ConnectOutcome::Rejected(e) => write!(f, "Rejected({e:?})"),
            ConnectOutcome::Closed => f.write_str("Closed"),
            ConnectOutcome::TlsRefused(e) => write!(f, "TlsRefused({e:?})"),
        }
    }
}

/// A connected client.
pub struct Client {
    writer: Arc<Mutex<WriteHalf<Io>>>,
    events: mpsc::UnboundedReceiver<Event>,
    pending: VecDeque<Event>,
    next_sid: u64,
    inbox_prefix: String,
    /// The server's INFO.
    pub info: Value,
}

/// Connects, sends CONNECT and PING, and reports whether the server admitted the client.
/// `timeout` bounds the whole exchange; it must exceed the server's authorization timeout.
pub async fn connect(
    addr: &str,
    opts: &ConnectOptions,
    timeout: Duration,
) -> Result<ConnectOutcome, ClientError> {
    tokio::time::timeout(timeout, connect_inner(addr, opts))
        .await
        .map_err(|_| ClientError::Timeout("the server's answer to CONNECT"))?
}

/// A WebSocket to `addr` as a byte stream: binary frames both ways (`protocol.md` §1.1).
async fn websocket(addr: &str) -> std::io::Result<Io> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let tcp = TcpStream::connect(addr).await?;
    let _ = tcp.set_nodelay(true);
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp)
        .await
        .map_err(std::io::Error::other)?;
    let (mut sink, mut frames) = ws.split();
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let (mut from_server, mut to_server) = tokio::io::split(theirs);
    tokio::spawn(async move {
        while let Some(Ok(m)) = frames.next().await {
            let bytes = match m {
                Message::Binary(b) => b.to_vec(),
                Message::Text(t) => t.as_bytes().to_vec(),
                Message::Close(_) => break,
                _ => continue,
            };
            if to_server.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to_server.shutdown().await;
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from_server.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sink.send(Message::binary(buf[..n].to_vec())).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sink.close().await;
    });
    Ok(Box::new(ours))
}

async fn connect_inner(addr: &str, opts: &ConnectOptions) -> Result<ConnectOutcome, ClientError> {
    let io = |e: std::io::Error| ClientError::Io {
        addr: addr.to_string(),
        detail: e.to_string(),
    };
    let stream: Io = match &opts.websocket {
        Some(ws) => websocket(ws).await.map_err(io)?,
        None => {
            let tcp = TcpStream::connect(addr).await.map_err(io)?;
            let _ = tcp.set_nodelay(true);
            Box::new(tcp)
        }
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.map_err(io)?;
    let info: Value = match line.strip_prefix("INFO ") {
        Some(json) => serde_json::from_str(json.trim()).unwrap_or(Value::Null),
        None => return Err(ClientError::NoInfo(line)),
    };
    // TLS starts after the plain-text INFO (`protocol.md` §1.1); the server has sent nothing
    // else yet, so nothing is left in the buffer.
    let stream: Io = match &opts.tls {
        Some(tls) if reader.buffer().is_empty() => {
            let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
            let name = tokio_rustls::rustls::pki_types::ServerName::IpAddress(
                std::net::Ipv4Addr::LOCALHOST.into(),
            );
            match connector.connect(name, reader.into_inner()).await {
                Ok(t) => Box::new(t),
                Err(e) => return Ok(ConnectOutcome::TlsRefused(e.to_string())),
            }
        }
        Some(_) => return Err(ClientError::NoInfo("more than INFO before TLS".into())),
        None => Box::new(reader),
    };
    let (read, write) = tokio::io::split(stream);
    let reader = BufReader::new(read);
    let tls = opts.tls.is_some();
    let mut connect = serde_json::json!({
        "verbose": false, "pedantic": false, "tls_required": false, "lang": "rust-callout-harness",
        "version": env!("CARGO_PKG_VERSION"), "protocol": 1, "headers": true, "no_responders": true,
    });
    if let Some(u) = &opts.user {
        connect["user"] = Value::String(u.clone());
    }
    if let Some(p) = &opts.pass {
        connect["pass"] = Value::String(p.clone());
    }
    if let Some(t) = &opts.token {
        connect["auth_token"] = Value::String(t.clone());
    }
    if let Some(n) = &opts.name {
        connect["name"] = Value::String(n.clone());
    }
    if let Some(j) = &opts.jwt {
        connect["jwt"] = Value::String(j.clone());
    }
    if let Some((key, mode)) = &opts.nkey {
        let Some(nonce) = info.get("nonce").and_then(Value::as_str) else {
            return Err(ClientError::NoNonce);
        };
        // With a user JWT the nonce is signed by the JWT's key, and CONNECT carries no nkey
        // (as NATS clients send it).
        if opts.jwt.is_none() {
            connect["nkey"] = Value::String(key.public_key().to_string());
        }
        if let Some(sig) = mode.signature(key, nonce) {
            connect["sig"] = Value::String(sig);
        }
    }
    let writer = Arc::new(Mutex::new(write));
    let sent = writer
        .lock()
        .await
        .write_all(format!("CONNECT {connect}\r\nPING\r\n").as_bytes())
        .await;
    if let Err(e) = sent {
        // Under TLS 1.3 a refused client certificate shows up as an alert on the next read or
        // write, after the handshake itself "succeeded".
        if tls {
            return Ok(ConnectOutcome::TlsRefused(e.to_string()));
        }
        return Err(io(e));
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (why_tx, mut why_rx) = mpsc::unbounded_channel();
    tokio::spawn(read_loop(reader, writer.clone(), tx, why_tx));
    loop {
        match rx.recv().await {
            Some(Event::Pong) => break,
            Some(Event::Err(e)) => return Ok(ConnectOutcome::Rejected(e)),
            Some(Event::Closed) | None => {
                return Ok(match why_rx.try_recv() {
                    Ok(e) if tls => ConnectOutcome::TlsRefused(e),
                    _ => ConnectOutcome::Closed,
                })
            }
            Some(_) => continue,
        }
    }
    let n: u64 = rand_u64();
    Ok(ConnectOutcome::Admitted(Client {
        writer,
        events: rx,
        pending: VecDeque::new(),
        next_sid: 1,
        inbox_prefix: format!("_INBOX.h{n:x}"),
        info,
    }))
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

async fn read_loop(
    mut reader: BufReader<ReadHalf<Io>>,
    writer: Arc<Mutex<WriteHalf<Io>>>,
    tx: mpsc::UnboundedSender<Event>,
    why: mpsc::UnboundedSender<String>,
) {
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line).await {
            Ok(0) => {
                let _ = tx.send(Event::Closed);
                return;
            }
            Err(e) => {
                let _ = why.send(e.to_string());
                let _ = tx.send(Event::Closed);
                return;
            }
            Ok(_) => {}
        }
        let l = line.trim_end();
        let event = if l == "PING" {
            let _ = writer.lock().await.write_all(b"PONG\r\n").await;
            continue;
        } else if l == "PONG" {
            Event::Pong
        } else if l == "+OK" {
            continue;
        } else if let Some(e) = l.strip_prefix("-ERR ") {
            Event::Err(e.trim().trim_matches('\'').to_string())
        } else if let Some(i) = l.strip_prefix("INFO ") {
            Event::Info(serde_json::from_str(i).unwrap_or(Value::Null))
        } else if let Some(rest) = l.strip_prefix("MSG ").or_else(|| l.strip_prefix("HMSG ")) {
            let with_headers = l.starts_with('H');
            let parts: Vec<&str> = rest.split_whitespace().collect();
            let (subject, sid, reply, hdr_len, total) = match (with_headers, parts.len()) {
                (false, 3) => (parts[0], parts[1], None, 0, parts[2]),
                (false, 4) => (parts[0], parts[1], Some(parts[2]), 0, parts[3]),
                (true, 4) => (
                    parts[0],
                    parts[1],
                    None,
                    parts[2].parse().unwrap_or(0),
                    parts[3],
                ),
                (true, 5) => (
                    parts[0],
                    parts[1],
                    Some(parts[2]),
                    parts[3].parse().unwrap_or(0),
                    parts[4],
                ),
                _ => {
                    let _ = tx.send(Event::Closed);
                    return;
                }
            };
            let total: usize = total.parse().unwrap_or(0);
            let mut buf = vec![0u8; total + 2];
            if reader.read_exact(&mut buf).await.is_err() {
                let _ = tx.send(Event::Closed);
                return;
            }
            buf.truncate(total);
            let payload = buf.split_off(hdr_len.min(total));
            Event::Msg(Msg {
                subject: subject.to_string(),
                sid: sid.parse().unwrap_or(0),
                reply: reply.map(String::from),
                headers: with_headers.then(|| String::from_utf8_lossy(&buf).into_owned()),
                payload,
            })
        } else {
            continue;
        };
        if tx.send(event).is_err() {
            return;
        }
    }
}

impl Client {
    async fn write(&self, bytes: &[u8]) -> bool {
        self.writer.lock().await.write_all(bytes).await.is_ok()
    }

    /// A fresh unique inbox subject.
    pub fn new_inbox(&mut self) -> String {
        self.next_sid += 1;
        format!("{}.{}", self.inbox_prefix, self.next_sid)
    }

    /// Subscribes; returns the sid.
    pub async fn subscribe(&mut self, subject: &str, queue: Option<&str>) -> u64 {
        let sid = self.next_sid;
        self.next_sid += 1;
        let q = queue.map(|q| format!(" {q}")).unwrap_or_default();
        self.write(format!("SUB {subject}{q} {sid}\r\n").as_bytes())
            .await;
        sid
    }

    /// Unsubscribes.
    pub async fn unsubscribe(&mut self, sid: u64) {
        self.write(format!("UNSUB {sid}\r\n").as_bytes()).await;
    }

    /// Publishes.
    pub async fn publish(&mut self, subject: &str, reply: Option<&str>, payload: &[u8]) {
        let r = reply.map(|r| format!(" {r}")).unwrap_or_default();
        let mut buf = format!("PUB {subject}{r} {}\r\n", payload.len()).into_bytes();
        buf.extend_from_slice(payload);
        buf.extend_from_slice(b"\r\n");
        self.write(&buf).await;
    }

    /// Publishes with headers.
    pub async fn publish_with_headers(
        &mut self,
        subject: &str,
        reply: Option<&str>,
        headers: &[(&str, &str)],
        payload: &[u8],
    ) {
        let mut h = String::from("NATS/1.0\r\n");
        for (k, v) in headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        h.push_str("\r\n");
        let r = reply.map(|r| format!(" {r}")).unwrap_or_default();
        let mut buf = format!(
            "HPUB {subject}{r} {} {}\r\n",
            h.len(),
            h.len() + payload.len()
        )
        .into_bytes();
        buf.extend_from_slice(h.as_bytes());
        buf.extend_from_slice(payload);
        buf.extend_from_slice(b"\r\n");
        self.write(&buf).await;
    }

    /// Writes already framed protocol bytes (several `PUB`/`HPUB` at once, for the benchmark
    /// driver, which batches its publishes into one write). Returns false when the write failed.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> bool {
        self.write(bytes).await
    }

    /// Sends PING and waits for PONG; everything that arrives before it stays queued for
    /// [`Client::next_event`]. Returns false when the connection closed or timed out.
    pub async fn flush(&mut self, timeout: Duration) -> bool {
        if !self.write(b"PING\r\n").await {
            return false;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(Event::Pong)) => return true,
                Ok(Some(Event::Closed)) | Ok(None) => {
                    self.pending.push_back(Event::Closed);
                    return false;
                }
                Ok(Some(e)) => self.pending.push_back(e),
                Err(_) => return false,
            }
        }
    }

    /// The next event, waiting at most `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        if let Some(e) = self.pending.pop_front() {
            return Some(e);
        }
        match tokio::time::timeout(timeout, self.events.recv()).await {
            Ok(Some(Event::Pong)) => None,
            Ok(Some(e)) => Some(e),
            Ok(None) => Some(Event::Closed),
            Err(_) => None,
        }
    }

    /// Drains everything already received (after a [`Client::flush`]).
    pub fn take_pending(&mut self) -> Vec<Event> {
        while let Ok(e) = self.events.try_recv() {
            if e != Event::Pong {
                self.pending.push_back(e);
            }
        }
        self.pending.drain(..).collect()
    }

    /// Puts `events` back at the front of the queue, in order (what a caller of
    /// [`Client::take_pending`] did not consume).
    pub fn requeue(&mut self, events: Vec<Event>) {
        for e in events.into_iter().rev() {
            self.pending.push_front(e);
        }
    }

    /// Publishes to `subject` with a fresh inbox as reply and collects replies for up to
    /// `timeout`, stopping after `max` replies. `-ERR`s that arrive meanwhile are returned too.
    pub async fn request(
        &mut self,
        subject: &str,
        payload: &[u8],
        timeout: Duration,
        max: usize,
    ) -> (Vec<Msg>, Vec<String>) {
        let inbox = self.new_inbox();
        let sid = self.subscribe(&inbox, None).await;
        self.publish(subject, Some(&inbox), payload).await;
        self.collect_replies(sid, timeout, max).await
    }

    async fn collect_replies(
        &mut self,
        sid: u64,
        timeout: Duration,
        max: usize,
    ) -> (Vec<Msg>, Vec<String>) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut msgs = Vec::new();
        let mut errs = Vec::new();
        let inbox_prefix = format!("\"{}.", self.inbox_prefix);
        while msgs.len() < max {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            match self.next_event(left).await {
                // A status message (503 no responders) ends the wait; the caller tells it from
                // a reply with `Msg::status`.
                Some(Event::Msg(m)) if m.sid == sid && m.status().is_some() => {
                    msgs.push(m);
                    break;
                }
                Some(Event::Msg(m)) if m.sid == sid => msgs.push(m),
                Some(Event::Err(e)) => {
                    // A refused publish, or a refused reply subscription, gets no reply: stop
                    // waiting.
                    let refused = e.starts_with("Permissions Violation for Publish")
                        || (e.starts_with("Permissions Violation for Subscription")
                            && e.contains(&inbox_prefix));
                    errs.push(e);
                    if refused {
                        break;
                    }
                }
                Some(Event::Closed) => {
                    errs.push("connection closed".into());
                    break;
                }
                Some(_) => {}
                None => break,
            }
        }
        self.unsubscribe(sid).await;
        (msgs, errs)
    }

    /// Closes the socket.
    pub async fn close(self) {
        let _ = self.writer.lock().await.shutdown().await;
    }
}
