//! Quirks: ways a responder may differ from the reference without being wrong, so that the
//! conformance suite can be shown to accept them (it must judge what the server accepts, not
//! what our encoder happens to write). Only the `callout-mutant` binary sets any, with
//! `-quirk NAME[,NAME]`; they never change a decision. See `docs/mutants.md`.
//!
//! - `json-nulls`: both JWTs carry `null` for every optional field Go's encoder omits, as a
//!   Python or JavaScript encoder without `omitempty` writes them (keys sorted, no Go escapes).
//! - `header-order`: both JWTs use the header `{"alg": "ed25519-nkey", "typ": "JWT"}`.
//! - `start-delay=SECS`: sleep before connecting to NATS, like a slow-starting runtime.
//! - `shuffle`: hold each answer a pseudo-random 0–50 ms, so that under load answers go out
//!   in another order than the requests came in (the server matches them by reply subject).
//! - `slow-answers=MIN..MAX`: hold each answer a pseudo-random MIN to MAX milliseconds, like a
//!   responder on slow crypto: not a defect while MAX stays below the server's authorization
//!   timeout.
//! - `no-xkey`: a responder without xkey support: it ignores `-xkey.seed` and the
//!   `Nats-Server-Xkey` header, so it never opens a sealed request (nothing decodes: no answer)
//!   and never seals; against a server without an xkey it is the reference.
//! - `seed-users`: read users.json as the NATS by Example service does, without the `nkey`
//!   and `token` extensions: the directory forgets them, so those users have no credential and are
//!   never admitted. The suite must grade the extension files UNIMPLEMENTED, never FAIL.
//! - `operator-extras`: operator mode, what other responders write and the server ignores or
//!   accepts: the user JWT keeps `aud` = the account name (config mode's placement, ignored in
//!   operator mode), and every response names the callout account in `issuer_account`, even
//!   when the account's own key signs it.
//!
//! Three defects live here too because they carry a number (and a counter), which the plain
//! switches of [`crate::handler::Fault`] do not: `-fault silent-after=N` answers the first N
//! requests and then never again; `-fault crash-after=N` answers N requests and aborts on the
//! next (a crash under load); `-fault slow=SECS` holds every answer SECS before sending it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use callout_codec::claims::{ClaimType, NatsPayload};
use callout_codec::{jwt, Claims, Signer};
use serde_json::Value;

/// The header `header-order` writes: Go's two keys, the other way round, with spaces.
pub const REORDERED_HEADER: &str = r#"{"alg": "ed25519-nkey", "typ": "JWT"}"#;

/// The quirks (and the `silent-after` defect) a mutant responder runs with. The default is
/// none: the reference behaviour.
#[derive(Debug, Default)]
pub struct Quirks {
    /// `json-nulls`.
    pub json_nulls: bool,
    /// `header-order`.
    pub header_order: bool,
    /// `start-delay=SECS`.
    pub start_delay: Option<Duration>,
    /// `seed-users`.
    pub seed_users: bool,
    /// `shuffle`.
    pub shuffle: bool,
    /// `operator-extras`.
    pub operator_extras: bool,
    /// `slow-answers=MIN..MAX`: hold each answer between these two.
    pub slow_answers: Option<(Duration, Duration)>,
    /// `no-xkey`.
    pub no_xkey: bool,
    /// `-fault silent-after=N`: answer this many requests, then none.
    pub silent_after: Option<u64>,
    /// `-fault crash-after=N`: answer this many requests, then abort the process.
    pub crash_after: Option<u64>,
    /// `-fault slow=SECS`: hold every answer this long.
    pub slow: Option<Duration>,
    answered: AtomicU64,
}

/// Every quirk name, with what it does, for errors and docs.
pub const ALL: &[(&str, &str)] = &[
    (
        "json-nulls",
        "null for every optional field Go omits, in both JWTs",
    ),
    (
        "header-order",
        "JWT header {\"alg\": \"ed25519-nkey\", \"typ\": \"JWT\"}",
    ),
    ("start-delay=SECS", "sleep SECS before connecting to NATS"),
    (
        "shuffle",
        "hold each answer 0-50 ms, so answers go out of order under load",
    ),
    (
        "operator-extras",
        "operator mode: aud = the account name in the user JWT, issuer_account = the callout account in every response",
    ),
    (
        "seed-users",
        "read users.json as the NATS by Example service does: no nkey or token extension",
    ),
    (
        "slow-answers=MIN..MAX",
        "hold each answer a pseudo-random MIN to MAX ms (jitter), below the server's timeout",
    ),
    (
        "no-xkey",
        "no xkey support: ignore -xkey.seed and the Nats-Server-Xkey header, never open or seal",
    ),
];

