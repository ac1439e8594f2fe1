//! Property tests: user claims survive encode/decode, a token with any one character changed
//! in its payload or signature is refused, and xkv1 seal/open is an identity that any flipped
//! byte after the prefix breaks.

use callout_codec::jwt::{compute_jti, decode, encode};
use callout_codec::xkv1::{SealError, XKV1_PREFIX};
use callout_codec::{
    Claims, CurveSecret, KeyKind, Permission, ResponsePermission, Signer, TimeRange, User,
    UserClaims,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

const ISSUER_SEED: &str = "SAANDLKMXL6CUS3CP52WIXBEDN6YJ545GDKC65U5JZPPV6WH6ESWUA6YAI";
const XSEED: &str = "SXAAXMRAEP6JWWHNB6IKFL554IE6LZVT6EY5MBRICPILTLOPHAG73I3YX4";

fn issuer() -> Signer {
    Signer::from_seed(ISSUER_SEED, KeyKind::Account).unwrap()
}

/// Subject-ish strings: tokens, wildcards, `$`-prefixes, and sometimes a queue group.
fn subject() -> impl Strategy<Value = String> {
    "[$]?[A-Za-z0-9_-]{1,8}(\\.([A-Za-z0-9_-]{1,8}|\\*)){0,3}(\\.>)?( [a-z]{1,6})?"
}

/// Any text, control characters and U+2028/U+2029 included, to exercise escaping.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        vec(any::<char>(), 0..24).prop_map(String::from_iter),
        "[a-z<>&\u{2028}\"\\\\ ]{0,12}",
    ]
}

fn permission() -> impl Strategy<Value = Permission> {
    (vec(subject(), 0..4), vec(subject(), 0..4))
        .prop_map(|(allow, deny)| Permission { allow, deny })
}

prop_compose! {
    fn user_payload()(
        publish in permission(),
        subscribe in permission(),
        resp in proptest::option::of((any::<i64>(), any::<i64>())),
        src in vec("[0-9./]{1,18}", 0..3),
        times in vec(("[0-9:]{8}", "[0-9:]{8}"), 0..2),
        times_location in text(),
        limits in (any::<i64>(), any::<i64>(), any::<i64>()),
        flags in (any::<bool>(), any::<bool>()),
        allowed_connection_types in vec("[A-Z_]{1,10}", 0..3),
        tags in vec(text(), 0..3),
    ) -> User {
        User {
            publish,
            subscribe,
            resp: resp.map(|(max, ttl)| ResponsePermission { max, ttl }),
            src,
            times: times.into_iter().map(|(start, end)| TimeRange { start, end }).collect(),
            times_location,
            subs: limits.0,
            data: limits.1,
            payload: limits.2,
            bearer_token: flags.0,
            proxy_required: flags.1,
            allowed_connection_types,
            tags,
            ..User::default()
        }
    }
}

prop_compose! {
    fn user_claims()(
        nats in user_payload(),
        name in text(),
        aud in text(),
        sub in text(),
        exp in prop_oneof![Just(0i64), any::<i64>()],
        nbf in prop_oneof![Just(0i64), any::<i64>()],
    ) -> UserClaims {
        Claims { aud, exp, name, nbf, sub, nats, ..Default::default() }
    }
}

/// `token` with the character at `at` (a byte offset of an ASCII char) replaced by `with`.
fn replace_char(token: &str, at: usize, with: u8) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = with;
    String::from_utf8(bytes).unwrap()
}

