//! Small text helpers shared by every layer: shortening keys for transcripts, file:line
//! positions, case-id filters, and the redaction of secrets from text that came from outside.

/// The first 8 characters of a key, for transcripts.
pub fn short(k: &str) -> String {
    if k.chars().count() > 8 {
        format!("{}…", k.chars().take(8).collect::<String>())
    } else {
        k.to_string()
    }
}

/// The 1-based line of byte `offset` in `text`, for file:line errors.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// True when `id` matches a filter: a prefix on dot boundaries (`e2e.perm` matches
/// `e2e.perm.3`), or a glob with `*` (`e2e.*.1`).
pub fn matches_filter(id: &str, filter: &str) -> bool {
    if filter.contains('*') {
        glob(filter.as_bytes(), id.as_bytes())
    } else {
        id == filter || id.starts_with(&format!("{filter}."))
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// True for the characters that reorder text on a terminal or page (the bidi embeddings,
/// overrides, isolates and marks): text from a responder holding them could show a reader
/// something other than what it holds.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` with control characters (but newlines and tabs) and bidi controls written as escapes
/// (`\u{202e}`), for text that came from outside and goes to a terminal.
pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Replaces every secret the harness handed out (the users' passwords, the seeds) in text
/// that came from the responder.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Redacts these values (empty ones are ignored).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        // Longest first, so that a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    /// `text` with every secret replaced by `[REDACTED]`.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            out = out.replace(s.as_str(), "[REDACTED]");
        }
        out
    }

    /// True when `text` holds one of the secrets.
    pub fn finds_in(&self, text: &str) -> bool {
        self.secrets.iter().any(|s| text.contains(s.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_replaces_the_longest_secret_first() {
        let r = Redactor::new(["abc".to_string(), "abcdef".to_string(), String::new()]);
        assert_eq!(r.apply("x abcdef abc"), "x [REDACTED] [REDACTED]");
        assert!(r.finds_in("..abc.."));
        assert!(!r.finds_in("ab"));
    }

    #[test]
    fn bidi_and_control_characters_are_made_visible() {
        assert_eq!(
            visible("a\u{202e}b\u{1b}[31mc\nd"),
            "a\\u{202e}b\\u{1b}[31mc\nd"
        );
        assert!(is_bidi_control('\u{2067}') && !is_bidi_control('é'));
    }

    #[test]
    fn filters_are_prefixes_on_dots_or_globs() {
        assert!(matches_filter("e2e.perm.3", "e2e.perm"));
        assert!(!matches_filter("e2e.permx.3", "e2e.perm"));
        assert!(matches_filter("e2e.perm.1", "e2e.*.1"));
        assert_eq!(line_of("a\nb\nc", 3), 2);
        assert_eq!(short("ABCDEFGHIJ"), "ABCDEFGH…");
    }
}
