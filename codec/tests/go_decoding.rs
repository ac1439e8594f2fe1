//! Decoding is exactly as lenient as nats-server's (Go's `encoding/json` into nats-io/jwt,
//! `protocol.md §8.2`): the shapes real encoders emit (nulls for every optional field, `"allow":
//! []`, reordered and spaced headers, unknown fields, other key case) decode to the values Go
//! gets, wrong types are refused as Go refuses them, and every error names the field path.

use callout_codec::gojson::{self, JsonError};
use callout_codec::jwt::{self, decode, sign_raw, to_json};
use callout_codec::{
    AuthRequest, AuthResponse, Claims, JwtError, KeyKind, Permission, ResponsePermission, Signer,
    TimeRange, User, UserClaims, JWT_HEADER,
};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{json, Value};

const ISSUER_SEED: &str = "SAANDLKMXL6CUS3CP52WIXBEDN6YJ545GDKC65U5JZPPV6WH6ESWUA6YAI";
const ISSUER: &str = "ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA";
const USER: &str = "UBO2MQV67TQTVIRV3XFTEZOACM4WLOCMCDMAWN5QVN5PI2N6JHTVDRON";

fn issuer() -> Signer {
    Signer::from_seed(ISSUER_SEED, KeyKind::Account).unwrap()
}

fn token(header: &str, payload: &Value) -> String {
    sign_raw(
        header.as_bytes(),
        &serde_json::to_vec(payload).unwrap(),
        &issuer(),
    )
}

/// What a Python or JavaScript encoder without `omitempty` writes for a user who may publish
/// to `orders.>` but not `orders.secret`, in another key order, with spaces.
fn python_user() -> Value {
    json!({
        "sub": USER, "iss": ISSUER, "aud": "APP", "name": "alice",
        "exp": null, "nbf": null, "iat": 1700000000, "jti": null,
        "nats": {
            "version": 2, "type": "user", "tags": null, "issuer_account": null,
            "pub": {"allow": ["orders.>"], "deny": ["orders.secret"]},
            "sub": {"allow": null, "deny": null},
            "resp": null, "src": null, "times": null, "times_location": null,
            "subs": null, "data": null, "payload": null,
            "bearer_token": null, "proxy_required": null, "allowed_connection_types": null,
            "locale": "en", "extra": {"nested": [1, {"x": null}]}
        }
    })
}

#[test]
fn a_python_style_user_jwt_decodes_to_go_s_zero_values() {
    let spaced = r#"{"alg": "ed25519-nkey", "typ": "JWT"}"#;
    let u = decode::<User>(&token(spaced, &python_user())).unwrap();
    assert_eq!((u.exp, u.nbf, u.iat), (0, 0, 1_700_000_000));
    assert_eq!(
        (u.aud.as_str(), u.name.as_str(), u.jti.as_str()),
        ("APP", "alice", "")
    );
    let n = &u.nats;
    assert_eq!(n.publish.allow, ["orders.>"]);
    assert_eq!(n.publish.deny, ["orders.secret"]);
    assert!(n.subscribe.is_empty());
    assert_eq!(n.resp, None);
    assert_eq!(
        (n.subs, n.data, n.payload),
        (0, 0, 0),
        "null is Go's 0, not -1"
    );
    assert!(n.src.is_empty() && n.times.is_empty() && n.tags.is_empty());
    assert!(!n.bearer_token && !n.proxy_required);
    assert_eq!((n.claim_type.as_str(), n.version), ("user", 2));
}