const SILENT_AFTER: &str = "silent-after=";
const CRASH_AFTER: &str = "crash-after=";
const SLOW: &str = "slow=";
const SLOW_ANSWERS: &str = "slow-answers=";

impl Quirks {
    /// Parses the `-quirk` value and picks `silent-after=N` out of the `-fault` value.
    pub fn parse(quirk: Option<&str>, fault: Option<&str>) -> Result<Quirks, String> {
        let mut q = Quirks::default();
        for name in quirk.unwrap_or("").split(',').filter(|n| !n.is_empty()) {
            match name {
                "json-nulls" => q.json_nulls = true,
                "header-order" => q.header_order = true,
                "seed-users" => q.seed_users = true,
                "shuffle" => q.shuffle = true,
                "operator-extras" => q.operator_extras = true,
                "no-xkey" => q.no_xkey = true,
                _ if name.starts_with(SLOW_ANSWERS) => {
                    q.slow_answers = Some(parse_ms_range(&name[SLOW_ANSWERS.len()..])?);
                }
                _ if name.starts_with("start-delay=") => {
                    let secs = &name["start-delay=".len()..];
                    let d = secs
                        .parse::<f64>()
                        .ok()
                        .and_then(|s| Duration::try_from_secs_f64(s).ok())
                        .ok_or_else(|| {
                            format!(
                                "-quirk start-delay={secs}: expected seconds, e.g. start-delay=2.5"
                            )
                        })?;
                    q.start_delay = Some(d);
                }
                _ if name.starts_with(SILENT_AFTER) => {
                    return Err(format!(
                        "-quirk {name}: silent-after is a defect, not a quirk; pass -fault {name}"
                    ))
                }
                _ => {
                    let all: Vec<&str> = ALL.iter().map(|(n, _)| *n).collect();
                    return Err(format!(
                        "-quirk: unknown quirk {name:?}; known: {}",
                        all.join(", ")
                    ));
                }
            }
        }
        for name in fault.unwrap_or("").split(',') {
            if let Some(n) = name.strip_prefix(SILENT_AFTER) {
                q.silent_after = Some(n.parse().map_err(|_| {
                    format!("-fault {name}: expected a number of requests, e.g. silent-after=3")
                })?);
            }
            if let Some(n) = name.strip_prefix(CRASH_AFTER) {
                q.crash_after = Some(n.parse().map_err(|_| {
                    format!("-fault {name}: expected a number of requests, e.g. crash-after=50")
                })?);
            }
            if let Some(secs) = name.strip_prefix(SLOW) {
                q.slow = Some(
                    secs.parse::<f64>()
                        .ok()
                        .and_then(|s| Duration::try_from_secs_f64(s).ok())
                        .ok_or_else(|| format!("-fault {name}: expected seconds, e.g. slow=2.5"))?,
                );
            }
        }
        Ok(q)
    }

    /// True for the `-fault` names handled here rather than by [`crate::handler::Fault`].
    pub fn is_own_fault(name: &str) -> bool {
        name.starts_with(SILENT_AFTER) || name.starts_with(CRASH_AFTER) || name.starts_with(SLOW)
    }

    /// True when nothing is set.
    pub fn is_none(&self) -> bool {
        !self.json_nulls
            && !self.header_order
            && !self.shuffle
            && !self.operator_extras
            && !self.no_xkey
            && self.slow_answers.is_none()
            && self.start_delay.is_none()
            && self.silent_after.is_none()
            && self.crash_after.is_none()
            && self.slow.is_none()
    }

    /// Signs and encodes `claims` as [`jwt::encode`] does, then rewrites the JSON and the
    /// header as the quirks say and signs the bytes it emits.
    pub fn encode<N: NatsPayload>(&self, claims: &mut Claims<N>, signer: &Signer) -> String {
        let token = jwt::encode(claims, signer);
        if !self.json_nulls && !self.header_order {
            return token;
        }
        let payload = if self.json_nulls {
            with_nulls::<N>(claims)
        } else {
            jwt::to_json(claims)
        };
        let header = if self.header_order {
            REORDERED_HEADER
        } else {
            jwt::JWT_HEADER
        };
        jwt::sign_raw(header.as_bytes(), &payload, signer)
    }

    /// Counts an answer about to be sent; true when `silent-after` says to send none. With
    /// `crash-after=N`, the answer after the Nth aborts the process instead.
    pub fn silenced(&self) -> bool {
        let before = self.answered.fetch_add(1, Ordering::Relaxed);
        if let Some(n) = self.crash_after {
            if before >= n {
                eprintln!("fault crash-after={n}: aborting");
                std::process::abort();
            }
        }
        match self.silent_after {
            None => false,
            Some(n) => before >= n,
        }
    }

