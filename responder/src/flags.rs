//! Command-line flags, Go style, so the NATS by Example service's command line works with only
//! the binary name changed: `-nats.url URL`, `--nats.url URL`, `-nats.url=URL` all mean the
//! same. Seed flags take the seed itself or a path to a file holding it.

use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// The parsed flags.
#[derive(Clone, Default)]
pub struct Flags {
    /// `-nats.url`, default `$NATS_URL`, else `nats://127.0.0.1:4222`.
    pub nats_url: String,
    /// `-nats.user`.
    pub nats_user: Option<String>,
    /// `-nats.pass`.
    pub nats_pass: Option<String>,
    /// `-issuer.seed`: an account seed or a file holding one.
    pub issuer_seed: Option<String>,
    /// `-xkey.seed`: a curve seed or a file holding one.
    pub xkey_seed: Option<String>,
    /// `-users`: the users.json path.
    pub users: Option<PathBuf>,
    /// `-nats.creds`: a creds file (operator mode: the callout service user's JWT and seed).
    pub nats_creds: Option<PathBuf>,
    /// `-signing.keys`: `ACCOUNT_PUB:FILE,…`, the signing key of each target account
    /// (operator mode); the account's name is the file's name before its first `.`.
    pub signing_keys: Option<String>,
    /// `-scoped.keys`: `ACCOUNT_PUB:FILE,…` as `-signing.keys`, for the accounts whose signing
    /// key is scoped: their users get a JWT with no permissions or limits (the key's template
    /// applies).
    pub scoped_keys: Option<String>,
    /// `-queue`: the queue group (default `q`, as the NATS micro services of the peers).
    pub queue: String,
    /// `-workers`: requests handled at once (default: 4 × the number of cores).
    pub workers: Option<usize>,
    /// `-drain.timeout`: how long a drain may take after SIGINT/SIGTERM (default
    /// [`DEFAULT_DRAIN_TIMEOUT`]).
    pub drain_timeout: Option<Duration>,
    /// `-log`: a tracing filter (default `info`).
    pub log: String,
    /// `-fault`: a deliberate defect, only honoured by the `callout-mutant` binary.
    pub fault: Option<String>,
    /// `-h`/`--help` was given.
    pub help: bool,
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flags")
            .field("nats_url", &self.nats_url)
            .field("nats_user", &self.nats_user)
            .field("nats_pass", &self.nats_pass.as_ref().map(|_| "[REDACTED]"))
            .field(
                "issuer_seed",
                &self.issuer_seed.as_ref().map(|_| "[REDACTED]"),
            )
            .field("xkey_seed", &self.xkey_seed.as_ref().map(|_| "[REDACTED]"))
            .field("users", &self.users)
            .field("nats_creds", &self.nats_creds)
            .field("signing_keys", &self.signing_keys)
            .field("scoped_keys", &self.scoped_keys)
            .finish()
    }
}

/// A flag problem, with the fix.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FlagError {
    /// Not a known flag.
    #[error("unknown flag {0:?}; run with --help for the list")]
    Unknown(String),
    /// A flag that needs a value had none.
    #[error("flag {0} needs a value, e.g. {0} VALUE or {0}=VALUE")]
    MissingValue(String),
    /// A value that should be a number was not.
    #[error("flag {0} expects a positive number, got {1:?}")]
    NotANumber(String, String),
    /// A number outside the range the flag accepts.
    #[error("flag {flag} accepts {range}, got {value:?}")]
    OutOfRange {
        /// The flag.
        flag: String,
        /// What was given.
        value: String,
        /// What it accepts.
        range: String,
    },
    /// A value that should be a duration was not.
    #[error("flag {0} expects a duration such as 5s, 500ms or 1m, got {1:?}")]
    NotADuration(String, String),
    /// A positional argument.
    #[error("unexpected argument {0:?}: every option is a flag such as -users users.json")]
    Positional(String),
}

/// The most `-workers` accepts: far beyond any useful number of concurrent decisions (each is
/// CPU work of about 0.1 ms), and far below the task pool's own limits.
pub const MAX_WORKERS: usize = 65_536;

