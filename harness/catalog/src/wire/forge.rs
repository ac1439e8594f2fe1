//! The harness as a server: it forges authorization requests (signed with its own server key,
//! sealed with its own xkey), sends them to `$SYS.REQ.USER.AUTH`, and decodes the answers
//! exactly as nats-server does (`protocol.md §2` rows 1–6). Every wire case is built from these
//! pieces; none of them knows which case is running.

use callout_codec::{
    jwt, AuthRequest, AuthRequestClaims, AuthResponse, Claims, ClientInfo, ConnectOpts,
    CurvePublic, CurveSecret, KeyKind, SealingChannel, Secret, ServerId, Signer, User,
};
use serde_json::{json, Value};

use callout_leaves::text::Redactor;

/// The users file of wire mode.
pub fn wire_users() -> Value {
    json!({
        "alice": {"pass": ALICE_PASS, "account": "APP"},
        "bob": {"pass": BOB_PASS, "account": "APP", "permissions": {
            "pub": {"allow": ["bob.>", "orders.*"], "deny": ["bob.secret"]},
            "sub": {"allow": ["bob.>", "work.jobs workers"], "deny": ["bob.private.>"]},
            "resp": {"max": 2, "ttl": 5000000000i64}
        }},
        "nopass": {"account": "APP"}
    })
}

/// [`wire_users`] with carol, an nkey user (the reference responder's users.json extension).
pub fn wire_users_with_nkey() -> Value {
    let mut users = wire_users();
    users["carol"] = json!({"nkey": wire_nkey().public_key(), "account": "APP"});
    users
}

/// The key pair of carol, the nkey user of [`wire_users_with_nkey`] (the reference responder's users.json
/// extension), generated once per process.
pub fn wire_nkey() -> &'static Signer {
    static KEY: std::sync::OnceLock<Signer> = std::sync::OnceLock::new();
    KEY.get_or_init(|| Signer::generate(KeyKind::User))
}

/// alice's password in [`wire_users`].
pub const ALICE_PASS: &str = "alice-pw-7Qx";
/// bob's password in [`wire_users`].
pub const BOB_PASS: &str = "bob-pw-3Kd";

/// The harness's server identity.
pub struct FakeServer {
    /// Server key (`N…`).
    pub key: Signer,
    /// Server curve key.
    pub xkey: CurveSecret,
    /// The responder's configured curve key (public), when the phase is sealed.
    pub responder_xkey: Option<CurvePublic>,
    /// Issuer public key the responder should sign with.
    pub issuer: String,
    /// Whose credentials the requests carry (the harness's users.json, or a profile's).
    pub ids: std::sync::Arc<super::Identities>,
    /// Operator mode: the accounts' public keys, to judge who signed what.
    pub operator: Option<std::sync::Arc<callout_world::operator::OperatorKeys>>,
    /// The curve keys the harness handed to an attacker in forged requests (a rewritten
    /// `Nats-Server-Xkey` header): an answer any of them can open leaked to the attacker.
    pub handed_out: std::sync::Mutex<Vec<CurveSecret>>,
    /// Mutations a forge function could not make: such a request is not sent, and its case is
    /// an error of the harness, never a verdict.
    pub forge_errors: std::sync::Mutex<Vec<String>>,
}

/// A request ready to send: the bytes, the xkey header, and the claims the answer must be
/// addressed to.
#[derive(Clone, Debug)]
pub struct Forged {
    /// The claims (after signing: `iss`, `iat`, `jti` stamped), used to judge the answer.
    pub claims: AuthRequestClaims,
    /// The body as published.
    pub body: Vec<u8>,
    /// The `Nats-Server-Xkey` header, if any.
    pub header: Option<String>,
    /// Send the same bytes once before the judged sending (a replay).
    pub replayed: bool,
}

