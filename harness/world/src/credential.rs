//! Credentials: the logins a CONNECT carries, the identities a wire run uses, and what a
//! profile declares: fixed credentials, and `cred_cmd`, a command that mints one at run
//! time (a token from a test identity provider, say). Minting runs the command without a shell,
//! bounded in time and output, in a process group killed as a whole once it exits
//! ([`crate::oneshot`]), and never lets its output into an error: it is a secret.

use std::time::Duration;

use crate::client::ConnectOptions;
use crate::oneshot;
use std::sync::Arc;

use serde_json::Value;

/// How long a `cred_cmd` may run.
pub const CRED_CMD_TIMEOUT: Duration = Duration::from_secs(10);

/// The most a `cred_cmd` may print on stdout, in bytes.
pub const CRED_CMD_MAX_OUTPUT: usize = 64 * 1024;

/// The longest credential a world carries: its user name, password and token together, as
/// the JSON strings of the CONNECT line, in bytes. Every server the harness starts takes a
/// control line of [`crate::server::MAX_CONTROL_LINE`] bytes, twice this, so a CONNECT with
/// such a credential and everything else a client sends (name, nonce signature, operator
/// JWT) fits. A longer credential is a set-up error ([`Login::check_size`]), never a FAIL of
/// the responder.
pub const MAX_CREDENTIAL: usize = CRED_CMD_MAX_OUTPUT;

/// What a `cred_cmd` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredKind {
    /// An `auth_token`.
    Token,
    /// A password (the identity has a `user`).
    Password,
}

/// A command that mints a credential at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredCmd {
    /// The identity it belongs to (for errors).
    pub identity: String,
    /// The words to run, placeholders substituted.
    pub argv: Vec<String>,
    /// What it prints.
    pub kind: CredKind,
    /// Change the first character of what it prints: a credential the responder never
    /// issued, one character away from a real one.
    pub alter: bool,
    /// Where it is declared (`profile.toml:12`), for errors; empty when unknown.
    pub at: String,
}

impl CredCmd {
    /// Runs the command (no shell, at most [`CRED_CMD_TIMEOUT`]) and returns its trimmed
    /// stdout. The error never contains the output, which may hold a secret.
    pub fn mint(&self) -> Result<String, String> {
        self.mint_within(CRED_CMD_TIMEOUT)
    }

    /// [`CredCmd::mint`] with another time limit. The command runs in a process group of its
    /// own, killed as a whole once its main process exits (what it started in the background
    /// goes too) or at the limit; its credential is what it printed before it exited.
    pub fn mint_within(&self, limit: Duration) -> Result<String, String> {
        let who = format!(
            "{}identity {:?}: cred_cmd {:?}",
            if self.at.is_empty() {
                String::new()
            } else {
                format!("{}: ", self.at)
            },
            self.identity,
            self.argv[0]
        );
        let limits = oneshot::Limits {
            time: limit,
            stdout_max: CRED_CMD_MAX_OUTPUT,
            stderr_keep: 4096,
        };
        let done = oneshot::run(&self.argv, &limits).map_err(|f| match f {
            oneshot::Failure::Start(e) => format!("{who} cannot start: {e}"),
            oneshot::Failure::TimedOut => format!(
                "{who} did not finish within {} s (the cred_cmd time limit); it and every process it started were killed: make it print the credential and exit sooner",
                limit.as_secs_f64()
            ),
            oneshot::Failure::TooMuchOutput => format!(
                "{who} printed more than {CRED_CMD_MAX_OUTPUT} bytes (64 KiB), the most a cred_cmd may print: make it print only the credential"
            ),
        })?;
        if !done.status.success() {
            let err = String::from_utf8_lossy(&done.stderr);
            // What it printed on stdout is the credential: never in an error, also when the
            // command echoed it to stderr.
            let printed = String::from_utf8_lossy(&done.stdout);
            let redact = callout_leaves::text::Redactor::new(
                printed
                    .split_whitespace()
                    .filter(|w| w.len() >= 4)
                    .map(String::from),
            );
            return Err(format!(
                "{who} failed ({}): {}",
                done.status,
                redact.apply(err.lines().last().unwrap_or("").trim())
            ));
        }
        let text = String::from_utf8(done.stdout)
            .map_err(|_| format!("{who} printed bytes that are not UTF-8"))?;
        let secret = text.trim();
        if secret.is_empty() || secret.contains(['\n', '\r']) {
            return Err(format!(
                "{who} must print exactly one line, the credential; it printed {} line(s)",
                text.lines().filter(|l| !l.trim().is_empty()).count()
            ));
        }
        Login::token(secret)
            .check_size()
            .map_err(|e| format!("{who} printed a credential that {e}"))?;
        Ok(if self.alter {
            Login::token(secret)
                .with_wrong_secret()
                .token
                .unwrap_or_default()
        } else {
            secret.to_string()
        })
    }
}