/// An ASCII byte other than `orig`, chosen by `pick`.
fn other_ascii(orig: u8, pick: &Index) -> u8 {
    let candidates: Vec<u8> = (0x20u8..0x7f).filter(|&b| b != orig).collect();
    *pick.get(&candidates)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn user_claims_survive_encode_then_decode(original in user_claims()) {
        let signer = issuer();
        let mut stamped = original.clone();
        let token = encode(&mut stamped, &signer);
        let decoded = decode::<User>(&token).unwrap();

        // Everything the caller set comes back unchanged...
        let mut expected = original;
        // ...apart from what encode sets, which is exactly what it reported.
        expected.iss = signer.public_key().to_string();
        expected.iat = stamped.iat;
        expected.jti = stamped.jti.clone();
        expected.nats.claim_type = "user".to_string();
        expected.nats.version = 2;
        prop_assert_eq!(&decoded, &expected);
        prop_assert_eq!(&decoded, &stamped);
        prop_assert!(decoded.iat > 0);
        prop_assert_eq!(compute_jti(&decoded), decoded.jti);
    }

    #[test]
    fn any_changed_payload_character_is_refused(
        claims in user_claims(),
        pos in any::<Index>(),
        pick in any::<Index>(),
    ) {
        let token = encode(&mut claims.clone(), &issuer());
        prop_assert!(decode::<User>(&token).is_ok());
        let start = token.find('.').unwrap() + 1;
        let end = token.rfind('.').unwrap();
        let at = start + pos.index(end - start);
        let changed = replace_char(&token, at, other_ascii(token.as_bytes()[at], &pick));
        prop_assert!(decode::<User>(&changed).is_err(), "accepted with byte {} changed", at);
    }

    #[test]
    fn any_changed_signature_character_is_refused(
        claims in user_claims(),
        pos in any::<Index>(),
        pick in any::<Index>(),
    ) {
        let token = encode(&mut claims.clone(), &issuer());
        let start = token.rfind('.').unwrap() + 1;
        let at = start + pos.index(token.len() - start);
        let changed = replace_char(&token, at, other_ascii(token.as_bytes()[at], &pick));
        prop_assert!(decode::<User>(&changed).is_err(), "accepted with byte {} changed", at);
    }

    #[test]
    fn any_changed_header_character_is_refused(pos in any::<Index>(), pick in any::<Index>()) {
        let token = encode(&mut UserClaims::default(), &issuer());
        let at = pos.index(token.find('.').unwrap());
        let changed = replace_char(&token, at, other_ascii(token.as_bytes()[at], &pick));
        prop_assert!(decode::<User>(&changed).is_err(), "accepted with byte {} changed", at);
    }

    #[test]
    fn seal_then_open_is_identity(msg in vec(any::<u8>(), 0..2048)) {
        let server = CurveSecret::generate();
        let responder = CurveSecret::from_seed(XSEED).unwrap();
        let sealed = server.channel_to(responder.public()).seal(&msg);
        prop_assert_eq!(&sealed[..4], XKV1_PREFIX);
        prop_assert_eq!(sealed.len(), 4 + 24 + 16 + msg.len());
        prop_assert_eq!(responder.channel_to(server.public()).open(&sealed).unwrap(), msg.clone());
        // Both directions: the responder's reply opens at the server.
        let reply = responder.channel_to(server.public()).seal(&msg);
        prop_assert_eq!(server.channel_to(responder.public()).open(&reply).unwrap(), msg.clone());
        // A fresh nonce each time.
        prop_assert_ne!(&sealed[4..28], &reply[4..28]);
    }

    #[test]
    fn any_flipped_byte_after_the_prefix_breaks_open(
        msg in vec(any::<u8>(), 0..512),
        pos in any::<Index>(),
        flip in 1u8..=255,
    ) {
        let server = CurveSecret::generate();
        let responder = CurveSecret::from_seed(XSEED).unwrap();
        let mut sealed = server.channel_to(responder.public()).seal(&msg);
        let at = 4 + pos.index(sealed.len() - 4);
        sealed[at] ^= flip;
        prop_assert_eq!(responder.channel_to(server.public()).open(&sealed), Err(SealError::Decrypt));
    }

    #[test]
    fn any_flipped_prefix_byte_is_a_version_error(
        msg in vec(any::<u8>(), 0..64),
        pos in 0usize..4,
        flip in 1u8..=255,
    ) {
        let server = CurveSecret::generate();
        let responder = CurveSecret::from_seed(XSEED).unwrap();
        let mut sealed = server.channel_to(responder.public()).seal(&msg);
        sealed[pos] ^= flip;
        prop_assert_eq!(
            responder.channel_to(server.public()).open(&sealed),
            Err(SealError::WrongVersion)
        );
    }
}
