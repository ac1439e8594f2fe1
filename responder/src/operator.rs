//! Operator (decentralized) mode, as the NATS by Example decentralized service runs it
//! (`protocol.md §3.2`): `-signing.keys ACCOUNT_PUB:FILE,…` gives each target account's
//! signing key seed, and a users.json `account` names the account whose file is `NAME.…`
//! (the file's name before its first `.`). A user placed in that account gets a user JWT
//! signed by that signing key with `issuer_account` = the account's public key; the server
//! places the user by the JWT's issuer account and ignores `aud`. The response itself is still
//! signed by `-issuer.seed` (the callout account, or one of its signing keys).

use std::collections::HashMap;
use std::path::Path;

use callout_codec::{nkey, KeyKind, Signer};

use crate::flags::seed_from_flag;
use crate::users::UserDirectory;

/// A target account's signing key.
pub struct AccountKey {
    /// The account's public key `A…` (the user JWT's `issuer_account`).
    pub account: String,
    /// Its signing key (signs the user JWTs), or the account's own key.
    pub signer: Signer,
    /// The key is scoped (`-scoped.keys`): its template sets the permissions, and the user
    /// JWT must carry no permissions or limits of its own (`protocol.md §1.7`).
    pub scoped: bool,
}

impl AccountKey {
    /// True when the account's own key signs (no `issuer_account` is needed).
    pub fn is_identity(&self) -> bool {
        self.signer.public_key() == self.account
    }
}

/// The signing keys by account name.
#[derive(Default)]
pub struct SigningKeys {
    by_name: HashMap<String, AccountKey>,
}

impl SigningKeys {
    /// Parses `-signing.keys`: `ACCOUNT_PUB:FILE` pairs, comma-separated.
    pub fn parse(list: &str) -> Result<SigningKeys, String> {
        let mut keys = SigningKeys::default();
        keys.add("-signing.keys", list, false)?;
        if keys.by_name.is_empty() {
            return Err("-signing.keys is empty; give ACCOUNT_PUB:FILE,…".into());
        }
        Ok(keys)
    }

    /// Adds `-scoped.keys` (same form): accounts whose signing key is scoped.
    pub fn add_scoped(&mut self, list: &str) -> Result<(), String> {
        self.add("-scoped.keys", list, true)
    }

    fn add(&mut self, flag: &str, list: &str, scoped: bool) -> Result<(), String> {
        for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (account, file) = pair.split_once(':').ok_or_else(|| {
                format!("{flag}: {pair:?} is not ACCOUNT_PUB:FILE; write e.g. {flag}=ABC…:APP1.nk,DEF…:APP2.nk")
            })?;
            nkey::expect_public(account, KeyKind::Account).map_err(|e| {
                format!("{flag}: {account:?} is not an account public key (A…): {e}")
            })?;
            let name = Path::new(file)
                .file_name()
                .and_then(|f| f.to_str())
                .and_then(|f| f.split('.').next())
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    format!("{flag}: {file:?} has no file name to take the account name from; name the file after the account, e.g. APP1.nk")
                })?
                .to_string();
            let seed = seed_from_flag(flag, file)?;
            let signer = Signer::from_seed(&seed, KeyKind::Account).map_err(|e| {
                format!("{flag}: {file}: {e}; the file holds the account signing key's seed (SA…)")
            })?;
            if self.by_name.contains_key(&name) {
                return Err(format!(
                    "{flag}: a second file for account {name:?}; give one signing key per account, in -signing.keys or -scoped.keys"
                ));
            }
            self.by_name.insert(
                name,
                AccountKey {
                    account: account.to_string(),
                    signer,
                    scoped,
                },
            );
        }
        Ok(())
    }

    /// Every account users.json places users in must have a signing key.
    pub fn check_users(&self, users: &UserDirectory, file: &Path) -> Result<(), String> {
        let mut missing: Vec<(String, String)> = users
            .iter()
            .filter(|(_, e)| !self.by_name.contains_key(&e.account))
            .map(|(n, e)| (n.to_string(), e.account.clone()))
            .collect();
        missing.sort();
        match missing.first() {
            None => Ok(()),
            Some((user, account)) => {
                let known: Vec<&str> = {
                    let mut k: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
                    k.sort();
                    k
                };
                Err(format!(
                    "{}: user {user:?} is placed in account {account:?}, which has no -signing.keys entry (accounts with a key: {}); add ACCOUNT_PUB:{account}.nk to -signing.keys, or place the user in one of those",
                    file.display(),
                    known.join(", ")
                ))
            }
        }
    }

    /// A key of an account other than `account` (the `wrong-account-key` fault).
    pub fn other_than(&self, account: &str) -> Option<&AccountKey> {
        let mut names: Vec<&String> = self.by_name.keys().collect();
        names.sort();
        names
            .into_iter()
            .map(|n| &self.by_name[n])
            .find(|k| k.account != account)
    }

    /// The signing key of the account named `name`.
    pub fn get(&self, name: &str) -> Option<&AccountKey> {
        self.by_name.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "signing-keys-{}-{}",
            std::process::id(),
            files.len()
        ));
        std::fs::create_dir_all(&d).unwrap();
        for (n, t) in files {
            std::fs::write(d.join(n), t).unwrap();
        }
        d
    }

    #[test]
    fn the_example_list_parses_and_mistakes_say_how_to_fix_them() {
        let app1 = Signer::generate(KeyKind::Account);
        let sk = Signer::generate(KeyKind::Account);
        let user = Signer::generate(KeyKind::User);
        let d = dir_with(&[
            ("APP1.nk", &format!("{}\n", sk.seed())),
            ("USER.nk", &format!("{}\n", user.seed())),
        ]);
        let f = |n: &str| d.join(n).display().to_string();
        let keys = SigningKeys::parse(&format!("{}:{}", app1.public_key(), f("APP1.nk"))).unwrap();
        let k = keys.get("APP1").expect("named after the file");
        assert_eq!(k.account, app1.public_key());
        assert_eq!(k.signer.public_key(), sk.public_key());
        for (list, needle) in [
            (f("APP1.nk"), "not ACCOUNT_PUB:FILE"),
            (
                format!("{}:{}", user.public_key(), f("APP1.nk")),
                "not an account public key",
            ),
            (
                format!("{}:{}", app1.public_key(), f("USER.nk")),
                "signing key's seed",
            ),
            (
                format!("{}:{}", app1.public_key(), f("nope.nk")),
                "neither a seed",
            ),
            (
                format!("{0}:{1},{0}:{1}", app1.public_key(), f("APP1.nk")),
                "a second file for account \"APP1\"",
            ),
            (",".to_string(), "is empty"),
        ] {
            let e = SigningKeys::parse(&list).err().unwrap_or_default();
            assert!(e.contains(needle), "{list}: {e}");
            assert!(
                !e.contains(&sk.seed()) && !e.contains(&user.seed()),
                "no seed in {e}"
            );
        }
        let users = UserDirectory::parse(
            r#"{"alice": {"pass": "a", "account": "APP1"}, "bob": {"pass": "b", "account": "APP2"}}"#,
            "users.json",
        )
        .unwrap();
        let e = keys
            .check_users(&users, Path::new("users.json"))
            .unwrap_err();
        assert!(
            e.contains("users.json: user \"bob\" is placed in account \"APP2\", which has no -signing.keys entry")
                && e.contains("APP2.nk"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(d);
    }
}
