//! Token logins in constant time and O(1): the users of the `token` extension, keyed by an
//! HMAC-SHA256 of their token under a key drawn at random once per process.
//!
//! Why keyed: the map compares keys with a plain `==`, whose timing could tell a client how
//! much of a key it guessed. The key is a MAC nobody outside the process can compute, so a
//! client learns nothing it can use from that timing, and then the one entry found is
//! compared with the candidate in constant time ([`Secret::ct_matches`]). A lookup costs one
//! MAC and one comparison whatever the number of token users; a miss spends a comparison too,
//! so hit and miss do the same work. Loading is linear: a duplicate token is a MAC already in
//! the map.

use std::collections::HashMap;
use std::sync::OnceLock;

use callout_codec::Secret;
use ring::hmac;

/// An HMAC-SHA256 tag: equal tags mean equal tokens (a collision between two tokens under a
/// secret key is beyond reach, about 2^-128 for a file of any realistic size).
type Tag = [u8; 32];

/// The users with the `token` extension, by the MAC of their token.
#[derive(Clone, Default)]
pub struct TokenIndex {
    by_tag: HashMap<Tag, (Secret, String)>,
}

impl std::fmt::Debug for TokenIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenIndex({} tokens)", self.by_tag.len())
    }
}

impl TokenIndex {
    /// Adds `user`'s token, or returns the name of the user who already has that token.
    pub fn insert(&mut self, token: Secret, user: String) -> Result<(), &str> {
        use std::collections::hash_map::Entry;
        match self.by_tag.entry(tag(token.expose())) {
            Entry::Occupied(e) => Err(e.into_mut().1.as_str()),
            Entry::Vacant(e) => {
                e.insert((token, user));
                Ok(())
            }
        }
    }

    /// The name of the user whose token is `candidate`. Exactly one constant-time comparison
    /// whether or not a user has it.
    pub fn get(&self, candidate: &str) -> Option<&str> {
        match self.by_tag.get(&tag(candidate)) {
            Some((token, user)) => compare(token, candidate).then_some(user.as_str()),
            None => {
                // The same work as a hit.
                let _ = compare(miss_decoy(), candidate);
                None
            }
        }
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.by_tag.len()
    }

    /// True when no user has a token.
    pub fn is_empty(&self) -> bool {
        self.by_tag.is_empty()
    }

    /// Forgets every token.
    pub fn clear(&mut self) {
        self.by_tag.clear();
    }
}

/// The process's MAC key, drawn from the operating system on first use.
fn key() -> &'static hmac::Key {
    static KEY: OnceLock<hmac::Key> = OnceLock::new();
    KEY.get_or_init(|| {
        hmac::Key::generate(hmac::HMAC_SHA256, &ring::rand::SystemRandom::new())
            .expect("the operating system's random number generator failed")
    })
}

fn tag(token: &str) -> Tag {
    let t = hmac::sign(key(), token.as_bytes());
    let mut out = [0; 32];
    out.copy_from_slice(t.as_ref());
    out
}

/// What a miss compares the candidate with.
fn miss_decoy() -> &'static Secret {
    static DECOY: OnceLock<Secret> = OnceLock::new();
    DECOY.get_or_init(|| Secret::new("no user has this token"))
}

fn compare(stored: &Secret, candidate: &str) -> bool {
    #[cfg(test)]
    counter::COMPARISONS.with(|c| c.set(c.get() + 1));
    stored.ct_matches(candidate)
}

/// Constant-time comparisons made on this thread, so a test can count the work of a lookup.
#[cfg(test)]
pub(crate) mod counter {
    use std::cell::Cell;

    thread_local! {
        pub(crate) static COMPARISONS: Cell<u64> = const { Cell::new(0) };
    }

    /// Comparisons made by `f` on this thread.
    pub(crate) fn comparisons_in<R>(f: impl FnOnce() -> R) -> (R, u64) {
        let before = COMPARISONS.with(Cell::get);
        let r = f();
        (r, COMPARISONS.with(Cell::get) - before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_owner_and_only_the_whole_token() {
        let mut idx = TokenIndex::default();
        idx.insert(Secret::new("s3cret"), "alice".into()).unwrap();
        idx.insert(Secret::new("other"), "bob".into()).unwrap();
        assert_eq!(idx.get("s3cret"), Some("alice"));
        assert_eq!(idx.get("other"), Some("bob"));
        for miss in ["s3cre", "s3cret ", "S3CRET", "", "x"] {
            assert_eq!(idx.get(miss), None, "{miss:?}");
        }
        assert_eq!(
            idx.insert(Secret::new("s3cret"), "carol".into()),
            Err("alice")
        );
        assert_eq!(idx.len(), 2);
        idx.clear();
        assert!(idx.is_empty() && idx.get("s3cret").is_none());
    }

    #[test]
    fn the_map_key_is_keyed_not_a_plain_hash() {
        let plain = ring::digest::digest(&ring::digest::SHA256, b"s3cret");
        assert_ne!(&tag("s3cret")[..], plain.as_ref());
        assert_eq!(tag("s3cret"), tag("s3cret"));
        assert_ne!(tag("s3cret"), tag("s3cret2"));
    }

    #[test]
    fn a_lookup_makes_one_comparison_however_many_tokens() {
        let mut idx = TokenIndex::default();
        for i in 0..10_000 {
            idx.insert(Secret::new(format!("token-{i}")), format!("u{i}"))
                .unwrap();
        }
        let (found, n) = counter::comparisons_in(|| idx.get("token-5000"));
        assert_eq!((found, n), (Some("u5000"), 1));
        let (found, n) = counter::comparisons_in(|| idx.get("no such token"));
        assert_eq!((found, n), (None, 1), "a miss does the work of a hit");
        let (found, n) = counter::comparisons_in(|| idx.get(&"x".repeat(3_900)));
        assert_eq!((found, n), (None, 1));
    }

    #[test]
    fn debug_prints_no_token() {
        let mut idx = TokenIndex::default();
        idx.insert(Secret::new("s3cret"), "alice".into()).unwrap();
        let d = format!("{idx:?}");
        assert!(!d.contains("s3cret") && d.contains("1 tokens"), "{d}");
    }
}
