//! Tokens, through the library's codec: signing in jwt-gate's shape, decoding without verifying,
//! and verification as a jwt-gate service does it (PyJWT 1.4.2's order of checks and messages).

use jwt_gate::{Algorithm, JwtConfig, KeyMaterial, Keys, TokenError, codec};
use serde::Serialize;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::{Fail, keys};

/// The claims jwt-gate writes itself; `--claim` cannot set them.
pub(crate) const RESERVED_CLAIMS: [&str; 4] = ["identity", "iat", "nbf", "exp"];

/// Flask-JWT's payload, in jwt-gate's member order, then the extra claims.
#[derive(Serialize)]
struct Payload<'a> {
    exp: i64,
    iat: i64,
    nbf: i64,
    identity: i64,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

/// Signs a token for `identity`, issued at `now`, valid `lifetime` seconds, with the signing
/// key of `keys`: the header is the one a jwt-gate service issues with them
/// (`{"typ":"JWT","alg":..}`, plus the key's `kid` for a key pair).
pub(crate) fn sign(
    keys: &Keys,
    identity: i64,
    now: i64,
    lifetime: i64,
    extra: &Map<String, Value>,
) -> Result<String, Fail> {
    let payload = Payload {
        exp: now.saturating_add(lifetime),
        iat: now,
        nbf: now,
        identity,
        extra,
    };
    codec::encode(keys, None, &payload).map_err(|e| Fail::usage(format!("signing failed: {e}")))
}

/// The rules a token must follow to be decoded at all: jwt-gate's segment, base64url and JSON
/// rules. The size and nesting limits are left to verification, which reports a token over
/// them as invalid (exit status 1) rather than not decodable.
fn shape_config() -> JwtConfig {
    let mut config = JwtConfig::default();
    config.max_token_bytes = usize::MAX;
    // serde_json's own recursion limit (128) still bounds the parser.
    config.max_json_depth = usize::MAX;
    config
}

/// A jwt-gate service's default settings, except that only `exp` is required.
fn verify_config() -> JwtConfig {
    let mut config = JwtConfig::default();
    config.required_claims = vec!["exp".to_owned()];
    config
}

/// Decodes `token` without verifying it. The error says why it is not a JWT, in PyJWT's words.
pub(crate) fn decode(token: &str) -> Result<codec::Unverified, TokenError> {
    codec::decode_unverified(token, &shape_config())
}

/// What `inspect` verifies with, read before the token: a shared secret or a key file, and the
/// one algorithm accepted when `--alg` pins it. (No `Debug`: it holds the secret.)
pub(crate) enum Verifier {
    /// `JWT_SECRET_KEY` (already checked to be long enough).
    Secret {
        secret: Zeroizing<Vec<u8>>,
        pinned: Option<Algorithm>,
    },
    /// `--key-file` (the pinned algorithm, if any, already checked to fit it).
    Key {
        material: KeyMaterial,
        pinned: Option<Algorithm>,
    },
}

impl Verifier {
    /// The ring a jwt-gate service would verify this token with. Its algorithm is the pinned
    /// one; else the token's `alg` when the key fits it (any HS algorithm for a secret, RS* or
    /// PS* for an RSA key: never `none`, never HMAC for a key pair); else the key's own, which
    /// then refuses the token's `alg`.
    fn keys(self, header: &Map<String, Value>) -> Result<Keys, Fail> {
        let named = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(|name| name.parse::<Algorithm>().ok());
        match self {
            Self::Secret { secret, pinned } => {
                let algorithm = pinned
                    .or(named.filter(|alg| alg.is_hmac()))
                    .unwrap_or(Algorithm::HS256);
                Keys::hmac(algorithm, &*secret).map_err(|e| Fail::usage(e.to_string()))
            }
            Self::Key { material, pinned } => {
                let fits = material.algorithms();
                let algorithm = pinned
                    .or(named.filter(|alg| fits.contains(alg)))
                    .or(fits.first().copied())
                    .ok_or_else(|| Fail::usage(format!("{material} fits no algorithm")))?;
                let key = material
                    .into_key(algorithm)
                    .map_err(|e| Fail::usage(keys::reason(e)))?;
                Keys::verify_only([key]).map_err(|e| Fail::usage(e.to_string()))
            }
        }
    }

    /// Verifies `token` (already decoded as `unverified`) at `now`, Unix seconds, with only
    /// `exp` required: jwt-gate's size and nesting limits, the `kid` of a key pair, `alg`, no
    /// `crit`, the signature, the claim count, `iat`, `nbf` and `exp` (leeway 10 s), no `aud`.
    /// `Err` only for a key that cannot be used; `Ok(Err(..))` for an invalid token.
    pub(crate) fn verify(
        self,
        token: &str,
        unverified: &codec::Unverified,
        now: i64,
    ) -> Result<Result<(), TokenError>, Fail> {
        let keys = self.keys(&unverified.header)?;
        Ok(codec::decode(token, &keys, &verify_config(), now).map(drop))
    }
}

