//! Tokens: signing in jwt-gate's shape, decoding without verifying, and verification in
//! jwt-gate's (PyJWT 1.4.2's) order of checks, with its messages.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey, crypto};
use jwt_gate::{JwtConfig, TokenError};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Fail;
use crate::alg::Alg;
use crate::json;
use crate::keys::KeyKind;

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

/// Signs a token for `identity`, issued at `now`, valid `lifetime` seconds, with the header
/// `{"typ":"JWT","alg":<alg>}` (plus `kid` when given), as jwt-gate issues them.
pub(crate) fn sign(
    alg: Alg,
    key: &EncodingKey,
    kid: Option<&str>,
    identity: i64,
    now: i64,
    lifetime: i64,
    extra: &Map<String, Value>,
) -> Result<String, Fail> {
    let header = match kid {
        // Thumbprints are base64url: nothing to escape.
        Some(kid) => format!(r#"{{"typ":"JWT","alg":"{alg}","kid":"{kid}"}}"#),
        None => format!(r#"{{"typ":"JWT","alg":"{alg}"}}"#),
    };
    let payload = Payload {
        exp: now.saturating_add(lifetime),
        iat: now,
        nbf: now,
        identity,
        extra,
    };
    let payload = serde_json::to_vec(&payload).map_err(|e| Fail::usage(format!("claims: {e}")))?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let signature = crypto::sign(token.as_bytes(), key, alg.jsonwebtoken())
        .map_err(|e| Fail::usage(format!("signing failed: {e}")))?;
    token.push('.');
    token.push_str(&signature);
    Ok(token)
}

/// A token split and decoded, not verified.
#[derive(Debug)]
pub(crate) struct Decoded<'a> {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
    token: &'a str,
    signing_input: &'a str,
    signature: &'a str,
}

/// Decodes `token`: three base64url segments (canonical, unpadded), a JSON object header and a
/// JSON object payload, without duplicate members. The error says why it is not a JWT, in
/// PyJWT's words.
pub(crate) fn decode(token: &str) -> Result<Decoded<'_>, TokenError> {
    let (signing_input, signature) = token
        .rsplit_once('.')
        .ok_or(TokenError::NotEnoughSegments)?;
    let (header_segment, payload_segment) = signing_input
        .split_once('.')
        .ok_or(TokenError::NotEnoughSegments)?;
    let header = URL_SAFE_NO_PAD
        .decode(header_segment)
        .map_err(|_| TokenError::InvalidHeaderPadding)?;
    let header = json::parse_object(&header).map_err(TokenError::InvalidHeaderString)?;
    // A fourth segment lands in the payload segment, whose '.' is not base64url.
    let payload = URL_SAFE_NO_PAD
        .decode(payload_segment)
        .map_err(|_| TokenError::InvalidPayloadPadding)?;
    URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::InvalidCryptoPadding)?;
    let claims = json::parse_object(&payload).map_err(TokenError::InvalidPayloadString)?;
    Ok(Decoded {
        header,
        claims,
        token,
        signing_input,
        signature,
    })
}

/// What a verification key is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Family {
    /// A shared secret: any HS algorithm.
    Secret,
    /// A public key: the algorithms of its kind.
    Key(KeyKind),
}

impl Family {
    pub(crate) fn accepts(self, alg: Alg) -> bool {
        match self {
            Self::Secret => alg.hmac().is_some(),
            Self::Key(kind) => kind.fits(alg),
        }
    }
}

