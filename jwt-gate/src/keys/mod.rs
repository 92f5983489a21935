//! Signing and verification keys. One algorithm per key, pinned: the token header never chooses
//! the algorithm or where the key comes from.
//!
//! A [`Key`] is one key for one [`Algorithm`]: an HMAC secret, or a key pair (or only its public
//! half) read from PEM, DER or a JWK. [`Keys`] is the ring a [`Jwt`](crate::Jwt) works with: at
//! most one key that signs, and the keys that verify, each known by its `kid`, the previous ones
//! until their grace period ends.

mod algorithm;
mod der;
mod material;
#[cfg(feature = "remote-keys")]
pub mod remote;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use aws_lc_rs::signature::ParsedPublicKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::Value;

pub use algorithm::Algorithm;
pub use material::{GeneratedKeyPair, KeyMaterial, MIN_RSA_BITS};
use material::{Material, PublicKey};

use crate::clock::system_time_seconds;
use crate::error::ConfigError;

/// The smallest HMAC secret accepted, in bytes (256 bits, the output size of HS256).
pub const MIN_SECRET_BYTES: usize = 32;

/// Secrets copied from tutorials and examples: accepted (a demo must run with its default), but
/// logged as a warning, since anyone can read them.
const WELL_KNOWN_SECRETS: [&str; 8] = [
    "secret",
    "changeme",
    "change-me",
    "super-secret",
    "your-256-bit-secret",
    "your-secret-key",
    "jwt-secret",
    "super-secret-test-key-0123456789abcdef",
];

/// Warns about a secret that is valid but weak: a well-known example, or shorter than the
/// hash output of its algorithm (RFC 7518 §3.2).
fn warn_if_weak(algorithm: Algorithm, secret: &[u8]) {
    let text = String::from_utf8_lossy(secret).to_ascii_lowercase();
    if WELL_KNOWN_SECRETS
        .iter()
        .any(|known| text == *known || text.starts_with(known) && known.len() >= 12)
    {
        tracing::warn!(
            "jwt-gate: JWT_SECRET_KEY is a well-known example secret; use random bytes in production"
        );
    }
    let hash_bytes = match algorithm {
        Algorithm::HS256 => 32,
        Algorithm::HS384 => 48,
        _ => 64,
    };
    if secret.len() < hash_bytes {
        tracing::warn!(
            secret_bytes = secret.len(),
            "jwt-gate: {algorithm} works best with a secret of at least {hash_bytes} bytes"
        );
    }
}

/// How a key checks signatures, prepared once when the key is loaded (never per request).
// One per key, behind the key's `Arc`: the size difference costs nothing, a box would cost a
// pointer chase on every HMAC verification.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum Verifier {
    /// aws-lc-rs's HMAC key: the inner and outer pads are hashed once, here.
    Hmac(hmac::Key),
    /// aws-lc-rs's parsed public key, bound to one algorithm.
    Public(ParsedPublicKey),
}

impl Verifier {
    /// Checks `signature` over `message`; constant-time for HMAC (inside aws-lc-rs).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Self::Public(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

#[derive(Clone)]
struct KeyInner {
    algorithm: Algorithm,
    kid: Option<String>,
    /// What jsonwebtoken signs with; `None` for a public key.
    signer: Option<EncodingKey>,
    verifier: Verifier,
    /// The public half, for JWKS; `None` for an HMAC secret.
    public: Option<PublicKey>,
}

/// One key for one algorithm: an HMAC secret, a key pair, or the public half of one.
///
/// The algorithm is fixed when the key is made: a token whose header names another algorithm
/// is refused, so algorithm confusion (an RSA public key used as an HMAC secret, `alg: none`)
/// cannot happen. `Debug` never shows key material.
///
/// ```
/// use jwt_gate::{Algorithm, Key};
///
/// let pair = Key::generate(Algorithm::EdDSA)?;
/// let key = Key::from_pem(Algorithm::EdDSA, pair.private_pem.as_bytes())?;
/// assert!(key.can_sign());
/// // An asymmetric key is known by its RFC 7638 thumbprint unless given a `kid`.
/// assert_eq!(key.kid(), Some(key.thumbprint().unwrap().as_str()));
/// let public = Key::from_pem(Algorithm::EdDSA, pair.public_pem.as_bytes())?;
/// assert!(!public.can_sign());
/// assert_eq!(public.kid(), key.kid());
/// // The wrong algorithm for the key is a configuration error.
/// assert!(Key::from_pem(Algorithm::ES256, pair.public_pem.as_bytes()).is_err());
/// # Ok::<(), jwt_gate::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Key {
    inner: Arc<KeyInner>,
}