/// A declared credential: fixed, or minted by a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// `user`.
    pub user: Option<String>,
    /// `pass`.
    pub pass: Option<String>,
    /// `auth_token`.
    pub token: Option<String>,
    /// `cred_cmd`.
    pub cmd: Option<CredCmd>,
    /// `nkey_seed`: the user key that signs the server's nonce (a secret: never printed).
    pub nkey_seed: Option<crate::credential::NkeySeed>,
    /// `cert_cn`: the client presents a certificate the run's CA issues for `CN=…`.
    pub cert_cn: Option<String>,
}

impl Credential {
    /// The login, minting the credential now when it comes from a command.
    pub fn resolve(&self) -> Result<Login, String> {
        let mut l = Login {
            user: self.user.clone(),
            pass: self.pass.clone(),
            token: self.token.clone(),
        };
        if let Some(cmd) = &self.cmd {
            let secret = cmd.mint()?;
            match cmd.kind {
                CredKind::Token => l.token = Some(secret),
                CredKind::Password => l.pass = Some(secret),
            }
        }
        l.check_size().map_err(|e| format!("{} {e}", l.label()))?;
        Ok(l)
    }

    /// The CONNECT options of [`Credential::resolve`], with the nkey and the certificate
    /// (issued by `ca`, the run's CA) when the credential has them.
    pub fn login(&self, ca: Option<&crate::tls::TestCa>) -> Result<ConnectOptions, String> {
        let l = self.resolve()?;
        let tls = match (&self.cert_cn, ca) {
            (None, _) => None,
            (Some(cn), Some(ca)) => Some(crate::tls::ClientTls::new(
                &ca.cert_der,
                Some(&ca.client(cn)?),
            )?),
            (Some(_), None) => return Err("a certificate login, but the run has no CA".into()),
        };
        Ok(ConnectOptions {
            user: l.user,
            pass: l.pass,
            token: l.token,
            nkey: self
                .nkey_seed
                .as_ref()
                .map(|k| (k.signer(), crate::client::SigMode::Valid)),
            tls,
            ..Default::default()
        })
    }

    /// True when the wire cases can carry this credential: a password or a token.
    pub fn wire_ready(&self) -> bool {
        self.nkey_seed.is_none() && self.cert_cn.is_none()
    }

    /// True when the secret is a token (fixed or minted).
    pub fn is_token(&self) -> bool {
        self.token.is_some() || self.cmd.as_ref().is_some_and(|c| c.kind == CredKind::Token)
    }
}

/// The wrong password a response case sends for bob.
pub const WRONG_PASS: &str = "not-bobs-Secret-9Zq";

/// The credentials a CONNECT carried, as the server copies them into `connect_opts`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Login {
    /// `user`.
    pub user: Option<String>,
    /// `pass`.
    pub pass: Option<String>,
    /// `auth_token`.
    pub token: Option<String>,
}

impl Login {
    /// A user name and password.
    pub fn password(user: &str, pass: &str) -> Login {
        Login {
            user: Some(user.into()),
            pass: Some(pass.into()),
            token: None,
        }
    }

    /// A token alone.
    pub fn token(token: &str) -> Login {
        Login {
            token: Some(token.into()),
            ..Login::default()
        }
    }

    /// The bytes the login's user name, password and token take inside the JSON strings of a
    /// CONNECT line (escapes counted, quotes not).
    pub fn connect_size(&self) -> usize {
        [&self.user, &self.pass, &self.token]
            .into_iter()
            .flatten()
            .map(|s| serde_json::to_string(s).map_or(s.len(), |j| j.len() - 2))
            .sum()
    }

