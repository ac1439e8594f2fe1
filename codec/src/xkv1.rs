//! xkv1 sealing (`protocol.md §1.4`): `"xkv1" ‖ nonce(24) ‖ crypto_box(msg)`, NaCl box with
//! X25519 + XSalsa20-Poly1305. A [`SealingChannel`] holds the X25519 shared secret between one
//! local curve key and one peer, so a responder computes it once per server xkey instead of
//! once per message.

use crypto_box::aead::{Aead, AeadCore, OsRng};
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use thiserror::Error;

use crate::nkey::{KeyError, KeyKind};

/// The version prefix of sealed messages.
pub const XKV1_PREFIX: &[u8; 4] = b"xkv1";
const NONCE_LEN: usize = 24;

/// Why a sealed message could not be opened.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SealError {
    /// Shorter than prefix + nonce + 1 byte.
    #[error("sealed message too short ({0} bytes)")]
    TooShort(usize),
    /// Does not start with `xkv1`.
    #[error("sealed message has the wrong version prefix (expected \"xkv1\")")]
    WrongVersion,
    /// Authentication failed: wrong key, wrong sender or tampered bytes.
    #[error("could not decrypt the sealed message (wrong key or sender, or tampered bytes)")]
    Decrypt,
}

/// A public curve key `X…`.
#[derive(Clone)]
pub struct CurvePublic {
    encoded: String,
    key: PublicKey,
}

impl CurvePublic {
    /// Parses `X…`.
    pub fn parse(encoded: &str) -> Result<CurvePublic, KeyError> {
        let (prefix, raw) =
            nkeys::from_public_key(encoded).map_err(|_| KeyError::MalformedPublic)?;
        if prefix != 23 << 3 {
            let got = crate::nkey::public_kind(encoded)?;
            return Err(KeyError::WrongKind {
                expected: KeyKind::Curve.name(),
                got: got.name(),
            });
        }
        Ok(CurvePublic {
            encoded: encoded.to_string(),
            key: PublicKey::from(raw),
        })
    }

    /// The encoded key `X…`.
    pub fn as_str(&self) -> &str {
        &self.encoded
    }
}

impl std::fmt::Debug for CurvePublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CurvePublic({})", self.encoded)
    }
}

/// A curve key pair (seed `SX…`). `Debug` never prints the seed.
#[derive(Clone)]
pub struct CurveSecret {
    secret: SecretKey,
    public: CurvePublic,
}

impl CurveSecret {
    /// Parses a curve seed `SX…`.
    pub fn from_seed(seed: &str) -> Result<CurveSecret, KeyError> {
        let (prefix, raw) = nkeys::decode_seed(seed.trim()).map_err(|_| KeyError::MalformedSeed)?;
        if prefix != 23 << 3 {
            let got = crate::nkey::seed_kind(seed)?;
            return Err(KeyError::WrongKind {
                expected: KeyKind::Curve.name(),
                got: got.name(),
            });
        }
        Ok(Self::from_raw(raw))
    }

    /// Builds a key from its raw X25519 scalar.
    pub fn from_raw(raw: [u8; 32]) -> CurveSecret {
        let secret = SecretKey::from(raw);
        let pk = secret.public_key();
        let encoded = encode_public(pk.as_bytes());
        CurveSecret {
            secret,
            public: CurvePublic { encoded, key: pk },
        }
    }

    /// A fresh random key.
    pub fn generate() -> CurveSecret {
        let mut raw = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
        Self::from_raw(raw)
    }

    /// The public half.
    pub fn public(&self) -> &CurvePublic {
        &self.public
    }

    /// The seed `SX…`, for handing to a responder under test. Treat it as a secret.
    pub fn seed(&self) -> String {
        encode_seed_raw(&self.secret.to_bytes())
    }

    /// A channel to `peer`, with the shared secret computed now.
    pub fn channel_to(&self, peer: &CurvePublic) -> SealingChannel {
        SealingChannel {
            salsa: std::sync::Arc::new(SalsaBox::new(&peer.key, &self.secret)),
        }
    }
}

impl std::fmt::Debug for CurveSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CurveSecret({})", self.public.encoded)
    }
}

/// A precomputed box between a local secret and a peer's public key. Seals to the peer and
/// opens what the peer sealed to us; cheap to clone.
#[derive(Clone)]
pub struct SealingChannel {
    salsa: std::sync::Arc<SalsaBox>,
}

impl SealingChannel {
    /// A channel whose local secret is all zeros: what a sealer hit by CVE-2023-46129 used.
    /// Used by the harness to prove a reply is *not* openable that way.
    pub fn all_zero_secret_to(peer: &CurvePublic) -> SealingChannel {
        SealingChannel {
            salsa: std::sync::Arc::new(SalsaBox::new(&peer.key, &SecretKey::from([0u8; 32]))),
        }
    }

