//! The example's tokens: `<payload>.<mac>`, where `payload` is the unpadded base64url of a JSON
//! object and `mac` the unpadded base64url of HMAC-SHA256(key, payload as written):
//!
//! ```json
//! {"name": "alice", "account": "APP", "exp": 1767225600, "pub": ["orders.>"], "sub": ["_INBOX.>"]}
//! ```
//!
//! `exp` is in unix seconds; `pub` and `sub` are publish and subscribe allow lists (absent: no
//! restriction). The MAC is checked in constant time before the payload is read.

use data_encoding::BASE64URL_NOPAD;
use ring::hmac;
use serde::{Deserialize, Serialize};

/// What a token says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenClaims {
    /// The user's name.
    pub name: String,
    /// The account the user is placed in.
    pub account: String,
    /// When the token expires, unix seconds.
    pub exp: i64,
    /// Subjects the user may publish to.
    #[serde(default, rename = "pub", skip_serializing_if = "Option::is_none")]
    pub publish: Option<Vec<String>>,
    /// Subjects the user may subscribe to.
    #[serde(default, rename = "sub", skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Vec<String>>,
}

/// Why a token is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not `<payload>.<mac>` in base64url.
    Malformed,
    /// The MAC does not verify with our key.
    BadMac,
    /// `exp` has passed.
    Expired,
}

impl Refusal {
    /// The reason, for logs and for the signed error (never the token itself).
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed token",
            Refusal::BadMac => "token signature does not verify",
            Refusal::Expired => "token expired",
        }
    }
}

/// The HMAC key, read from a file: at least 32 bytes once a trailing newline is removed.
pub struct TokenKey(hmac::Key);

/// The shortest key accepted.
pub const MIN_KEY_BYTES: usize = 32;

impl TokenKey {
    /// A key from the bytes of a key file.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<TokenKey, String> {
        let key = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let key = key.strip_suffix(b"\r").unwrap_or(key);
        if key.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the key has {} bytes; write at least {MIN_KEY_BYTES} random bytes into it, e.g. `head -c 48 /dev/urandom | base64 > FILE`",
                key.len()
            ));
        }
        Ok(TokenKey(hmac::Key::new(hmac::HMAC_SHA256, key)))
    }

    /// A signed token for `claims`.
    pub fn mint(&self, claims: &TokenClaims) -> String {
        let payload = BASE64URL_NOPAD.encode(&serde_json::to_vec(claims).unwrap_or_default());
        let mac = hmac::sign(&self.0, payload.as_bytes());
        format!("{payload}.{}", BASE64URL_NOPAD.encode(mac.as_ref()))
    }

    /// The claims of `token` when its MAC verifies and, unless `ignore_expiry`, it has not
    /// expired at `now`.
    pub fn verify(
        &self,
        token: &str,
        now: i64,
        ignore_expiry: bool,
    ) -> Result<TokenClaims, Refusal> {
        let (payload, mac) = token.split_once('.').ok_or(Refusal::Malformed)?;
        let mac = BASE64URL_NOPAD
            .decode(mac.as_bytes())
            .map_err(|_| Refusal::Malformed)?;
        hmac::verify(&self.0, payload.as_bytes(), &mac).map_err(|_| Refusal::BadMac)?;
        let json = BASE64URL_NOPAD
            .decode(payload.as_bytes())
            .map_err(|_| Refusal::Malformed)?;
        let claims: TokenClaims = serde_json::from_slice(&json).map_err(|_| Refusal::Malformed)?;
        if claims.name.is_empty() || claims.account.is_empty() {
            return Err(Refusal::Malformed);
        }
        if !ignore_expiry && claims.exp <= now {
            return Err(Refusal::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> TokenKey {
        TokenKey::from_file_bytes(&[b; 40]).unwrap()
    }

    fn alice(exp: i64) -> TokenClaims {
        TokenClaims {
            name: "alice".into(),
            account: "APP".into(),
            exp,
            publish: Some(vec!["a.>".into()]),
            subscribe: None,
        }
    }

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let t = key(1).mint(&alice(100));
        assert_eq!(key(1).verify(&t, 99, false), Ok(alice(100)));
        assert_eq!(key(1).verify(&t, 100, false), Err(Refusal::Expired));
        assert_eq!(key(1).verify(&t, 100, true), Ok(alice(100)));
    }

    #[test]
    fn another_key_an_edited_payload_and_garbage_are_refused() {
        let t = key(1).mint(&alice(100));
        assert_eq!(key(2).verify(&t, 0, false), Err(Refusal::BadMac));
        let (p, m) = t.split_once('.').unwrap();
        let forged = key(2).mint(&TokenClaims {
            account: "SYS".into(),
            ..alice(100)
        });
        let forged_payload = forged.split_once('.').unwrap().0;
        assert_eq!(
            key(1).verify(&format!("{forged_payload}.{m}"), 0, false),
            Err(Refusal::BadMac)
        );
        assert_eq!(
            key(1).verify(&format!("{p}.{m}!"), 0, false),
            Err(Refusal::Malformed)
        );
        for bad in ["", ".", "abc", "a.b.c", "!!.!!"] {
            assert!(key(1).verify(bad, 0, false).is_err(), "{bad}");
        }
        // A valid MAC over a payload that is not our JSON.
        let k = key(1);
        let payload = BASE64URL_NOPAD.encode(b"{\"name\":\"x\"}");
        let mac = BASE64URL_NOPAD.encode(hmac::sign(&k.0, payload.as_bytes()).as_ref());
        assert_eq!(
            k.verify(&format!("{payload}.{mac}"), 0, false),
            Err(Refusal::Malformed)
        );
    }

    #[test]
    fn short_keys_are_refused_with_the_fix() {
        let e = TokenKey::from_file_bytes(b"short\n").err().unwrap();
        assert!(e.contains("at least 32"), "{e}");
        assert!(TokenKey::from_file_bytes(&[7u8; 32]).is_ok());
    }
}
