//! Credentials a profile declares: fixed ones, and `cred_cmd`, a command that mints one at run
//! time (a token from a test identity provider, say). Minting runs the command without a shell,
//! bounded in time, and never lets its output into an error: it is a secret.

use std::io::Read;
use std::time::{Duration, Instant};

use crate::client::ConnectOptions;
use crate::wire::Login;

/// How long a `cred_cmd` may run.
pub const CRED_CMD_TIMEOUT: Duration = Duration::from_secs(10);

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
}

impl CredCmd {
    /// Runs the command (no shell, at most [`CRED_CMD_TIMEOUT`]) and returns its trimmed
    /// stdout. The error never contains the output, which may hold a secret.
    pub fn mint(&self) -> Result<String, String> {
        let who = format!("identity {:?}: cred_cmd {:?}", self.identity, self.argv[0]);
        let mut child = std::process::Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("{who} cannot start: {e}"))?;
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let out = std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(o) = stdout.as_mut() {
                let _ = o.take(64 * 1024).read_to_end(&mut s);
            }
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(e) = stderr.as_mut() {
                let _ = e.take(4096).read_to_end(&mut s);
            }
            s
        });
        let deadline = Instant::now() + CRED_CMD_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break st,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{who} did not finish within {} s",
                        CRED_CMD_TIMEOUT.as_secs()
                    ));
                }
            }
        };
        let out = out.join().unwrap_or_default();
        let err = err.join().unwrap_or_default();
        if !status.success() {
            let err = String::from_utf8_lossy(&err);
            return Err(format!(
                "{who} failed ({status}): {}",
                err.lines().last().unwrap_or("").trim()
            ));
        }
        let text = String::from_utf8(out)
            .map_err(|_| format!("{who} printed bytes that are not UTF-8"))?;
        let secret = text.trim();
        if secret.is_empty() || secret.contains(['\n', '\r']) {
            return Err(format!(
                "{who} must print exactly one line, the credential; it printed {} line(s)",
                text.lines().filter(|l| !l.trim().is_empty()).count()
            ));
        }
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
    pub nkey_seed: Option<crate::profile::NkeySeed>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cred_cmd_output_is_one_line_and_errors_never_show_it() {
        let cmd = |argv: &[&str]| CredCmd {
            identity: "i".into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            kind: CredKind::Token,
            alter: false,
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
}