    /// An error naming the size when the login is longer than a world carries
    /// ([`MAX_CREDENTIAL`]); it reads after the credential's name ("… is N bytes …").
    pub fn check_size(&self) -> Result<(), String> {
        let n = self.connect_size();
        if n <= MAX_CREDENTIAL {
            return Ok(());
        }
        Err(format!(
            "is {n} bytes in the CONNECT line (user, password and token, JSON-escaped), more than the {MAX_CREDENTIAL} bytes the harness allows: its servers take a CONNECT line of up to {} bytes (max_control_line; nats-server's default is 4096); use a shorter credential",
            crate::server::MAX_CONTROL_LINE
        ))
    }

    /// The secret of the login (the password, else the token): what must never be echoed, and
    /// what a hostile case removes, inflates or corrupts.
    pub fn secret(&self) -> &str {
        self.pass
            .as_deref()
            .filter(|p| !p.is_empty())
            .or(self.token.as_deref())
            .unwrap_or_default()
    }

    /// The same login with its secret changed in its first character, so that no decoder can
    /// read it as the original (a changed last character of unpadded base64 may only touch
    /// unused bits).
    pub fn with_wrong_secret(&self) -> Login {
        let mut l = self.clone();
        let wrong = |s: &str| {
            if s.is_empty() {
                return WRONG_PASS.to_string();
            }
            let mut chars: Vec<char> = s.chars().collect();
            chars[0] = match chars[0] {
                'a'..='y' | 'A'..='Y' | '0'..='8' => (chars[0] as u8 + 1) as char,
                'z' => 'a',
                'Z' => 'A',
                '9' => '0',
                _ => 'x',
            };
            chars.into_iter().collect()
        };
        if l.pass.as_deref().is_some_and(|p| !p.is_empty()) {
            l.pass = l.pass.as_deref().map(|_| WRONG_PASS.to_string());
        } else if let Some(t) = &l.token {
            l.token = Some(wrong(t));
        } else {
            l.pass = Some(WRONG_PASS.into());
        }
        l
    }

    /// The same login with its secret removed.
    pub fn without_secret(&self) -> Login {
        let mut l = self.clone();
        if l.pass.as_deref().is_some_and(|p| !p.is_empty()) {
            l.pass = None;
        } else {
            l.token = None;
        }
        l
    }

    /// The text a case may corrupt in the request's bytes to make it invalid UTF-8: the user
    /// name, else the token.
    pub fn marker(&self) -> &str {
        self.user
            .as_deref()
            .filter(|u| !u.is_empty())
            .or(self.token.as_deref())
            .unwrap_or_default()
    }

    /// How a transcript names the login, without its secret.
    pub fn label(&self) -> String {
        match (&self.user, &self.token) {
            (Some(u), _) => u.clone(),
            (None, Some(_)) => "a token".into(),
            (None, None) => "nobody".into(),
        }
    }
}

/// The public keys of a responder that holds its own seeds (`[keys]`): the server trusts this
/// issuer and seals to this xkey, and the harness hands over no seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnKeys {
    /// The issuer account's public key, `A…`.
    pub issuer: String,
    /// The responder's public curve key, `X…`.
    pub xkey: Option<String>,
}

/// A user seed (`SU…`) a profile declares: checked when the profile loads, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct NkeySeed(String);

impl NkeySeed {
    /// A seed already checked (or just generated).
    pub fn new(seed: String) -> NkeySeed {
        NkeySeed(seed)
    }

    /// The signer of the seed (checked at load).
    pub fn signer(&self) -> Arc<callout_codec::Signer> {
        Arc::new(
            callout_codec::Signer::from_seed(&self.0, callout_codec::KeyKind::User)
                .unwrap_or_else(|_| callout_codec::Signer::generate(callout_codec::KeyKind::User)),
        )
    }

    /// The seed, for the fixture's key map.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NkeySeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NkeySeed([REDACTED])")
    }
}

/// A responder that is already running (`[responder] url`, `user`, `pass`): the harness
/// starts each server on this loopback port with this user in the callout account, and waits
/// for the responder to connect; it never starts, stops or restarts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attach {
    /// The loopback port the responder connects to.
    pub port: u16,
    /// The user it connects as.
    pub user: String,
    /// Its password.
    pub pass: String,
}

