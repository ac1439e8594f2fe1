//! Whose credentials the forged requests carry. With the harness's users.json (the default),
//! alice and bob are the users of [`super::wire_users`]. A responder profile
//! ([`crate::profile`]) declares its own identities instead, and the same cases run with those:
//! a case never names a password, it asks for "bob's login" or "bob's login with a wrong
//! secret", so a responder that checks tokens or passwords of its own is judged by the same
//! requests.

use serde_json::Value;

use super::forge::{wire_users, ALICE_PASS, BOB_PASS};

/// The wrong password a response case sends for bob.
pub const WRONG_PASS: &str = "not-bobs-Secret-9Zq";

/// The credentials a CONNECT carried, as the server copies them into `connect_opts`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Login {
    /// `user`.
    pub user: Option<String>,
    /// `pass`.
    pub pass: Option<String>,
    /// `auth_token`.
    pub token: Option<String>,
}

impl Login {
    /// A user name and password.
    pub fn password(user: &str, pass: &str) -> Login {
        Login {
            user: Some(user.into()),
            pass: Some(pass.into()),
            token: None,
        }
    }

    /// A token alone.
    pub fn token(token: &str) -> Login {
        Login {
            token: Some(token.into()),
            ..Login::default()
        }
    }

    /// The secret of the login (the password, else the token): what must never be echoed, and
    /// what a hostile case removes, inflates or corrupts.
    pub fn secret(&self) -> &str {
        self.pass
            .as_deref()
            .filter(|p| !p.is_empty())
            .or(self.token.as_deref())
            .unwrap_or_default()
    }

    /// The same login with its secret changed in its first character, so that no decoder can
    /// read it as the original (a changed last character of unpadded base64 may only touch
    /// unused bits).
    pub fn with_wrong_secret(&self) -> Login {
        let mut l = self.clone();
        let wrong = |s: &str| {
            if s.is_empty() {
                return WRONG_PASS.to_string();
            }
            let mut chars: Vec<char> = s.chars().collect();
            chars[0] = match chars[0] {
                'a'..='y' | 'A'..='Y' | '0'..='8' => (chars[0] as u8 + 1) as char,
                'z' => 'a',
                'Z' => 'A',
                '9' => '0',
                _ => 'x',
            };
            chars.into_iter().collect()
        };
        if l.pass.as_deref().is_some_and(|p| !p.is_empty()) {
            l.pass = l.pass.as_deref().map(|_| WRONG_PASS.to_string());
        } else if let Some(t) = &l.token {
            l.token = Some(wrong(t));
        } else {
            l.pass = Some(WRONG_PASS.into());
        }
        l
    }

    /// The same login with its secret removed.
    pub fn without_secret(&self) -> Login {
        let mut l = self.clone();
        if l.pass.as_deref().is_some_and(|p| !p.is_empty()) {
            l.pass = None;
        } else {
            l.token = None;
        }
        l
    }

    /// The text a case may corrupt in the request's bytes to make it invalid UTF-8: the user
    /// name, else the token.
    pub fn marker(&self) -> &str {
        self.user
            .as_deref()
            .filter(|u| !u.is_empty())
            .or(self.token.as_deref())
            .unwrap_or_default()
    }

    /// How a transcript names the login, without its secret.
    pub fn label(&self) -> String {
        match (&self.user, &self.token) {
            (Some(u), _) => u.clone(),
            (None, Some(_)) => "a token".into(),
            (None, None) => "nobody".into(),
        }
    }
}

/// The identities of a wire run.
#[derive(Clone, Debug, PartialEq)]
pub struct Identities {
    /// Admitted: the unusual-but-valid requests, readiness and liveness.
    pub alice: Login,
    /// Admitted: the response and hostile cases.
    pub bob: Login,
    /// The account bob must be placed in.
    pub bob_account: String,
    /// bob's permissions in the user JWT's JSON shape (`pub`, `sub`, `resp`), when known.
    pub bob_permissions: Option<Value>,
    /// True when the responder reads the harness's users.json ([`wire_users`]), so the cases
    /// about its entries (an entry without a password, bob's `resp`, the nkey user) apply.
    pub users_json: bool,
    /// The users.json handed to the responder.
    pub users: Value,
    /// The credential alice and bob carry when it is minted by a command: made again for
    /// every phase ([`Identities::refreshed`]), so a short-lived one never runs out mid-run.
    pub refresh: Option<crate::profile::Credential>,
    /// The responder's own public keys, when it brings them (a profile's `[keys]`).
    pub keys: Option<crate::profile::OwnKeys>,
    /// Where an already-running responder connects (a profile's `[responder] url`).
    pub attach: Option<crate::profile::Attach>,
    /// Why no wire case can run (a profile whose admitted identities all log in with an nkey
    /// or a certificate, which forged requests do not carry yet).
    pub unusable: Option<String>,
}

impl Default for Identities {
    fn default() -> Self {
        Identities {
            alice: Login::password("alice", ALICE_PASS),
            bob: Login::password("bob", BOB_PASS),
            bob_account: "APP".into(),
            bob_permissions: Some(super::response::bob_permissions()),
            users_json: true,
            users: wire_users(),
            refresh: None,
            keys: None,
            attach: None,
            unusable: None,
        }
    }
}

impl Identities {
    /// True when the responder holds an xkey of its own: a server that has one seals every
    /// request, so the plain phase is sealed too.
    pub fn always_sealed(&self) -> bool {
        self.keys.as_ref().is_some_and(|k| k.xkey.is_some())
    }

    /// The identities with a freshly minted credential, when they have one to mint.
    pub fn refreshed(&self) -> Result<Identities, String> {
        let mut ids = self.clone();
        if let Some(cred) = &self.refresh {
            let login = cred.resolve()?;
            ids.alice = login.clone();
            ids.bob = login;
        }
        Ok(ids)
    }

    /// Every secret the identities carry, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        [&self.alice, &self.bob]
            .into_iter()
            .flat_map(|l| {
                [
                    l.secret().to_string(),
                    l.with_wrong_secret().secret().to_string(),
                ]
            })
            .filter(|s| !s.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_secret_differs_in_its_first_character_and_keeps_its_length() {
        for t in ["abc", "zzz", "Zed", "9x", "-x_", "eyJhbGciOi.x"] {
            let l = Login::token(t).with_wrong_secret();
            let w = l.token.unwrap();
            assert_ne!(w, t);
            assert_eq!(w.len(), t.len());
            assert_eq!(w[1..], t[1..]);
        }
        let p = Login::password("bob", BOB_PASS).with_wrong_secret();
        assert_eq!(p.pass.as_deref(), Some(WRONG_PASS));
        assert_eq!(p.user.as_deref(), Some("bob"));
    }

    #[test]
    fn the_secret_is_the_password_else_the_token() {
        assert_eq!(Login::password("u", "p").secret(), "p");
        assert_eq!(Login::token("t").secret(), "t");
        assert_eq!(Login::token("t").without_secret(), Login::default());
        assert_eq!(
            Login::password("u", "p").without_secret().user.as_deref(),
            Some("u")
        );
        assert_eq!(Login::token("t").marker(), "t");
        assert_eq!(Login::password("u", "p").marker(), "u");
    }
}
