//! `wire.cert.*`: client certificates the server did not verify (`protocol.md §1.8`). Without
//! `verify`, a server passes the peer's certificates in `client_tls.certs`; a client can put
//! any subject in a certificate it signed itself, so such a certificate names nobody. The phase's
//! users.json has a certificate user (`cert_subject`, the reference responder's extension),
//! and the request carries that user's certificate unverified and no other credential.

use std::sync::OnceLock;

use callout_codec::ClientTls;

use super::{Config, FakeServer, Forged, Kind, WireCase};
use callout_leaves::verdict::Level;

/// The certificate user of the phase's users.json.
pub const CERT_USER: &str = "dave";

/// The cases.
pub const CASES: &[WireCase] = &[WireCase {
    id: "wire.cert.1",
    title: "a known subject in an unverified certificate",
    requirement: "a request whose only credential is client_tls.certs (a certificate the server did not verify) carrying a known user's subject is not admitted: only verified_chains name a user",
    cite: "protocol.md §1.8 (client certificates); §1.5 (client_tls)",
    level: Level::Must,
    rationale: "anyone can make a certificate with any subject; a responder that reads certs instead of verified_chains lets every client log in as every certificate user of a server without verify",
    config: Config::Cert,
    needs: &[],
    kind: Kind::Hostile(unverified),
}];

/// PEM of a certificate with subject `CN=dave`, signed by a CA nobody trusts (made once per
/// process).
pub fn unverified_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        callout_world::tls::TestCa::generate()
            .and_then(|ca| ca.client(CERT_USER))
            .map(|c| c.cert_pem)
            .unwrap_or_default()
    })
}

fn unverified(s: &FakeServer) -> Forged {
    s.edited("", "", |c| {
        c.nats.client_tls = Some(ClientTls {
            version: "1.3".into(),
            cipher: "TLS_AES_128_GCM_SHA256".into(),
            certs: vec![unverified_pem().to_string()],
            ..ClientTls::default()
        });
    })
}