impl Key {
    /// An HMAC key (HS256, HS384 or HS512) with `secret`, at least [`MIN_SECRET_BYTES`] long.
    /// A secret shorter than the hash output (48 bytes for HS384, 64 for HS512) or copied from
    /// an example is accepted with a warning in the log. It has no `kid` unless given one with
    /// [`with_kid`](Self::with_kid): a `kid` is never derived from a secret.
    ///
    /// # Errors
    /// [`ConfigError`] for an empty or short secret, or a non-HMAC algorithm.
    pub fn hmac(algorithm: Algorithm, secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let secret = secret.as_ref();
        if !algorithm.is_hmac() {
            return Err(ConfigError::invalid(
                "JWT_ALGORITHM",
                format!("{algorithm} signs with a key pair, not a secret"),
            ));
        }
        if secret.is_empty() {
            return Err(ConfigError::invalid(
                "JWT_SECRET_KEY",
                "the secret is empty; use at least 32 random bytes",
            ));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::invalid(
                "JWT_SECRET_KEY",
                format!(
                    "the secret is {} bytes; {algorithm} needs at least {MIN_SECRET_BYTES} random bytes",
                    secret.len()
                ),
            ));
        }
        warn_if_weak(algorithm, secret);
        let digest = match algorithm {
            Algorithm::HS384 => hmac::HMAC_SHA384,
            Algorithm::HS512 => hmac::HMAC_SHA512,
            _ => hmac::HMAC_SHA256,
        };
        let signer = EncodingKey::from_secret(secret)
            .map_err(|e| ConfigError::invalid("JWT_SECRET_KEY", e.to_string()))?;
        Ok(Self::assemble(KeyInner {
            algorithm,
            kid: None,
            signer: Some(signer),
            verifier: Verifier::Hmac(hmac::Key::new(digest, secret)),
            public: None,
        }))
    }

    /// A key for `algorithm` from PEM text: a private key (PKCS#8 `PRIVATE KEY`, PKCS#1
    /// `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`), which signs and verifies, or a public key
    /// (`PUBLIC KEY`, `RSA PUBLIC KEY`), which only verifies. Its `kid` is the RFC 7638
    /// thumbprint of the public key.
    ///
    /// # Errors
    /// [`ConfigError::Key`] for text that is not such a key, an encrypted key, a key that does
    /// not fit `algorithm`, or an RSA key under [`MIN_RSA_BITS`].
    pub fn from_pem(algorithm: Algorithm, pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        KeyMaterial::from_pem(pem)?.into_key(algorithm)
    }

    /// Like [`from_pem`](Self::from_pem), from a DER document: PKCS#8, SubjectPublicKeyInfo,
    /// PKCS#1 (RSA) or SEC1 (EC).
    ///
    /// # Errors
    /// As [`from_pem`](Self::from_pem).
    pub fn from_der(algorithm: Algorithm, der: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        KeyMaterial::from_der(der)?.into_key(algorithm)
    }

    /// A verification key from a public JWK (RFC 7517), as a JWKS publishes it. The algorithm
    /// is the JWK's `alg`; without one it is the only algorithm of the key type (ES256 for
    /// P-256, ES384 for P-384, EdDSA for Ed25519), and RS256 for RSA (OpenID Connect's default).
    /// The `kid` is the JWK's, or else its RFC 7638 thumbprint. A JWK whose `use` is not `sig`
    /// is refused, and so is a private or symmetric JWK.
    ///
    /// # Errors
    /// [`ConfigError::Key`] naming what is wrong.
    pub fn from_jwk(jwk: &Value) -> Result<Self, ConfigError> {
        let fail = |reason: &str| ConfigError::Key(reason.to_owned());
        let jwk = jwk
            .as_object()
            .ok_or_else(|| fail("a JWK is a JSON object"))?;
        if jwk.get("use").is_some_and(|u| u != "sig") {
            return Err(fail("the JWK's \"use\" is not \"sig\""));
        }
        let public = material::parse_public_jwk(jwk).map_err(ConfigError::Key)?;
        let algorithm = match jwk.get("alg") {
            Some(Value::String(name)) => name
                .parse::<Algorithm>()
                .map_err(|_| fail("the JWK's \"alg\" is not a supported algorithm"))?,
            Some(_) => return Err(fail("the JWK's \"alg\" is not a string")),
            None => public.default_algorithm(),
        };
        let key = Self::from_material(algorithm, Material::Public(public))?;
        match jwk.get("kid") {
            Some(Value::String(kid)) if !kid.is_empty() => Ok(key.with_kid(kid.as_str())),
            Some(Value::String(_)) | None => Ok(key),
            Some(_) => Err(fail("the JWK's \"kid\" is not a string")),
        }
    }

    /// A new key pair for `algorithm` (RSA keys have 2048 bits), as PEM documents to store and
    /// load with [`from_pem`](Self::from_pem).
    ///
    /// # Errors
    /// [`ConfigError::Key`] for an HMAC algorithm, or if the system's randomness fails.
    pub fn generate(algorithm: Algorithm) -> Result<GeneratedKeyPair, ConfigError> {
        Self::generate_rsa(algorithm, MIN_RSA_BITS)
    }

    /// Like [`generate`](Self::generate), with an RSA modulus of `bits` (2048, 3072 or 4096).
    ///
    /// # Errors
    /// As [`generate`](Self::generate), and for another size.
    pub fn generate_rsa(
        algorithm: Algorithm,
        bits: usize,
    ) -> Result<GeneratedKeyPair, ConfigError> {
        material::generate(algorithm, bits).map_err(ConfigError::Key)
    }

    pub(crate) fn from_material(
        algorithm: Algorithm,
        material: Material,
    ) -> Result<Self, ConfigError> {
        let (public, signer) = match material {
            Material::Private(private) => (private.public, Some(private.encoding)),
            Material::Public(public) => (public, None),
        };
        if algorithm.is_hmac() {
            return Err(ConfigError::Key(format!(
                "{algorithm} signs with a secret; this is {}",
                public.describe()
            )));
        }
        let verifier = public.verifier(algorithm).map_err(ConfigError::Key)?;
        Ok(Self::assemble(KeyInner {
            algorithm,
            kid: Some(public.thumbprint()),
            signer,
            verifier: Verifier::Public(verifier),
            public: Some(public),
        }))
    }

    fn assemble(inner: KeyInner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The same key known by `kid` (for the `kid` header and the JWKS) instead of its default.
    #[must_use]
    pub fn with_kid(self, kid: impl Into<String>) -> Self {
        let mut inner = KeyInner::clone(&self.inner);
        inner.kid = Some(kid.into());
        Self::assemble(inner)
    }

    /// The only algorithm this key signs and verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.inner.algorithm
    }

    /// The key's id: the one given, else the RFC 7638 thumbprint of a public key; `None` for an
    /// HMAC secret never given one.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.inner.kid.as_deref()
    }

    /// Whether the key can sign (an HMAC secret or a private key).
    #[must_use]
    pub fn can_sign(&self) -> bool {
        self.inner.signer.is_some()
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key; `None` for HMAC.
    #[must_use]
    pub fn thumbprint(&self) -> Option<String> {
        self.inner.public.as_ref().map(PublicKey::thumbprint)
    }

    /// The public key as a JWK (`kty`, `use: "sig"`, `alg`, `kid` and the key members), as a
    /// JWKS lists it; `None` for an HMAC secret, which is never published.
    #[must_use]
    pub fn public_jwk(&self) -> Option<Value> {
        let public = self.inner.public.as_ref()?;
        let kid = self
            .inner
            .kid
            .clone()
            .unwrap_or_else(|| public.thumbprint());
        Some(Value::Object(public.jwk(self.inner.algorithm, &kid)))
    }

    pub(crate) fn signer(&self) -> Option<&EncodingKey> {
        self.inner.signer.as_ref()
    }

    pub(crate) fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let material = match (&self.inner.public, self.can_sign()) {
            (None, _) => "secret [redacted]".to_owned(),
            (Some(public), true) => format!("{} (private half [redacted])", public.describe()),
            (Some(public), false) => format!("{} (public)", public.describe()),
        };
        f.debug_struct("Key")
            .field("algorithm", &self.inner.algorithm)
            .field("kid", &self.inner.kid)
            .field("material", &material)
            .finish()
    }
}

