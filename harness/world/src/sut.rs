//! The responder under test: a command line with placeholders, started as a child process
//! without a shell, its stderr captured with every secret the
//! harness handed it redacted, and stopped as a process group (SIGTERM, then SIGKILL), so a
//! wrapper script and the responder it starts go together; what left the group (`setsid`, a
//! daemon) is found by the tag in its environment and stopped too ([`crate::strays`]).
//!
//! Placeholders in `--responder-cmd` (stable interface):
//!
//! | placeholder | value |
//! |---|---|
//! | `{url}` | `nats://127.0.0.1:PORT` of the server under test |
//! | `{user}` / `{pass}` | the callout account user the responder connects as |
//! | `{issuer_seed}` / `{issuer_seed_file}` | issuer account seed, or a file holding it |
//! | `{issuer_pub}` | issuer public key |
//! | `{xkey_seed}` / `{xkey_seed_file}` | curve seed or file; empty when the scenario has no xkey |
//! | `{xkey_pub}` | curve public key; empty without xkey |
//! | `{users}` | path of the generated users.json |
//! | `{creds}` | operator mode: the creds file of the callout account's service user |
//! | `{signing_keys}` | operator mode: `ACCOUNT_PUB:FILE,…`, each target account's signing key seed in a file named after the account (`APP1.nk`) |
//! | `{scoped_keys}` | operator mode: the same list for the accounts whose signing key is scoped (its template sets the permissions; the user JWT must carry none); empty when no account has one |
//! | `{profile_dir}` | a profile's `[responder] cmd` only: the profile file's directory |
//!
//! The template is split into words first ([`split_words`]), then each word's placeholders are
//! replaced in one pass: a value is never split, unquoted or scanned again, so a path with
//! spaces or braces stays one word as it is.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cleanup::{self, Registration};
use crate::strays;

/// The default template: the NATS by Example service's own flags.
pub const SEED_FLAGS: &str = "-nats.url {url} -nats.user {user} -nats.pass {pass} -issuer.seed {issuer_seed} -xkey.seed {xkey_seed} -users {users}";

/// The default template in operator mode (`run --mode operator`): the NATS by Example
/// decentralized service's flags.
pub const OPERATOR_FLAGS: &str = "-nats.url {url} -nats.creds {creds} -issuer.seed {issuer_seed} -xkey.seed {xkey_seed} -signing.keys {signing_keys} -scoped.keys {scoped_keys} -users {users}";

/// Which responder to judge.
#[derive(Clone, Debug, PartialEq)]
pub struct ResponderSpec {
    /// Column name.
    pub name: String,
    /// Command template.
    pub template: String,
    /// The identities wire requests carry: `None` for the harness's users.json, a profile's
    /// declared identities otherwise ([`crate::credential`]).
    pub identities: Option<std::sync::Arc<crate::credential::Identities>>,
    /// The value of `{profile_dir}`: the directory of the profile the template comes from.
    pub profile_dir: Option<PathBuf>,
}

impl ResponderSpec {
    /// The command line: the template rendered with `ph` and its own `{profile_dir}`.
    pub fn argv(&self, ph: &Placeholders) -> Result<Vec<String>, String> {
        let ph = Placeholders {
            profile_dir: self.profile_dir.as_ref().map(|d| d.display().to_string()),
            ..ph.clone()
        };
        render(&self.template, &ph)
    }

    /// The reference responder, found next to the harness binary (or `CALLOUT_RESPONDER_BIN`).
    pub fn reference() -> ResponderSpec {
        let bin = find_sibling_binary("callout-responder", "CALLOUT_RESPONDER_BIN");
        ResponderSpec {
            name: "reference".into(),
            template: format!("{} {SEED_FLAGS}", shell_quote(&bin.display().to_string())),
            identities: None,
            profile_dir: None,
        }
    }

    /// The reference responder with its operator-mode flags ([`OPERATOR_FLAGS`]).
    pub fn reference_operator() -> ResponderSpec {
        let bin = find_sibling_binary("callout-responder", "CALLOUT_RESPONDER_BIN");
        ResponderSpec {
            name: "reference".into(),
            template: format!(
                "{} {OPERATOR_FLAGS}",
                shell_quote(&bin.display().to_string())
            ),
            identities: None,
            profile_dir: None,
        }
    }

