//! Key pairs: generation, PEM reading and writing, JWKs and RFC 7638 thumbprints.
//!
//! aws-lc-rs parses and validates every key; jsonwebtoken signs and verifies with them.

use std::fmt;
use std::path::Path;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeySize, PublicKey as RsaPublicKey};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED,
    ECDSA_P384_SHA384_FIXED_SIGNING, ED25519, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair,
    KeyPair as _, ParsedPublicKey, RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::Fail;
use crate::alg::Alg;
use crate::der::{self, oid};

/// The smallest RSA modulus accepted, in bits (RFC 7518 §3.3).
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus aws-lc-rs signs and verifies with.
const MAX_RSA_BITS: usize = 8192;
/// Key files larger than this are not keys.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// What a key is, which decides the algorithms it can sign for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa { bits: usize },
    P256,
    P384,
    Ed25519,
}

impl KeyKind {
    /// Whether a token signed with `alg` can use this key.
    pub(crate) fn fits(self, alg: Alg) -> bool {
        matches!(
            (self, alg),
            (
                Self::Rsa { .. },
                Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512
            ) | (Self::P256, Alg::ES256)
                | (Self::P384, Alg::ES384)
                | (Self::Ed25519, Alg::EdDSA)
        )
    }

    /// The algorithms this key signs for, for messages.
    pub(crate) fn algorithms(self) -> &'static str {
        match self {
            Self::Rsa { .. } => "RS256, RS384, RS512, PS256, PS384 or PS512",
            Self::P256 => "ES256",
            Self::P384 => "ES384",
            Self::Ed25519 => "EdDSA",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa { bits } => write!(f, "an RSA {bits}-bit key"),
            Self::P256 => f.write_str("a P-256 key"),
            Self::P384 => f.write_str("a P-384 key"),
            Self::Ed25519 => f.write_str("an Ed25519 key"),
        }
    }
}

/// The public half of a key, as JWK members (big-endian, no leading zeros for RSA).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicKey {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { p384: bool, x: Vec<u8>, y: Vec<u8> },
    Ed25519 { x: Vec<u8> },
}

/// A JWK (RFC 7517) of a public key, members in the conventional order.
#[derive(Debug, Serialize)]
pub(crate) struct Jwk {
    kty: &'static str,
    #[serde(rename = "use")]
    use_: &'static str,
    alg: &'static str,
    kid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    crv: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<String>,
}

impl Jwk {
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl PublicKey {
    fn rsa(components: &RsaPublicKeyComponents<Vec<u8>>) -> Self {
        Self::Rsa {
            n: der::strip_leading_zeros(&components.n).to_vec(),
            e: der::strip_leading_zeros(&components.e).to_vec(),
        }
    }

    /// An uncompressed SEC1 point (`04 || x || y`) on P-256 or P-384.
    fn ec(p384: bool, point: &[u8]) -> Result<Self, Fail> {
        let size = if p384 { 48 } else { 32 };
        match point.split_first() {
            Some((4, xy)) if xy.len() == 2 * size => {
                let (x, y) = xy.split_at(size);
                Ok(Self::Ec {
                    p384,
                    x: x.to_vec(),
                    y: y.to_vec(),
                })
            }
            Some((2 | 3, _)) => Err(Fail::usage(
                "compressed EC points are not supported; export the public key uncompressed",
            )),
            _ => Err(Fail::usage("the EC public key is malformed")),
        }
    }

    pub(crate) fn kind(&self) -> KeyKind {
        match self {
            Self::Rsa { n, .. } => KeyKind::Rsa {
                bits: der::bit_length(n),
            },
            Self::Ec { p384: false, .. } => KeyKind::P256,
            Self::Ec { p384: true, .. } => KeyKind::P384,
            Self::Ed25519 { .. } => KeyKind::Ed25519,
        }
    }

    /// The JSON that RFC 7638 hashes: the required members only, in lexicographic order, no
    /// whitespace. All values are base64url or fixed names, so no escaping is needed.
    fn thumbprint_input(&self) -> String {
        match self {
            Self::Rsa { n, e } => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64(e), b64(n)),
            Self::Ec { p384, x, y } => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                if *p384 { "P-384" } else { "P-256" },
                b64(x),
                b64(y)
            ),
            Self::Ed25519 { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64(x)),
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): the key's `kid`.
    pub(crate) fn thumbprint(&self) -> String {
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            self.thumbprint_input().as_bytes(),
        );
        b64(digest.as_ref())
    }

    /// The key as a JWK for `alg` (which must fit it), with `use: "sig"` and the thumbprint
    /// as `kid`.
    pub(crate) fn jwk(&self, alg: Alg) -> Jwk {
        let mut jwk = Jwk {
            kty: "",
            use_: "sig",
            alg: alg.as_str(),
            kid: self.thumbprint(),
            crv: None,
            n: None,
            e: None,
            x: None,
            y: None,
        };
        match self {
            Self::Rsa { n, e } => {
                jwk.kty = "RSA";
                jwk.n = Some(b64(n));
                jwk.e = Some(b64(e));
            }
            Self::Ec { p384, x, y } => {
                jwk.kty = "EC";
                jwk.crv = Some(if *p384 { "P-384" } else { "P-256" });
                jwk.x = Some(b64(x));
                jwk.y = Some(b64(y));
            }
            Self::Ed25519 { x } => {
                jwk.kty = "OKP";
                jwk.crv = Some("Ed25519");
                jwk.x = Some(b64(x));
            }
        }
        jwk
    }

    /// The key jsonwebtoken verifies with.
    pub(crate) fn decoding_key(&self) -> DecodingKey {
        match self {
            Self::Rsa { n, e } => DecodingKey::from_rsa_raw_components(n, e),
            Self::Ec { x, y, .. } => {
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(4);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                DecodingKey::from_ec_der(&point)
            }
            Self::Ed25519 { x } => DecodingKey::from_ed_der(x),
        }
    }
}