    /// The channel of a sealer hit by CVE-2023-46129: nkeys 0.4.0–0.4.5 sealed with an
    /// all-zero *peer public key*, and X25519 with that point gives an all-zero shared secret
    /// whatever the local key, so anyone can open such a message with this channel.
    pub fn zero_shared_secret() -> SealingChannel {
        SealingChannel {
            salsa: std::sync::Arc::new(SalsaBox::new(
                &PublicKey::from([0u8; 32]),
                &SecretKey::from([7u8; 32]),
            )),
        }
    }

    /// Seals `msg` with a random nonce.
    pub fn seal(&self, msg: &[u8]) -> Vec<u8> {
        let nonce = SalsaBox::generate_nonce(&mut OsRng);
        let ct = self.salsa.encrypt(&nonce, msg).unwrap_or_default();
        let mut out = Vec::with_capacity(4 + NONCE_LEN + ct.len());
        out.extend_from_slice(XKV1_PREFIX);
        out.extend_from_slice(nonce.as_slice());
        out.extend_from_slice(&ct);
        out
    }

    /// Opens a sealed message.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() <= XKV1_PREFIX.len() + NONCE_LEN {
            return Err(SealError::TooShort(sealed.len()));
        }
        if &sealed[..4] != XKV1_PREFIX {
            return Err(SealError::WrongVersion);
        }
        let nonce = crypto_box::Nonce::from_slice(&sealed[4..4 + NONCE_LEN]);
        self.salsa
            .decrypt(nonce, &sealed[4 + NONCE_LEN..])
            .map_err(|_| SealError::Decrypt)
    }
}

impl std::fmt::Debug for SealingChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingChannel")
    }
}

fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn encode_public(raw: &[u8; 32]) -> String {
    let mut v = Vec::with_capacity(35);
    v.push(23u8 << 3);
    v.extend_from_slice(raw);
    let c = crc16(&v);
    v.extend_from_slice(&c.to_le_bytes());
    data_encoding::BASE32_NOPAD.encode(&v)
}

fn encode_seed_raw(raw: &[u8; 32]) -> String {
    let prefix = 23u8 << 3;
    let mut v = Vec::with_capacity(36);
    v.push((18 << 3) | (prefix >> 5));
    v.push((prefix & 31) << 3);
    v.extend_from_slice(raw);
    let c = crc16(&v);
    v.extend_from_slice(&c.to_le_bytes());
    data_encoding::BASE32_NOPAD.encode(&v)
}

/// Seals with a fresh (uncached) box: for one-off use.
pub fn seal(msg: &[u8], sender: &CurveSecret, recipient: &CurvePublic) -> Vec<u8> {
    sender.channel_to(recipient).seal(msg)
}

/// Opens with a fresh (uncached) box: for one-off use.
pub fn open(
    sealed: &[u8],
    recipient: &CurveSecret,
    sender: &CurvePublic,
) -> Result<Vec<u8>, SealError> {
    recipient.channel_to(sender).open(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const XKEY: &str = "XAB3NANV3M6N7AHSQP2U5FRWKKUT7EG2ZXXABV4XVXYQRJGM4S2CZGHT";
    const XSEED: &str = "SXAAXMRAEP6JWWHNB6IKFL554IE6LZVT6EY5MBRICPILTLOPHAG73I3YX4";

    #[test]
    fn fixture_seed_gives_fixture_key() {
        let k = CurveSecret::from_seed(XSEED).unwrap();
        assert_eq!(k.public().as_str(), XKEY);
        assert_eq!(k.seed(), XSEED);
    }

    #[test]
    fn seal_open_round_trip_and_interop_with_nkeys() {
        let server = CurveSecret::generate();
        let service = CurveSecret::from_seed(XSEED).unwrap();
        let sealed = seal(b"eyJhello", &server, service.public());
        assert_eq!(&sealed[..4], b"xkv1");
        assert_eq!(
            open(&sealed, &service, server.public()).unwrap(),
            b"eyJhello"
        );
        // The nkeys crate opens what we seal, and we open what it seals.
        let nk_service = nkeys::XKey::from_seed(XSEED).unwrap();
        let nk_server = nkeys::XKey::from_seed(&server.seed()).unwrap();
        assert_eq!(nk_service.open(&sealed, &nk_server).unwrap(), b"eyJhello");
        let theirs = nk_server.seal(b"reply", &nk_service).unwrap();
        assert_eq!(open(&theirs, &service, server.public()).unwrap(), b"reply");
    }

    #[test]
    fn wrong_key_version_and_length_are_refused() {
        let a = CurveSecret::generate();
        let b = CurveSecret::generate();
        let c = CurveSecret::generate();
        let sealed = seal(b"secret", &a, b.public());
        assert_eq!(open(&sealed, &b, c.public()), Err(SealError::Decrypt));
        assert_eq!(open(&sealed, &c, a.public()), Err(SealError::Decrypt));
        let mut v2 = sealed.clone();
        v2[3] = b'2';
        assert_eq!(open(&v2, &b, a.public()), Err(SealError::WrongVersion));
        assert_eq!(
            open(&sealed[..28], &b, a.public()),
            Err(SealError::TooShort(28))
        );
        assert_eq!(
            SealingChannel::all_zero_secret_to(a.public()).open(&sealed),
            Err(SealError::Decrypt)
        );
    }
}
