//! Where log lines go: a buffer that a background thread writes to stderr every few
//! milliseconds. A handler never blocks on stderr (a slow or full pipe stalls only the writer
//! thread), and a busy responder makes a few writes a second instead of one per decision. If
//! stderr stays blocked until 4 MiB are waiting, further lines are dropped and counted, and
//! the count is logged once stderr moves again.
//!
//! Client text never reaches a line as it came: [`quoted`] puts it in quotes and escapes
//! whatever could end the field, forge another one, or reorder what a terminal shows.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often waiting lines are written.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Lines beyond this many waiting bytes are dropped.
const MAX_PENDING: usize = 4 * 1024 * 1024;

struct Shared {
    pending: Mutex<Vec<u8>>,
    wake: Condvar,
    closed: AtomicBool,
    dropped: AtomicU64,
}

/// A `tracing_subscriber` writer that appends to the buffer. Cheap to clone.
#[derive(Clone)]
pub struct BufferedStderr {
    shared: Arc<Shared>,
}

/// Owns the writer thread; [`Flusher::finish`] (or drop) writes what is left and stops it.
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread.
pub fn buffered_stderr() -> (BufferedStderr, Flusher) {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Vec::with_capacity(64 * 1024)),
        wake: Condvar::new(),
        closed: AtomicBool::new(false),
        dropped: AtomicU64::new(0),
    });
    let s = shared.clone();
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_loop(&s))
        .ok();
    if thread.is_none() {
        // No thread: write through, as an unbuffered logger would.
        shared.closed.store(true, Ordering::SeqCst);
    }
    (
        BufferedStderr {
            shared: shared.clone(),
        },
        Flusher { shared, thread },
    )
}

fn write_loop(s: &Shared) {
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        let closed = {
            let Ok(mut p) = s.pending.lock() else { return };
            if p.is_empty() && !s.closed.load(Ordering::SeqCst) {
                p = match s.wake.wait_timeout(p, FLUSH_EVERY) {
                    Ok((p, _)) => p,
                    Err(_) => return,
                };
            }
            std::mem::swap(&mut *p, &mut out);
            s.closed.load(Ordering::SeqCst)
        };
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(&out);
        let dropped = s.dropped.swap(0, Ordering::SeqCst);
        if dropped > 0 {
            let _ = writeln!(
                err,
                "callout-responder: stderr was blocked; {dropped} log line(s) dropped"
            );
        }
        let _ = err.flush();
        out.clear();
        if closed {
            return;
        }
        std::thread::sleep(FLUSH_EVERY);
    }
}

impl Flusher {
    /// Writes every waiting line and stops the writer thread; later lines are written directly.
    pub fn finish(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Anything appended after the thread's last swap.
        if let Ok(mut p) = self.shared.pending.lock() {
            let _ = std::io::stderr().write_all(&p);
            p.clear();
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.finish();
    }
}

/// One event's writer.
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return std::io::stderr().write(buf);
        }
        match self.shared.pending.lock() {
            Ok(mut p) if p.len() + buf.len() <= MAX_PENDING => p.extend_from_slice(buf),
            _ => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BufferedStderr {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}

/// How many characters of client text a log line keeps.
const MAX_QUOTED_CHARS: usize = 64;

/// Client text (a user name) as a log field value: in double quotes, at most
/// [`MAX_QUOTED_CHARS`] characters (then `…`), with `"` and `\` escaped and every character
/// that is invisible or moves the text written as `\u{…}`: controls (newlines, escape
/// sequences), bidi controls such as U+202E, zero-width and other format characters, line and
/// paragraph separators. A user name then can neither end its field nor forge another one
/// (`eve verdict="admitted"` stays one quoted value), nor reorder a terminal's line.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(4 * MAX_QUOTED_CHARS) + 2);
    out.push('"');
    let mut chars = s.chars();
    for c in chars.by_ref().take(MAX_QUOTED_CHARS) {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_hidden(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    if chars.next().is_some() {
        out.push('…');
    }
    out.push('"');
    out
}

/// Characters a log reader does not see as written: controls, and the Unicode format
/// characters (bidi embeddings, overrides and isolates, zero-width characters, the BOM, tags),
/// fillers and separators that change how a line reads.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'..='\u{1160}'
                | '\u{17b4}'..='\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::fmt::MakeWriter;

    #[test]
    fn lines_are_kept_until_written_and_none_after_finish_are_lost() {
        let (w, mut f) = buffered_stderr();
        let _ = w.make_writer().write_all(b"one line\n");
        f.finish();
        assert!(w.shared.pending.lock().unwrap().is_empty());
        // After finish, lines go straight to stderr instead of the buffer.
        let _ = w.make_writer().write_all(b"late line\n");
        assert!(w.shared.pending.lock().unwrap().is_empty());
    }

    #[test]
    fn client_text_is_quoted_and_escaped_so_it_cannot_forge_a_field() {
        assert_eq!(quoted("alice"), r#""alice""#);
        assert_eq!(quoted(""), r#""""#);
        assert_eq!(
            quoted(r#"eve verdict="admitted" account="SYS""#),
            r#""eve verdict=\"admitted\" account=\"SYS\"""#
        );
        assert_eq!(quoted(r"a\b"), r#""a\\b""#);
        assert_eq!(
            quoted("eve\u{202e}nimda\u{2066}x\u{200b}y"),
            r#""eve\u{202e}nimda\u{2066}x\u{200b}y""#
        );
        assert_eq!(
            quoted("a\nINFO decision user=bob\r\x1b[2K\u{2028}"),
            r#""a\u{000a}INFO decision user=bob\u{000d}\u{001b}[2K\u{2028}""#
        );
        // Letters of any script stay as they are.
        assert_eq!(quoted("José Ωμέγα 山田"), "\"José Ωμέγα 山田\"");
        let q = quoted(&"x".repeat(200));
        assert_eq!(q.chars().count(), MAX_QUOTED_CHARS + 3, "{q}");
        assert!(q.ends_with("…\""));
        let exact = quoted(&"y".repeat(MAX_QUOTED_CHARS));
        assert_eq!(exact.chars().count(), MAX_QUOTED_CHARS + 2);
    }

    #[test]
    fn a_full_buffer_drops_and_counts_instead_of_blocking() {
        let shared = Arc::new(Shared {
            pending: Mutex::new(vec![b'x'; MAX_PENDING]),
            wake: Condvar::new(),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        let w = BufferedStderr { shared };
        assert_eq!(w.make_writer().write(b"more\n").unwrap(), 5);
        assert_eq!(w.shared.dropped.load(Ordering::SeqCst), 1);
    }
}
