//! nkeys (`protocol.md §1.3`): the base32 public keys and seeds of accounts (`A…`), users
//! (`U…`), servers (`N…`), operators (`O…`) and curve keys (`X…`), and ed25519 signing.
//! Parsing and encoding are the `nkeys` crate's; this module adds the typed checks the callout
//! needs ("an `N` key", "an `A` seed") with errors that say what was expected.

use nkeys::KeyPair;
use thiserror::Error;

/// The kinds of key the callout deals in, by their public prefix letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// `A…`: accounts; issuers of responses and user JWTs.
    Account,
    /// `U…`: users; the per-connection `user_nkey`.
    User,
    /// `N…`: servers; issuers of requests.
    Server,
    /// `O…`: operators.
    Operator,
    /// `X…`: X25519 curve keys for xkv1 sealing.
    Curve,
}

impl KeyKind {
    /// The letter public keys of this kind start with.
    pub fn public_prefix(self) -> char {
        match self {
            KeyKind::Account => 'A',
            KeyKind::User => 'U',
            KeyKind::Server => 'N',
            KeyKind::Operator => 'O',
            KeyKind::Curve => 'X',
        }
    }

    /// A human name, for error messages.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Account => "account",
            KeyKind::User => "user",
            KeyKind::Server => "server",
            KeyKind::Operator => "operator",
            KeyKind::Curve => "curve (xkey)",
        }
    }

    fn from_prefix_byte(b: u8) -> Option<KeyKind> {
        match b {
            0 => Some(KeyKind::Account),
            x if x == 20 << 3 => Some(KeyKind::User),
            x if x == 13 << 3 => Some(KeyKind::Server),
            x if x == 14 << 3 => Some(KeyKind::Operator),
            x if x == 23 << 3 => Some(KeyKind::Curve),
            _ => None,
        }
    }
}

/// Why a key or seed was refused. Never contains the seed itself.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Not a well-formed nkey (length, base32 or checksum).
    #[error("not a valid nkey public key (bad length, base32 or checksum)")]
    MalformedPublic,
    /// Not a well-formed seed.
    #[error("not a valid nkey seed (it should start with 'S' and be 58 characters)")]
    MalformedSeed,
    /// Well formed but of the wrong kind.
    #[error("expected {expected} key but got {got} key")]
    WrongKind {
        /// What the caller needed.
        expected: &'static str,
        /// What the key is.
        got: &'static str,
    },
    /// Signing or verification failed.
    #[error("signature verification failed")]
    BadSignature,
}

/// Returns the kind of a public key, or an error when it is not a valid public nkey.
pub fn public_kind(key: &str) -> Result<KeyKind, KeyError> {
    let (prefix, _) = nkeys::from_public_key(key).map_err(|_| KeyError::MalformedPublic)?;
    KeyKind::from_prefix_byte(prefix).ok_or(KeyError::MalformedPublic)
}

/// True when `key` is a valid public key of `kind` (checksum included).
pub fn is_public(key: &str, kind: KeyKind) -> bool {
    public_kind(key) == Ok(kind)
}

/// Checks that `key` is a valid public key of `kind`.
pub fn expect_public(key: &str, kind: KeyKind) -> Result<(), KeyError> {
    let got = public_kind(key)?;
    if got == kind {
        Ok(())
    } else {
        Err(KeyError::WrongKind {
            expected: kind.name(),
            got: got.name(),
        })
    }
}

/// Returns the kind of a seed without exposing it.
pub fn seed_kind(seed: &str) -> Result<KeyKind, KeyError> {
    let (prefix, _) = nkeys::decode_seed(seed.trim()).map_err(|_| KeyError::MalformedSeed)?;
    KeyKind::from_prefix_byte(prefix).ok_or(KeyError::MalformedSeed)
}

/// Verifies an ed25519 signature by the public key `signer` (any ed25519 kind).
pub fn verify(signer: &str, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
    Verifier::parse(signer)?.verify(message, signature)
}

/// Verifies the `sig` a client sent in CONNECT: an ed25519 signature by the user key `nkey`
/// over the bytes of the server's INFO `nonce` (`protocol.md` §1.5, `client_info.nonce`). The
/// text is unpadded base64url, or standard base64 as a fallback, the two encodings
/// `auth.go` accepts. Any failure (empty, not base64, bad key, wrong signature) is an error.
pub fn verify_nonce_signature(nkey: &str, nonce: &str, sig: &str) -> Result<(), KeyError> {
    if nonce.is_empty() || sig.is_empty() {
        return Err(KeyError::BadSignature);
    }
    let raw = data_encoding::BASE64URL_NOPAD
        .decode(sig.as_bytes())
        .or_else(|_| data_encoding::BASE64.decode(sig.as_bytes()))
        .map_err(|_| KeyError::BadSignature)?;
    Verifier::parse(nkey)?.verify(nonce.as_bytes(), &raw)
}

