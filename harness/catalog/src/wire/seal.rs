//! `wire.seal.*`: xkv1 sealing of the answer (`protocol.md §1.4`). The phase's responder has
//! an xkey, so every request is sealed to it with the `Nats-Server-Xkey` header.

use callout_codec::SealingChannel;

use super::forge::looks_sealed;
use super::{mismatch, response, Config, Exchange, Finding, Kind, Need, Who, WireCase};
use callout_leaves::verdict::Level;

/// The sealing cases.
pub const CASES: &[WireCase] = &[
    WireCase {
        id: "wire.seal.1",
        title: "a sealed request gets a sealed reply",
        requirement: "sealed if and only if the request was: a plaintext reply exposes the user JWT on the wire",
        cite: "protocol.md §1.4 (Response)",
        level: Level::Should,
        rationale: "the server accepts a plaintext reply to a sealed request, but then anyone who can subscribe to $SYS._INBOX.> in the callout account reads the user JWT the operator asked to keep sealed",
        config: Config::Sealed,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: sealed_iff_sealed },
    },
    WireCase {
        id: "wire.seal.2",
        title: "the sealed reply opens with the configured xkey as sender, to the server's xkey",
        requirement: "seal with the configured xkey's private key to server_id.xkey; otherwise 'nkeys: could not decrypt input'",
        cite: "protocol.md §1.4 (Response); §2 row 2",
        level: Level::Must,
        rationale: "the server opens the reply with sender = the configured xkey; a reply sealed any other way is refused and every client is denied",
        config: Config::Sealed,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: sealed_to_server },
    },
    WireCase {
        id: "wire.seal.3",
        title: "the sealed reply is not openable with an all-zero key",
        requirement: "no all-zero sealing key (CVE-2023-46129)",
        cite: "protocol.md §1.4 (CVE-2023-46129)",
        level: Level::Must,
        rationale: "a reply sealed with the CVE-2023-46129 zero key can be opened by anyone on the wire (and is refused by fixed servers, 2.10.4+)",
        config: Config::Sealed,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: not_zero_key },
    },
    WireCase {
        id: "wire.seal.4",
        title: "a sealed request is admitted with the right permissions",
        requirement: "open with sender = Nats-Server-Xkey header, verify, admit",
        cite: "protocol.md §1.4 (Request)",
        level: Level::Must,
        rationale: "a server with an xkey seals every request: a responder that cannot open them admits nobody",
        config: Config::Sealed,
        needs: &[Need::ConfigAnswer],
        kind: Kind::Response { who: Who::Bob, verify: response::permissions },
    },
];

fn sealed_iff_sealed(x: &Exchange) -> Finding {
    let body = x.body()?;
    let want = x.server.sealing();
    let got = looks_sealed(body);
    let name = |s: bool| {
        if s {
            "a sealed reply"
        } else {
            "a plaintext reply"
        }
    };
    if got == want {
        Ok(format!(
            "reply is {}",
            if got { "sealed" } else { "plaintext" }
        ))
    } else {
        Err(mismatch(name(want), name(got)))
    }
}

fn sealed_to_server(x: &Exchange) -> Finding {
    let body = x.body()?;
    if !looks_sealed(body) {
        return Err(mismatch("a sealed reply", "plaintext"));
    }
    match x.server.channel().map(|c| c.open(body)) {
        Some(Ok(_)) => Ok("opens with server xkey and configured xkey as sender".into()),
        _ => Err(mismatch(
            "a reply sealed by the configured xkey to server_id.xkey",
            "it does not open (wrong sender or recipient)",
        )),
    }
}

/// True when `body` opens with the all-zero shared secret of CVE-2023-46129 (a zero peer
/// key), or with an all-zero local secret towards either party's key.
fn opens_with_a_zero_key(body: &[u8], server: &super::FakeServer) -> bool {
    let mut channels = vec![
        SealingChannel::zero_shared_secret(),
        SealingChannel::all_zero_secret_to(server.xkey.public()),
    ];
    channels.extend(
        server
            .responder_xkey
            .as_ref()
            .map(SealingChannel::all_zero_secret_to),
    );
    channels.iter().any(|c| c.open(body).is_ok())
}

fn not_zero_key(x: &Exchange) -> Finding {
    let body = x.body()?;
    if !looks_sealed(body) {
        return Err(mismatch("a sealed reply", "plaintext"));
    }
    if opens_with_a_zero_key(body, x.server) {
        Err(mismatch(
            "a reply not openable with an all-zero key",
            "it opens with an all-zero key",
        ))
    } else {
        Ok("not openable with an all-zero key".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callout_codec::CurveSecret;

    #[test]
    fn a_reply_sealed_as_cve_2023_46129_did_is_caught() {
        let responder = CurveSecret::generate();
        let server = super::super::FakeServer::new(Some(responder.public().clone()), String::new());
        let buggy = SealingChannel::zero_shared_secret().seal(b"eyJ.user.jwt");
        assert!(opens_with_a_zero_key(&buggy, &server));
        let proper = responder
            .channel_to(server.xkey.public())
            .seal(b"eyJ.user.jwt");
        assert!(!opens_with_a_zero_key(&proper, &server));
    }
}