    /// How long to hold an answer before sending it: `slow`, or `slow-answers`' MIN to MAX
    /// ms, or `shuffle`'s 0–50 ms (a cheap pseudo-random spread from the counter and the
    /// clock), or nothing.
    pub fn hold(&self) -> Option<Duration> {
        if let Some(d) = self.slow {
            return Some(d);
        }
        let (min, max) = match self.slow_answers {
            Some(range) => range,
            None if self.shuffle => (Duration::ZERO, Duration::from_millis(49)),
            None => return None,
        };
        let n = self.answered.load(Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0);
        let spread = (max - min).as_millis() as u64 + 1;
        let mixed = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ nanos) % spread;
        Some(min + Duration::from_millis(mixed))
    }

    /// Sleeps for `start-delay`, if set.
    pub fn wait_before_connecting(&self) {
        if let Some(d) = self.start_delay {
            tracing::info!(
                secs = d.as_secs_f64(),
                "quirk start-delay: waiting before connecting"
            );
            std::thread::sleep(d);
        }
    }

    /// The `-quirk` value in `args`, taken out so that the shared flag parser never sees it.
    /// Every other flag takes a value (except `-h`), which is skipped so that a value that
    /// happens to read `-quirk` stays where it is.
    pub fn take_flag(args: Vec<String>) -> (Vec<String>, Option<String>) {
        let mut rest = Vec::with_capacity(args.len());
        let mut quirk = None;
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let body = arg.trim_start_matches('-');
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let is_flag = arg.starts_with('-') && arg != "-";
            if is_flag && name == "quirk" {
                quirk = inline.or_else(|| it.next()).or(Some(String::new()));
                continue;
            }
            let takes_value = is_flag && inline.is_none() && name != "h" && name != "help";
            rest.push(arg);
            if takes_value {
                if let Some(v) = it.next() {
                    rest.push(v);
                }
            }
        }
        (rest, quirk)
    }
}

/// Parses `slow-answers`' `MIN..MAX` (whole milliseconds, MIN <= MAX).
fn parse_ms_range(value: &str) -> Result<(Duration, Duration), String> {
    let bad = || {
        format!(
            "-quirk slow-answers={value}: expected MIN..MAX in whole milliseconds with MIN <= MAX, e.g. slow-answers=200..800"
        )
    };
    let (min, max) = value.split_once("..").ok_or_else(bad)?;
    let min: u64 = min.trim().parse().map_err(|_| bad())?;
    let max: u64 = max.trim().parse().map_err(|_| bad())?;
    if min > max {
        return Err(bad());
    }
    Ok((Duration::from_millis(min), Duration::from_millis(max)))
}

/// The optional (`omitempty`) keys of each object, by claim type: where `json-nulls` writes
/// `null` when Go's encoder left the key out.
const TOP: &[&str] = &["aud", "exp", "jti", "iat", "iss", "name", "nbf", "sub"];
const USER: &[&str] = &[
    "resp",
    "src",
    "times",
    "times_location",
    "subs",
    "data",
    "payload",
    "bearer_token",
    "proxy_required",
    "allowed_connection_types",
    "issuer_account",
    "tags",
];
const PERMISSION: &[&str] = &["allow", "deny"];
const RESPONSE: &[&str] = &["jwt", "error", "issuer_account", "tags"];