/// Signs a server nonce as a client does for CONNECT `sig`: unpadded base64url of the ed25519
/// signature over the nonce's bytes.
pub fn sign_nonce(signer: &Signer, nonce: &str) -> String {
    data_encoding::BASE64URL_NOPAD.encode(&signer.sign(nonce.as_bytes()))
}

/// A public key parsed once for verifying: base32, checksum and the curve point decompression
/// (a few microseconds) are done here, not per signature. Verification is `nkeys`'s exactly:
/// the 64-byte length check, then ed25519-dalek's (non-strict) `verify`.
#[derive(Clone, Debug)]
pub struct Verifier {
    kind: Option<KeyKind>,
    key: ed25519_dalek::VerifyingKey,
}

impl Verifier {
    /// Parses a public nkey as `nkeys::KeyPair::from_public_key` does.
    pub fn parse(public: &str) -> Result<Verifier, KeyError> {
        let (prefix, raw) =
            nkeys::from_public_key(public).map_err(|_| KeyError::MalformedPublic)?;
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|_| KeyError::MalformedPublic)?;
        Ok(Verifier {
            kind: KeyKind::from_prefix_byte(prefix),
            key,
        })
    }

    /// The key's kind (`None` for a valid prefix this crate has no kind for).
    pub fn kind(&self) -> Option<KeyKind> {
        self.kind
    }

    /// Verifies a 64-byte ed25519 signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        let sig: &[u8; 64] = signature.try_into().map_err(|_| KeyError::BadSignature)?;
        let sig = ed25519_dalek::Signature::from_bytes(sig);
        ed25519_dalek::Verifier::verify(&self.key, message, &sig)
            .map_err(|_| KeyError::BadSignature)
    }
}

/// Parsed public keys by their encoding, for a verifier that sees the same few signers again
/// and again (a responder and its servers). Bounded: when full it starts over. Only keys that
/// parse are kept; every signature is still checked.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: std::sync::RwLock<std::collections::HashMap<String, Verifier>>,
}

impl KeyCache {
    /// At most this many keys are kept.
    pub const MAX: usize = 1024;

    /// An empty cache.
    pub fn new() -> KeyCache {
        KeyCache::default()
    }

    /// The parsed key for `public`, parsing and keeping it on first sight.
    pub fn get(&self, public: &str) -> Result<Verifier, KeyError> {
        if let Some(v) = self.keys.read().ok().and_then(|m| m.get(public).cloned()) {
            return Ok(v);
        }
        let v = Verifier::parse(public)?;
        if let Ok(mut m) = self.keys.write() {
            if m.len() >= Self::MAX {
                m.clear();
            }
            m.insert(public.to_string(), v.clone());
        }
        Ok(v)
    }
}

/// An ed25519 key pair that signs JWTs: the issuer account of a responder, or the server key
/// of a harness playing the server. `Debug` never prints the seed.
pub struct Signer {
    kind: KeyKind,
    public: String,
    pair: KeyPair,
}

impl Signer {
    /// Parses a seed and checks its kind.
    pub fn from_seed(seed: &str, kind: KeyKind) -> Result<Signer, KeyError> {
        let got = seed_kind(seed)?;
        if got != kind {
            return Err(KeyError::WrongKind {
                expected: kind.name(),
                got: got.name(),
            });
        }
        if kind == KeyKind::Curve {
            return Err(KeyError::WrongKind {
                expected: "an ed25519",
                got: "a curve",
            });
        }
        let pair = KeyPair::from_seed(seed.trim()).map_err(|_| KeyError::MalformedSeed)?;
        Ok(Signer {
            kind,
            public: pair.public_key(),
            pair,
        })
    }

    /// Generates a fresh key pair of `kind` (not `Curve`: see [`crate::CurveSecret`]).
    pub fn generate(kind: KeyKind) -> Signer {
        let pair = match kind {
            KeyKind::Account => KeyPair::new_account(),
            KeyKind::User => KeyPair::new_user(),
            KeyKind::Server => KeyPair::new_server(),
            KeyKind::Operator | KeyKind::Curve => KeyPair::new_operator(),
        };
        let kind = if kind == KeyKind::Curve {
            KeyKind::Operator
        } else {
            kind
        };
        Signer {
            kind,
            public: pair.public_key(),
            pair,
        }
    }

    /// The public key, e.g. `A…`.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The key's kind.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The seed, for handing to a responder under test. Treat it as a secret.
    pub fn seed(&self) -> String {
        self.pair.seed().unwrap_or_default()
    }

