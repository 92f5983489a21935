//! Key material: PEM, DER and JWK reading, the public half as JWK members, RFC 7638
//! thumbprints, key generation.
//!
//! aws-lc-rs parses and validates every key (the same backend jsonwebtoken signs with here);
//! `der` only routes the bytes to the right aws-lc-rs parser.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeySize, PublicKey as RsaPublicKey};
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED,
    ECDSA_P384_SHA384_FIXED_SIGNING, ED25519, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair,
    KeyPair as _, ParsedPublicKey, RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::der::{self, oid};
use super::{Algorithm, Key};
use crate::error::ConfigError;

/// The smallest RSA modulus accepted, in bits (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;
/// The largest key file read: anything bigger is not a PEM key.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;
/// The largest RSA modulus aws-lc-rs signs and verifies with.
const MAX_RSA_BITS: usize = 8192;

/// Why key material was refused: a sentence for a `ConfigError`, never quoting the material.
pub(crate) type KeyResult<T> = Result<T, String>;

/// The public half of a key, as JWK members (big-endian, no leading zeros for RSA).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicKey {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { p384: bool, x: Vec<u8>, y: Vec<u8> },
    Ed25519 { x: Vec<u8> },
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
    fn ec(p384: bool, point: &[u8]) -> KeyResult<Self> {
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
            Some((2 | 3, _)) => Err(
                "compressed EC points are not supported; export the public key uncompressed"
                    .to_owned(),
            ),
            _ => Err("the EC public key is malformed".to_owned()),
        }
    }

    /// The algorithm a JWK without `alg` is taken for: the only one of an EC or Ed25519 key,
    /// and RS256 for RSA (OpenID Connect's default).
    pub(crate) fn default_algorithm(&self) -> Algorithm {
        match self {
            Self::Rsa { .. } => Algorithm::RS256,
            Self::Ec { p384: false, .. } => Algorithm::ES256,
            Self::Ec { p384: true, .. } => Algorithm::ES384,
            Self::Ed25519 { .. } => Algorithm::EdDSA,
        }
    }

    /// Whether a token signed with `algorithm` can use this key.
    pub(crate) fn fits(&self, algorithm: Algorithm) -> bool {
        match self {
            Self::Rsa { .. } => algorithm.is_rsa(),
            Self::Ec { p384: false, .. } => algorithm == Algorithm::ES256,
            Self::Ec { p384: true, .. } => algorithm == Algorithm::ES384,
            Self::Ed25519 { .. } => algorithm == Algorithm::EdDSA,
        }
    }

    /// What the key is, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Rsa { n, .. } => format!("an RSA {}-bit key", der::bit_length(n)),
            Self::Ec { p384: false, .. } => "a P-256 key".to_owned(),
            Self::Ec { p384: true, .. } => "a P-384 key".to_owned(),
            Self::Ed25519 { .. } => "an Ed25519 key".to_owned(),
        }
    }

    /// The algorithms this key signs for, for messages.
    fn algorithms(&self) -> &'static str {
        match self {
            Self::Rsa { .. } => "RS256, RS384, RS512, PS256, PS384 or PS512",
            Self::Ec { p384: false, .. } => "ES256",
            Self::Ec { p384: true, .. } => "ES384",
            Self::Ed25519 { .. } => "EdDSA",
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

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): the key's default `kid`.
    pub(crate) fn thumbprint(&self) -> String {
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            self.thumbprint_input().as_bytes(),
        );
        b64(digest.as_ref())
    }

    /// The key as a public JWK for `algorithm`: `kty`, `use: "sig"`, `alg`, `kid`, then the key
    /// members.
    pub(crate) fn jwk(&self, algorithm: Algorithm, kid: &str) -> Map<String, Value> {
        let mut jwk = Map::new();
        let kty = match self {
            Self::Rsa { .. } => "RSA",
            Self::Ec { .. } => "EC",
            Self::Ed25519 { .. } => "OKP",
        };
        jwk.insert("kty".into(), kty.into());
        jwk.insert("use".into(), "sig".into());
        jwk.insert("alg".into(), algorithm.as_str().into());
        jwk.insert("kid".into(), kid.into());
        match self {
            Self::Rsa { n, e } => {
                jwk.insert("n".into(), b64(n).into());
                jwk.insert("e".into(), b64(e).into());
            }
            Self::Ec { p384, x, y } => {
                jwk.insert("crv".into(), if *p384 { "P-384" } else { "P-256" }.into());
                jwk.insert("x".into(), b64(x).into());
                jwk.insert("y".into(), b64(y).into());
            }
            Self::Ed25519 { x } => {
                jwk.insert("crv".into(), "Ed25519".into());
                jwk.insert("x".into(), b64(x).into());
            }
        }
        jwk
    }

    /// The key aws-lc-rs verifies `algorithm` signatures with, parsed once.
    pub(crate) fn verifier(&self, algorithm: Algorithm) -> KeyResult<ParsedPublicKey> {
        if !self.fits(algorithm) {
            return Err(format!(
                "{} cannot verify {algorithm}; it fits {}",
                self.describe(),
                self.algorithms()
            ));
        }
        let verification: &'static dyn signature::VerificationAlgorithm = match algorithm {
            Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
            Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
            Algorithm::ES256 => &ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &ECDSA_P384_SHA384_FIXED,
            Algorithm::EdDSA => &ED25519,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                return Err(format!("{algorithm} has no public key"));
            }
        };
        let bytes = match self {
            Self::Rsa { n, e } => der::rsa_public_key(n, e),
            Self::Ec { x, y, .. } => [&[4][..], x, y].concat(),
            Self::Ed25519 { x } => x.clone(),
        };
        ParsedPublicKey::new(verification, bytes).map_err(rejected("public key"))
    }
}

