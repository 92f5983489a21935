//! The JWS algorithms, by their exact JOSE names.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;

/// A JWS signature algorithm. A key is made for exactly one; a token whose header names another
/// is refused before its signature is even looked at.
#[doc(alias = "JWT_ALGORITHM")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256. Flask-JWT's default.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Every algorithm, HMAC first.
    pub const ALL: [Self; 12] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
    ];

    /// The JOSE name, as in the token header's `alg`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Whether the algorithm signs with a shared secret (HS*) rather than a key pair.
    #[must_use]
    pub fn is_hmac(self) -> bool {
        matches!(self, Self::HS256 | Self::HS384 | Self::HS512)
    }

    /// Whether the algorithm signs with an RSA key (RS*, PS*).
    #[must_use]
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512
        )
    }

    pub(crate) fn jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as J;
        match self {
            Self::HS256 => J::HS256,
            Self::HS384 => J::HS384,
            Self::HS512 => J::HS512,
            Self::RS256 => J::RS256,
            Self::RS384 => J::RS384,
            Self::RS512 => J::RS512,
            Self::PS256 => J::PS256,
            Self::PS384 => J::PS384,
            Self::PS512 => J::PS512,
            Self::ES256 => J::ES256,
            Self::ES384 => J::ES384,
            Self::EdDSA => J::EdDSA,
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

    /// Parses a JOSE name exactly (as in the token header: upper case, and `EdDSA`).
    fn from_str(name: &str) -> Result<Self, ConfigError> {
        Self::ALL
            .into_iter()
            .find(|algorithm| algorithm.as_str() == name)
            // The value is not quoted: a secret put in the wrong variable must not reach a log.
            .ok_or_else(|| {
                ConfigError::invalid(
                    "JWT_ALGORITHM",
                    "unknown algorithm; expected HS256, HS384, HS512, RS256, RS384, RS512, \
                     PS256, PS384, PS512, ES256, ES384 or EdDSA (exact case)",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_exactly() {
        for algorithm in Algorithm::ALL {
            assert_eq!(algorithm.as_str().parse::<Algorithm>().unwrap(), algorithm);
            assert_eq!(
                format!("{:?}", algorithm.jsonwebtoken()),
                algorithm.as_str()
            );
        }
        for bad in ["hs256", "none", "ES512", "eddsa", ""] {
            assert!(bad.parse::<Algorithm>().is_err(), "{bad}");
        }
        let swapped = "a-secret-in-the-wrong-variable-0123456789".parse::<Algorithm>();
        assert!(!swapped.unwrap_err().to_string().contains("wrong-variable"));
        assert_eq!(Algorithm::ALL.iter().filter(|a| a.is_hmac()).count(), 3);
        assert_eq!(Algorithm::ALL.iter().filter(|a| a.is_rsa()).count(), 6);
    }
}