/// One key of a ring, with the header jwt-gate writes for it and the end of its grace period.
pub(crate) struct RingKey {
    pub(crate) key: Key,
    /// Unix seconds from which the key verifies nothing more; `None`: no end.
    pub(crate) retire_at: Option<i64>,
    /// The base64url of the header jwt-gate issues with this key: a token whose header
    /// segment is exactly this needs no header parsing.
    pub(crate) own_header: String,
}

struct Ring {
    /// Unique per ring, so that the verified-token cache knows when the keys changed.
    version: u64,
    /// The index in `keys` of the key that signs.
    signing: Option<usize>,
    keys: Vec<RingKey>,
    /// One HMAC secret without a `kid`: Flask-JWT's header `{"typ","alg"}`, and an incoming
    /// `kid` is ignored. Every other ring puts `kid` in the header and requires it.
    flask_header: bool,
}

static RING_VERSIONS: AtomicU64 = AtomicU64::new(1);

/// The keys a [`Jwt`](crate::Jwt) signs and verifies with: a key ring, prepared once.
///
/// At most one key signs; every key verifies until its grace period ends. With a single HMAC
/// secret (Flask-JWT's case) tokens keep the header `{"typ": "JWT", "alg": ...}` and an
/// incoming `kid` is ignored. With a key pair, or several keys, every token carries the `kid`
/// of the key that signed it, and a token whose `kid` is missing or unknown is refused: the
/// ring never tries every key.
///
/// `Debug` never shows key material.
///
/// ```
/// use jwt_gate::{Algorithm, Keys};
///
/// let keys = Keys::hs256("a secret of at least thirty-two bytes!!")?;
/// assert_eq!(keys.algorithm(), Algorithm::HS256);
/// assert!(format!("{keys:?}").contains("redacted"));
///
/// // A short secret is a configuration error, never a panic.
/// assert!(Keys::hs256("short").is_err());
/// # Ok::<(), jwt_gate::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Keys {
    ring: Arc<Ring>,
}

