//! Whose credentials the forged requests carry. With the harness's users.json (the default),
//! alice and bob are the users of [`super::wire_users`]. A responder profile
//! ([`crate::profile`]) declares its own identities instead, and the same cases run with those:
//! a case never names a password, it asks for "bob's login" or "bob's login with a wrong
//! secret", so a responder that checks tokens or passwords of its own is judged by the same
//! requests.

use callout_world::credential::{Identities, Login};

use super::forge::{wire_users, ALICE_PASS, BOB_PASS};

/// The identities of the harness's own users.json: alice and bob of [`wire_users`].
pub fn harness_identities() -> Identities {
    {
        Identities {
            alice: Login::password("alice", ALICE_PASS),
            bob: Login::password("bob", BOB_PASS),
            bob_account: "APP".into(),
            bob_permissions: Some(crate::wire::response::bob_permissions()),
            users_json: true,
            users: wire_users(),
            refresh: None,
            keys: None,
            attach: None,
            unusable: None,
            sealing: true,
            auth_timeout: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callout_world::credential::WRONG_PASS;

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