/// A private key ready to sign, with its public half.
pub(crate) struct PrivateKey {
    pub(crate) public: PublicKey,
    pub(crate) encoding: EncodingKey,
}

/// What a PEM block, a DER document or a JWK holds.
pub(crate) enum Material {
    Private(PrivateKey),
    Public(PublicKey),
}

/// A key read from PEM or DER, before an algorithm is chosen for it: what it is, which
/// algorithms it fits, its thumbprint. [`into_key`](Self::into_key) makes the [`Key`] that
/// signs or verifies. `Debug` and `Display` never show key material.
///
/// ```
/// use jwt_gate::{Algorithm, Key, KeyMaterial};
///
/// let pair = Key::generate(Algorithm::ES384)?;
/// let material = KeyMaterial::from_pem(pair.private_pem.as_bytes())?;
/// assert!(material.is_private());
/// assert_eq!(material.to_string(), "a P-384 key");
/// assert_eq!(material.algorithms(), [Algorithm::ES384]);
/// let key = material.into_key(Algorithm::ES384)?;
/// assert!(key.can_sign());
/// # Ok::<(), jwt_gate::ConfigError>(())
/// ```
pub struct KeyMaterial(Material);

impl KeyMaterial {
    /// Reads the first key of a PEM text: a private key (PKCS#8 `PRIVATE KEY`, PKCS#1
    /// `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`) or a public key (`PUBLIC KEY`, PKCS#1
    /// `RSA PUBLIC KEY`). An `EC PARAMETERS` block before it is skipped.
    ///
    /// # Errors
    /// [`ConfigError::Key`] for text that is no such key, an encrypted key, an unsupported
    /// curve or key type, or an RSA key under [`MIN_RSA_BITS`].
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        parse_pem(pem.as_ref()).map(Self).map_err(ConfigError::Key)
    }

    /// Reads the PEM key file at `path` ([`from_pem`](Self::from_pem)): at most 64 KiB, and
    /// its bytes wiped once read. The error's reason does not name the file: callers put the
    /// path or the variable that named it in front.
    ///
    /// # Errors
    /// [`ConfigError::Key`]: the file cannot be read or is too large, or as
    /// [`from_pem`](Self::from_pem).
    pub fn from_pem_file(path: impl AsRef<std::path::Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let failed = |error: std::io::Error| ConfigError::Key(error.to_string());
        if std::fs::metadata(path).map_err(failed)?.len() > MAX_KEY_FILE_BYTES {
            return Err(ConfigError::Key("too large for a PEM key file".to_owned()));
        }
        let text = Zeroizing::new(std::fs::read(path).map_err(failed)?);
        Self::from_pem(&*text)
    }

    /// Reads a DER document: PKCS#8, SubjectPublicKeyInfo, PKCS#1 (RSA) or SEC1 (EC).
    ///
    /// # Errors
    /// As [`from_pem`](Self::from_pem).
    pub fn from_der(der: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        parse_der(der.as_ref()).map(Self).map_err(ConfigError::Key)
    }

    /// Whether it is a private key (which signs), rather than a public one.
    #[must_use]
    pub fn is_private(&self) -> bool {
        matches!(self.0, Material::Private(_))
    }

    /// The algorithms the key can sign or verify.
    #[must_use]
    pub fn algorithms(&self) -> Vec<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(|&algorithm| self.public().fits(algorithm))
            .collect()
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key: the default `kid`.
    #[must_use]
    pub fn thumbprint(&self) -> String {
        self.public().thumbprint()
    }

    /// The [`Key`] for `algorithm`: it signs and verifies if this is a private key, and
    /// verifies only if it is a public one.
    ///
    /// # Errors
    /// [`ConfigError::Key`] if the key does not fit `algorithm` (see
    /// [`algorithms`](Self::algorithms)).
    pub fn into_key(self, algorithm: Algorithm) -> Result<Key, ConfigError> {
        Key::from_material(algorithm, self.0)
    }

    fn public(&self) -> &PublicKey {
        match &self.0 {
            Material::Private(private) => &private.public,
            Material::Public(public) => public,
        }
    }
}