/// A private key ready to sign, with its public half.
pub(crate) struct PrivateKey {
    pub(crate) public: PublicKey,
    pub(crate) encoding: EncodingKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("kind", &self.public.kind())
            .finish_non_exhaustive()
    }
}

/// What a key file holds.
#[derive(Debug)]
pub(crate) enum KeyFile {
    Private(PrivateKey),
    Public(PublicKey),
}

impl KeyFile {
    pub(crate) fn public(&self) -> &PublicKey {
        match self {
            Self::Private(private) => &private.public,
            Self::Public(public) => public,
        }
    }
}

/// Reads a PEM key file: a private key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, SEC1
/// `EC PRIVATE KEY`) or a public key (`PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`).
pub(crate) fn read_key_file(path: &Path) -> Result<KeyFile, Fail> {
    let shown = path.display();
    let fail = |reason: String| Fail::usage(format!("{shown}: {reason}"));
    let metadata = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if metadata.len() > MAX_KEY_FILE_BYTES {
        return Err(fail("too large for a PEM key file".to_owned()));
    }
    let text = Zeroizing::new(std::fs::read(path).map_err(|e| fail(e.to_string()))?);
    parse_pem(&text).map_err(|Fail { message }| fail(message))
}

/// Parses the first PEM block of `text` as a key, skipping an `EC PARAMETERS` block (as
/// `openssl ecparam -genkey` writes before the key).
pub(crate) fn parse_pem(text: &[u8]) -> Result<KeyFile, Fail> {
    let blocks = pem::parse_many(text).map_err(|_| Fail::usage("not a PEM file"))?;
    let block = blocks
        .into_iter()
        .find(|block| block.tag() != "EC PARAMETERS")
        .ok_or_else(|| Fail::usage("not a PEM file"))?;
    let encrypted = block
        .headers()
        .get("Proc-Type")
        .is_some_and(|value| value.contains("ENCRYPTED"));
    let tag = block.tag().to_owned();
    let der = Zeroizing::new(block.into_contents());
    match tag.as_str() {
        _ if encrypted => Err(Fail::usage(
            "encrypted private keys are not supported; decrypt it first (openssl pkey -in KEY -out PLAIN)",
        )),
        "PRIVATE KEY" => parse_pkcs8(&der).map(KeyFile::Private),
        "RSA PRIVATE KEY" => rsa_private(&der, None).map(KeyFile::Private),
        "EC PRIVATE KEY" => sec1_private(&der).map(KeyFile::Private),
        "PUBLIC KEY" => parse_spki(&der).map(KeyFile::Public),
        "RSA PUBLIC KEY" => rsa_public(&der).map(KeyFile::Public),
        "ENCRYPTED PRIVATE KEY" => Err(Fail::usage(
            "encrypted private keys are not supported; decrypt it first (openssl pkey -in KEY -out PLAIN)",
        )),
        other => Err(Fail::usage(format!(
            "a PEM \"{other}\" block is not a key; expected PRIVATE KEY or PUBLIC KEY"
        ))),
    }
}