fn with_nulls<N: NatsPayload>(claims: &Claims<N>) -> Vec<u8> {
    let mut v = serde_json::to_value(claims).unwrap_or(Value::Null);
    fill(&mut v, TOP);
    if let Some(nats) = v.get_mut("nats") {
        match N::TYPE {
            ClaimType::User => {
                fill(nats, USER);
                for p in ["pub", "sub"] {
                    if let Some(perm) = nats.get_mut(p) {
                        fill(perm, PERMISSION);
                    }
                }
            }
            ClaimType::AuthorizationResponse => fill(nats, RESPONSE),
            ClaimType::AuthorizationRequest | ClaimType::Operator | ClaimType::Account => {}
        }
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

fn fill(v: &mut Value, keys: &[&str]) {
    if let Some(obj) = v.as_object_mut() {
        for k in keys {
            obj.entry(*k).or_insert(Value::Null);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn the_quirk_flag_is_taken_out_in_every_spelling() {
        for (given, want) in [
            ("-users u.json -quirk json-nulls -log info", "json-nulls"),
            (
                "--quirk=header-order,json-nulls -users u.json",
                "header-order,json-nulls",
            ),
            ("-users u.json --quirk start-delay=1", "start-delay=1"),
        ] {
            let (rest, q) = Quirks::take_flag(args(given));
            assert_eq!(q.as_deref(), Some(want), "{given}");
            assert!(rest.iter().all(|a| !a.contains("quirk")), "{rest:?}");
        }
        let (rest, q) = Quirks::take_flag(args("-nats.pass -quirk -users u.json"));
        assert_eq!(q, None, "a flag's value is not a flag");
        assert_eq!(rest.len(), 4);
    }

    #[test]
    fn quirky_tokens_are_signed_and_decode_to_the_same_claims() {
        use callout_codec::{AuthResponse, KeyKind, User};
        let signer = Signer::generate(KeyKind::Account);
        let q = Quirks {
            json_nulls: true,
            header_order: true,
            ..Quirks::default()
        };
        let mut user: Claims<User> = Claims {
            aud: "APP".into(),
            sub: Signer::generate(KeyKind::User).public_key().into(),
            ..Claims::default()
        };
        user.nats.publish.allow = vec!["app.>".into()];
        let token = q.encode(&mut user, &signer);
        assert_eq!(jwt::decode::<User>(&token).unwrap(), user);
        let raw = jwt::RawToken::split(&token).unwrap();
        let header = jwt::b64_decode(raw.header, "header").unwrap();
        assert_eq!(header, REORDERED_HEADER.as_bytes());
        let payload = String::from_utf8(jwt::b64_decode(raw.payload, "payload").unwrap()).unwrap();
        for want in [
            r#""exp":null"#,
            r#""deny":null"#,
            r#""resp":null"#,
            r#""tags":null"#,
        ] {
            assert!(payload.contains(want), "{want} in {payload}");
        }
        let mut resp: Claims<AuthResponse> = Claims::default();
        resp.nats.error = "no".into();
        let token = q.encode(&mut resp, &signer);
        assert_eq!(jwt::decode::<AuthResponse>(&token).unwrap(), resp);
        assert!(jwt::peek_payload(&token).unwrap()["nats"]["jwt"].is_null());
        let plain = Quirks::default().encode(&mut resp, &signer);
        assert!(plain.starts_with(&jwt::b64_encode(jwt::JWT_HEADER.as_bytes())));
    }

    #[test]
    fn quirks_and_the_silent_after_fault_parse() {
        let q = Quirks::parse(
            Some("json-nulls,header-order,start-delay=0.5"),
            Some("ignore-deny,silent-after=3"),
        )
        .unwrap();
        assert!(q.json_nulls && q.header_order);
        assert_eq!(q.start_delay, Some(Duration::from_millis(500)));
        assert_eq!(q.silent_after, Some(3));
        assert!((0..3).all(|_| !q.silenced()));
        assert!(q.silenced() && q.silenced());
        assert!(Quirks::parse(Some("nulls"), None)
            .unwrap_err()
            .contains("json-nulls"));
        assert!(Quirks::parse(Some("silent-after=1"), None)
            .unwrap_err()
            .contains("-fault"));
        assert!(Quirks::parse(None, Some("silent-after=x")).is_err());
        assert!(Quirks::parse(Some("start-delay=-1"), None).is_err());
        let q = Quirks::parse(None, Some("crash-after=7,slow=0.25")).unwrap();
        assert_eq!(q.crash_after, Some(7));
        assert_eq!(q.slow, Some(Duration::from_millis(250)));
        assert!(!q.is_none());
        assert!(Quirks::parse(None, Some("crash-after=x")).is_err());
        assert!(Quirks::parse(None, Some("slow=-2")).is_err());
        assert!(Quirks::is_own_fault("slow=1") && Quirks::is_own_fault("crash-after=1"));
        assert_eq!(q.hold(), Some(Duration::from_millis(250)));
        let s = Quirks::parse(Some("shuffle"), None).unwrap();
        assert!(s.hold().is_some_and(|d| d < Duration::from_millis(50)));
        assert_eq!(Quirks::default().hold(), None);
    }

    #[test]
    fn slow_answers_and_no_xkey_parse_and_slow_answers_hold_within_the_range() {
        let q = Quirks::parse(Some("slow-answers=200..260,no-xkey"), None).unwrap();
        assert!(q.no_xkey && !q.is_none());
        let range = Duration::from_millis(200)..=Duration::from_millis(260);
        for _ in 0..100 {
            let held = q.hold().expect("held");
            assert!(range.contains(&held), "{held:?}");
            assert!(!q.silenced());
        }
        let fixed = Quirks::parse(Some("slow-answers=5..5"), None).unwrap();
        assert_eq!(fixed.hold(), Some(Duration::from_millis(5)));
        for bad in [
            "slow-answers=9..2",
            "slow-answers=1",
            "slow-answers=a..b",
            "slow-answers=-1..3",
        ] {
            let err = Quirks::parse(Some(bad), None).unwrap_err();
            assert!(err.contains("MIN..MAX"), "{bad}: {err}");
        }
        let err = Quirks::parse(Some("slow"), None).unwrap_err();
        assert!(
            err.contains("slow-answers=MIN..MAX") && err.contains("no-xkey"),
            "{err}"
        );
    }
}