impl FakeServer {
    /// A server with fresh keys that expects answers signed by `issuer`, sealing requests to
    /// `responder_xkey` when given; the harness's users.json identities, config mode.
    pub fn new(responder_xkey: Option<CurvePublic>, issuer: impl Into<String>) -> FakeServer {
        FakeServer {
            key: Signer::generate(KeyKind::Server),
            xkey: CurveSecret::generate(),
            responder_xkey,
            issuer: issuer.into(),
            ids: std::sync::Arc::new(super::harness_identities()),
            operator: None,
            handed_out: Default::default(),
            forge_errors: Default::default(),
        }
    }

    /// Records that a mutation did not take effect (see [`FakeServer::forge_errors`]).
    pub fn mutation_failed(&self, why: impl Into<String>) {
        if let Ok(mut e) = self.forge_errors.lock() {
            e.push(why.into());
        }
    }

    /// The mutations that failed since the last call.
    pub fn take_forge_errors(&self) -> Vec<String> {
        self.forge_errors
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }

    /// A fresh curve key for an attacker, remembered so that every answer can be tried with
    /// it ([`FakeServer::opened_by_attacker`]).
    pub fn attacker_xkey(&self) -> CurveSecret {
        let key = CurveSecret::generate();
        if let Ok(mut keys) = self.handed_out.lock() {
            keys.push(key.clone());
        }
        key
    }

    /// The public key of the attacker's key that opens `body` (sealed by the responder), and
    /// what it opened to; `None` when no key the harness handed out opens it.
    pub fn opened_by_attacker(&self, body: &[u8]) -> Option<(String, Vec<u8>)> {
        let responder = self.responder_xkey.as_ref()?;
        let keys = self.handed_out.lock().ok()?.clone();
        keys.into_iter().find_map(|k| {
            let opened = k.channel_to(responder).open(body).ok()?;
            Some((k.public().as_str().to_string(), opened))
        })
    }

    /// A well-formed request for `user`/`pass`, as a real server builds it (`protocol.md §1.5`).
    pub fn request(&self, user: Option<&str>, pass: Option<&str>) -> AuthRequestClaims {
        self.request_for(&super::Login {
            user: user.map(String::from),
            pass: pass.map(String::from),
            token: None,
        })
    }

    /// A well-formed request carrying `login`, as a real server builds it (`protocol.md §1.5`):
    /// `client_info.user` is the user name, or `[REDACTED]` for a token (2.10.28 and later).
    pub fn request_for(&self, login: &super::Login) -> AuthRequestClaims {
        let user = login.user.as_deref();
        let pass = login.pass.as_deref();
        let info_user = match (user, &login.token) {
            (Some(u), _) => u,
            (None, Some(_)) => "[REDACTED]",
            (None, None) => "",
        };
        let now = callout_codec::unix_now();
        let mut c: AuthRequestClaims = Claims {
            aud: callout_codec::AUTH_REQUEST_AUDIENCE.into(),
            exp: now + 2,
            sub: self.issuer.clone(),
            ..Claims::default()
        };
        c.nats = AuthRequest {
            server_id: ServerId {
                name: "harness".into(),
                host: "127.0.0.1".into(),
                id: self.key.public_key().into(),
                version: "2.15.1".into(),
                xkey: if self.responder_xkey.is_some() {
                    self.xkey.public().as_str().into()
                } else {
                    String::new()
                },
                ..Default::default()
            },
            user_nkey: Signer::generate(KeyKind::User).public_key().into(),
            client_info: ClientInfo {
                host: "127.0.0.1".into(),
                id: 7,
                user: Secret::new(info_user),
                kind: "Client".into(),
                client_type: "nats".into(),
                name_tag: String::new(),
                ..Default::default()
            },
            connect_opts: ConnectOpts {
                user: user.unwrap_or_default().into(),
                pass: Secret::new(pass.unwrap_or_default()),
                auth_token: Secret::new(login.token.as_deref().unwrap_or_default()),
                lang: "go".into(),
                version: "1.37.0".into(),
                protocol: 1,
                ..Default::default()
            },
            ..Default::default()
        };
        c
    }

