//! The token codec as building blocks: sign claims, verify a token, read one without verifying
//! it. [`Jwt`](crate::Jwt) signs and verifies with exactly these; they are public for tools
//! (the `jwt-gate` command) and for services that replace a step.
//!
//! ```
//! use jwt_gate::{JwtConfig, Keys, codec};
//! use serde_json::json;
//!
//! let keys = Keys::hs256("a secret of at least thirty-two bytes!!")?;
//! let now = 1_700_000_000;
//! let token = codec::encode(&keys, None, &json!({"identity": 1, "iat": now, "nbf": now, "exp": now + 300}))
//!     .unwrap();
//! let claims = codec::decode(&token, &keys, &JwtConfig::default(), now).unwrap();
//! assert_eq!(claims["identity"], 1);
//! let unverified = codec::decode_unverified(&token, &JwtConfig::default()).unwrap();
//! assert_eq!(unverified.header["alg"], "HS256");
//! # Ok::<(), jwt_gate::ConfigError>(())
//! ```

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::JwtConfig;
use crate::error::{JwtError, TokenError};
use crate::keys::Keys;
use crate::token;

/// Signs `claims` with the signing key of `keys`: the header is `{"typ":"JWT","alg":..}`, plus
/// the key's `kid` unless the ring is one HMAC secret without one, plus `extra_header` (which
/// cannot change `alg` or `kid`, and whose `crit` is dropped).
///
/// # Errors
/// [`JwtError::Internal`] when the keys cannot sign or the claims do not serialize.
pub fn encode(
    keys: &Keys,
    extra_header: Option<&Map<String, Value>>,
    claims: &impl Serialize,
) -> Result<String, JwtError> {
    token::encode(keys, extra_header, claims)
}

/// Verifies `token` as a [`Jwt`](crate::Jwt) with `config` does at `now` (Unix seconds): every
/// check in PyJWT 1.4.2's order (size, segments, encodings, `kid`, `alg`, signature, claims,
/// time rules, audience, issuer, subject). Returns the claims.
///
/// # Errors
/// The [`TokenError`] of the first check that fails.
pub fn decode(
    token: &str,
    keys: &Keys,
    config: &JwtConfig,
    now: i64,
) -> Result<Map<String, Value>, TokenError> {
    token::decode(token, keys, config, now).map(|verified| verified.payload)
}

/// A token's header and claims, decoded but NOT verified: for inspection only.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Unverified {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
}

/// Splits and decodes `token` without checking its signature or claims: canonical base64url
/// segments, JSON objects without duplicate members, within `config`'s size and depth limits.
/// Never trust what it returns.
///
/// # Errors
/// The [`TokenError`] that says why it is not a JWT, in PyJWT's words.
pub fn decode_unverified(token: &str, config: &JwtConfig) -> Result<Unverified, TokenError> {
    token::decode_unverified(token, config)
}