#[test]
fn a_missing_nats_object_is_go_s_zero_user_not_new_user_claims() {
    let z: User = gojson::zero();
    assert_eq!((z.subs, z.data, z.payload), (0, 0, 0));
    assert_ne!(
        z,
        User::default(),
        "User::default() is NewUserClaims' -1 limits"
    );
    let from_null: Claims<User> = gojson::from_slice(br#"{"nats":null}"#).unwrap();
    assert_eq!(from_null.nats, z);
    let from_missing: Claims<User> = gojson::from_slice(b"{}").unwrap();
    assert_eq!(from_missing.nats, z);
}

#[test]
fn an_empty_allow_list_is_an_empty_list() {
    let mut p = python_user();
    p["nats"]["pub"] = json!({"allow": [], "deny": ["orders.secret"]});
    let u = decode::<User>(&token(JWT_HEADER, &p)).unwrap();
    assert_eq!(
        u.nats.publish,
        Permission {
            allow: vec![],
            deny: vec!["orders.secret".into()]
        }
    );
}

#[test]
fn a_python_style_response_decodes() {
    let p = json!({
        "aud": "NSERVER", "sub": USER, "iss": ISSUER, "exp": null, "nbf": null,
        "name": null, "iat": 1, "jti": "x",
        "nats": {"jwt": "a.b.c", "error": null, "issuer_account": null, "tags": null,
                 "type": "authorization_response", "version": 2}
    });
    let r = decode::<AuthResponse>(&token(JWT_HEADER, &p)).unwrap();
    assert_eq!(r.nats.jwt, "a.b.c");
    assert_eq!(r.nats.error, "");
    assert_eq!(r.aud, "NSERVER");
}

#[test]
fn a_request_with_nulls_everywhere_decodes() {
    let r: Claims<AuthRequest> = gojson::from_slice(
        br#"{"nats": {"server_id": {"name": null, "host": "h", "id": "N", "tags": [null, "t"],
              "xkey": null},
            "user_nkey": "U", "client_info": null,
            "connect_opts": {"user": "u", "pass": null, "protocol": null, "jwt": null},
            "client_tls": {"certs": null, "verified_chains": [null, ["a", null]]},
            "request_nonce": null, "tags": null, "type": "authorization_request",
            "version": 2}}"#,
    )
    .unwrap();
    let n = r.nats;
    assert_eq!(n.server_id.tags, ["", "t"], "a null element is \"\"");
    assert_eq!(n.server_id.name, "");
    assert_eq!(n.client_info, Default::default());
    assert_eq!(n.connect_opts.user, "u");
    assert!(n.connect_opts.pass.is_empty());
    let tls = n.client_tls.expect("an object for a pointer is Some");
    assert!(tls.certs.is_empty());
    assert_eq!(
        tls.verified_chains,
        vec![vec![], vec!["a".to_string(), String::new()]]
    );
    let none: AuthRequest = gojson::from_slice(br#"{"client_tls": null}"#).unwrap();
    assert_eq!(none.client_tls, None, "null for a pointer is nil");
}

#[test]
fn headers_are_checked_by_value_as_go_s_header_valid() {
    let p = python_user();
    for header in [
        r#"{"alg": "ed25519-nkey", "typ": "JWT"}"#,
        "{\n  \"typ\" : \"jwt\",\n  \"alg\" : \"ED25519-NKEY\"\n}",
        r#"{"typ":"JWT","alg":"ed25519"}"#,
        r#"{"TYP":"JWT","Alg":"ed25519-nkey","kid":"k1"}"#,
        "{\"typ\":\"JWT\",\"alg\":\"ed25519-n\u{212A}ey\"}",
    ] {
        assert!(
            decode::<User>(&token(header, &p)).is_ok(),
            "{header} refused"
        );
    }
    for header in [
        r#"{"typ":"JWT","alg":"ed25519-nkey ","x":1}"#,
        r#"{"typ":"JWT","alg":null}"#,
        r#"{"typ":1,"alg":"ed25519-nkey"}"#,
        r#"{"typ":"JWT","alg":"ed25519-nkey"} x"#,
    ] {
        assert!(
            matches!(decode::<User>(&token(header, &p)), Err(JwtError::Header(_))),
            "{header} accepted"
        );
    }
}