    /// A user-supplied template; the column name is the program's file name.
    pub fn command(template: &str) -> ResponderSpec {
        let program = split_words(template)
            .ok()
            .and_then(|w| w.into_iter().next())
            .unwrap_or_default();
        let name = Path::new(&program)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or(program);
        ResponderSpec {
            name,
            template: template.to_string(),
            identities: None,
            profile_dir: None,
        }
    }
}

/// Finds a binary of this workspace: `$ENV`, then beside the current executable (and one
/// level up, for test binaries in `target/*/deps`), then `PATH`.
pub fn find_sibling_binary(name: &str, env: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            let c = dir.join(name);
            if c.is_file() {
                return c;
            }
        }
    }
    PathBuf::from(name)
}

/// `s` as one word for [`split_words`]: as it is when it is plain, else single-quoted.
pub fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Splits a command line into words: white space separates, single and double quotes group,
/// backslash escapes outside single quotes. No variables, globs or pipes: it is not a shell.
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("unclosed single quote in the responder command".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => cur.push(
                            chars
                                .next()
                                .ok_or("trailing backslash in the responder command")?,
                        ),
                        Some(x) => cur.push(x),
                        None => return Err("unclosed double quote in the responder command".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(
                    chars
                        .next()
                        .ok_or("trailing backslash in the responder command")?,
                );
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err("the responder command is empty".into());
    }
    Ok(words)
}

/// Values for the placeholders.
#[derive(Clone, Debug, Default)]
pub struct Placeholders {
    /// `{url}`.
    pub url: String,
    /// `{user}`.
    pub user: String,
    /// `{pass}`.
    pub pass: String,
    /// `{issuer_seed}`.
    pub issuer_seed: String,
    /// `{issuer_seed_file}`.
    pub issuer_seed_file: String,
    /// `{issuer_pub}`.
    pub issuer_pub: String,
    /// `{xkey_seed}`.
    pub xkey_seed: String,
    /// `{xkey_seed_file}`.
    pub xkey_seed_file: String,
    /// `{xkey_pub}`.
    pub xkey_pub: String,
    /// `{users}`.
    pub users: String,
    /// `{creds}` (operator mode; empty otherwise).
    pub creds: String,
    /// `{signing_keys}` (operator mode; empty otherwise).
    pub signing_keys: String,
    /// `{scoped_keys}` (operator mode with scoped keys; empty otherwise).
    pub scoped_keys: String,
    /// `{ca_file}`: the run's CA certificate (PEM), when the server offers TLS, so that a
    /// responder whose client library upgrades to TLS can verify the server; empty otherwise.
    pub ca_file: String,
    /// `{cert_file}` and `{key_file}`: a client certificate (PEM) and its key, issued by that
    /// CA for the responder, when the server offers TLS: the server verifies the certificate
    /// of every client that starts TLS (`verify: true`), and some client libraries (the
    /// official Node client) start TLS whenever the server offers it. Empty otherwise.
    pub cert_file: String,
    /// See `cert_file`.
    pub key_file: String,
    /// `{profile_dir}`: the directory of the profile the template comes from; `None` (an
    /// unknown placeholder) for a template that does not come from a profile.
    pub profile_dir: Option<String>,
}

impl Placeholders {
    /// The value of placeholder `name` (with its braces).
    fn value(&self, name: &str) -> Option<&str> {
        Some(match name {
            "{url}" => &self.url,
            "{user}" => &self.user,
            "{pass}" => &self.pass,
            "{issuer_seed_file}" => &self.issuer_seed_file,
            "{issuer_seed}" => &self.issuer_seed,
            "{issuer_pub}" => &self.issuer_pub,
            "{xkey_seed_file}" => &self.xkey_seed_file,
            "{xkey_seed}" => &self.xkey_seed,
            "{xkey_pub}" => &self.xkey_pub,
            "{users}" => &self.users,
            "{creds}" => &self.creds,
            "{signing_keys}" => &self.signing_keys,
            "{scoped_keys}" => &self.scoped_keys,
            "{ca_file}" => &self.ca_file,
            "{cert_file}" => &self.cert_file,
            "{key_file}" => &self.key_file,
            "{profile_dir}" => return self.profile_dir.as_deref(),
            _ => return None,
        })
    }

