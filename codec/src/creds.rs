//! Creds files: a user JWT and its nkey seed in the decorated format of nats-io/jwt
//! (`FormatUserConfig` writes it; `ParseDecoratedJWT` and `ParseDecoratedNKey` read it), which
//! NATS clients load with a `creds` option and operator-mode responders connect with
//! (`-nats.creds`). The reader takes what jwt's takes: any line of three or more dashes, a
//! line of base64url-ish characters, and another line of dashes make a block; the first block
//! is the JWT, the second the seed. A seed is never printed by an error.

use thiserror::Error;

use crate::secret::Secret;

/// Why a creds file did not parse.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CredsError {
    /// No `-----BEGIN …-----` block holding the JWT.
    #[error("no user JWT block (-----BEGIN NATS USER JWT----- … ------END NATS USER JWT------)")]
    NoJwt,
    /// No second block holding the seed.
    #[error("no seed block (-----BEGIN USER NKEY SEED----- … ------END USER NKEY SEED------) after the JWT")]
    NoSeed,
    /// The seed block does not hold a user seed (`SU…`).
    #[error("the seed block does not hold a user seed (SU…)")]
    NotUserSeed,
}

/// A parsed creds file.
#[derive(Clone, Debug)]
pub struct Creds {
    /// The user JWT.
    pub jwt: String,
    /// The user's nkey seed (`SU…`).
    pub seed: Secret,
}

/// Writes `jwt` and `seed` as jwt's `FormatUserConfig` does.
pub fn format_user_creds(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
************************* IMPORTANT *************************\n\
NKEY Seed printed below can be used to sign and prove identity.\n\
NKEYs are sensitive and should be treated as secrets.\n\n\
-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
*************************************************************\n"
    )
}

fn is_marker(line: &str) -> bool {
    let l = line.trim_end_matches('\r');
    l.len() >= 6 && l.starts_with("---") && l.ends_with("---")
}

fn is_body(line: &str) -> bool {
    let l = line.trim_end_matches('\r');
    !l.is_empty()
        && l.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '='))
}

/// The bodies of the decorated blocks, in order: a body line between two marker lines.
fn blocks(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < lines.len() {
        if is_marker(lines[i]) && is_body(lines[i + 1]) && is_marker(lines[i + 2]) {
            out.push(lines[i + 1].trim_end_matches('\r').trim());
            i += 3;
        } else {
            i += 1;
        }
    }
    out
}

/// Reads a creds file's text.
pub fn parse_creds(text: &str) -> Result<Creds, CredsError> {
    let b = blocks(text);
    let jwt = b.first().ok_or(CredsError::NoJwt)?;
    let seed = b.get(1).ok_or(CredsError::NoSeed)?;
    if !seed.starts_with("SU") {
        return Err(CredsError::NotUserSeed);
    }
    Ok(Creds {
        jwt: jwt.to_string(),
        seed: Secret::new(seed.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back_and_crlf_and_extra_text_are_taken() {
        let text = format_user_creds(
            "eyJ0.eyJ1.c2ln",
            "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4",
        );
        assert!(text.starts_with(
            "-----BEGIN NATS USER JWT-----\neyJ0.eyJ1.c2ln\n------END NATS USER JWT------\n\n*****"
        ));
        let c = parse_creds(&text).unwrap();
        assert_eq!(c.jwt, "eyJ0.eyJ1.c2ln");
        assert!(c.seed.expose().starts_with("SUAIB"));
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(parse_creds(&crlf).unwrap().jwt, "eyJ0.eyJ1.c2ln");
        assert_eq!(parse_creds("junk").unwrap_err(), CredsError::NoJwt);
        let only_jwt =
            "-----BEGIN NATS USER JWT-----\nabc.def.ghi\n------END NATS USER JWT------\n";
        assert_eq!(parse_creds(only_jwt).unwrap_err(), CredsError::NoSeed);
        let account_seed = format_user_creds(
            "a.b.c",
            "SAAFZPJ4H5BLRGXDPSXFPMNOYU5U67ZJAUOZPWEPTBGWF4SGVY2J47LILA",
        );
        let e = parse_creds(&account_seed).unwrap_err();
        assert_eq!(e, CredsError::NotUserSeed);
        assert!(!e.to_string().contains("SAAF"), "the seed is never printed");
    }
}