/// What verifies a token: a key, and the one algorithm accepted when pinned.
#[derive(Debug)]
pub(crate) struct Verifier {
    pub(crate) key: DecodingKey,
    pub(crate) family: Family,
    pub(crate) pinned: Option<Alg>,
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

impl Decoded<'_> {
    /// Verifies the token as a jwt-gate service with default settings would, except that only
    /// `exp` is required: size and nesting limits, `alg` (the key's, or the pinned one), no
    /// `crit`, the signature, the claim count, then `iat`, `nbf` and `exp` (leeway 10 s) and
    /// no `aud`. `now` is Unix seconds.
    pub(crate) fn verify(&self, verifier: &Verifier, now: i64) -> Result<(), TokenError> {
        let config = JwtConfig::default();
        if self.token.len() > config.max_token_bytes {
            return Err(TokenError::TooLarge);
        }
        let too_deep = |object: &Map<String, Value>| {
            object.values().map(json::depth).max().unwrap_or(0) + 1 > config.max_json_depth
        };
        if too_deep(&self.header) || too_deep(&self.claims) {
            return Err(TokenError::TooDeeplyNested);
        }
        let alg = self
            .header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Alg::from_name)
            .filter(|&alg| verifier.family.accepts(alg) && verifier.pinned.is_none_or(|p| p == alg))
            .ok_or(TokenError::AlgorithmNotAllowed)?;
        if self.header.contains_key("crit") {
            return Err(TokenError::UnsupportedCriticalHeader);
        }
        let valid = crypto::verify(
            self.signature,
            self.signing_input.as_bytes(),
            &verifier.key,
            alg.jsonwebtoken(),
        );
        if !matches!(valid, Ok(true)) {
            return Err(TokenError::SignatureInvalid);
        }
        self.validate_claims(&config, now)
    }

    fn validate_claims(&self, config: &JwtConfig, now: i64) -> Result<(), TokenError> {
        let claims = &self.claims;
        if claims.len() > config.max_claims {
            return Err(TokenError::TooManyClaims);
        }
        if claims.get("exp").is_none_or(Value::is_null) {
            return Err(TokenError::MissingClaim("exp"));
        }
        let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
        let iat = numeric_date(claims, "iat").transpose();
        let iat = iat.map_err(|()| TokenError::IatNotInteger)?;
        if iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(TokenError::IatInFuture);
        }
        let nbf = numeric_date(claims, "nbf").transpose();
        let nbf = nbf.map_err(|()| TokenError::NbfNotInteger)?;
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(TokenError::NotYetValid);
        }
        let exp = numeric_date(claims, "exp").transpose();
        let exp = exp.map_err(|()| TokenError::ExpNotInteger)?;
        if exp.is_some_and(|exp| exp < now.saturating_sub(leeway)) {
            return Err(TokenError::Expired);
        }
        // jwt-gate (like Flask-JWT) configures no audience, so any `aud` fails.
        match claims.get("aud") {
            None => Ok(()),
            Some(Value::String(_)) => Err(TokenError::InvalidAudience),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                Err(TokenError::InvalidAudience)
            }
            Some(_) => Err(TokenError::InvalidClaimFormat),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn hs256() -> Verifier {
        Verifier {
            key: DecodingKey::from_secret(SECRET).unwrap(),
            family: Family::Secret,
            pinned: None,
        }
    }

    fn token(claims: &Value) -> String {
        let key = EncodingKey::from_secret(SECRET).unwrap();
        let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"HS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{header}.{payload}");
        let signature = crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256);
        format!("{input}.{}", signature.unwrap())
    }

    #[test]
    fn signed_tokens_have_jwt_gates_shape() {
        let key = EncodingKey::from_secret(SECRET).unwrap();
        let extra = serde_json::json!({"role": "admin"});
        let token = sign(
            Alg::HS256,
            &key,
            None,
            7,
            1000,
            300,
            extra.as_object().unwrap(),
        );
        let token = token.unwrap();
        let header = token.split('.').next().unwrap();
        assert_eq!(
            header,
            URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"HS256"}"#)
        );
        let decoded = decode(&token).unwrap();
        assert_eq!(
            Value::Object(decoded.claims.clone()),
            serde_json::json!({"exp": 1300, "iat": 1000, "nbf": 1000, "identity": 7, "role": "admin"})
        );
        assert_eq!(decoded.verify(&hs256(), 1000), Ok(()));
        assert_eq!(decoded.verify(&hs256(), 1310), Ok(()));
        assert_eq!(decoded.verify(&hs256(), 1311), Err(TokenError::Expired));
    }

    #[test]
    fn time_claims_in_order() {
        let now = 10_000;
        let cases = [
            (serde_json::json!({}), TokenError::MissingClaim("exp")),
            (
                serde_json::json!({"exp": null}),
                TokenError::MissingClaim("exp"),
            ),
            (serde_json::json!({"exp": "1"}), TokenError::ExpNotInteger),
            (
                serde_json::json!({"exp": now, "iat": true}),
                TokenError::IatNotInteger,
            ),
            (
                serde_json::json!({"exp": now, "iat": now + 11}),
                TokenError::IatInFuture,
            ),
            (
                serde_json::json!({"exp": now, "nbf": now + 11}),
                TokenError::NotYetValid,
            ),
            (serde_json::json!({"exp": now - 11}), TokenError::Expired),
            (
                serde_json::json!({"exp": now, "aud": "x"}),
                TokenError::InvalidAudience,
            ),
            (
                serde_json::json!({"exp": now, "aud": 5}),
                TokenError::InvalidClaimFormat,
            ),
        ];
        for (claims, error) in cases {
            let token = token(&claims);
            assert_eq!(
                decode(&token).unwrap().verify(&hs256(), now),
                Err(error),
                "{claims}"
            );
        }
        let fine = token(&serde_json::json!({"exp": 10_000.5, "iat": now + 10, "nbf": now}));
        assert_eq!(decode(&fine).unwrap().verify(&hs256(), now), Ok(()));
    }

    #[test]
    fn structure_errors_are_pyjwts() {
        assert_eq!(decode("abc").unwrap_err(), TokenError::NotEnoughSegments);
        assert_eq!(decode("a.b").unwrap_err(), TokenError::NotEnoughSegments);
        assert_eq!(
            decode("a=.e30.").unwrap_err(),
            TokenError::InvalidHeaderPadding
        );
        assert!(matches!(
            decode("e30.e30.x.y").unwrap_err(),
            TokenError::InvalidPayloadPadding
        ));
        assert!(matches!(
            decode("bm90IGpzb24.e30.").unwrap_err(),
            TokenError::InvalidHeaderString(_)
        ));
        assert!(matches!(
            decode("e30.WzFd.").unwrap_err(),
            TokenError::InvalidPayloadString(_)
        ));
        assert_eq!(
            decode("e30.e30.***").unwrap_err(),
            TokenError::InvalidCryptoPadding
        );
        assert!(decode("e30.e30.").is_ok());
    }
}