impl Keys {
    /// HS256 with `secret` (at least 32 bytes).
    ///
    /// # Errors
    /// [`ConfigError`] for an empty secret or one under 32 bytes.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS256, secret)
    }

    /// HS384 with `secret` (at least 32 bytes).
    ///
    /// # Errors
    /// As [`hs256`](Self::hs256).
    pub fn hs384(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS384, secret)
    }

    /// HS512 with `secret` (at least 32 bytes).
    ///
    /// # Errors
    /// As [`hs256`](Self::hs256).
    pub fn hs512(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS512, secret)
    }

    /// One HMAC secret for `algorithm`: [`Key::hmac`] as a ring.
    ///
    /// # Errors
    /// As [`Key::hmac`].
    pub fn hmac(algorithm: Algorithm, secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::new(Key::hmac(algorithm, secret)?)
    }

    /// A ring of one key that signs and verifies.
    ///
    /// # Errors
    /// [`ConfigError::Key`] if the key cannot sign (a public key: use
    /// [`verify_only`](Self::verify_only)).
    pub fn new(signing: Key) -> Result<Self, ConfigError> {
        if !signing.can_sign() {
            return Err(ConfigError::Key(
                "a public key cannot sign; load the private key, or use Keys::verify_only".into(),
            ));
        }
        Self::assemble(Some(signing), Vec::new())
    }

    /// A ring that only verifies, with `keys` (an empty ring verifies nothing). A service
    /// built on it has no login route.
    ///
    /// # Errors
    /// [`ConfigError::Key`] for two keys with one `kid`, or an HMAC key without a `kid` among
    /// several keys.
    pub fn verify_only(keys: impl IntoIterator<Item = Key>) -> Result<Self, ConfigError> {
        Self::assemble(None, keys.into_iter().map(|key| (key, None)).collect())
    }

    /// This ring plus `key`, which verifies (never signs) until `retire_at`.
    ///
    /// # Errors
    /// As [`verify_only`](Self::verify_only).
    pub fn with_previous(&self, key: Key, retire_at: SystemTime) -> Result<Self, ConfigError> {
        let mut previous = self.previous_keys();
        previous.push((key, Some(system_time_seconds(retire_at))));
        Self::assemble(self.signing_key().cloned(), previous)
    }

    /// The ring after a rotation at `now`: `next` signs from now on; the key that signed until
    /// now verifies until `now + grace`, then retires; keys already retired at `now` are
    /// dropped. Choose `grace` at least as long as the longest token lifetime, so that every
    /// token signed before the rotation stays valid until it expires
    /// ([`Jwt::rotate_keys`](crate::Jwt::rotate_keys) does this for you).
    ///
    /// # Errors
    /// [`ConfigError::Key`] if `next` cannot sign, if its `kid` is taken, or if the key
    /// it replaces is an HMAC secret without a `kid` (its tokens carry no `kid`, so they could
    /// not be told apart from the new ones; give it one from the start with
    /// [`Key::with_kid`]).
    pub fn rotated(
        &self,
        next: Key,
        now: SystemTime,
        grace: Duration,
    ) -> Result<Self, ConfigError> {
        if !next.can_sign() {
            return Err(ConfigError::Key("a public key cannot sign".into()));
        }
        let now = system_time_seconds(now);
        let mut previous: Vec<(Key, Option<i64>)> = self
            .previous_keys()
            .into_iter()
            .filter(|(_, retire_at)| retire_at.is_none_or(|at| at > now))
            .collect();
        if let Some(current) = self.signing_key() {
            if current.kid().is_none() {
                return Err(ConfigError::Key(
                    "the current HMAC key has no kid, so its tokens cannot be told apart from the \
                     next key's; give every HMAC key a kid (Key::with_kid) before rotating"
                        .into(),
                ));
            }
            let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
            previous.push((current.clone(), Some(now.saturating_add(grace))));
        }
        Self::assemble(Some(next), previous)
    }

    fn previous_keys(&self) -> Vec<(Key, Option<i64>)> {
        self.ring
            .keys
            .iter()
            .enumerate()
            .filter(|(index, _)| Some(*index) != self.ring.signing)
            .map(|(_, entry)| (entry.key.clone(), entry.retire_at))
            .collect()
    }

    fn assemble(
        signing: Option<Key>,
        previous: Vec<(Key, Option<i64>)>,
    ) -> Result<Self, ConfigError> {
        let mut keys: Vec<(Key, Option<i64>)> = Vec::with_capacity(previous.len() + 1);
        let signing_index = signing.as_ref().map(|_| 0);
        keys.extend(signing.map(|key| (key, None)));
        keys.extend(previous);
        let flask_header =
            keys.len() == 1 && keys[0].0.algorithm().is_hmac() && keys[0].0.kid().is_none();
        if !flask_header {
            for (index, (key, _)) in keys.iter().enumerate() {
                let Some(kid) = key.kid() else {
                    return Err(ConfigError::Key(
                        "an HMAC key among several keys needs a kid (Key::with_kid); a kid is \
                         never derived from a secret"
                            .into(),
                    ));
                };
                if keys[..index]
                    .iter()
                    .any(|(other, _)| other.kid() == Some(kid))
                {
                    return Err(ConfigError::Key(format!(
                        "two keys of the ring have the kid {kid:?}"
                    )));
                }
            }
        }
        let keys = keys
            .into_iter()
            .map(|(key, retire_at)| {
                let own_header = URL_SAFE_NO_PAD.encode(own_header(&key, flask_header));
                RingKey {
                    key,
                    retire_at,
                    own_header,
                }
            })
            .collect();
        Ok(Self {
            ring: Arc::new(Ring {
                version: RING_VERSIONS.fetch_add(1, Ordering::Relaxed),
                signing: signing_index,
                keys,
                flask_header,
            }),
        })
    }

    /// Reads the keys from the environment: `JWT_ALGORITHM` (default `HS256`) with
    /// `JWT_SECRET_KEY` for HMAC, or with `JWT_PRIVATE_KEY_FILE` and `JWT_PUBLIC_KEY_FILE`
    /// (PEM; both required, and they must be one pair) for every other algorithm.
    ///
    /// # Errors
    /// An unset, empty or short secret, an unknown algorithm, a missing, unreadable or
    /// mismatched key file, or an RSA key under 2048 bits, with the variable named.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), with the variables looked up by `lookup`.
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let algorithm = match lookup("JWT_ALGORITHM").filter(|a| !a.is_empty()) {
            Some(name) => name.parse()?,
            None => Algorithm::HS256,
        };
        if !algorithm.is_hmac() {
            let private = read_key_file(&lookup, "JWT_PRIVATE_KEY_FILE", algorithm)?;
            let public = read_key_file(&lookup, "JWT_PUBLIC_KEY_FILE", algorithm)?;
            if !private.can_sign() {
                return Err(ConfigError::invalid(
                    "JWT_PRIVATE_KEY_FILE",
                    "holds a public key; it must be the private key",
                ));
            }
            if public.can_sign() || public.thumbprint() != private.thumbprint() {
                return Err(ConfigError::invalid(
                    "JWT_PUBLIC_KEY_FILE",
                    "is not the public key of JWT_PRIVATE_KEY_FILE",
                ));
            }
            return Self::new(private);
        }
        // The environment's copy is wiped once the key is prepared.
        let secret = lookup("JWT_SECRET_KEY")
            .map(zeroize::Zeroizing::new)
            .ok_or_else(|| {
                ConfigError::invalid(
                    "JWT_SECRET_KEY",
                    "not set; set it to at least 32 random bytes",
                )
            })?;
        Self::hmac(algorithm, secret.as_bytes())
    }

    /// The algorithm of the key that signs, else of the first key that verifies (`HS256` for an
    /// empty ring).
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.ring
            .keys
            .first()
            .map_or(Algorithm::HS256, |entry| entry.key.algorithm())
    }

    /// The key that signs; `None` for a ring that only verifies.
    #[must_use]
    pub fn signing_key(&self) -> Option<&Key> {
        self.ring.signing.map(|index| &self.ring.keys[index].key)
    }

    /// Every key of the ring, the signing key first, with the time each one retires.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, Option<SystemTime>)> {
        self.ring.keys.iter().map(|entry| {
            let retire_at = entry
                .retire_at
                .map(|at| UNIX_EPOCH + Duration::from_secs(u64::try_from(at).unwrap_or(0)));
            (&entry.key, retire_at)
        })
    }

    /// The JWKS document of the ring at `now`: the public keys not yet retired, never a secret
    /// (an HMAC ring publishes `{"keys": []}`).
    #[must_use]
    pub fn jwks(&self, now: SystemTime) -> Value {
        let now = system_time_seconds(now);
        let keys: Vec<Value> = self
            .ring
            .keys
            .iter()
            .filter(|entry| entry.retire_at.is_none_or(|at| at > now))
            .filter_map(|entry| entry.key.public_jwk())
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Seconds from `now` until the next key of the ring retires, if one will.
    pub(crate) fn next_retirement(&self, now: i64) -> Option<i64> {
        self.ring
            .keys
            .iter()
            .filter_map(|entry| entry.retire_at)
            .filter(|&at| at > now)
            .min()
            .map(|at| at - now)
    }

    pub(crate) fn version(&self) -> u64 {
        self.ring.version
    }

    pub(crate) fn flask_header(&self) -> bool {
        self.ring.flask_header
    }

    pub(crate) fn signing_entry(&self) -> Option<&RingKey> {
        self.ring.signing.map(|index| &self.ring.keys[index])
    }

    pub(crate) fn entries(&self) -> &[RingKey] {
        &self.ring.keys
    }

    /// The key a token names by `kid`.
    pub(crate) fn by_kid(&self, kid: &str) -> Option<&RingKey> {
        self.ring
            .keys
            .iter()
            .find(|entry| entry.key.kid() == Some(kid))
    }
}