    /// Signs with the server key (stamping iss/iat/jti/type/version) and returns the token.
    pub fn sign(&self, c: &mut AuthRequestClaims) -> String {
        jwt::encode(c, &self.key)
    }

    /// True when the phase's responder has an xkey, so a real server would seal.
    pub fn sealing(&self) -> bool {
        self.responder_xkey.is_some()
    }

    /// Seals to the responder's xkey (plain bytes when the phase has none).
    pub fn seal(&self, token: &[u8]) -> Vec<u8> {
        match &self.responder_xkey {
            Some(p) => self.xkey.channel_to(p).seal(token),
            None => token.to_vec(),
        }
    }

    /// The server's xkey, as the `Nats-Server-Xkey` header carries it.
    pub fn xkey_header(&self) -> String {
        self.xkey.public().as_str().to_string()
    }

    /// Packs `token` as a real server would in this phase: sealed with the xkey header when the
    /// responder has an xkey, plain otherwise.
    pub fn package(&self, claims: AuthRequestClaims, token: &[u8]) -> Forged {
        let (body, header) = if self.sealing() {
            (self.seal(token), Some(self.xkey_header()))
        } else {
            (token.to_vec(), None)
        };
        Forged {
            claims,
            body,
            header,
            replayed: false,
        }
    }

    /// A good request for `user`, signed and packed for the phase.
    pub fn good(&self, user: &str, pass: &str) -> Forged {
        let mut c = self.request(Some(user), Some(pass));
        let token = self.sign(&mut c);
        self.package(c, token.as_bytes())
    }

    /// A good request carrying `login`, signed and packed for the phase.
    pub fn good_for(&self, login: &super::Login) -> Forged {
        let mut c = self.request_for(login);
        let token = self.sign(&mut c);
        self.package(c, token.as_bytes())
    }

    /// The request for `login` after `edit`, signed by the server key and packed for the phase.
    pub fn edited_for(
        &self,
        login: &super::Login,
        edit: impl FnOnce(&mut AuthRequestClaims),
    ) -> Forged {
        let mut c = self.request_for(login);
        edit(&mut c);
        let token = self.sign(&mut c);
        self.package(c, token.as_bytes())
    }

    /// `claims` after `edit`, signed by the server key and packed for the phase.
    pub fn edited(
        &self,
        user: &str,
        pass: &str,
        edit: impl FnOnce(&mut AuthRequestClaims),
    ) -> Forged {
        let mut c = self.request(Some(user), Some(pass));
        edit(&mut c);
        let token = self.sign(&mut c);
        self.package(c, token.as_bytes())
    }

    /// The channel to open sealed replies.
    pub fn channel(&self) -> Option<SealingChannel> {
        self.responder_xkey
            .as_ref()
            .map(|p| self.xkey.channel_to(p))
    }
}

/// One answer as received.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Bodies of the replies from subscribers (more than one = several replies).
    pub bodies: Vec<Vec<u8>>,
    /// Status messages the server sent instead (`503`: nobody is subscribed).
    pub statuses: Vec<String>,
    /// Seconds to the first reply.
    pub latency: f64,
}

/// An answer decoded as the server would decode it.
#[derive(Debug, Clone)]
pub enum Judged {
    /// Nothing came back within the listening time.
    Silence,
    /// The server answered `503`: no responder is subscribed (it exited or never subscribed).
    NoResponders,
    /// An empty body: the server logs "no reason supplied" and refuses the client.
    EmptyBody,
    /// A reply that the server could not use.
    Garbage(String),
    /// A valid signed error.
    Error(String),
    /// A user JWT: the responder issued credentials.
    Admitted(Box<Claims<User>>),
}

impl Judged {
    /// True when a responder, rather than the server or the clock, produced this.
    pub fn is_reply(&self) -> bool {
        !matches!(self, Judged::Silence | Judged::NoResponders)
    }
}

