//! Signing and verification keys. One algorithm per key, pinned: the token header never chooses
//! the algorithm or where the key comes from.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;
use crate::token::PreparedKey;

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
        Algorithm::HS512 => 64,
    };
    if secret.len() < hash_bytes {
        tracing::warn!(
            secret_bytes = secret.len(),
            "jwt-gate: {algorithm} works best with a secret of at least {hash_bytes} bytes"
        );
    }
}

/// A JWS signature algorithm.
#[doc(alias = "JWT_ALGORITHM")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
// New algorithms (RS*, PS*, ES*, EdDSA) are added as variants without a breaking change.
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256. Flask-JWT's default.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
}

impl Algorithm {
    /// The JOSE name, as in the token header's `alg`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = ConfigError;

    /// Parses a JOSE name exactly (upper case, as in the token header).
    fn from_str(name: &str) -> Result<Self, ConfigError> {
        match name {
            "HS256" => Ok(Self::HS256),
            "HS384" => Ok(Self::HS384),
            "HS512" => Ok(Self::HS512),
            "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384"
            | "EdDSA" => Err(ConfigError::invalid(
                "JWT_ALGORITHM",
                format!(
                    "{name} needs a key pair, which this version does not load; use HS256, HS384 or HS512"
                ),
            )),
            // The value is not quoted: a secret put in the wrong variable must not reach a log.
            _ => Err(ConfigError::invalid(
                "JWT_ALGORITHM",
                "unknown algorithm; expected HS256, HS384 or HS512 (upper case)",
            )),
        }
    }
}

/// The keys a [`Jwt`](crate::Jwt) signs and verifies with, prepared once at start-up.
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
    algorithm: Algorithm,
    prepared: PreparedKey,
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

    /// An HMAC key for `algorithm`.
    ///
    /// # Errors
    /// [`ConfigError`] for an empty secret, one under [`MIN_SECRET_BYTES`], or an algorithm
    /// that is not an HMAC algorithm.
    pub fn hmac(algorithm: Algorithm, secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let secret = secret.as_ref();
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
        let prepared = PreparedKey::hmac(algorithm, secret)
            .map_err(|reason| ConfigError::invalid("JWT_SECRET_KEY", reason))?;
        Ok(Self {
            algorithm,
            prepared,
        })
    }

    /// Reads `JWT_SECRET_KEY` and `JWT_ALGORITHM` (default `HS256`) from the environment.
    ///
    /// # Errors
    /// An unset, empty or short secret, or an unknown algorithm, with the variable named.
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

    /// The algorithm every token is signed with and the only one accepted.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub(crate) fn prepared(&self) -> &PreparedKey {
        &self.prepared
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("algorithm", &self.algorithm)
            .field("secret", &"[redacted]")
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
    fn algorithm_names_are_exact() {
        assert_eq!("HS512".parse::<Algorithm>().unwrap(), Algorithm::HS512);
        assert!("hs256".parse::<Algorithm>().is_err());
        assert!("none".parse::<Algorithm>().is_err());
        assert!("RS256".parse::<Algorithm>().is_err());
        let swapped = "a-secret-in-the-wrong-variable-0123456789".parse::<Algorithm>();
        assert!(!swapped.unwrap_err().to_string().contains("wrong-variable"));
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
}