    /// Signs `message`; the signature is 64 bytes.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        // Cannot fail: the pair was built from a seed.
        self.pair.sign(message).unwrap_or_default()
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({} {})", self.kind.name(), self.public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // protocol.md §1.3 fixtures, from the server's own callout tests.
    const USER: &str = "UBO2MQV67TQTVIRV3XFTEZOACM4WLOCMCDMAWN5QVN5PI2N6JHTVDRON";
    const USER_SEED: &str = "SUAP277QP7U4JMFFPVZHLJYEQJ2UHOTYVEIZJYAWRJXQLP4FRSEHYZJJOU";
    const ISSUER: &str = "ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA";
    const ISSUER_SEED: &str = "SAANDLKMXL6CUS3CP52WIXBEDN6YJ545GDKC65U5JZPPV6WH6ESWUA6YAI";

    #[test]
    fn fixture_seeds_give_fixture_public_keys() {
        let u = Signer::from_seed(USER_SEED, KeyKind::User).unwrap();
        assert_eq!(u.public_key(), USER);
        let a = Signer::from_seed(ISSUER_SEED, KeyKind::Account).unwrap();
        assert_eq!(a.public_key(), ISSUER);
        assert_eq!(a.seed(), ISSUER_SEED);
    }

    #[test]
    fn kinds_are_checked() {
        assert_eq!(public_kind(USER), Ok(KeyKind::User));
        assert_eq!(public_kind(ISSUER), Ok(KeyKind::Account));
        assert!(is_public(ISSUER, KeyKind::Account));
        assert!(!is_public(ISSUER, KeyKind::Server));
        assert_eq!(
            Signer::from_seed(USER_SEED, KeyKind::Account).unwrap_err(),
            KeyError::WrongKind {
                expected: "account",
                got: "user"
            }
        );
        assert_eq!(
            seed_kind("SXAAXMRAEP6JWWHNB6IKFL554IE6LZVT6EY5MBRICPILTLOPHAG73I3YX4"),
            Ok(KeyKind::Curve)
        );
    }

    #[test]
    fn a_changed_character_breaks_the_checksum() {
        let mut bad = ISSUER.to_string();
        bad.replace_range(10..11, if &ISSUER[10..11] == "A" { "B" } else { "A" });
        assert_eq!(public_kind(&bad), Err(KeyError::MalformedPublic));
        assert_eq!(seed_kind("SAnotaseed"), Err(KeyError::MalformedSeed));
    }

    #[test]
    fn verifier_agrees_with_nkeys() {
        let s = Signer::generate(KeyKind::Server);
        let sig = s.sign(b"hello");
        let cache = KeyCache::new();
        for _ in 0..2 {
            let v = cache.get(s.public_key()).unwrap();
            assert_eq!(v.kind(), Some(KeyKind::Server));
            assert!(v.verify(b"hello", &sig).is_ok());
            assert_eq!(v.verify(b"hellp", &sig), Err(KeyError::BadSignature));
            assert_eq!(v.verify(b"hello", &sig[..63]), Err(KeyError::BadSignature));
        }
        let nk = KeyPair::from_public_key(s.public_key()).unwrap();
        assert!(nk.verify(b"hello", &sig).is_ok());
        assert_eq!(cache.get("NOTAKEY").unwrap_err(), KeyError::MalformedPublic);
        assert_eq!(Verifier::parse(USER).unwrap().kind(), Some(KeyKind::User));
    }

    #[test]
    fn sign_and_verify() {
        let s = Signer::generate(KeyKind::Server);
        assert_eq!(s.public_key().chars().next(), Some('N'));
        let sig = s.sign(b"hello");
        assert!(verify(s.public_key(), b"hello", &sig).is_ok());
        assert_eq!(
            verify(s.public_key(), b"hellp", &sig),
            Err(KeyError::BadSignature)
        );
        assert!(!format!("{s:?}").contains(&s.seed()));
    }

    #[test]
    fn nonce_signatures_verify_in_both_encodings_and_nothing_else() {
        let u = Signer::generate(KeyKind::User);
        let sig = sign_nonce(&u, "abc-nonce");
        assert!(verify_nonce_signature(u.public_key(), "abc-nonce", &sig).is_ok());
        let std = data_encoding::BASE64.encode(&u.sign(b"abc-nonce"));
        assert!(verify_nonce_signature(u.public_key(), "abc-nonce", &std).is_ok());
        assert!(verify_nonce_signature(u.public_key(), "other", &sig).is_err());
        assert!(verify_nonce_signature(u.public_key(), "abc-nonce", "").is_err());
        assert!(verify_nonce_signature(u.public_key(), "", &sig).is_err());
        assert!(verify_nonce_signature(u.public_key(), "abc-nonce", "!!").is_err());
        let other = Signer::generate(KeyKind::User);
        assert!(verify_nonce_signature(other.public_key(), "abc-nonce", &sig).is_err());
        assert!(verify_nonce_signature("UNOTAKEY", "abc-nonce", &sig).is_err());
    }
}
