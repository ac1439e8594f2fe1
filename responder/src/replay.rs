//! The replay guard: the request `user_nkey`s seen recently, so that a request is answered
//! once until it expires (`protocol.md §1.5`, "Who can publish a request" and "Replay guard").
//!
//! Bounded twice: by count (`capacity`) and by time (an entry lives at most
//! [`REPLAY_HORIZON_SECS`] past its insertion, because a request whose `exp` is further ahead
//! is never recorded). Anyone who can publish on the callout subject can sign requests with a
//! server key of their own, and such requests pass every check of the request itself, so the
//! guard must not be a lockout switch: entries are kept in two classes. Requests signed by a
//! server key the responder trusts (the `server_id` of its own connection's INFO) are never
//! pushed out by others; when the guard is full of unexpired entries, the oldest entry from any
//! other key makes room, and only a guard full of trusted entries refuses (fails closed).

use std::collections::{HashMap, VecDeque};

/// How far ahead a request's `exp` may be. The replay guard must remember a request until it
/// expires, so a request valid for longer than this cannot be guarded against replay and is
/// refused. The server sets `exp = now + authorization.timeout`, normally seconds.
pub const REPLAY_HORIZON_SECS: i64 = 600;

/// How many requests the replay guard remembers at most. When it is full of unexpired requests
/// from trusted server keys, new requests are refused (fail closed) until some expire.
pub const REPLAY_GUARD_CAPACITY: usize = 100_000;

/// How many trusted server keys are remembered: the server of each connection the responder
/// made (a restarted server has a new key), the most recent last.
const MAX_TRUSTED: usize = 16;

/// What the replay guard says about one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Sighting {
    /// Not seen before (or seen and expired): recorded, go on.
    First,
    /// Seen before and not expired.
    Replay,
    /// `exp` is beyond the horizon: the guard would have to remember it too long.
    BeyondHorizon,
    /// Full of unexpired entries from trusted keys: nothing can be recorded, so nothing is
    /// admitted.
    Full,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    exp: i64,
    trusted: bool,
}

/// Request user keys seen recently, in two classes (see the module documentation).
pub struct ReplayGuard {
    seen: HashMap<String, Entry>,
    /// The untrusted entries, oldest first, for eviction. An item whose entry has since been
    /// swept or recorded again is stale and skipped.
    untrusted: VecDeque<(String, i64)>,
    capacity: usize,
    trusted_keys: VecDeque<String>,
    /// When the expired entries were last dropped: at most once a second, so that a full
    /// guard whose entries are all still valid does not rescan itself on every request.
    swept_at: i64,
}

impl ReplayGuard {
    /// An empty guard of `capacity` entries that trusts no server key yet.
    pub fn new(capacity: usize) -> ReplayGuard {
        ReplayGuard {
            seen: HashMap::new(),
            untrusted: VecDeque::new(),
            capacity,
            trusted_keys: VecDeque::new(),
            swept_at: i64::MIN,
        }
    }

    /// How many requests are remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Trusts requests signed by `server_key` (an `N` key the responder learnt from its own
    /// connection). Returns false when it was trusted already.
    pub fn trust(&mut self, server_key: &str) -> bool {
        if self.trusted_keys.iter().any(|k| k == server_key) {
            return false;
        }
        if self.trusted_keys.len() >= MAX_TRUSTED {
            self.trusted_keys.pop_front();
        }
        self.trusted_keys.push_back(server_key.to_string());
        true
    }

    /// The trusted server keys, oldest first.
    pub fn trusted_keys(&self) -> impl Iterator<Item = &str> {
        self.trusted_keys.iter().map(String::as_str)
    }

    /// True when `server_key` is trusted.
    pub fn trusts(&self, server_key: &str) -> bool {
        self.trusted_keys.iter().any(|k| k == server_key)
    }

    /// Records `user_nkey` (of a request signed by `issuer`) until `exp`, unless it is a
    /// replay, `exp` is beyond the horizon, or the guard is full of unexpired trusted entries.
    pub fn sight(&mut self, user_nkey: &str, exp: i64, now: i64, issuer: &str) -> Sighting {
        if exp > now.saturating_add(REPLAY_HORIZON_SECS) {
            return Sighting::BeyondHorizon;
        }
        let trusted = self.trusts(issuer);
        if let Some(e) = self.seen.get_mut(user_nkey) {
            if e.exp >= now {
                return Sighting::Replay;
            }
            *e = Entry { exp, trusted };
        } else {
            if self.seen.len() >= self.capacity && !self.make_room(now) {
                return Sighting::Full;
            }
            self.seen
                .insert(user_nkey.to_string(), Entry { exp, trusted });
        }
        if !trusted {
            self.untrusted.push_back((user_nkey.to_string(), exp));
            if self.untrusted.len() > 2 * self.capacity.max(1) {
                self.compact();
            }
        }
        Sighting::First
    }

