//! The responder under test: a command line with placeholders, started as a child process
//! (no shell, so the PID is the responder's), its stderr captured with every secret the
//! harness handed it redacted, and stopped by PID (SIGTERM, then SIGKILL).
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

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The default template: the NATS by Example service's own flags.
pub const SEED_FLAGS: &str = "-nats.url {url} -nats.user {user} -nats.pass {pass} -issuer.seed {issuer_seed} -xkey.seed {xkey_seed} -users {users}";

/// Which responder to judge.
#[derive(Clone, Debug, PartialEq)]
pub struct ResponderSpec {
    /// Column name.
    pub name: String,
    /// Command template.
    pub template: String,
}

impl ResponderSpec {
    /// The reference responder, found next to the harness binary (or `CALLOUT_RESPONDER_BIN`).
    pub fn reference() -> ResponderSpec {
        let bin = find_sibling_binary("callout-responder", "CALLOUT_RESPONDER_BIN");
        ResponderSpec {
            name: "reference".into(),
            template: format!("{} {SEED_FLAGS}", shell_quote(&bin.display().to_string())),
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

fn shell_quote(s: &str) -> String {
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
}

impl Placeholders {
    fn pairs(&self) -> [(&'static str, &str); 10] {
        [
            ("{url}", &self.url),
            ("{user}", &self.user),
            ("{pass}", &self.pass),
            ("{issuer_seed_file}", &self.issuer_seed_file),
            ("{issuer_seed}", &self.issuer_seed),
            ("{issuer_pub}", &self.issuer_pub),
            ("{xkey_seed_file}", &self.xkey_seed_file),
            ("{xkey_seed}", &self.xkey_seed),
            ("{xkey_pub}", &self.xkey_pub),
            ("{users}", &self.users),
        ]
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

/// Renders a template into argv. Unknown `{name}` placeholders are an error.
pub fn render(template: &str, p: &Placeholders) -> Result<Vec<String>, String> {
    let words = split_words(template)?;
    words
        .into_iter()
        .map(|w| {
            let mut out = w.clone();
            for (k, v) in p.pairs() {
                out = out.replace(k, v);
            }
            if let Some(start) = out.find('{') {
                if let Some(len) = out[start..].find('}') {
                    let name = &out[start..start + len + 1];
                    if name.len() > 2 && name[1..name.len() - 1].chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                        return Err(format!("unknown placeholder {name} in the responder command; known: {{url}} {{user}} {{pass}} {{issuer_seed}} {{issuer_seed_file}} {{issuer_pub}} {{xkey_seed}} {{xkey_seed_file}} {{xkey_pub}} {{users}}"));
                    }
                }
            }
            Ok(out)
        })
        .collect()
}

/// A running responder.
pub struct RunningResponder {
    child: Child,
    stderr: Arc<Mutex<String>>,
    started: Instant,
}

const STDERR_KEEP: usize = 64 * 1024;

impl RunningResponder {
    /// Starts `argv`, capturing stderr with `secrets` replaced by `[REDACTED]`.
    pub fn start(argv: &[String], secrets: Vec<String>) -> Result<RunningResponder, String> {
        let (prog, args) = argv.split_first().ok_or("empty responder command")?;
        let mut child = Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the responder {prog:?}: {e}. Check --responder-cmd (the program must exist and be executable)"))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(err) = child.stderr.take() {
            let buf = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines() {
                    let Ok(mut line) = line else { break };
                    for s in &secrets {
                        line = line.replace(s.as_str(), "[REDACTED]");
                    }
                    if let Ok(mut b) = buf.lock() {
                        b.push_str(&line);
                        b.push('\n');
                        if b.len() > STDERR_KEEP {
                            let cut = b.len() - STDERR_KEEP / 2;
                            let cut = (cut..b.len())
                                .find(|i| b.is_char_boundary(*i))
                                .unwrap_or(b.len());
                            b.drain(..cut);
                        }
                    }
                }
            });
        }
        Ok(RunningResponder {
            child,
            stderr,
            started: Instant::now(),
        })
    }

    /// The PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status text)` when the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(st)) => Some(st.to_string()),
            _ => None,
        }
    }

    /// The last `lines` lines of stderr.
    pub fn stderr_tail(&self, lines: usize) -> String {
        let b = self.stderr.lock().map(|b| b.clone()).unwrap_or_default();
        let all: Vec<&str> = b.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Seconds since start.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL. Returns the exit status text.
    pub fn stop(&mut self, grace: Duration) -> String {
        if let Some(s) = self.exited() {
            return s;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(s) = self.exited() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.child.wait().map(|s| s.to_string()).unwrap_or_default()
    }
}

impl Drop for RunningResponder {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
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
        assert!(e.contains("{ur}"), "{e}");
        assert_eq!(
            ResponderSpec::command("/opt/bin/my-resp -x").name,
            "my-resp"
        );
    }
}