impl std::fmt::Display for KeyMaterial {
    /// What the key is: `an RSA 2048-bit key`, `a P-256 key`, `a P-384 key`, `an Ed25519 key`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.public().describe())
    }
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("kind", &self.public().describe())
            .field("private", &self.is_private())
            .finish()
    }
}

/// Parses the first key of a PEM text, skipping an `EC PARAMETERS` block (as
/// `openssl ecparam -genkey` writes before the key): a private key (PKCS#8 `PRIVATE KEY`,
/// PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`) or a public key (`PUBLIC KEY`, PKCS#1
/// `RSA PUBLIC KEY`).
pub(crate) fn parse_pem(text: &[u8]) -> KeyResult<Material> {
    let blocks = pem::parse_many(text).map_err(|_| "not a PEM file".to_owned())?;
    let block = blocks
        .into_iter()
        .find(|block| block.tag() != "EC PARAMETERS")
        .ok_or_else(|| "not a PEM file".to_owned())?;
    let encrypted = block
        .headers()
        .get("Proc-Type")
        .is_some_and(|value| value.contains("ENCRYPTED"));
    let tag = block.tag().to_owned();
    let der = Zeroizing::new(block.into_contents());
    const ENCRYPTED: &str = "encrypted private keys are not supported; decrypt it first (openssl pkey -in KEY -out PLAIN)";
    match tag.as_str() {
        _ if encrypted => Err(ENCRYPTED.to_owned()),
        "PRIVATE KEY" => parse_pkcs8(&der).map(Material::Private),
        "RSA PRIVATE KEY" => rsa_private(&der, None).map(Material::Private),
        "EC PRIVATE KEY" => sec1_private(&der).map(Material::Private),
        "PUBLIC KEY" => parse_spki(&der).map(Material::Public),
        "RSA PUBLIC KEY" => rsa_public(&der).map(Material::Public),
        "ENCRYPTED PRIVATE KEY" => Err(ENCRYPTED.to_owned()),
        other => Err(format!(
            "a PEM \"{other}\" block is not a key; expected PRIVATE KEY or PUBLIC KEY"
        )),
    }
}

/// Parses a DER document: PKCS#8 or SubjectPublicKeyInfo first (they name their algorithm),
/// then PKCS#1 private and public keys, then a SEC1 EC private key.
pub(crate) fn parse_der(der: &[u8]) -> KeyResult<Material> {
    if der::pkcs8(der).is_some() {
        return parse_pkcs8(der).map(Material::Private);
    }
    if der::spki(der).is_some() {
        return parse_spki(der).map(Material::Public);
    }
    if der::rsa_modulus(der, true).is_some() && RsaKeyPair::from_der(der).is_ok() {
        return rsa_private(der, None).map(Material::Private);
    }
    if der::rsa_modulus(der, false).is_some() && RsaPublicKey::from_der(der).is_ok() {
        return rsa_public(der).map(Material::Public);
    }
    sec1_private(der)
        .map(Material::Private)
        .map_err(|_| "not a DER key (PKCS#8, SubjectPublicKeyInfo, PKCS#1 or SEC1)".to_owned())
}