/// The identities of a wire run.
#[derive(Clone, Debug, PartialEq)]
pub struct Identities {
    /// Admitted: the unusual-but-valid requests, readiness and liveness.
    pub alice: Login,
    /// Admitted: the response and hostile cases.
    pub bob: Login,
    /// The account bob must be placed in.
    pub bob_account: String,
    /// bob's permissions in the user JWT's JSON shape (`pub`, `sub`, `resp`), when known.
    pub bob_permissions: Option<Value>,
    /// True when the responder reads the harness's users.json ([`wire_users`]), so the cases
    /// about its entries (an entry without a password, bob's `resp`, the nkey user) apply.
    pub users_json: bool,
    /// The users.json handed to the responder.
    pub users: Value,
    /// The credential alice and bob carry when it is minted by a command: made again for
    /// every phase ([`Identities::refreshed`]), so a short-lived one never runs out mid-run.
    pub refresh: Option<Credential>,
    /// The responder's own public keys, when it brings them (a profile's `[keys]`).
    pub keys: Option<OwnKeys>,
    /// Where an already-running responder connects (a profile's `[responder] url`).
    pub attach: Option<Attach>,
    /// Why no wire case can run (a profile whose admitted identities all log in with an nkey
    /// or a certificate, which forged requests do not carry yet).
    pub unusable: Option<String>,
    /// False when the responder has no xkey support (a profile's `sealing = false`): the
    /// sealed phases do not run, and their cases are UNIMPLEMENTED.
    pub sealing: bool,
    /// The authorization timeout, seconds, of the server the wire phases play (a profile's
    /// `[server] timeout`); `None`: the scenario files' default, 1 s.
    pub auth_timeout: Option<f64>,
}

impl Identities {
    /// True when the responder holds an xkey of its own: a server that has one seals every
    /// request, so the plain phase is sealed too.
    pub fn always_sealed(&self) -> bool {
        self.keys.as_ref().is_some_and(|k| k.xkey.is_some())
    }

    /// The identities with a freshly minted credential, when they have one to mint.
    pub fn refreshed(&self) -> Result<Identities, String> {
        let mut ids = self.clone();
        if let Some(cred) = &self.refresh {
            let login = cred.resolve()?;
            ids.alice = login.clone();
            ids.bob = login;
        }
        Ok(ids)
    }

    /// Every secret the identities carry, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        [&self.alice, &self.bob]
            .into_iter()
            .flat_map(|l| {
                [
                    l.secret().to_string(),
                    l.with_wrong_secret().secret().to_string(),
                ]
            })
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// 24 random lower-case letters and digits, for passwords and tokens nobody else knows.
pub fn random_secret() -> String {
    let k = callout_codec::Signer::generate(callout_codec::KeyKind::User);
    k.public_key()[1..25].to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn cred_cmd_output_is_one_line_and_errors_never_show_it() {
        let cmd = |argv: &[&str]| CredCmd {
            identity: "i".into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            kind: CredKind::Token,
            alter: false,
            at: String::new(),
        };
        assert_eq!(cmd(&["echo", " tok-1 "]).mint().unwrap(), "tok-1");
        let mut altered = cmd(&["echo", "tok-1"]);
        altered.alter = true;
        assert_eq!(altered.mint().unwrap(), "uok-1");
        let e = cmd(&["printf", "secret-a\\nsecret-b\\n"])
            .mint()
            .unwrap_err();
        assert!(
            e.contains("exactly one line") && !e.contains("secret-"),
            "{e}"
        );
        let e = cmd(&["sh", "-c", "echo secret-c; echo oops >&2; exit 3"])
            .mint()
            .unwrap_err();
        assert!(
            e.contains("failed") && e.contains("oops") && !e.contains("secret-c"),
            "{e}"
        );
        let e = cmd(&["/nonexistent/mint"]).mint().unwrap_err();
        assert!(e.contains("cannot start"), "{e}");
        let e = cmd(&["true"]).mint().unwrap_err();
        assert!(e.contains("exactly one line"), "{e}");
    }

    fn cmd(argv: &[&str]) -> CredCmd {
        CredCmd {
            identity: "i".into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            kind: CredKind::Token,
            alter: false,
            at: String::new(),
        }
    }

    /// A file for a command to write its process ids to, in a scratch directory of its own.
    fn pid_file(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "callout-world-credential-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("pids")
    }

    /// The process ids a command wrote to `file`, one a line.
    fn pids(file: &std::path::Path) -> Vec<i32> {
        let text = std::fs::read_to_string(file).unwrap();
        let _ = std::fs::remove_dir_all(file.parent().unwrap());
        text.lines().map(|l| l.trim().parse().unwrap()).collect()
    }

    /// True while `pid` runs (a zombie nobody reaps does not count).
    fn running(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rfind(')').map(|i| s[i + 1..].trim_start().to_string()))
            .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
    }