/// PyJWT's byte-exact default header, plus the `kid` when the ring uses them.
fn own_header(key: &Key, flask_header: bool) -> String {
    let algorithm = key.algorithm().as_str();
    match key.kid() {
        Some(kid) if !flask_header => {
            serde_json::json!({"typ": "JWT", "alg": algorithm, "kid": kid}).to_string()
        }
        _ => format!(r#"{{"typ":"JWT","alg":"{algorithm}"}}"#),
    }
}

fn read_key_file(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    algorithm: Algorithm,
) -> Result<Key, ConfigError> {
    let path = lookup(variable).filter(|p| !p.is_empty()).ok_or_else(|| {
        ConfigError::invalid(
            variable,
            format!("not set; {algorithm} needs a PEM key file"),
        )
    })?;
    let fail = |reason: String| ConfigError::invalid(variable, format!("{path}: {reason}"));
    KeyMaterial::from_pem_file(&path)
        .and_then(|material| material.into_key(algorithm))
        .map_err(|error| match error {
            ConfigError::Key(reason) => fail(reason),
            other => other,
        })
}

/// Keys that change outside the [`Jwt`](crate::Jwt): a JWKS fetched over HTTP, or your own
/// source.
#[cfg_attr(
    feature = "remote-keys",
    doc = "\n[`remote::RemoteKeys`] (feature `remote-keys`) fetches a JWKS over HTTP(S), directly or by OpenID Connect discovery."
)]
pub trait KeySource: Send + Sync + fmt::Debug + 'static {
    /// The ring to verify with now. Called on every verification: make it cheap (an
    /// `ArcSwap` load).
    fn keys(&self) -> Keys;

    /// Called when a token names a `kid` the ring lacks: fetch the keys again if the source
    /// allows it now (rate-limit it: anyone can send unknown `kid`s), then resolve. The token
    /// is checked once more against [`keys`](Self::keys) afterwards.
    fn refresh(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;

    /// The issuer whose keys these are, when the source knows it (OpenID Connect discovery).
    /// A [`Jwt`](crate::Jwt) built on such a source requires it as `iss` of every token, and
    /// requires an audience to be configured.
    fn issuer(&self) -> Option<&str> {
        None
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("algorithm", &self.algorithm())
            .field(
                "keys",
                &self
                    .ring
                    .keys
                    .iter()
                    .map(|entry| &entry.key)
                    .collect::<Vec<_>>(),
            )
            .field("signing", &self.ring.signing.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn short_and_empty_secrets_are_refused() {
        assert!(Keys::hs256("").is_err());
        assert!(Keys::hs256(&SECRET[..31]).is_err());
        assert!(Keys::hs256(SECRET).is_ok());
        assert!(Keys::hs512(SECRET).is_ok());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let keys = Keys::hs384(SECRET).unwrap();
        let debug = format!("{keys:?}");
        assert!(!debug.contains(SECRET));
        assert!(debug.contains("HS384"));
    }

    #[test]
    fn from_lookup_reads_algorithm_and_secret() {
        let keys = Keys::from_lookup(|name| match name {
            "JWT_ALGORITHM" => Some("HS384".to_owned()),
            "JWT_SECRET_KEY" => Some(SECRET.to_owned()),
            _ => None,
        })
        .unwrap();
        assert_eq!(keys.algorithm(), Algorithm::HS384);
        let missing = Keys::from_lookup(|_| None).unwrap_err();
        assert!(missing.to_string().starts_with("JWT_SECRET_KEY"));
    }

    fn pair(algorithm: Algorithm) -> (Key, Key) {
        let generated = Key::generate(algorithm).unwrap();
        (
            Key::from_pem(algorithm, generated.private_pem.as_bytes()).unwrap(),
            Key::from_pem(algorithm, generated.public_pem.as_bytes()).unwrap(),
        )
    }

    #[test]
    fn a_single_hmac_secret_keeps_flask_jwt_s_header() {
        let keys = Keys::hs256(SECRET).unwrap();
        assert!(keys.flask_header());
        assert_eq!(keys.signing_key().unwrap().kid(), None);
        let header = URL_SAFE_NO_PAD
            .decode(&keys.signing_entry().unwrap().own_header)
            .unwrap();
        assert_eq!(header, br#"{"typ":"JWT","alg":"HS256"}"#);
        assert_eq!(
            keys.jwks(SystemTime::now()),
            serde_json::json!({"keys": []})
        );
        // Given a kid, the same secret puts it in the header (so that it can be rotated later).
        let named = Keys::new(Key::hmac(Algorithm::HS256, SECRET).unwrap().with_kid("k1")).unwrap();
        assert!(!named.flask_header());
        let header = URL_SAFE_NO_PAD
            .decode(&named.signing_entry().unwrap().own_header)
            .unwrap();
        assert_eq!(header, br#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#);
        assert_eq!(
            named.jwks(SystemTime::now()),
            serde_json::json!({"keys": []})
        );
    }

    #[test]
    fn asymmetric_keys_are_known_by_their_thumbprint() {
        let (private, public) = pair(Algorithm::ES256);
        assert_eq!(private.kid(), public.kid());
        assert_eq!(private.kid(), private.thumbprint().as_deref());
        let keys = Keys::new(private.clone()).unwrap();
        let jwks = keys.jwks(SystemTime::now());
        let published = &jwks["keys"][0];
        assert_eq!(published["kid"], private.kid().unwrap());
        assert_eq!(published["alg"], "ES256");
        assert_eq!(published["use"], "sig");
        assert!(published.get("d").is_none(), "never the private half");
        assert!(
            Keys::new(public.clone()).is_err(),
            "a public key cannot sign"
        );
        let round_trip = Key::from_jwk(published).unwrap();
        assert_eq!(round_trip.kid(), public.kid());
        assert!(!round_trip.can_sign());
        let debug = format!("{private:?}");
        assert!(
            debug.contains("redacted") && debug.contains("P-256"),
            "{debug}"
        );
    }

    #[test]
    fn ring_rules_on_kids() {
        let (a, _) = pair(Algorithm::EdDSA);
        let unnamed_secret = Key::hmac(Algorithm::HS256, SECRET).unwrap();
        assert!(Keys::verify_only([a.clone(), unnamed_secret.clone()]).is_err());
        assert!(
            Keys::verify_only([a.clone(), a.clone()]).is_err(),
            "one kid twice"
        );
        assert!(Keys::verify_only([a, unnamed_secret.with_kid("s1")]).is_ok());
        assert!(Keys::verify_only([]).unwrap().signing_key().is_none());
        let flask = Keys::hs256(SECRET).unwrap();
        let next = Key::hmac(Algorithm::HS256, [7; 32]).unwrap().with_kid("k2");
        let error = flask
            .rotated(next, SystemTime::now(), Duration::from_secs(60))
            .unwrap_err();
        assert!(error.to_string().contains("kid"), "{error}");
    }

    #[test]
    fn rotation_keeps_the_previous_key_for_its_grace_period() {
        let (first, _) = pair(Algorithm::ES384);
        let (second, _) = pair(Algorithm::ES384);
        let (third, _) = pair(Algorithm::ES384);
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let keys = Keys::new(first.clone()).unwrap();
        let keys = keys
            .rotated(second.clone(), t0, Duration::from_secs(600))
            .unwrap();
        assert_eq!(keys.signing_key().unwrap().kid(), second.kid());
        assert_ne!(keys.version(), Keys::new(first.clone()).unwrap().version());
        let retire = keys
            .iter()
            .find(|(key, _)| key.kid() == first.kid())
            .unwrap()
            .1;
        assert_eq!(retire, Some(t0 + Duration::from_secs(600)));
        assert_eq!(keys.jwks(t0)["keys"].as_array().unwrap().len(), 2);
        assert_eq!(
            keys.jwks(t0 + Duration::from_secs(600))["keys"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(keys.next_retirement(1_000_000), Some(600));
        // The next rotation after the grace period drops the retired key.
        let later = t0 + Duration::from_secs(601);
        let keys = keys
            .rotated(third.clone(), later, Duration::from_secs(600))
            .unwrap();
        let kids: Vec<_> = keys
            .iter()
            .map(|(key, _)| key.kid().unwrap().to_owned())
            .collect();
        assert_eq!(kids, [third.kid().unwrap(), second.kid().unwrap()]);
    }

    #[test]
    fn from_lookup_reads_key_files() {
        let (private, _) = pair(Algorithm::EdDSA);
        let generated = Key::generate(Algorithm::EdDSA).unwrap();
        let other = Key::generate(Algorithm::EdDSA).unwrap();
        let dir = std::env::temp_dir().join(format!("jwt-gate-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let private_file = write("private.pem", &generated.private_pem);
        let public_file = write("public.pem", &generated.public_pem);
        let other_public = write("other.pem", &other.public_pem);
        let lookup = |private: &str, public: &str| {
            let (private, public) = (private.to_owned(), public.to_owned());
            Keys::from_lookup(move |name| match name {
                "JWT_ALGORITHM" => Some("EdDSA".to_owned()),
                "JWT_PRIVATE_KEY_FILE" => Some(private.clone()).filter(|p| !p.is_empty()),
                "JWT_PUBLIC_KEY_FILE" => Some(public.clone()).filter(|p| !p.is_empty()),
                _ => None,
            })
        };
        let keys = lookup(&private_file, &public_file).unwrap();
        assert_eq!(keys.algorithm(), Algorithm::EdDSA);
        let setting = |error: ConfigError| match error {
            ConfigError::Invalid { setting, .. } => setting,
            other => panic!("{other}"),
        };
        assert_eq!(
            setting(lookup(&private_file, &other_public).unwrap_err()),
            "JWT_PUBLIC_KEY_FILE"
        );
        assert_eq!(
            setting(lookup(&private_file, "").unwrap_err()),
            "JWT_PUBLIC_KEY_FILE"
        );
        assert_eq!(
            setting(lookup("", &public_file).unwrap_err()),
            "JWT_PRIVATE_KEY_FILE"
        );
        assert_eq!(
            setting(lookup(&public_file, &public_file).unwrap_err()),
            "JWT_PRIVATE_KEY_FILE"
        );
        assert_eq!(
            setting(
                lookup(&dir.join("missing.pem").display().to_string(), &public_file).unwrap_err()
            ),
            "JWT_PRIVATE_KEY_FILE"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(private.can_sign());
    }
}