fn unsupported_algorithm(algorithm: &der::AlgorithmId<'_>) -> Fail {
    let name = match (algorithm.algorithm, algorithm.curve) {
        (oid::RSA_PSS, _) => {
            "RSASSA-PSS-only keys are not supported; use a plain RSA key (it signs PS256 too)"
        }
        (oid::EC, Some(oid::P521)) => "P-521 keys are not supported; use P-256 or P-384",
        (oid::EC, Some(oid::SECP256K1)) => "secp256k1 keys are not supported; use P-256 or P-384",
        (oid::EC, _) => "this EC curve is not supported; use P-256 or P-384",
        (oid::ED448, _) => "Ed448 keys are not supported; use Ed25519",
        _ => "unsupported key algorithm; expected RSA, P-256, P-384 or Ed25519",
    };
    Fail::usage(name)
}

fn rejected(what: &str) -> impl Fn(aws_lc_rs::error::KeyRejected) -> Fail + '_ {
    move |e| Fail::usage(format!("invalid {what} ({})", e.description_()))
}

fn check_rsa_bits(modulus: &[u8]) -> Result<(), Fail> {
    let bits = der::bit_length(modulus);
    if bits < MIN_RSA_BITS {
        return Err(Fail::usage(format!(
            "the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"
        )));
    }
    if bits > MAX_RSA_BITS {
        return Err(Fail::usage(format!(
            "the RSA key has {bits} bits; at most {MAX_RSA_BITS} are supported"
        )));
    }
    Ok(())
}

fn parse_pkcs8(der: &[u8]) -> Result<PrivateKey, Fail> {
    let (algorithm, private_key) =
        der::pkcs8(der).ok_or_else(|| Fail::usage("malformed PKCS#8 private key"))?;
    match (algorithm.algorithm, algorithm.curve) {
        (oid::RSA, _) => rsa_private(private_key, Some(der)),
        (oid::EC, Some(oid::P256)) => ec_private(&ECDSA_P256_SHA256_FIXED_SIGNING, der),
        (oid::EC, Some(oid::P384)) => ec_private(&ECDSA_P384_SHA384_FIXED_SIGNING, der),
        (oid::ED25519, _) => {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(rejected("Ed25519 private key"))?;
            let pkcs8: Pkcs8V1Der<'static> = pair
                .as_der()
                .map_err(|_| Fail::usage("cannot re-encode the Ed25519 key"))?;
            Ok(PrivateKey {
                public: PublicKey::Ed25519 {
                    x: pair.public_key().as_ref().to_vec(),
                },
                encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            })
        }
        _ => Err(unsupported_algorithm(&algorithm)),
    }
}

/// An RSA private key from its PKCS#1 `RSAPrivateKey`, and the PKCS#8 document around it if it
/// came in one.
fn rsa_private(pkcs1: &[u8], pkcs8: Option<&[u8]>) -> Result<PrivateKey, Fail> {
    let modulus =
        der::rsa_modulus(pkcs1, true).ok_or_else(|| Fail::usage("malformed RSA private key"))?;
    check_rsa_bits(modulus)?;
    let pair = match pkcs8 {
        Some(pkcs8) => RsaKeyPair::from_pkcs8(pkcs8),
        None => RsaKeyPair::from_der(pkcs1),
    }
    .map_err(rejected("RSA private key"))?;
    Ok(PrivateKey {
        public: PublicKey::rsa(&RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key())),
        // jsonwebtoken's aws-lc-rs signer reads PKCS#1.
        encoding: EncodingKey::from_rsa_der(pkcs1),
    })
}