    /// The secret values, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        [&self.pass, &self.issuer_seed, &self.xkey_seed]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string())
            .collect()
    }
}

/// Renders a template into argv: splits it into words, then replaces each word's placeholders
/// in one pass ([`substitute`]). Unknown `{name}` placeholders are an error.
pub fn render(template: &str, p: &Placeholders) -> Result<Vec<String>, String> {
    split_words(template)?
        .iter()
        .map(|w| {
            let (out, unknown) = substitute(w, |name| p.value(name));
            match unknown {
                None => Ok(out),
                Some(name) => Err(format!("unknown placeholder {name} in the responder command; known: {{url}} {{user}} {{pass}} {{issuer_seed}} {{issuer_seed_file}} {{issuer_pub}} {{xkey_seed}} {{xkey_seed_file}} {{xkey_pub}} {{users}} {{creds}} {{signing_keys}} {{scoped_keys}} {{ca_file}} {{cert_file}} {{key_file}}, and in a profile {{profile_dir}}")),
            }
        })
        .collect()
}

/// `word` with every `{name}` (lower-case letters and `_`) that `value` knows replaced, in one
/// pass from left to right: text a value brings in is never scanned again. Returns the first
/// `{name}` that `value` does not know, if any (left in place).
pub fn substitute<'a>(
    word: &str,
    value: impl Fn(&str) -> Option<&'a str>,
) -> (String, Option<String>) {
    let mut out = String::with_capacity(word.len());
    let mut unknown = None;
    let mut rest = word;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let at = &rest[open..];
        let len = at[1..]
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(at.len() - 1);
        if len == 0 || !at[1 + len..].starts_with('}') {
            out.push('{');
            rest = &at[1..];
            continue;
        }
        let name = &at[..len + 2];
        match value(name) {
            Some(v) => out.push_str(v),
            None => {
                unknown.get_or_insert_with(|| name.to_string());
                out.push_str(name);
            }
        }
        rest = &at[len + 2..];
    }
    out.push_str(rest);
    (out, unknown)
}

/// A running responder: the process group of the command (a wrapper script and the responder
/// it starts are stopped together), and its redacted stderr.
pub struct RunningResponder {
    /// `None` for a responder that was already running ([`RunningResponder::attached`]).
    child: Option<Child>,
    /// The process group (the child's PID: it is started with `process_group(0)`).
    pgid: i32,
    /// Set once the whole group is known to be gone: its id may be reused after that.
    group_gone: bool,
    /// The value of [`strays::TAG_VAR`] every process of this responder inherits; `None` for
    /// an attached responder.
    tag: Option<String>,
    status: Option<String>,
    stderr: Arc<Mutex<StderrCapture>>,
    reader_done: Arc<AtomicBool>,
    started: Instant,
    _registration: Option<Registration>,
}

/// How much stderr is kept (the newest bytes).
const STDERR_KEEP: usize = 64 * 1024;
/// The shortest run of a secret's bytes that is redacted wherever it appears, so that a secret
/// split across lines, writes or reads still never shows more than 7 bytes in a row.
const MIN_FRAGMENT: usize = 8;
const REDACTED: &[u8] = b"[REDACTED]";

/// A byte stream with secrets redacted across write, read and line boundaries: every
/// occurrence of a secret, and every run of at least 8 bytes that is part of one, becomes
/// `[REDACTED]`. Bytes are held back until no secret can still be completing at them; invalid
/// UTF-8 is replaced when the text is read out, never stops the capture.
#[derive(Debug)]
pub struct StderrCapture {
    secrets: Vec<Vec<u8>>,
    grams: std::collections::HashSet<Vec<u8>>,
    hold: usize,
    committed: Vec<u8>,
    pending: Vec<u8>,
    redactions: usize,
}