#[test]
fn keys_match_case_insensitively_and_the_last_one_wins() {
    let u: UserClaims = gojson::from_slice(
        br#"{"EXP": 5, "Name": "a", "name": "b", "nbf": 7, "nbf": null,
             "nats": {"Pub": {"allow": ["x"]}, "pub": {"deny": ["y"]}, "resp": {"max": 1},
                      "resp": null, "\u017fubs": 3, "tags": ["a"], "tags": null}}"#,
    )
    .unwrap();
    assert_eq!(u.exp, 5, "EXP is exp");
    assert_eq!(u.name, "b", "the last value wins");
    assert_eq!(u.nbf, 7, "a later null leaves a scalar as it was");
    assert_eq!(
        u.nats.publish.allow,
        ["x"],
        "two objects for one struct merge"
    );
    assert_eq!(u.nats.publish.deny, ["y"]);
    assert_eq!(u.nats.resp, None, "a later null resets a pointer");
    assert_eq!(u.nats.subs, 3, "LATIN SMALL LETTER LONG S folds to s");
    assert!(u.nats.tags.is_empty(), "a later null resets a list");
}

#[test]
fn invalid_utf8_in_a_string_becomes_the_replacement_character_except_in_requests() {
    let u: UserClaims = gojson::from_slice(b"{\"name\":\"a\xffb\"}").unwrap();
    assert_eq!(u.name, "a\u{FFFD}b");
    let mut p = serde_json::to_vec(&python_user()).unwrap();
    let at = p.windows(7).position(|w| w == b"\"alice\"").unwrap();
    p[at + 1] = 0xff;
    let user = decode::<User>(&sign_raw(JWT_HEADER.as_bytes(), &p, &issuer())).unwrap();
    assert_eq!(
        user.name, "\u{FFFD}lice",
        "the server reads such a user JWT"
    );
    // A request: only servers write them, and Go's encoder never emits invalid UTF-8.
    let server = Signer::generate(KeyKind::Server);
    let req = format!(
        r#"{{"iss":"{}","nats":{{"user_nkey":"{USER}","connect_opts":{{"user":"alice"}},"type":"authorization_request","version":2}}}}"#,
        server.public_key()
    );
    let good = sign_raw(JWT_HEADER.as_bytes(), req.as_bytes(), &server);
    assert!(decode::<AuthRequest>(&good).is_ok());
    let mut bad = req.into_bytes();
    let at = bad.windows(7).position(|w| w == b"\"alice\"").unwrap();
    bad[at + 1] = 0xff;
    let e = decode::<AuthRequest>(&sign_raw(JWT_HEADER.as_bytes(), &bad, &server)).unwrap_err();
    assert!(matches!(e, JwtError::Json(_)), "{e:?}");
}

#[test]
fn wrong_types_are_refused_and_the_error_names_the_path() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"nats":{"resp":{"max":1,"ttl":"x"}}}"#,
            r#"nats.resp.ttl: invalid type: string "x", expected i64"#,
        ),
        (
            r#"{"exp":"1"}"#,
            r#"exp: invalid type: string "1", expected i64"#,
        ),
        (
            r#"{"exp":1.5}"#,
            "exp: invalid type: floating point `1.5`, expected i64",
        ),
        (
            r#"{"exp":1e3}"#,
            "exp: invalid type: floating point `1000.0`, expected i64",
        ),
        (
            r#"{"name":5}"#,
            "name: invalid type: integer `5`, expected a string",
        ),
        (
            r#"{"nats":{"pub":{"allow":["a",7]}}}"#,
            "nats.pub.allow[1]: invalid type: integer `7`, expected a string",
        ),
        (
            r#"{"nats":{"pub":"a"}}"#,
            r#"nats.pub: invalid type: string "a", expected struct Permission"#,
        ),
        (
            r#"{"nats":{"bearer_token":"true"}}"#,
            r#"nats.bearer_token: invalid type: string "true", expected a boolean"#,
        ),
        (
            r#"{"nats":{"times":[{"start":1}]}}"#,
            "nats.times[0].start: invalid type: integer `1`, expected a string",
        ),
        (
            r#"{"nats":{"tags":"a"}}"#,
            r#"nats.tags: invalid type: string "a", expected a sequence"#,
        ),
        (
            r#"{"nats":{"version":"2"}}"#,
            r#"nats.version: invalid type: string "2", expected i32"#,
        ),
    ];
    for (json, want) in cases {
        let got = gojson::from_slice::<UserClaims>(json.as_bytes()).unwrap_err();
        assert_eq!(got.to_string(), *want, "{json}");
    }
    let req = gojson::from_slice::<AuthRequest>(br#"{"client_info":{"id":-1}}"#).unwrap_err();
    assert_eq!(req.path, "client_info.id");
    let bad = gojson::from_slice::<UserClaims>(b"{\"exp\":").unwrap_err();
    assert_eq!(bad.path, "", "a syntax error has no path");
}