fn ec_private(algorithm: &'static EcdsaSigningAlgorithm, der: &[u8]) -> Result<PrivateKey, Fail> {
    let pair =
        EcdsaKeyPair::from_private_key_der(algorithm, der).map_err(rejected("EC private key"))?;
    ec_pair(&pair, algorithm == &ECDSA_P384_SHA384_FIXED_SIGNING)
}

fn ec_pair(pair: &EcdsaKeyPair, p384: bool) -> Result<PrivateKey, Fail> {
    // jsonwebtoken's aws-lc-rs signer reads PKCS#8.
    let pkcs8 = pair
        .to_pkcs8v1()
        .map_err(|_| Fail::usage("cannot re-encode the EC key"))?;
    Ok(PrivateKey {
        public: PublicKey::ec(p384, pair.public_key().as_ref())?,
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
    })
}

/// A SEC1 `ECPrivateKey` (RFC 5915), as `openssl ecparam -genkey` writes it.
fn sec1_private(der: &[u8]) -> Result<PrivateKey, Fail> {
    if let Ok(pair) = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der) {
        return ec_pair(&pair, false);
    }
    if let Ok(pair) = EcdsaKeyPair::from_private_key_der(&ECDSA_P384_SHA384_FIXED_SIGNING, der) {
        return ec_pair(&pair, true);
    }
    Err(Fail::usage(
        "invalid EC private key, or a curve other than P-256 and P-384",
    ))
}

fn parse_spki(der: &[u8]) -> Result<PublicKey, Fail> {
    let (algorithm, key) =
        der::spki(der).ok_or_else(|| Fail::usage("malformed public key (SubjectPublicKeyInfo)"))?;
    match (algorithm.algorithm, algorithm.curve) {
        (oid::RSA, _) => rsa_public(key),
        (oid::EC, Some(curve @ (oid::P256 | oid::P384))) => {
            let p384 = curve == oid::P384;
            let verification = if p384 {
                &ECDSA_P384_SHA384_FIXED
            } else {
                &ECDSA_P256_SHA256_FIXED
            };
            let public = PublicKey::ec(p384, key)?;
            // Checks that the point is on the curve.
            ParsedPublicKey::new(verification, key).map_err(rejected("EC public key"))?;
            Ok(public)
        }
        (oid::ED25519, _) => {
            ParsedPublicKey::new(&ED25519, key).map_err(rejected("Ed25519 public key"))?;
            Ok(PublicKey::Ed25519 { x: key.to_vec() })
        }
        _ => Err(unsupported_algorithm(&algorithm)),
    }
}

/// A PKCS#1 `RSAPublicKey`.
fn rsa_public(pkcs1: &[u8]) -> Result<PublicKey, Fail> {
    let modulus =
        der::rsa_modulus(pkcs1, false).ok_or_else(|| Fail::usage("malformed RSA public key"))?;
    check_rsa_bits(modulus)?;
    let public = RsaPublicKey::from_der(pkcs1).map_err(rejected("RSA public key"))?;
    Ok(PublicKey::rsa(&RsaPublicKeyComponents::<Vec<u8>>::from(
        &public,
    )))
}

/// A new key pair for `alg`, as PEM documents: PKCS#8 private key, SPKI public key.
pub(crate) struct GeneratedKey {
    pub(crate) private_pem: Zeroizing<String>,
    pub(crate) public_pem: String,
}

fn pem_text(tag: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(tag, der), config)
}