impl StderrCapture {
    /// A capture redacting `secrets` (empty strings are ignored).
    pub fn new(secrets: &[String]) -> StderrCapture {
        let secrets: Vec<Vec<u8>> = secrets
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let grams = secrets
            .iter()
            .flat_map(|s| s.windows(MIN_FRAGMENT).map(<[u8]>::to_vec))
            .collect();
        let hold = secrets.iter().map(Vec::len).max().unwrap_or(0);
        StderrCapture {
            secrets,
            grams,
            hold,
            committed: Vec::new(),
            pending: Vec::new(),
            redactions: 0,
        }
    }

    fn is_part_of_secret(&self, b: &[u8]) -> bool {
        self.secrets
            .iter()
            .any(|s| s.windows(b.len()).any(|w| w == b))
    }

    /// Byte ranges of `data` to redact: maximal runs of at least 8 bytes (or a whole shorter
    /// secret) that appear inside a secret.
    fn ranges(&self, data: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if self.secrets.is_empty() {
            return out;
        }
        let mut i = 0;
        while i < data.len() {
            let long =
                i + MIN_FRAGMENT <= data.len() && self.grams.contains(&data[i..i + MIN_FRAGMENT]);
            let short = self
                .secrets
                .iter()
                .filter(|s| s.len() < MIN_FRAGMENT && data[i..].starts_with(s))
                .map(Vec::len)
                .max();
            let first = if long { Some(MIN_FRAGMENT) } else { short };
            match first {
                Some(n) => {
                    let mut j = i + n;
                    while j < data.len() && self.is_part_of_secret(&data[i..=j]) {
                        j += 1;
                    }
                    out.push((i, j));
                    i = j;
                }
                None => i += 1,
            }
        }
        out
    }

    fn redacted(data: &[u8], ranges: &[(usize, usize)]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len());
        let mut at = 0;
        for (a, b) in ranges {
            out.extend_from_slice(&data[at..*a]);
            out.extend_from_slice(REDACTED);
            at = *b;
        }
        out.extend_from_slice(&data[at..]);
        out
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.pending.extend_from_slice(chunk);
        let ranges = self.ranges(&self.pending);
        // Keep back the last `hold` bytes: a secret may still be arriving there.
        let mut cut = self.pending.len().saturating_sub(self.hold);
        if let Some((a, _)) = ranges.iter().find(|(a, b)| *a < cut && cut < *b) {
            cut = *a;
        }
        let done: Vec<(usize, usize)> = ranges.into_iter().filter(|(_, b)| *b <= cut).collect();
        self.redactions += done.len();
        let text = Self::redacted(&self.pending[..cut], &done);
        self.committed.extend_from_slice(&text);
        self.pending.drain(..cut);
        if self.committed.len() > STDERR_KEEP {
            let from = self.committed.len() - STDERR_KEEP / 2;
            let from = self.committed[from..]
                .iter()
                .position(|b| *b == b'\n')
                .map(|p| from + p + 1)
                .unwrap_or(from);
            self.committed.drain(..from);
        }
    }

    /// The stream ended: nothing more can complete a secret.
    pub fn finish(&mut self) {
        let ranges = self.ranges(&self.pending);
        self.redactions += ranges.len();
        let text = Self::redacted(&self.pending, &ranges);
        self.committed.extend_from_slice(&text);
        self.pending.clear();
    }

    /// How many times a secret (or a run of 8 bytes of one) appeared in the stream so far
    /// and was redacted: the responder wrote a secret the harness handed it.
    pub fn redactions(&self) -> usize {
        self.redactions
    }

    /// Everything captured so far, redacted. A tail that may be the start of a secret still
    /// being written is left out until the rest arrives.
    pub fn text(&self) -> String {
        let ranges = self.ranges(&self.pending);
        let mut tail = Self::redacted(&self.pending, &ranges);
        let free_from = ranges
            .last()
            .map(|(_, b)| tail.len() - (self.pending.len() - b))
            .unwrap_or(0);
        let mut keep = tail.len();
        for k in (1..MIN_FRAGMENT).rev() {
            if keep >= free_from + k && self.is_part_of_secret(&tail[keep - k..]) {
                keep -= k;
                break;
            }
        }
        tail.truncate(keep);
        let mut all = self.committed.clone();
        all.extend_from_slice(&tail);
        String::from_utf8_lossy(&all).into_owned()
    }
}