#[test]
fn decode_reports_the_path_through_jwt_error() {
    let mut p = python_user();
    p["nats"]["resp"] = json!({"max": 1, "ttl": "x"});
    match decode::<User>(&token(JWT_HEADER, &p)) {
        Err(JwtError::Json(JsonError { path, message })) => {
            assert_eq!(path, "nats.resp.ttl");
            assert_eq!(message, r#"invalid type: string "x", expected i64"#);
        }
        other => panic!("{other:?}"),
    }
    let e = decode::<User>(&token(JWT_HEADER, &p))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        r#"payload is not a valid claim: nats.resp.ttl: invalid type: string "x", expected i64"#
    );
}

/// A field's JSON path, and how to set it to Go's zero value.
type Field = (&'static [&'static str], fn(&mut UserClaims));

/// The omitempty fields of a user JWT.
const OMITEMPTY: &[Field] = &[
    (&["aud"], |c| c.aud.clear()),
    (&["exp"], |c| c.exp = 0),
    (&["jti"], |c| c.jti.clear()),
    (&["iat"], |c| c.iat = 0),
    (&["name"], |c| c.name.clear()),
    (&["nbf"], |c| c.nbf = 0),
    (&["sub"], |c| c.sub.clear()),
    (&["nats", "pub", "allow"], |c| c.nats.publish.allow.clear()),
    (&["nats", "pub", "deny"], |c| c.nats.publish.deny.clear()),
    (&["nats", "sub", "allow"], |c| {
        c.nats.subscribe.allow.clear()
    }),
    (&["nats", "sub", "deny"], |c| c.nats.subscribe.deny.clear()),
    (&["nats", "resp"], |c| c.nats.resp = None),
    (&["nats", "src"], |c| c.nats.src.clear()),
    (&["nats", "times"], |c| c.nats.times.clear()),
    (&["nats", "times_location"], |c| {
        c.nats.times_location.clear()
    }),
    (&["nats", "subs"], |c| c.nats.subs = 0),
    (&["nats", "data"], |c| c.nats.data = 0),
    (&["nats", "payload"], |c| c.nats.payload = 0),
    (&["nats", "bearer_token"], |c| c.nats.bearer_token = false),
    (&["nats", "proxy_required"], |c| {
        c.nats.proxy_required = false
    }),
    (&["nats", "allowed_connection_types"], |c| {
        c.nats.allowed_connection_types.clear()
    }),
    (&["nats", "issuer_account"], |c| {
        c.nats.issuer_account.clear()
    }),
    (&["nats", "tags"], |c| c.nats.tags.clear()),
];

/// Sets (`Some`) or deletes (`None`) the value at `path`, when its parent object exists.
fn set_at(root: &mut Value, path: &[&str], to: Option<Value>) {
    let (last, parents) = path.split_last().unwrap();
    let mut at = root;
    for p in parents {
        match at.get_mut(*p) {
            Some(v) => at = v,
            None => return,
        }
    }
    if let Some(obj) = at.as_object_mut() {
        match to {
            Some(v) => {
                obj.insert(last.to_string(), v);
            }
            None => {
                obj.remove(*last);
            }
        }
    }
}