/// The outcome of decoding a reply as the server would.
pub struct Decoded {
    /// The response token (after opening).
    pub token: String,
    /// Was it sealed.
    pub sealed: bool,
    /// The decoded response.
    pub response: Result<Claims<AuthResponse>, String>,
}

/// True when the server would try to open `body` (it does not start like a JWT).
pub fn looks_sealed(body: &[u8]) -> bool {
    !body.starts_with(b"eyJ")
}

/// Opens (if needed) and decodes one reply body as the server does (`protocol.md §2` rows 1–3).
pub fn decode_reply(body: &[u8], server: &FakeServer) -> Decoded {
    let sealed = looks_sealed(body);
    let token = if sealed {
        match server.channel() {
            Some(ch) => match ch.open(body) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => {
                    return Decoded {
                        token: String::new(),
                        sealed,
                        response: Err(format!(
                            "a sealed reply that does not open with the server's xkey and the configured xkey as sender: {e}"
                        )),
                    }
                }
            },
            None => {
                return Decoded {
                    token: String::new(),
                    sealed,
                    response: Err(
                        "the reply is not a JWT and the server has no xkey to open it".into(),
                    ),
                }
            }
        }
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    let response = jwt::decode::<AuthResponse>(&token).map_err(|e| e.to_string());
    Decoded {
        token,
        sealed,
        response,
    }
}

/// What the first reply to `req` amounts to. A user JWT counts as an admission whoever the
/// response is addressed to: the requester holds the credentials either way.
pub fn judge(answer: &Answer, server: &FakeServer) -> Judged {
    let Some(body) = answer.bodies.first() else {
        return if answer.statuses.is_empty() {
            Judged::Silence
        } else {
            Judged::NoResponders
        };
    };
    if body.is_empty() {
        return Judged::EmptyBody;
    }
    let resp = match decode_reply(body, server).response {
        Ok(r) => r,
        Err(e) => return Judged::Garbage(e),
    };
    if !resp.nats.jwt.is_empty() {
        return match jwt::decode::<User>(&resp.nats.jwt) {
            Ok(u) => Judged::Admitted(Box::new(u)),
            Err(e) => Judged::Garbage(format!("the user JWT does not decode: {e}")),
        };
    }
    if !resp.nats.error.is_empty() {
        return Judged::Error(resp.nats.error);
    }
    Judged::Garbage("a response with neither jwt nor error".into())
}

/// One line saying what an answer was, for transcripts.
pub fn describe(j: &Judged) -> String {
    match j {
        Judged::Silence => "no answer".into(),
        Judged::NoResponders => {
            "no responders (the server answered 503: nobody is subscribed)".into()
        }
        Judged::EmptyBody => "an empty body".into(),
        Judged::Garbage(g) => format!("an answer the server cannot use ({g})"),
        Judged::Error(e) => format!("signed error {:?}", e.chars().take(80).collect::<String>()),
        Judged::Admitted(u) => format!("admitted into {:?}", u.aud),
    }
}

/// What came back, in enough detail to check a FAIL by hand: byte length, status messages,
/// sealing, and the decoded claims (or the first bytes), with the harness's secrets redacted.
pub fn evidence(answer: &Answer, server: &FakeServer, redact: &Redactor) -> Vec<String> {
    let mut out = Vec::new();
    for s in &answer.statuses {
        out.push(format!("evidence: a status message from the server: {s}"));
    }
    for (i, body) in answer.bodies.iter().enumerate() {
        let n = i + 1;
        if body.is_empty() {
            out.push(format!("evidence: reply {n}: 0 bytes"));
            continue;
        }
        let d = decode_reply(body, server);
        let how = if body.starts_with(b"xkv1") {
            "sealed"
        } else if body.starts_with(b"eyJ") {
            "plain"
        } else {
            "neither a JWT nor sealed (xkv1)"
        };
        let claims = match (&d.response, d.token.is_empty()) {
            (Ok(_), _) => jwt::peek_payload(&d.token)
                .map(|mut v| {
                    if let Some(j) = v.pointer_mut("/nats/jwt") {
                        let user = j.as_str().and_then(jwt::peek_payload);
                        *j = user.unwrap_or(Value::String("(not a JWT)".into()));
                    }
                    format!("claims {}", clip(&v.to_string(), 600))
                })
                .unwrap_or_default(),
            (Err(e), false) => format!(
                "does not decode ({e}); token starts {:?}",
                clip(&d.token, 80)
            ),
            (Err(e), true) => format!(
                "{e}; first bytes {:?}",
                clip(&String::from_utf8_lossy(body), 48)
            ),
        };
        out.push(redact.apply(&format!(
            "evidence: reply {n}: {} bytes, {how}, {claims}",
            body.len()
        )));
    }
    if out.is_empty() {
        out.push("evidence: nothing came back".into());
    }
    out
}

