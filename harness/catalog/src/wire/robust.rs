//! `wire.robust.*`: requests a real server can send but that look unusual: optional fields
//! left out, fields a newer server adds. Each must be admitted (alice, no permissions).

use callout_codec::claims::NatsPayload;
use serde_json::json;

use super::{Config, FakeServer, Forged, Kind, Need, WireCase};
use callout_leaves::verdict::Level;

/// The robustness cases.
pub const CASES: &[WireCase] = &[
    WireCase {
        id: "wire.robust.1",
        title: "a request with only the fields a server always sends is admitted",
        requirement: "no name_tag, client_info.user, tags, lang or version: optional fields are optional (a strict decoder fails on a real plain user/password request)",
        cite: "protocol.md §1.5 (Omitted fields)",
        level: Level::Must,
        rationale: "real servers omit every empty omitempty field; a responder that needs them denies real clients (plain user/password requests)",
        config: Config::Plain,
        needs: &[Need::PlainRequest],
        kind: Kind::Robust(minimal_fields),
    },
    WireCase {
        id: "wire.robust.2",
        title: "a request with unknown fields is admitted",
        requirement: "newer servers add fields: decoding ignores unknown ones",
        cite: "protocol.md §1.5 (Unknown fields); §8.2 (unknown fields)",
        level: Level::Must,
        rationale: "newer servers add fields and Go ignores unknown ones; a responder that refuses them locks every client out on a server upgrade",
        config: Config::Plain,
        needs: &[],
        kind: Kind::Robust(unknown_fields),
    },
    WireCase {
        id: "wire.robust.3",
        title: "a request with a negative nbf is admitted",
        requirement: "Go's jwt treats nbf <= 0 as unset: the request is valid",
        cite: "protocol.md §1.2 (Times)",
        level: Level::May,
        rationale: "Go's jwt treats nbf <= 0 as unset, so the request is valid; but no server sends nbf, so refusing it denies no real client",
        config: Config::Plain,
        needs: &[],
        kind: Kind::Robust(negative_nbf),
    },
];

fn alice(s: &FakeServer) -> callout_codec::AuthRequestClaims {
    let mut c = s.request_for(&s.ids.alice);
    c.iss = s.key.public_key().into();
    c.iat = callout_codec::unix_now();
    c.nats.stamp(2);
    c
}

fn minimal_fields(s: &FakeServer) -> Forged {
    let c = alice(s);
    let login = &s.ids.alice;
    let mut connect_opts = json!({"protocol": 1});
    for (k, v) in [
        ("user", &login.user),
        ("pass", &login.pass),
        ("auth_token", &login.token),
    ] {
        if let Some(v) = v {
            connect_opts[k] = json!(v);
        }
    }
    // What a server always writes (`protocol.md §1.5`): server_id name/host/id, user_nkey,
    // the client's host/id/kind/type, and the CONNECT fields the client sent. `xkey` is
    // omitted when empty (omitempty), as here: the phase is plain.
    let v = json!({
        "aud": c.aud, "exp": c.exp, "iat": c.iat, "iss": c.iss, "sub": c.sub,
        "nats": {"server_id": {"name": "harness", "host": "127.0.0.1", "id": c.nats.server_id.id},
                 "user_nkey": c.nats.user_nkey,
                 "client_info": {"host": "127.0.0.1", "id": 7, "kind": "Client", "type": "nats"},
                 "connect_opts": connect_opts,
                 "type": "authorization_request", "version": 2}
    });
    let tok = callout_codec::jwt::sign_payload(v.to_string().as_bytes(), &s.key);
    s.package(c, tok.as_bytes())
}

fn unknown_fields(s: &FakeServer) -> Forged {
    let c = alice(s);
    let mut v = serde_json::to_value(&c).unwrap_or_default();
    v["x_future"] = json!({"a": [1, 2]});
    v["nats"]["x_future"] = json!("y");
    v["nats"]["client_info"]["x_future"] = json!(3);
    v["nats"]["server_id"]["x_future"] = json!(null);
    v["nats"]["connect_opts"]["x_future"] = json!(true);
    let tok = callout_codec::jwt::sign_payload(v.to_string().as_bytes(), &s.key);
    s.package(c, tok.as_bytes())
}

fn negative_nbf(s: &FakeServer) -> Forged {
    s.edited_for(&s.ids.alice, |c| c.nbf = -5)
}
