//! `wire.nkey.*`: nkey logins whose nonce signature does not hold (`protocol.md §1.8`). A
//! config-mode server verifies `sig` only for nkeys in its own config and forwards every other
//! nkey unverified, so each of these requests is one a real server sends when a client
//! connects with a listed user's public key and no private key. None may be admitted.

use callout_codec::{nkey, KeyKind, Signer};

use super::{wire_nkey, Config, FakeServer, Forged, Kind, WireCase};
use callout_leaves::verdict::Level;

use Level::{Must, Should};

/// The nkey cases.
pub const CASES: &[WireCase] = &[
    WireCase {
        id: "wire.nkey.1",
        title: "a listed nkey with another key's signature",
        requirement: "verify connect_opts.sig against connect_opts.nkey over client_info.nonce: a signature by another key is not admitted",
        cite: "protocol.md §1.8 (Who verifies the signature)",
        level: Must,
        rationale: "public keys are public: a responder that admits by nkey alone lets any client log in as any nkey user, and the server forwards such a login unverified",
        config: Config::Nkey,
        needs: &[],
        kind: Kind::Hostile(other_key),
    },
    WireCase {
        id: "wire.nkey.2",
        title: "a listed nkey without a signature",
        requirement: "an nkey login without sig (and so without client_info.nonce) is not admitted",
        cite: "protocol.md §1.8 (Who verifies the signature); §1.5 (client_info.nonce)",
        level: Must,
        rationale: "a missing signature taken as no check lets any client log in as any nkey user",
        config: Config::Nkey,
        needs: &[],
        kind: Kind::Hostile(no_signature),
    },
    WireCase {
        id: "wire.nkey.3",
        title: "a listed nkey signed over another nonce",
        requirement: "the owner's signature over a nonce other than client_info.nonce is not admitted",
        cite: "protocol.md §1.8 (Who verifies the signature)",
        level: Must,
        rationale: "a signature checked without this connection's nonce is a password that never changes: anyone who saw one login (a log, a proxy) replays it",
        config: Config::Nkey,
        needs: &[],
        kind: Kind::Hostile(other_nonce),
    },
    WireCase {
        id: "wire.nkey.4",
        title: "a listed nkey signed over an empty nonce",
        requirement: "a sig over the empty string with client_info.nonce empty is not admitted: a server that sent no nonce issued no challenge",
        cite: "protocol.md §1.8 (nkey logins); §1.5 (client_info.nonce)",
        level: Should,
        rationale: "a server without nkey users sends no nonce; a responder that verifies sig over an empty nonce accepts a signature that never expires",
        config: Config::Nkey,
        needs: &[],
        kind: Kind::Hostile(empty_nonce),
    },
    WireCase {
        id: "wire.nkey.5",
        title: "a listed nkey with a signature that is not base64",
        requirement: "a sig that does not decode is not admitted",
        cite: "protocol.md §1.8 (nkey logins)",
        level: Must,
        rationale: "a responder that treats an undecodable signature as absent-and-fine admits anyone who sends garbage",
        config: Config::Nkey,
        needs: &[],
        kind: Kind::Hostile(garbage_signature),
    },
];

const NONCE: &str = "bm9uY2UtZnJvbS10aGUtaGFybmVzcw";

/// A request for the wire nkey user with `sig` over `client_info.nonce = nonce`.
fn login(s: &FakeServer, nonce: &str, sig: Option<String>) -> Forged {
    let key = wire_nkey();
    s.edited("", "", |c| {
        c.nats.connect_opts.nkey = key.public_key().to_string();
        c.nats.connect_opts.sig = sig.unwrap_or_default();
        c.nats.client_info.nonce = nonce.to_string();
        c.nats.client_info.user = callout_codec::Secret::new(key.public_key());
    })
}

fn other_key(s: &FakeServer) -> Forged {
    let forger = Signer::generate(KeyKind::User);
    login(s, NONCE, Some(nkey::sign_nonce(&forger, NONCE)))
}

fn no_signature(s: &FakeServer) -> Forged {
    login(s, "", None)
}

fn other_nonce(s: &FakeServer) -> Forged {
    let sig = nkey::sign_nonce(wire_nkey(), "a-nonce-of-an-earlier-connection");
    login(s, NONCE, Some(sig))
}

fn empty_nonce(s: &FakeServer) -> Forged {
    login(s, "", Some(nkey::sign_nonce(wire_nkey(), "")))
}

fn garbage_signature(s: &FakeServer) -> Forged {
    login(s, NONCE, Some("%%not base64%%".into()))
}
