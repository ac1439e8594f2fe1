//! TLS for scenarios with client certificates (`[server] tls = true`): a CA made for each run,
//! the server's certificate (for `127.0.0.1` and `localhost`), client certificates signed by
//! the CA with subject `CN=NAME`, and the harness's TLS client that presents one.
//!
//! The server verifies client certificates against the CA (`verify: true`) and puts the chain
//! it verified into the authorization request's `client_tls.verified_chains`
//! (`docs/protocol.md` §1.8, client certificates); the responder maps its subject to a user.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate and its key, in the forms the server files and the client need.
pub struct Issued {
    /// PEM of the certificate.
    pub cert_pem: String,
    /// PEM of the key (PKCS#8).
    pub key_pem: String,
    /// DER of the certificate.
    pub cert_der: Vec<u8>,
    /// DER of the key (PKCS#8).
    pub key_der: Vec<u8>,
}

/// The subject the harness gives the client certificate of `name`: what the reference
/// responder's `cert_subject` holds (RFC 4514).
pub fn subject_of(name: &str) -> String {
    format!("CN={name}")
}

/// A certificate authority of one run.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub cert_pem: String,
    /// The CA certificate, DER.
    pub cert_der: Vec<u8>,
}

fn err(e: rcgen::Error) -> String {
    format!("cannot make a test certificate: {e}")
}

impl TestCa {
    /// A new CA (ECDSA P-256), valid for the run.
    pub fn generate() -> Result<TestCa, String> {
        let key = KeyPair::generate().map_err(err)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "callout-conformance test CA");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(err)?;
        Ok(TestCa {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            issuer: Issuer::new(params, key),
        })
    }

    fn issue(
        &self,
        sans: Vec<String>,
        cn: &str,
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<Issued, String> {
        let key = KeyPair::generate().map_err(err)?;
        let mut params = CertificateParams::new(sans).map_err(err)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        params.distinguished_name = dn;
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &self.issuer).map_err(err)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        })
    }

    /// The server's certificate, for `127.0.0.1` and `localhost`.
    pub fn server(&self) -> Result<Issued, String> {
        self.issue(
            vec!["127.0.0.1".into(), "localhost".into()],
            "callout-conformance test server",
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate with subject [`subject_of`]`(name)`.
    pub fn client(&self, name: &str) -> Result<Issued, String> {
        self.issue(vec![], name, ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// How the harness's client speaks TLS: the CA it trusts, and the certificate it presents.
#[derive(Clone)]
pub struct ClientTls {
    /// The rustls configuration.
    pub config: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls")
    }
}

impl ClientTls {
    /// Trusts `ca_der`; presents `cert` (certificate and key DER) when given.
    pub fn new(ca_der: &[u8], cert: Option<&Issued>) -> Result<ClientTls, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(ca_der.to_vec()))
            .map_err(|e| format!("the test CA: {e}"))?;
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
        let config = match cert {
            Some(c) => builder
                .with_client_auth_cert(
                    vec![CertificateDer::from(c.cert_der.clone())],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(c.key_der.clone())),
                )
                .map_err(|e| format!("the client certificate: {e}"))?,
            None => builder.with_no_client_auth(),
        };
        Ok(ClientTls {
            config: Arc::new(config),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_ca_issues_server_and_client_certificates() {
        let ca = TestCa::generate().unwrap();
        assert!(ca.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let s = ca.server().unwrap();
        assert!(s.key_pem.contains("PRIVATE KEY"));
        let c = ca.client("alice").unwrap();
        assert_ne!(c.cert_der, s.cert_der);
        assert!(ClientTls::new(&ca.cert_der, Some(&c)).is_ok());
        assert!(ClientTls::new(&ca.cert_der, None).is_ok());
        assert_eq!(subject_of("alice"), "CN=alice");
    }
}