/// What was sent, as h2spec shows the frames it sent: sealed or plain, the xkey header, the
/// claims the request was made from, and the first bytes of the body, every secret the harness
/// handed out redacted.
pub fn request_evidence(f: &Forged, redact: &Redactor) -> Vec<String> {
    let how = if f.body.starts_with(b"xkv1") {
        "sealed"
    } else if f.body.starts_with(b"eyJ") {
        "plain JWT"
    } else {
        "neither a JWT nor sealed"
    };
    let header = match &f.header {
        Some(_) => "a Nats-Server-Xkey header",
        None => "no xkey header",
    };
    let mut claims: Value = serde_json::from_slice(&jwt::to_json(&f.claims)).unwrap_or_default();
    stable(&mut claims, None, claims_iat(&f.claims));
    vec![
        redact.apply(&format!(
            "sent: {how}, {header}{}",
            if f.replayed { ", sent twice" } else { "" }
        )),
        redact.apply(&format!("sent: claims {}", clip(&claims.to_string(), 600))),
    ]
}

fn claims_iat(c: &AuthRequestClaims) -> i64 {
    c.iat
}

/// The claims with what differs from run to run made stable, so that transcripts and
/// snapshots never depend on keys or times: a key shows its kind (`N…`), `jti` is `…`, and a
/// positive time is written relative to `iat` (`iat+2`).
fn stable(v: &mut Value, key: Option<&str>, iat: i64) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                stable(x, Some(k.as_str()), iat);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| stable(x, key, iat)),
        Value::String(s)
            if matches!(
                key,
                Some("jti" | "nonce" | "sig" | "jwt" | "certs" | "verified_chains")
            ) =>
        {
            *s = "…".into()
        }
        Value::String(s) if s.len() == 56 && s.starts_with(['N', 'A', 'U', 'X', 'O']) => {
            *s = format!("{}…", &s[..1]);
        }
        Value::Number(n) if matches!(key, Some("exp" | "nbf" | "iat")) => {
            let t = n.as_i64().unwrap_or(0);
            if key == Some("iat") {
                *v = Value::String("iat".into());
            } else if t > 0 && iat > 0 {
                *v = Value::String(format!("iat{:+}", t - iat));
            } else if t > 0 {
                // Claims that were never signed have no iat to count from.
                *v = Value::String("…".into());
            }
        }
        _ => {}
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_message_is_not_admission_or_reply() {
        let server = FakeServer::new(
            None,
            Signer::generate(KeyKind::Account).public_key().to_string(),
        );
        let a = Answer {
            statuses: vec!["503".into()],
            ..Answer::default()
        };
        assert!(matches!(judge(&a, &server), Judged::NoResponders));
        assert!(!judge(&a, &server).is_reply());
        let empty = Answer {
            bodies: vec![vec![]],
            ..Answer::default()
        };
        assert!(matches!(judge(&empty, &server), Judged::EmptyBody));
        assert!(judge(&empty, &server).is_reply());
        assert!(matches!(
            judge(&Answer::default(), &server),
            Judged::Silence
        ));
    }
}