/// Parses a public JWK (RFC 7517): `RSA` (`n`, `e`), `EC` (`crv` P-256 or P-384, `x`, `y`) or
/// `OKP` (`crv` Ed25519, `x`). A private JWK (with `d`) is refused: private keys are read from
/// PEM or DER, which every tool writes.
pub(crate) fn parse_public_jwk(jwk: &Map<String, Value>) -> KeyResult<PublicKey> {
    if jwk.contains_key("d") {
        return Err(
            "a private JWK is not accepted; load the private key from PEM or DER".to_owned(),
        );
    }
    let member = |name: &str| -> KeyResult<Vec<u8>> {
        let text = jwk
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the JWK has no \"{name}\" string"))?;
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| format!("the JWK's \"{name}\" is not base64url"))
    };
    let crv = jwk.get("crv").and_then(Value::as_str);
    let public = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => {
            let n = member("n")?;
            check_rsa_bits(&n)?;
            PublicKey::Rsa {
                n: der::strip_leading_zeros(&n).to_vec(),
                e: der::strip_leading_zeros(&member("e")?).to_vec(),
            }
        }
        Some("EC") => {
            let p384 = match crv {
                Some("P-256") => false,
                Some("P-384") => true,
                _ => return Err("the EC JWK's curve is not P-256 or P-384".to_owned()),
            };
            let point = [vec![4], member("x")?, member("y")?].concat();
            PublicKey::ec(p384, &point)?
        }
        Some("OKP") if crv == Some("Ed25519") => PublicKey::Ed25519 { x: member("x")? },
        Some("OKP") => return Err("the OKP JWK's curve is not Ed25519".to_owned()),
        Some("oct") => {
            return Err("a symmetric (oct) JWK is a secret; it is never a public key".to_owned());
        }
        _ => return Err("the JWK's \"kty\" is not RSA, EC or OKP".to_owned()),
    };
    // Validates the point or modulus now, so that a bad JWK fails where it is loaded.
    public.verifier(public.default_algorithm())?;
    Ok(public)
}

fn unsupported_algorithm(algorithm: &der::AlgorithmId<'_>) -> String {
    match (algorithm.algorithm, algorithm.curve) {
        (oid::RSA_PSS, _) => {
            "RSASSA-PSS-only keys are not supported; use a plain RSA key (it signs PS256 too)"
        }
        (oid::EC, Some(oid::P521)) => "P-521 keys are not supported; use P-256 or P-384",
        (oid::EC, Some(oid::SECP256K1)) => "secp256k1 keys are not supported; use P-256 or P-384",
        (oid::EC, _) => "this EC curve is not supported; use P-256 or P-384",
        (oid::ED448, _) => "Ed448 keys are not supported; use Ed25519",
        _ => "unsupported key algorithm; expected RSA, P-256, P-384 or Ed25519",
    }
    .to_owned()
}

fn rejected(what: &str) -> impl Fn(aws_lc_rs::error::KeyRejected) -> String + '_ {
    move |e| format!("invalid {what} ({})", e.description_())
}

fn check_rsa_bits(modulus: &[u8]) -> KeyResult<()> {
    let bits = der::bit_length(modulus);
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"
        ));
    }
    if bits > MAX_RSA_BITS {
        return Err(format!(
            "the RSA key has {bits} bits; at most {MAX_RSA_BITS} are supported"
        ));
    }
    Ok(())
}