    /// Frees one place in a full guard: drops the expired entries (at most once a second),
    /// else the oldest unexpired entry from an untrusted key. False when every entry is an
    /// unexpired trusted one.
    fn make_room(&mut self, now: i64) -> bool {
        if now != self.swept_at {
            self.seen.retain(|_, e| e.exp >= now);
            self.compact();
            self.swept_at = now;
            if self.seen.len() < self.capacity {
                return true;
            }
        }
        while let Some((key, exp)) = self.untrusted.pop_front() {
            if self.is_current_untrusted(&key, exp) {
                self.seen.remove(&key);
                return true;
            }
        }
        false
    }

    fn is_current_untrusted(&self, key: &str, exp: i64) -> bool {
        self.seen
            .get(key)
            .is_some_and(|e| !e.trusted && e.exp == exp)
    }

    /// Drops the stale items of the eviction queue.
    fn compact(&mut self) {
        let mut queue = std::mem::take(&mut self.untrusted);
        queue.retain(|(k, exp)| self.is_current_untrusted(k, *exp));
        self.untrusted = queue;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = "NTRUSTED";

    fn trusting(capacity: usize) -> ReplayGuard {
        let mut g = ReplayGuard::new(capacity);
        assert!(g.trust(SERVER));
        assert!(!g.trust(SERVER), "trusted once");
        g
    }

    #[test]
    fn a_guard_full_of_trusted_requests_refuses_replays_and_fresh_keys_until_they_expire() {
        let mut g = trusting(REPLAY_GUARD_CAPACITY);
        for i in 0..REPLAY_GUARD_CAPACITY {
            assert_eq!(g.sight(&format!("U{i}"), 110, 100, SERVER), Sighting::First);
        }
        assert_eq!(
            g.sight("U7", 110, 100, SERVER),
            Sighting::Replay,
            "a replay while full"
        );
        assert_eq!(g.sight("Ufresh", 110, 100, SERVER), Sighting::Full);
        assert_eq!(g.sight("Ufresh", 110, 101, SERVER), Sighting::Full);
        assert_eq!(
            g.sight("Uother", 110, 101, "NFORGER"),
            Sighting::Full,
            "another key pushes no trusted entry out"
        );
        assert_eq!(g.len(), REPLAY_GUARD_CAPACITY);
        // Once they expire, the sweep drops them and the keys may come back.
        assert_eq!(g.sight("Ufresh", 130, 111, SERVER), Sighting::First);
        assert!(g.len() < 10, "{}", g.len());
        assert_eq!(g.sight("U7", 130, 111, SERVER), Sighting::First);
    }

    #[test]
    fn a_flood_from_untrusted_keys_never_locks_out_the_trusted_server() {
        const CAP: usize = 50;
        let mut g = trusting(CAP);
        for i in 0..CAP / 5 {
            assert_eq!(
                g.sight(&format!("Ureal{i}"), 200, 100, SERVER),
                Sighting::First
            );
        }
        // A forger signs with a fresh N key each time: far more requests than the guard holds.
        for i in 0..20 * CAP {
            assert_eq!(
                g.sight(&format!("Uforged{i}"), 200, 100, &format!("NFORGER{i}")),
                Sighting::First,
                "an untrusted request makes room by pushing the oldest untrusted one out"
            );
            assert!(g.len() <= CAP);
        }
        assert!(g.untrusted.len() <= 2 * CAP + 1, "{}", g.untrusted.len());
        // Every real request is still remembered (a replay is refused), and a new one passes.
        for i in 0..CAP / 5 {
            assert_eq!(
                g.sight(&format!("Ureal{i}"), 200, 100, SERVER),
                Sighting::Replay
            );
        }
        for i in 0..CAP / 2 {
            assert_eq!(
                g.sight(&format!("Unew{i}"), 200, 100, SERVER),
                Sighting::First
            );
        }
        // The forger's latest requests are still refused as replays; its oldest were pushed out.
        let last = 20 * CAP - 1;
        assert_eq!(
            g.sight(&format!("Uforged{last}"), 200, 100, "NFORGERX"),
            Sighting::Replay
        );
    }

    #[test]
    fn the_replay_guard_never_records_an_expiry_beyond_its_horizon() {
        let mut g = ReplayGuard::new(10);
        let now = 1_700_000_000;
        for exp in [now + REPLAY_HORIZON_SECS + 1, now + 315_360_000, i64::MAX] {
            assert_eq!(g.sight("Ufar", exp, now, SERVER), Sighting::BeyondHorizon);
        }
        assert!(g.is_empty());
        assert_eq!(
            g.sight("Unear", now + REPLAY_HORIZON_SECS, now, SERVER),
            Sighting::First
        );
        // Extreme clocks do not overflow.
        assert_eq!(g.sight("Umax", i64::MAX, i64::MAX, SERVER), Sighting::First);
        assert_eq!(g.sight("Umin", i64::MIN, i64::MIN, SERVER), Sighting::First);
    }

    #[test]
    fn trusted_keys_are_bounded_and_the_newest_kept() {
        let mut g = ReplayGuard::new(1);
        for i in 0..3 * MAX_TRUSTED {
            g.trust(&format!("N{i}"));
        }
        assert_eq!(g.trusted_keys.len(), MAX_TRUSTED);
        assert!(g.trusts(&format!("N{}", 3 * MAX_TRUSTED - 1)));
        assert!(!g.trusts("N0"));
    }
}