/// How long a drain may take after SIGINT/SIGTERM before the responder exits anyway: the
/// answers in flight are flushed within it when the server is there, and when it is not, the
/// responder does not wait for it to come back.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The most `-drain.timeout` accepts.
pub const MAX_DRAIN_TIMEOUT: Duration = Duration::from_secs(3600);

/// The text of `--help`.
pub const HELP: &str = "\
callout-responder: the reference NATS auth-callout responder

Usage: callout-responder -nats.url URL -nats.user USER -nats.pass PASS \\
         -issuer.seed SEED|FILE [-xkey.seed SEED|FILE] -users users.json
       callout-responder -nats.url URL -nats.creds FILE -issuer.seed SEED|FILE \\
         [-xkey.seed SEED|FILE] -signing.keys ACCOUNT:FILE,... -users users.json

Flags (each also as --flag VALUE or -flag=VALUE):
  -nats.url URL       NATS server URL (default $NATS_URL, else nats://127.0.0.1:4222)
  -nats.user USER     user of the callout account (listed in auth_callout.auth_users)
  -nats.pass PASS     its password
  -issuer.seed SEED   issuer account seed (SA...) or a file holding it; signs every answer
  -xkey.seed SEED     curve seed (SX...) or a file holding it, when auth_callout has an xkey
  -users FILE         users.json: {\"alice\": {\"pass\": \"...\", \"account\": \"APP\", \"permissions\": {...}}}
  -nats.creds FILE    operator mode: the creds file of the callout account's service user
                      (instead of -nats.user/-nats.pass)
  -signing.keys LIST  operator mode: ACCOUNT_PUB:FILE,... the signing key seed of each target
                      account; FILE's name before its first '.' is the account name users.json
                      uses (APP1.nk for \"account\": \"APP1\"); user JWTs are signed with it and
                      carry issuer_account
  -scoped.keys LIST   operator mode: the same for accounts whose signing key is scoped; their
                      users get no permissions or limits (the key's template applies)
  -queue NAME         queue group shared by responder instances (default q)
  -workers N          requests handled at once, 1 to 65536 (default: 4 x the number of cores)
  -drain.timeout D    on SIGINT/SIGTERM, stop taking requests and finish those in flight
                      for at most D, e.g. 5s, 500ms (default 5s); then exit. A second
                      signal exits at once.
  -log FILTER         log filter, e.g. info, debug (default info; also RUST_LOG)
  -h, --help          this text

Credentials may also be given in the URL (nats://user:pass@host); the responder prints a
URL only with its password redacted. Logs go to stderr, one line per decision; passwords,
tokens and seeds are never logged.
";

impl Flags {
    /// Parses arguments (without the program name).
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Flags, FlagError> {
        let mut f = Flags {
            nats_url: std::env::var("NATS_URL")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "nats://127.0.0.1:4222".into()),
            queue: "q".into(),
            log: std::env::var("RUST_LOG")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "info".into()),
            ..Flags::default()
        };
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            if !arg.starts_with('-') || arg == "-" {
                return Err(FlagError::Positional(arg));
            }
            let body = arg.trim_start_matches('-');
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (body.to_string(), None),
            };
            if name == "h" || name == "help" {
                f.help = true;
                continue;
            }
            let known = [
                "nats.url",
                "nats.user",
                "nats.pass",
                "issuer.seed",
                "xkey.seed",
                "users",
                "nats.creds",
                "signing.keys",
                "scoped.keys",
                "queue",
                "workers",
                "drain.timeout",
                "log",
                "fault",
            ];
            if !known.contains(&name.as_str()) {
                return Err(FlagError::Unknown(arg));
            }
            let value = match inline {
                Some(v) => v,
                None => it
                    .next()
                    .ok_or_else(|| FlagError::MissingValue(format!("-{name}")))?,
            };
            match name.as_str() {
                "nats.url" => f.nats_url = value,
                "nats.user" => f.nats_user = Some(value),
                "nats.pass" => f.nats_pass = Some(value),
                "issuer.seed" => f.issuer_seed = Some(value),
                "xkey.seed" => f.xkey_seed = Some(value).filter(|v| !v.is_empty()),
                "users" => f.users = Some(PathBuf::from(value)),
                "nats.creds" => f.nats_creds = Some(PathBuf::from(value)),
                "signing.keys" => f.signing_keys = Some(value).filter(|v| !v.is_empty()),
                "scoped.keys" => f.scoped_keys = Some(value).filter(|v| !v.is_empty()),
                "queue" => f.queue = value,
                "workers" => {
                    let n: usize = value
                        .parse()
                        .map_err(|_| FlagError::NotANumber("-workers".into(), value.clone()))?;
                    if n == 0 {
                        return Err(FlagError::NotANumber("-workers".into(), value));
                    }
                    if n > MAX_WORKERS {
                        return Err(FlagError::OutOfRange {
                            flag: "-workers".into(),
                            value,
                            range: format!("1 to {MAX_WORKERS}"),
                        });
                    }
                    f.workers = Some(n);
                }
                "drain.timeout" => {
                    let d = parse_duration(&value).ok_or_else(|| {
                        FlagError::NotADuration("-drain.timeout".into(), value.clone())
                    })?;
                    if d > MAX_DRAIN_TIMEOUT {
                        return Err(FlagError::OutOfRange {
                            flag: "-drain.timeout".into(),
                            value,
                            range: "0s to 1h".into(),
                        });
                    }
                    f.drain_timeout = Some(d);
                }
                "log" => f.log = value,
                "fault" => f.fault = Some(value),
                _ => unreachable!("checked against the known list"),
            }
        }
        Ok(f)
    }
}

/// A Go-style duration, in the forms a drain deadline needs: `500ms`, `5s`, `1.5s`, `2m`,
/// `1h`, or a bare number of seconds.
fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

/// Reads a seed flag: the seed itself when it looks like one (`S…`, 58 characters), else the
/// first non-empty line of the file it names. The error never contains the value.
pub fn seed_from_flag(flag: &str, value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.starts_with('S') && v.len() == 58 && !std::path::Path::new(v).exists() {
        return Ok(v.to_string());
    }
    match std::fs::read_to_string(v) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('-'))
            .map(String::from)
            .ok_or_else(|| format!("{flag}: the file {v} holds no seed; put the seed (SA… or SX…) on its own line")),
        Err(_) => Err(format!(
            "{flag}: the value is neither a seed (58 characters starting with S) nor a readable file; pass the seed or the path of a file holding it"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Flags, FlagError> {
        Flags::parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn the_seed_command_line_parses_unchanged() {
        let f = p(&[
            "-nats.url",
            "nats://h:1",
            "-nats.user",
            "auth",
            "-nats.pass",
            "auth",
            "-issuer.seed",
            "SA",
            "-xkey.seed",
            "SX",
            "-users",
            "users.json",
        ])
        .unwrap();
        assert_eq!(f.nats_url, "nats://h:1");
        assert_eq!(f.nats_user.as_deref(), Some("auth"));
        assert_eq!(f.users, Some(PathBuf::from("users.json")));
        assert_eq!(f.queue, "q");
    }

    #[test]
    fn double_dash_and_equals_forms() {
        let f = p(&[
            "--nats.url=nats://x:2",
            "-users=u.json",
            "--issuer.seed",
            "S",
        ])
        .unwrap();
        assert_eq!(f.nats_url, "nats://x:2");
        assert_eq!(f.users, Some(PathBuf::from("u.json")));
        assert_eq!(f.issuer_seed.as_deref(), Some("S"));
    }

    #[test]
    fn the_decentralized_flags_in_every_form() {
        for args in [
            &[
                "-nats.creds=auth.creds",
                "-signing.keys=A1:APP1.nk,A2:APP2.nk",
            ][..],
            &[
                "--nats.creds",
                "auth.creds",
                "--signing.keys",
                "A1:APP1.nk,A2:APP2.nk",
            ],
            &[
                "-nats.creds",
                "auth.creds",
                "-signing.keys=A1:APP1.nk,A2:APP2.nk",
            ],
        ] {
            let f = p(args).unwrap();
            assert_eq!(f.nats_creds, Some(PathBuf::from("auth.creds")), "{args:?}");
            assert_eq!(f.signing_keys.as_deref(), Some("A1:APP1.nk,A2:APP2.nk"));
        }
        assert_eq!(
            p(&["-signing.keys"]).unwrap_err(),
            FlagError::MissingValue("-signing.keys".into())
        );
        for args in [
            &["-scoped.keys=A3:APP3.nk"][..],
            &["--scoped.keys", "A3:APP3.nk"],
            &["-scoped.keys", "A3:APP3.nk"],
        ] {
            assert_eq!(p(args).unwrap().scoped_keys.as_deref(), Some("A3:APP3.nk"));
        }
        // An empty value (the harness's {scoped_keys} when no account is scoped) is none.
        assert_eq!(p(&["-scoped.keys="]).unwrap().scoped_keys, None);
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(
            p(&["-user", "x"]).unwrap_err(),
            FlagError::Unknown("-user".into())
        );
        assert_eq!(
            p(&["-users"]).unwrap_err(),
            FlagError::MissingValue("-users".into())
        );
        assert_eq!(
            p(&["stray"]).unwrap_err(),
            FlagError::Positional("stray".into())
        );
        assert!(matches!(
            p(&["-workers", "0"]),
            Err(FlagError::NotANumber(..))
        ));
        for big in ["65537", "2305843009213693952", "18446744073709551615"] {
            let e = p(&["-workers", big]).unwrap_err();
            assert!(matches!(e, FlagError::OutOfRange { .. }), "{e}");
            assert!(e.to_string().contains("1 to 65536"), "{e}");
        }
        assert_eq!(p(&["-workers", "65536"]).unwrap().workers, Some(65_536));
    }

    #[test]
    fn drain_timeout_takes_go_durations() {
        let d = |v: &str| p(&["-drain.timeout", v]).map(|f| f.drain_timeout);
        assert_eq!(d("5s"), Ok(Some(Duration::from_secs(5))));
        assert_eq!(d("500ms"), Ok(Some(Duration::from_millis(500))));
        assert_eq!(d("1.5"), Ok(Some(Duration::from_millis(1500))));
        assert_eq!(d("2m"), Ok(Some(Duration::from_secs(120))));
        assert_eq!(d("0s"), Ok(Some(Duration::ZERO)));
        assert!(matches!(d("5x"), Err(FlagError::NotADuration(..))));
        assert!(matches!(d("-1s"), Err(FlagError::NotADuration(..))));
        assert!(matches!(d("2h"), Err(FlagError::OutOfRange { .. })));
        assert_eq!(p(&[]).unwrap().drain_timeout, None);
    }

    #[test]
    fn debug_hides_secrets() {
        let f = p(&["-nats.pass", "pw123", "-issuer.seed", "SAXYZ"]).unwrap();
        let d = format!("{f:?}");
        assert!(!d.contains("pw123") && !d.contains("SAXYZ"), "{d}");
    }

    #[test]
    fn seed_flags_read_files_and_never_echo_the_value() {
        let dir = std::env::temp_dir().join(format!("seedflag-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("issuer.nk");
        let seed = "SAANDLKMXL6CUS3CP52WIXBEDN6YJ545GDKC65U5JZPPV6WH6ESWUA6YAI";
        std::fs::write(&file, format!("\n{seed}\n")).unwrap();
        assert_eq!(
            seed_from_flag("-issuer.seed", file.to_str().unwrap()).unwrap(),
            seed
        );
        assert_eq!(seed_from_flag("-issuer.seed", seed).unwrap(), seed);
        let e = seed_from_flag("-issuer.seed", "SAsecretbutwrong").unwrap_err();
        assert!(!e.contains("SAsecretbutwrong"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