fn parse_pkcs8(der: &[u8]) -> KeyResult<PrivateKey> {
    let (algorithm, private_key) =
        der::pkcs8(der).ok_or_else(|| "malformed PKCS#8 private key".to_owned())?;
    match (algorithm.algorithm, algorithm.curve) {
        (oid::RSA, _) => rsa_private(private_key, Some(der)),
        (oid::EC, Some(oid::P256)) => ec_private(&ECDSA_P256_SHA256_FIXED_SIGNING, der),
        (oid::EC, Some(oid::P384)) => ec_private(&ECDSA_P384_SHA384_FIXED_SIGNING, der),
        (oid::ED25519, _) => {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(rejected("Ed25519 private key"))?;
            let pkcs8: Pkcs8V1Der<'static> = pair
                .as_der()
                .map_err(|_| "cannot re-encode the Ed25519 key".to_owned())?;
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
fn rsa_private(pkcs1: &[u8], pkcs8: Option<&[u8]>) -> KeyResult<PrivateKey> {
    let modulus =
        der::rsa_modulus(pkcs1, true).ok_or_else(|| "malformed RSA private key".to_owned())?;
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

fn ec_private(algorithm: &'static EcdsaSigningAlgorithm, der: &[u8]) -> KeyResult<PrivateKey> {
    let pair =
        EcdsaKeyPair::from_private_key_der(algorithm, der).map_err(rejected("EC private key"))?;
    ec_pair(&pair, algorithm == &ECDSA_P384_SHA384_FIXED_SIGNING)
}

fn ec_pair(pair: &EcdsaKeyPair, p384: bool) -> KeyResult<PrivateKey> {
    // jsonwebtoken's aws-lc-rs signer reads PKCS#8.
    let pkcs8 = pair
        .to_pkcs8v1()
        .map_err(|_| "cannot re-encode the EC key".to_owned())?;
    Ok(PrivateKey {
        public: PublicKey::ec(p384, pair.public_key().as_ref())?,
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
    })
}

/// A SEC1 `ECPrivateKey` (RFC 5915), as `openssl ecparam -genkey` writes it.
fn sec1_private(der: &[u8]) -> KeyResult<PrivateKey> {
    if let Ok(pair) = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der) {
        return ec_pair(&pair, false);
    }
    if let Ok(pair) = EcdsaKeyPair::from_private_key_der(&ECDSA_P384_SHA384_FIXED_SIGNING, der) {
        return ec_pair(&pair, true);
    }
    Err("invalid EC private key, or a curve other than P-256 and P-384".to_owned())
}

fn parse_spki(der: &[u8]) -> KeyResult<PublicKey> {
    let (algorithm, key) =
        der::spki(der).ok_or_else(|| "malformed public key (SubjectPublicKeyInfo)".to_owned())?;
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
fn rsa_public(pkcs1: &[u8]) -> KeyResult<PublicKey> {
    let modulus =
        der::rsa_modulus(pkcs1, false).ok_or_else(|| "malformed RSA public key".to_owned())?;
    check_rsa_bits(modulus)?;
    let public = RsaPublicKey::from_der(pkcs1).map_err(rejected("RSA public key"))?;
    Ok(PublicKey::rsa(&RsaPublicKeyComponents::<Vec<u8>>::from(
        &public,
    )))
}

/// A new key pair, as PEM documents: a PKCS#8 private key and an SPKI public key.
#[non_exhaustive]
pub struct GeneratedKeyPair {
    /// The private key, `-----BEGIN PRIVATE KEY-----` (wiped when dropped).
    pub private_pem: Zeroizing<String>,
    /// The public key, `-----BEGIN PUBLIC KEY-----`.
    pub public_pem: String,
}

impl std::fmt::Debug for GeneratedKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKeyPair")
            .field("private_pem", &"[redacted]")
            .field("public_pem", &self.public_pem)
            .finish()
    }
}

fn pem_text(tag: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(tag, der), config)
}

/// Generates a key pair for `algorithm` (`rsa_bits` for RSA only: 2048, 3072 or 4096).
pub(crate) fn generate(algorithm: Algorithm, rsa_bits: usize) -> KeyResult<GeneratedKeyPair> {
    let failed = |_| format!("{algorithm} key generation failed");
    let (private_der, public_der): (Zeroizing<Vec<u8>>, PublicKeyX509Der<'static>) = match algorithm
    {
        _ if algorithm.is_rsa() => {
            let size = match rsa_bits {
                2048 => KeySize::Rsa2048,
                3072 => KeySize::Rsa3072,
                4096 => KeySize::Rsa4096,
                other => {
                    return Err(format!(
                        "an RSA key of {other} bits: expected 2048, 3072 or 4096"
                    ));
                }
            };
            let pair = RsaKeyPair::generate(size).map_err(failed)?;
            let private: Pkcs8V1Der<'static> = pair.as_der().map_err(failed)?;
            (
                Zeroizing::new(private.as_ref().to_vec()),
                pair.public_key().as_der().map_err(failed)?,
            )
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let signing = if algorithm == Algorithm::ES256 {
                &ECDSA_P256_SHA256_FIXED_SIGNING
            } else {
                &ECDSA_P384_SHA384_FIXED_SIGNING
            };
            let pair = EcdsaKeyPair::generate(signing).map_err(failed)?;
            let private = pair.to_pkcs8v1().map_err(failed)?;
            (
                Zeroizing::new(private.as_ref().to_vec()),
                pair.public_key().as_der().map_err(failed)?,
            )
        }
        Algorithm::EdDSA => {
            let pair = Ed25519KeyPair::generate().map_err(failed)?;
            let private: Pkcs8V1Der<'static> = pair.as_der().map_err(failed)?;
            (
                Zeroizing::new(private.as_ref().to_vec()),
                pair.public_key().as_der().map_err(failed)?,
            )
        }
        _ => {
            return Err(format!(
                "{algorithm} has no key pair; it signs with a secret"
            ));
        }
    };
    Ok(GeneratedKeyPair {
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
        assert_eq!(key.describe(), "an RSA 2048-bit key");
    }

    fn private(pem: &str) -> PrivateKey {
        match parse_pem(pem.as_bytes()) {
            Ok(Material::Private(private)) => private,
            _ => panic!("not a private key"),
        }
    }

    fn public(pem: &str) -> PublicKey {
        match parse_pem(pem.as_bytes()) {
            Ok(Material::Public(public)) => public,
            _ => panic!("not a public key"),
        }
    }

    /// The thumbprints agree with jsonwebtoken's own `Jwk::thumbprint` for every key type, and
    /// our JWKs read back as the same keys.
    #[test]
    fn thumbprints_and_jwks_agree_with_jsonwebtoken() {
        use jsonwebtoken::jwk::{Jwk as TheirJwk, ThumbprintHash};
        for algorithm in [
            Algorithm::RS256,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
        ] {
            let generated = generate(algorithm, 2048).unwrap();
            let private = private(&generated.private_pem);
            let public = public(&generated.public_pem);
            assert_eq!(private.public, public, "{algorithm}");
            let theirs = TheirJwk::from_encoding_key(&private.encoding, algorithm.jsonwebtoken())
                .unwrap()
                .thumbprint(ThumbprintHash::SHA256)
                .unwrap();
            assert_eq!(public.thumbprint(), theirs, "{algorithm}");
            let jwk = public.jwk(algorithm, &theirs);
            let read: TheirJwk = serde_json::from_value(Value::Object(jwk.clone())).unwrap();
            assert_eq!(read.thumbprint(ThumbprintHash::SHA256).unwrap(), theirs);
            assert_eq!(parse_public_jwk(&jwk).unwrap(), public, "{algorithm}");
        }
    }

    #[test]
    fn keys_fit_their_algorithms_only() {
        let rsa = public(&generate(Algorithm::PS256, 2048).unwrap().public_pem);
        assert!(rsa.fits(Algorithm::PS512) && rsa.fits(Algorithm::RS256));
        assert!(!rsa.fits(Algorithm::ES256) && !rsa.fits(Algorithm::HS256));
        assert!(rsa.verifier(Algorithm::ES256).is_err());
        let p256 = public(&generate(Algorithm::ES256, 0).unwrap().public_pem);
        assert!(p256.fits(Algorithm::ES256) && !p256.fits(Algorithm::ES384));
        let ed = public(&generate(Algorithm::EdDSA, 0).unwrap().public_pem);
        assert!(ed.fits(Algorithm::EdDSA) && !ed.fits(Algorithm::ES256));
        assert!(generate(Algorithm::HS256, 0).is_err());
        assert!(generate(Algorithm::RS256, 1024).is_err());
    }

    #[test]
    fn der_documents_of_every_kind() {
        for algorithm in [Algorithm::RS256, Algorithm::ES384, Algorithm::EdDSA] {
            let generated = generate(algorithm, 2048).unwrap();
            let private_der = pem::parse(generated.private_pem.as_bytes()).unwrap();
            let public_der = pem::parse(generated.public_pem.as_bytes()).unwrap();
            assert!(matches!(
                parse_der(private_der.contents()),
                Ok(Material::Private(_))
            ));
            assert!(matches!(
                parse_der(public_der.contents()),
                Ok(Material::Public(_))
            ));
        }
        assert!(parse_der(b"").is_err());
        assert!(parse_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    }

    #[test]
    fn bad_jwks_are_refused_with_a_reason() {
        let jwk = |value: Value| parse_public_jwk(value.as_object().unwrap());
        assert!(
            jwk(serde_json::json!({"kty": "oct", "k": "c2VjcmV0"}))
                .unwrap_err()
                .contains("secret")
        );
        assert!(
            jwk(serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}))
                .unwrap_err()
                .contains("bits")
        );
        assert!(
            jwk(serde_json::json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"})).is_err()
        );
        assert!(
            jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"})).is_err(),
            "a 3-byte Ed25519 key"
        );
        assert!(
            jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "!!", "d": "x"}))
                .unwrap_err()
                .contains("private")
        );
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