/// Generates a key pair for `alg` (`bits` for RSA only).
pub(crate) fn generate(alg: Alg, rsa_bits: usize) -> Result<GeneratedKey, Fail> {
    let failed = |_| Fail::usage(format!("{alg} key generation failed"));
    let (private_der, public_der): (Zeroizing<Vec<u8>>, PublicKeyX509Der<'static>) = match alg {
        Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => {
            let size = match rsa_bits {
                2048 => KeySize::Rsa2048,
                3072 => KeySize::Rsa3072,
                4096 => KeySize::Rsa4096,
                other => {
                    return Err(Fail::usage(format!(
                        "--bits {other}: expected 2048, 3072 or 4096"
                    )));
                }
            };
            let pair = RsaKeyPair::generate(size).map_err(failed)?;
            let private: Pkcs8V1Der<'static> = pair.as_der().map_err(failed)?;
            (
                Zeroizing::new(private.as_ref().to_vec()),
                pair.public_key().as_der().map_err(failed)?,
            )
        }
        Alg::ES256 | Alg::ES384 => {
            let algorithm = if alg == Alg::ES256 {
                &ECDSA_P256_SHA256_FIXED_SIGNING
            } else {
                &ECDSA_P384_SHA384_FIXED_SIGNING
            };
            let pair = EcdsaKeyPair::generate(algorithm).map_err(failed)?;
            let private = pair.to_pkcs8v1().map_err(failed)?;
            (
                Zeroizing::new(private.as_ref().to_vec()),
                pair.public_key().as_der().map_err(failed)?,
            )
        }
        Alg::EdDSA => {
            let pair = Ed25519KeyPair::generate().map_err(failed)?;
            let private: Pkcs8V1Der<'static> = pair.as_der().map_err(failed)?;
            (
                Zeroizing::new(private.as_ref().to_vec()),
                pair.public_key().as_der().map_err(failed)?,
            )
        }
        Alg::HS256 | Alg::HS384 | Alg::HS512 => {
            return Err(Fail::usage(format!(
                "{alg} has no key pair; its secret comes from JWT_SECRET_KEY"
            )));
        }
    };
    Ok(GeneratedKey {
        private_pem: Zeroizing::new(pem_text("PRIVATE KEY", &private_der)),
        public_pem: pem_text("PUBLIC KEY", public_der.as_ref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1: the thumbprint of the RFC 7517 Appendix A.1 RSA key.
    #[test]
    fn rfc7638_example_thumbprint() {
        let n = URL_SAFE_NO_PAD
            .decode(
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            )
            .unwrap();
        let key = PublicKey::Rsa {
            n,
            e: vec![1, 0, 1],
        };
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(key.kind(), KeyKind::Rsa { bits: 2048 });
    }

    /// The thumbprints agree with jsonwebtoken's own `Jwk::thumbprint` for every key type.
    #[test]
    fn thumbprints_agree_with_jsonwebtoken() {
        use jsonwebtoken::jwk::{Jwk as JwtJwk, ThumbprintHash};
        for alg in [Alg::RS256, Alg::ES256, Alg::ES384, Alg::EdDSA] {
            let generated = generate(alg, 2048).unwrap();
            let KeyFile::Private(private) = parse_pem(generated.private_pem.as_bytes()).unwrap()
            else {
                panic!("not private");
            };
            let KeyFile::Public(public) = parse_pem(generated.public_pem.as_bytes()).unwrap()
            else {
                panic!("not public");
            };
            assert_eq!(private.public, public, "{alg}");
            let theirs = JwtJwk::from_encoding_key(&private.encoding, alg.jsonwebtoken())
                .unwrap()
                .thumbprint(ThumbprintHash::SHA256)
                .unwrap();
            assert_eq!(public.thumbprint(), theirs, "{alg}");
            // And jsonwebtoken reads our JWK back as the same key.
            let ours: JwtJwk =
                serde_json::from_value(serde_json::to_value(public.jwk(alg)).unwrap()).unwrap();
            assert_eq!(ours.thumbprint(ThumbprintHash::SHA256).unwrap(), theirs);
        }
    }

    #[test]
    fn kinds_fit_their_algorithms_only() {
        let rsa = KeyKind::Rsa { bits: 2048 };
        assert!(rsa.fits(Alg::PS512) && rsa.fits(Alg::RS256));
        assert!(!rsa.fits(Alg::ES256) && !rsa.fits(Alg::HS256));
        assert!(KeyKind::P256.fits(Alg::ES256) && !KeyKind::P256.fits(Alg::ES384));
        assert!(KeyKind::P384.fits(Alg::ES384) && !KeyKind::P384.fits(Alg::ES256));
        assert!(KeyKind::Ed25519.fits(Alg::EdDSA) && !KeyKind::Ed25519.fits(Alg::ES256));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in [
            &b""[..],
            b"hello",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            b"-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n",
            b"-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n",
            b"-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n",
            b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
        ] {
            assert!(parse_pem(text).is_err());
        }
    }
}