    #[test]
    fn cred_cmd_whose_child_keeps_stdout_open_returns_at_once_and_leaves_no_process() {
        let file = pid_file("background");
        let script = format!(
            "echo $$ > '{f}'; echo tok; sleep 60 & echo $! >> '{f}'",
            f = file.display()
        );
        let started = Instant::now();
        let tok = cmd(&["sh", "-c", &script]).mint().unwrap();
        let took = started.elapsed();
        assert_eq!(tok, "tok");
        assert!(took < CRED_CMD_TIMEOUT, "minting took {took:?}");
        let pids = pids(&file);
        let (group, background) = (pids[0], pids[1]);
        assert!(
            !crate::cleanup::group_alive(group),
            "group {group} lives on"
        );
        assert!(
            !running(background),
            "the background sleep {background} lives on"
        );
    }

    #[test]
    fn cred_cmd_that_never_exits_fails_naming_the_limit_and_leaves_no_process() {
        let limit = Duration::from_secs(1);
        let started = Instant::now();
        let e = cmd(&["sleep", "60"]).mint_within(limit).unwrap_err();
        assert!(e.contains("did not finish within 1 s"), "{e}");
        assert!(
            started.elapsed() < CRED_CMD_TIMEOUT,
            "{:?}",
            started.elapsed()
        );
        // A command whose main process and a background child both outlive the limit.
        let file = pid_file("never");
        let script = format!(
            "echo $$ > '{f}'; sleep 61 & echo $! >> '{f}'; exec sleep 60",
            f = file.display()
        );
        let started = Instant::now();
        let e = cmd(&["sh", "-c", &script]).mint_within(limit).unwrap_err();
        assert!(e.contains("within 1 s"), "{e}");
        assert!(
            started.elapsed() < CRED_CMD_TIMEOUT,
            "{:?}",
            started.elapsed()
        );
        let pids = pids(&file);
        assert!(
            !crate::cleanup::group_alive(pids[0]),
            "group {} lives on",
            pids[0]
        );
        assert!(
            !running(pids[1]),
            "the background sleep {} lives on",
            pids[1]
        );
    }

    #[test]
    fn cred_cmd_output_over_the_cap_is_an_error_naming_the_size() {
        let e = cmd(&["sh", "-c", "head -c 70000 /dev/zero | tr '\\0' s"])
            .mint()
            .unwrap_err();
        assert!(e.contains("more than 65536 bytes"), "{e}");
        assert!(!e.contains("sss"), "{e}");
        // Exactly the cap is still a credential.
        let tok = cmd(&["sh", "-c", "head -c 65536 /dev/zero | tr '\\0' s"])
            .mint()
            .unwrap();
        assert_eq!(tok.len(), CRED_CMD_MAX_OUTPUT);
        assert_eq!(Login::token(&tok).check_size(), Ok(()));
    }

    #[test]
    fn a_credential_longer_than_a_world_carries_is_an_error_naming_its_size() {
        // 12 000 control characters take 6 bytes each once JSON-escaped in the CONNECT.
        let e = cmd(&[
            "sh",
            "-c",
            "printf a; head -c 12000 /dev/zero | tr '\\0' '\\001'; printf a",
        ])
        .mint()
        .unwrap_err();
        assert!(
            e.contains("is 72002 bytes in the CONNECT line") && e.contains("131072"),
            "{e}"
        );
        let fixed = Credential {
            user: Some("u".into()),
            pass: Some("p".repeat(70_000)),
            token: None,
            cmd: None,
            nkey_seed: None,
            cert_cn: None,
        };
        let e = fixed.resolve().unwrap_err();
        assert!(e.starts_with("u is 70001 bytes"), "{e}");
        assert!(!e.contains("ppp"), "{e}");
        let oidc = Login::token(&"t".repeat(8_000));
        assert_eq!(oidc.connect_size(), 8_000);
        assert_eq!(oidc.check_size(), Ok(()));
    }
}