/// Why a responder did not start, and the fix. The reference (the default when no
/// `--responder-cmd` was given) missing is a first-run matter: say how to install it, or how
/// to judge another responder, never to check a flag the user did not give.
fn cannot_start(prog: &str, e: &std::io::Error) -> String {
    let reference = std::path::Path::new(prog)
        .file_name()
        .is_some_and(|n| n == "callout-responder");
    if reference && e.kind() == std::io::ErrorKind::NotFound {
        return format!(
            "the reference responder callout-responder is not installed (looked for {prog:?} beside callout-conformance and on PATH): install it with `cargo install callout-responder` (or `cargo install --path responder` from a clone), point CALLOUT_RESPONDER_BIN at it, or judge your own responder with --responder-cmd or --profile"
        );
    }
    format!("cannot start the responder {prog:?}: {e}. Check --responder-cmd or the profile's [responder] cmd (the program must exist and be executable)")
}

impl RunningResponder {
    /// Starts `argv` in a process group of its own, capturing stderr with `secrets` replaced
    /// by `[REDACTED]`.
    pub fn start(argv: &[String], secrets: Vec<String>) -> Result<RunningResponder, String> {
        let (prog, args) = argv.split_first().ok_or("empty responder command")?;
        let tag = strays::new_tag();
        let mut child = Command::new(prog)
            .args(args)
            .env(strays::TAG_VAR, &tag)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| cannot_start(prog, &e))?;
        let pgid = child.id() as i32;
        let registration = cleanup::register_responder(child.id(), &tag);
        let stderr = Arc::new(Mutex::new(StderrCapture::new(&secrets)));
        let reader_done = Arc::new(AtomicBool::new(false));
        match child.stderr.take() {
            Some(mut err) => {
                let cap = stderr.clone();
                let done = reader_done.clone();
                std::thread::spawn(move || {
                    // Drain until end of file whatever arrives: closing the pipe early would
                    // kill the responder with SIGPIPE.
                    let mut buf = vec![0u8; 8192];
                    loop {
                        match err.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => {
                                if let Ok(mut c) = cap.lock() {
                                    c.push(&buf[..n]);
                                }
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(_) => break,
                        }
                    }
                    if let Ok(mut c) = cap.lock() {
                        c.finish();
                    }
                    done.store(true, Ordering::SeqCst);
                });
            }
            None => reader_done.store(true, Ordering::SeqCst),
        }
        Ok(RunningResponder {
            child: Some(child),
            pgid,
            group_gone: false,
            tag: Some(tag),
            status: None,
            stderr,
            reader_done,
            started: Instant::now(),
            _registration: Some(registration),
        })
    }

    /// A responder that was already running when the harness started (a profile's
    /// `[responder] url`): no process to watch, stop or restart, and no stderr. Only what
    /// crosses the wire says whether it is alive.
    pub fn attached() -> RunningResponder {
        RunningResponder {
            child: None,
            pgid: 0,
            group_gone: true,
            tag: None,
            status: None,
            stderr: Arc::new(Mutex::new(StderrCapture::new(&[]))),
            reader_done: Arc::new(AtomicBool::new(true)),
            started: Instant::now(),
            _registration: None,
        }
    }

    /// True for [`RunningResponder::attached`].
    pub fn is_attached(&self) -> bool {
        self.child.is_none()
    }

    /// The PID (also the process group id); 0 for an attached responder.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// `Some(status text)` when the process started from the template has exited (never for
    /// an attached responder).
    pub fn exited(&mut self) -> Option<String> {
        if self.status.is_none() {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(Child::try_wait) {
                self.status = Some(st.to_string());
            }
        }
        self.status.clone()
    }

    /// How many times the responder wrote a secret the harness handed it (redacted in its
    /// stderr), so far.
    pub fn secrets_written(&self) -> usize {
        self.stderr.lock().map(|c| c.redactions()).unwrap_or(0)
    }

    /// The last `lines` lines of stderr.
    pub fn stderr_tail(&self, lines: usize) -> String {
        if self.is_attached() {
            return "(the responder was already running: its stderr is not captured)".into();
        }
        let b = self.stderr.lock().map(|b| b.text()).unwrap_or_default();
        let all: Vec<&str> = b.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Seconds since start.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    fn all_gone(&mut self) -> bool {
        self.exited().is_some() && !cleanup::group_alive(self.pgid)
    }

    /// SIGKILL to the whole process group at once (a crash, as a fault case wants it), and
    /// to what left it; waits for the started process.
    pub fn kill(&mut self) {
        if self.group_gone {
            return;
        }
        cleanup::signal_group(self.pgid, libc::SIGKILL);
        if let Some(Ok(st)) = self.child.as_mut().map(Child::wait) {
            self.status.get_or_insert(st.to_string());
        }
        self.stop_strays(Duration::ZERO);
    }

    /// Stops the processes that carry this responder's tag outside its group.
    fn stop_strays(&self, grace: Duration) {
        if let Some(tag) = &self.tag {
            strays::stop_tagged(tag, grace, self.pid() as i32);
        }
    }

    /// SIGTERM to the whole process group, up to `grace` for every process in it to exit,
    /// then SIGKILL to the group; then the same for the processes that left the group
    /// ([`strays::stop_tagged`]). Returns the exit status text of the started process.
    pub fn stop(&mut self, grace: Duration) -> String {
        if !self.group_gone {
            if !self.all_gone() {
                cleanup::signal_group(self.pgid, libc::SIGTERM);
                let deadline = Instant::now() + grace;
                while Instant::now() < deadline && !self.all_gone() {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if !self.all_gone() {
                    cleanup::signal_group(self.pgid, libc::SIGKILL);
                    if let Some(Ok(st)) = self.child.as_mut().map(Child::wait) {
                        self.status.get_or_insert(st.to_string());
                    }
                    let deadline = Instant::now() + Duration::from_secs(2);
                    while Instant::now() < deadline && cleanup::group_alive(self.pgid) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
            if self.status.is_some() {
                cleanup::reap_group(self.pgid);
            }
            self.stop_strays(grace);
            self.group_gone = true;
        }
        // The last lines: the pipe closes once every process holding it has gone.
        let deadline = Instant::now() + Duration::from_secs(1);
        while !self.reader_done.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.exited().unwrap_or_default()
    }
}

impl Drop for RunningResponder {
    fn drop(&mut self) {
        if !self.group_gone && (self.exited().is_none() || cleanup::group_alive(self.pgid)) {
            cleanup::signal_group(self.pgid, libc::SIGKILL);
            if let Some(c) = self.child.as_mut() {
                let _ = c.wait();
            }
        }
        if !self.group_gone {
            self.stop_strays(Duration::ZERO);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_quotes() {
        assert_eq!(
            split_words("a 'b c' \"d\\\"e\" f\\ g").unwrap(),
            vec!["a", "b c", "d\"e", "f g"]
        );
        assert_eq!(split_words("x ''").unwrap(), vec!["x", ""]);
        assert!(split_words("a 'b").is_err());
    }

    #[test]
    fn a_missing_reference_says_how_to_install_it_and_another_program_names_the_flag() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = cannot_start("callout-responder", &missing);
        assert!(e.contains("cargo install callout-responder"), "{e}");
        assert!(!e.contains("Check --responder-cmd"), "{e}");
        let e = RunningResponder::start(&["/nonexistent/my-responder".into()], vec![])
            .err()
            .unwrap();
        assert!(e.contains("Check --responder-cmd"), "{e}");
    }

    #[test]
    fn placeholders_render_and_typos_fail() {
        let p = Placeholders {
            url: "nats://h:1".into(),
            xkey_seed: String::new(),
            ..Default::default()
        };
        assert_eq!(
            render("r -u {url} -x {xkey_seed}", &p).unwrap(),
            vec!["r", "-u", "nats://h:1", "-x", ""]
        );
        let e = render("r -u {ur}", &p).unwrap_err();
        assert!(e.contains("{ur}") && e.contains("{ca_file}"), "{e}");
        let tls = Placeholders {
            ca_file: "/tmp/run/ca.pem".into(),
            ..Default::default()
        };
        assert_eq!(
            render("r --ca {ca_file}", &tls).unwrap(),
            ["r", "--ca", "/tmp/run/ca.pem"]
        );
        assert_eq!(
            ResponderSpec::command("/opt/bin/my-resp -x").name,
            "my-resp"
        );
    }

    #[test]
    fn a_value_is_put_in_once_and_never_expanded_again() {
        // Values that hold placeholders, braces and spaces stay as they are.
        let p = Placeholders {
            url: "nats://h:1/{pass}{bogus}".into(),
            pass: "the-pass-9Zq".into(),
            profile_dir: Some("/tmp/a {pass} b{bogus}".into()),
            ..Default::default()
        };
        assert_eq!(
            render(
                "r -u {url} -k {profile_dir}/k \"{profile_dir}/u.json\" -p {pass}",
                &p
            )
            .unwrap(),
            [
                "r",
                "-u",
                "nats://h:1/{pass}{bogus}",
                "-k",
                "/tmp/a {pass} b{bogus}/k",
                "/tmp/a {pass} b{bogus}/u.json",
                "-p",
                "the-pass-9Zq",
            ]
        );
        // {profile_dir} is known only where there is a profile.
        let e = render("r {profile_dir}/k", &Placeholders::default()).unwrap_err();
        assert!(e.contains("unknown placeholder {profile_dir}"), "{e}");
        // Braces that are not a placeholder pass through.
        assert_eq!(
            substitute("{\"a\":{url}}{}{X}", |n| (n == "{url}").then_some("u")),
            ("{\"a\":u}{}{X}".to_string(), None)
        );
    }

    fn no_piece_of(out: &str, secret: &str) -> Result<(), String> {
        for w in secret.as_bytes().windows(MIN_FRAGMENT) {
            let w = std::str::from_utf8(w).unwrap();
            if out.contains(w) {
                return Err(format!("{w:?} of the secret in {out:?}"));
            }
        }
        Ok(())
    }

    #[test]
    fn redaction_holds_across_every_split_point() {
        let secret = "SAAGPASSWORDXYZ234567ABCDEFGHIJKLMNOP";
        let pass = "abcdefghijklmnopqrstuvwx";
        let stream = format!(
            "start {secret} mid\nhalf={}\n{} rest\n{pass}{secret}\nend ok\n",
            &pass[..12],
            &pass[12..]
        );
        let secrets = vec![secret.to_string(), pass.to_string()];
        let bytes = stream.as_bytes();
        for chunk in 1..=bytes.len() {
            let mut c = StderrCapture::new(&secrets);
            for piece in bytes.chunks(chunk) {
                c.push(piece);
                let t = c.text();
                no_piece_of(&t, secret).unwrap();
                no_piece_of(&t, pass).unwrap();
            }
            c.finish();
            let t = c.text();
            no_piece_of(&t, secret).unwrap();
            no_piece_of(&t, pass).unwrap();
            assert!(
                t.starts_with("start [REDACTED] mid\nhalf=[REDACTED]\n[REDACTED] rest\n"),
                "chunk {chunk}: {t}"
            );
            assert!(t.ends_with("\nend ok\n"), "chunk {chunk}: {t}");
            assert!(c.redactions() >= 3, "chunk {chunk}: {}", c.redactions());
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_and_the_buffer_stays_bounded() {
        let mut c = StderrCapture::new(&["s3cretpassword".to_string()]);
        c.push(b"a\xffb\n");
        for i in 0..20_000 {
            c.push(format!("line {i}\n").as_bytes());
        }
        c.finish();
        let t = c.text();
        assert_eq!(c.redactions(), 0, "no secret was written");
        assert!(t.len() <= STDERR_KEEP, "{}", t.len());
        assert!(t.ends_with("line 19999\n"));
        let mut c = StderrCapture::new(&[]);
        c.push(b"a\xffb\n");
        assert_eq!(c.text(), "a\u{FFFD}b\n");
    }
}
