//! The client certificate behind a request: the subject (RFC 4514 text, e.g. `CN=alice`) of
//! the leaf of the first chain the server verified (`client_tls.verified_chains[0][0]`,
//! `docs/protocol.md` §1.8). Certificates the server did not verify (`client_tls.certs`) are
//! never read: anyone can present a self-signed certificate with any subject.

use callout_codec::ClientTls;
use data_encoding::BASE64;
use x509_cert::der::Decode;

/// The subject of the verified leaf certificate, or `None` when there is none or it does not
/// parse.
pub fn verified_subject(tls: Option<&ClientTls>) -> Option<String> {
    let leaf = tls?.verified_chains.first()?.first()?;
    let der = pem_to_der(leaf)?;
    let cert = x509_cert::Certificate::from_der(&der).ok()?;
    Some(cert.tbs_certificate.subject.to_string())
}

/// The subject of the first certificate the client presented unverified (`client_tls.certs`):
/// only the `trust-unverified-cert` fault reads it.
pub fn unverified_subject(tls: Option<&ClientTls>) -> Option<String> {
    let leaf = tls?.certs.first()?;
    let der = pem_to_der(leaf)?;
    let cert = x509_cert::Certificate::from_der(&der).ok()?;
    Some(cert.tbs_certificate.subject.to_string())
}

/// The DER inside one PEM `CERTIFICATE` block.
fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN CERTIFICATE-----")?
        .trim_end()
        .strip_suffix("-----END CERTIFICATE-----")?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    BASE64.decode(b64.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_verified_chain_counts_and_garbage_is_none() {
        let tls = ClientTls {
            certs: vec!["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into()],
            ..Default::default()
        };
        assert_eq!(verified_subject(Some(&tls)), None);
        assert_eq!(verified_subject(None), None);
        let garbage = ClientTls {
            verified_chains: vec![vec!["not pem".into()]],
            ..Default::default()
        };
        assert_eq!(verified_subject(Some(&garbage)), None);
        assert_eq!(
            pem_to_der("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Some(vec![0, 0, 0])
        );
    }
}