fn subject() -> impl Strategy<Value = String> {
    "[$]?[A-Za-z0-9_-]{1,8}(\\.([A-Za-z0-9_-]{1,8}|\\*)){0,3}(\\.>)?"
}

prop_compose! {
    fn user_claims()(
        allow in vec(subject(), 0..3), deny in vec(subject(), 0..3),
        sub_allow in vec(subject(), 0..3), sub_deny in vec(subject(), 0..3),
        resp in proptest::option::of((any::<i64>(), any::<i64>())),
        src in vec("[0-9./]{1,18}", 0..3),
        times in vec(("[0-9:]{8}", "[0-9:]{8}"), 0..2),
        times_location in "[A-Za-z/]{0,12}",
        limits in (any::<i64>(), any::<i64>(), any::<i64>()),
        flags in (any::<bool>(), any::<bool>()),
        allowed_connection_types in vec("[A-Z_]{1,10}", 0..3),
        tags in vec("[a-z<>& ]{0,8}", 0..3),
        issuer_account in "(A[A-Z2-7]{55})?",
        text in ("[a-zA-Z0-9 ]{0,10}", "[a-zA-Z0-9 ]{0,10}", "[A-Z2-7]{0,52}"),
        times3 in (any::<i64>(), 1i64..i64::MAX, any::<i64>()),
    ) -> UserClaims {
        Claims {
            aud: text.0, name: text.1, jti: text.2, sub: USER.to_string(),
            exp: times3.0, iat: times3.1, nbf: times3.2, iss: ISSUER.to_string(),
            nats: User {
                publish: Permission { allow, deny },
                subscribe: Permission { allow: sub_allow, deny: sub_deny },
                resp: resp.map(|(max, ttl)| ResponsePermission { max, ttl }),
                src,
                times: times.into_iter().map(|(start, end)| TimeRange { start, end }).collect(),
                times_location,
                subs: limits.0, data: limits.1, payload: limits.2,
                bearer_token: flags.0, proxy_required: flags.1,
                allowed_connection_types, issuer_account, tags,
                claim_type: "user".into(), version: 2,
            },
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Replacing any omitempty field's value by `null`, or deleting it, decodes to the same
    /// claims as that field's zero value: what Go's decoder gives.
    #[test]
    fn null_or_missing_omitempty_fields_decode_as_zero(
        claims in user_claims(),
        choices in vec(0u8..3, OMITEMPTY.len()),
        reorder in any::<bool>(),
    ) {
        let mut json: Value = serde_json::from_slice(&to_json(&claims)).unwrap();
        let mut want = claims.clone();
        for ((path, zero), choice) in OMITEMPTY.iter().zip(&choices) {
            match choice {
                0 => continue,
                1 => set_at(&mut json, path, Some(Value::Null)),
                _ => set_at(&mut json, path, None),
            }
            zero(&mut want);
        }
        let header = if reorder { r#"{"alg": "ed25519-nkey", "typ": "JWT"}"# } else { JWT_HEADER };
        let got = decode::<User>(&token(header, &json));
        prop_assert_eq!(got, Ok(want));
    }

    /// A value of the wrong type for any of those fields is refused, naming that field.
    #[test]
    fn a_wrong_type_is_refused_at_its_path(claims in user_claims(), at in 0..OMITEMPTY.len()) {
        let (path, _) = OMITEMPTY[at];
        let mut json: Value = serde_json::from_slice(&to_json(&claims)).unwrap();
        // An object fits no field here: every one is a string, number, bool, list or `resp`,
        // and `{"max": "x"}` is wrong for `resp`.
        set_at(&mut json, path, Some(json!({"max": "x"})));
        let err = jwt::decode::<User>(&token(JWT_HEADER, &json)).unwrap_err();
        let JwtError::Json(e) = err else { panic!("{err:?}") };
        prop_assert!(e.path.starts_with(&path.join(".")), "{} at {}", e, path.join("."));
    }
}