/// A time claim read as jwt-gate reads it (PyJWT's `int()` of a JSON number): fractions
/// truncated, numbers beyond `i64` saturated. `Err(())` for anything that is not a number.
pub(crate) fn numeric_date(claims: &Map<String, Value>, name: &str) -> Option<Result<i64, ()>> {
    let value = claims.get(name)?;
    let Value::Number(number) = value else {
        return Some(Err(()));
    };
    Some(Ok(if let Some(seconds) = number.as_i64() {
        seconds
    } else if number.as_u64().is_some() {
        i64::MAX
    } else {
        // `as` saturates at the i64 bounds, which is the intent.
        number.as_f64().map_or(0, |f| f.trunc() as i64)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jwt_gate::Key;
    use serde_json::json;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn secret(pinned: Option<Algorithm>) -> Verifier {
        Verifier::Secret {
            secret: Zeroizing::new(SECRET.to_vec()),
            pinned,
        }
    }

    fn check(verifier: Verifier, token: &str, now: i64) -> Result<(), TokenError> {
        let unverified = decode(token).unwrap();
        verifier.verify(token, &unverified, now).unwrap()
    }

    fn hs(algorithm: Algorithm, claims: &Value) -> String {
        let keys = Keys::hmac(algorithm, SECRET).unwrap();
        codec::encode(&keys, None, claims).unwrap()
    }

    #[test]
    fn signed_tokens_have_jwt_gates_shape() {
        let keys = Keys::hs256(SECRET).unwrap();
        let extra = json!({"role": "admin"});
        let token = sign(&keys, 7, 1000, 300, extra.as_object().unwrap()).unwrap();
        let decoded = decode(&token).unwrap();
        assert_eq!(
            Value::Object(decoded.header),
            json!({"typ": "JWT", "alg": "HS256"})
        );
        assert_eq!(
            Value::Object(decoded.claims),
            json!({"exp": 1300, "iat": 1000, "nbf": 1000, "identity": 7, "role": "admin"})
        );
        assert_eq!(check(secret(None), &token, 1000), Ok(()));
        assert_eq!(check(secret(None), &token, 1310), Ok(()));
        assert_eq!(check(secret(None), &token, 1311), Err(TokenError::Expired));
    }

    #[test]
    fn only_exp_is_required() {
        let now = 10_000;
        let cases = [
            (json!({}), TokenError::MissingClaim("exp")),
            (json!({"exp": null}), TokenError::MissingClaim("exp")),
            (json!({"exp": "1"}), TokenError::ExpNotInteger),
            (json!({"exp": now, "iat": true}), TokenError::IatNotInteger),
            (
                json!({"exp": now, "iat": now + 11}),
                TokenError::IatInFuture,
            ),
            (
                json!({"exp": now, "nbf": now + 11}),
                TokenError::NotYetValid,
            ),
            (json!({"exp": now - 11}), TokenError::Expired),
            (json!({"exp": now, "aud": "x"}), TokenError::InvalidAudience),
            (
                json!({"exp": now, "aud": 5}),
                TokenError::InvalidClaimFormat,
            ),
        ];
        for (claims, error) in cases {
            let token = hs(Algorithm::HS256, &claims);
            assert_eq!(check(secret(None), &token, now), Err(error), "{claims}");
        }
        let fine = hs(
            Algorithm::HS256,
            &json!({"exp": 10_000.5, "iat": now + 10, "nbf": now}),
        );
        assert_eq!(check(secret(None), &fine, now), Ok(()));
    }

    #[test]
    fn a_secret_verifies_the_hs_algorithm_of_the_token_unless_pinned() {
        let token = hs(Algorithm::HS512, &json!({"exp": 2000}));
        assert_eq!(check(secret(None), &token, 1000), Ok(()));
        assert_eq!(check(secret(Some(Algorithm::HS512)), &token, 1000), Ok(()));
        assert_eq!(
            check(secret(Some(Algorithm::HS256)), &token, 1000),
            Err(TokenError::AlgorithmNotAllowed)
        );
    }

    #[test]
    fn an_rsa_key_verifies_rs_and_ps_unless_pinned() {
        let pair = Key::generate(Algorithm::PS384).unwrap();
        let private = Key::from_pem(Algorithm::PS384, pair.private_pem.as_bytes()).unwrap();
        let token =
            codec::encode(&Keys::new(private).unwrap(), None, &json!({"exp": 2000})).unwrap();
        let public = |pinned| Verifier::Key {
            material: KeyMaterial::from_pem(pair.public_pem.as_bytes()).unwrap(),
            pinned,
        };
        assert_eq!(check(public(None), &token, 1000), Ok(()));
        assert_eq!(check(public(Some(Algorithm::PS384)), &token, 1000), Ok(()));
        assert_eq!(
            check(public(Some(Algorithm::RS384)), &token, 1000),
            Err(TokenError::AlgorithmNotAllowed)
        );
    }

    #[test]
    fn decoding_keeps_jwt_gates_rules_but_not_its_limits() {
        assert_eq!(decode("abc").unwrap_err(), TokenError::NotEnoughSegments);
        assert_eq!(
            decode("a=.e30.").unwrap_err(),
            TokenError::InvalidHeaderPadding
        );
        assert_eq!(
            decode("e30.e30.x.y").unwrap_err(),
            TokenError::InvalidPayloadPadding
        );
        assert!(matches!(
            decode("e30.WzFd.").unwrap_err(),
            TokenError::InvalidPayloadString(_)
        ));
        assert_eq!(
            decode("e30.e30.***").unwrap_err(),
            TokenError::InvalidCryptoPadding
        );
        assert!(decode("e30.e30.").is_ok());
        // Over jwt-gate's size limit: decoded, then invalid.
        let big = hs(
            Algorithm::HS256,
            &json!({"exp": 2000, "pad": "x".repeat(9000)}),
        );
        assert!(decode(&big).is_ok());
        assert_eq!(check(secret(None), &big, 1000), Err(TokenError::TooLarge));
    }
}
