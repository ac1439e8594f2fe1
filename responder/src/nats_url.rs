//! The `-nats.url` value: checked at start-up so that a malformed URL is a flag error (exit 2)
//! rather than a failed service, its credentials taken out, and printed only with them
//! redacted. The URLs handed to async-nats carry no credentials, so no log line of the
//! client library (it prints server addresses at debug level) can show them either.
//!
//! As in the Go client, the value may be a comma-separated list, and credentials in the URL
//! (`nats://user:pass@host` or `nats://token@host`) take precedence over `-nats.user` and
//! `-nats.pass`.

use std::str::FromStr;

use async_nats::ServerAddr;
use callout_codec::Secret;

/// Credentials found in the URL's user info.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlCredentials {
    /// `nats://user:pass@host`.
    UserPass(String, Secret),
    /// `nats://token@host`.
    Token(Secret),
}

/// A checked `-nats.url`.
#[derive(Clone, Debug)]
pub struct NatsUrl {
    /// The servers, without user info.
    pub servers: Vec<ServerAddr>,
    /// Credentials from the user info, when there were any.
    pub credentials: Option<UrlCredentials>,
    /// The value as it may be printed: user info redacted.
    pub redacted: String,
}

impl NatsUrl {
    /// Checks every comma-separated URL of `value`. The error names the flag and the fix, and
    /// shows the value with its user info redacted.
    pub fn parse(value: &str) -> Result<NatsUrl, String> {
        let bad = |part: &str, why: &str| {
            format!(
                "-nats.url (or $NATS_URL): {:?} is not a NATS server URL ({why}); pass e.g. nats://127.0.0.1:4222, or several separated by commas",
                redact(part)
            )
        };
        let mut servers = Vec::new();
        let mut credentials: Option<UrlCredentials> = None;
        for part in value.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(bad(value, "empty"));
            }
            let addr = ServerAddr::from_str(part).map_err(|e| bad(part, &e.to_string()))?;
            let mut url = addr.into_inner();
            if !url.has_host() || url.host_str().is_some_and(str::is_empty) {
                return Err(bad(part, "no host"));
            }
            let user = percent_decode(url.username());
            let found = match url.password() {
                Some(p) => Some(UrlCredentials::UserPass(
                    user,
                    Secret::new(percent_decode(p)),
                )),
                None if !user.is_empty() => Some(UrlCredentials::Token(Secret::new(user))),
                None => None,
            };
            if let Some(found) = found {
                match &credentials {
                    Some(c) if *c != found => {
                        return Err("-nats.url (or $NATS_URL): the URLs carry different credentials; give the same user info in every URL, or none and use -nats.user and -nats.pass".into());
                    }
                    _ => credentials = Some(found),
                }
                let _ = url.set_password(None);
                let _ = url.set_username("");
            }
            servers.push(ServerAddr::from_url(url).map_err(|e| bad(part, &e.to_string()))?);
        }
        Ok(NatsUrl {
            servers,
            credentials,
            redacted: redact(value),
        })
    }
}

/// `value` with the password (or token) of every URL in it replaced by `[REDACTED]`:
/// `nats://auth:PW@host` prints as `nats://auth:[REDACTED]@host`, `nats://TOKEN@host` as
/// `nats://[REDACTED]@host`. Works on text that is not a valid URL, for error messages.
pub fn redact(value: &str) -> String {
    value
        .split(',')
        .map(|part| {
            let start = part.find("://").map_or(0, |i| i + 3);
            let rest = &part[start..];
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let Some(at) = rest[..authority_end].rfind('@') else {
                return part.to_string();
            };
            let userinfo = &rest[..at];
            let shown = match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:[REDACTED]"),
                None => "[REDACTED]".to_string(),
            };
            format!("{}{shown}{}", &part[..start], &rest[at..])
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Decodes `%XX` escapes (user info is percent-encoded in a URL); anything malformed is kept
/// as written.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_redacted_even_when_the_url_does_not_parse() {
        assert_eq!(
            redact("nats://auth:PW@127.0.0.1:notaport"),
            "nats://auth:[REDACTED]@127.0.0.1:notaport"
        );
        assert_eq!(
            redact("nats://s3cret@h:4222,tls://u:p@x/y@z"),
            "nats://[REDACTED]@h:4222,tls://u:[REDACTED]@x/y@z"
        );
        assert_eq!(redact("nats://h:4222"), "nats://h:4222");
        assert_eq!(redact("a:b@h"), "a:[REDACTED]@h");
    }

    #[test]
    fn a_bad_url_is_named_without_its_password() {
        let e = NatsUrl::parse("nats://auth:PW@127.0.0.1:notaport").unwrap_err();
        assert!(
            e.contains("-nats.url") && e.contains("auth:[REDACTED]@") && !e.contains("PW"),
            "{e}"
        );
        assert!(NatsUrl::parse("http://h:1").is_err());
        assert!(NatsUrl::parse("nats://h:1,").is_err());
        assert!(NatsUrl::parse("nats://a:b@h:1,nats://a:c@h:2").is_err());
    }

    #[test]
    fn credentials_are_taken_out_of_the_url() {
        let u = NatsUrl::parse("nats://auth:p%40ss@127.0.0.1:4222, 127.0.0.1:4223").unwrap();
        assert_eq!(
            u.credentials,
            Some(UrlCredentials::UserPass("auth".into(), Secret::new("p@ss")))
        );
        assert_eq!(u.servers.len(), 2);
        for s in &u.servers {
            assert_eq!(s.username(), None);
            assert_eq!(s.password(), None);
        }
        assert_eq!(
            u.redacted,
            "nats://auth:[REDACTED]@127.0.0.1:4222, 127.0.0.1:4223"
        );
        let u = NatsUrl::parse("nats://tok@h").unwrap();
        assert_eq!(
            u.credentials,
            Some(UrlCredentials::Token(Secret::new("tok")))
        );
        assert_eq!(NatsUrl::parse("nats://h:1").unwrap().credentials, None);
    }
}
