//! Correctly signed tokens over arbitrary header and claims bytes: the signature is never the
//! reason for a refusal, nothing panics, every refusal is a 4xx, and what is accepted agrees
//! with serde_json's reading of the same bytes.
//!
//! Input: one mode byte, then the segments. Mode bit 0 set: the header is the default
//! `{"typ":"JWT","alg":<alg>}` and the rest is the claims; clear: the rest is
//! `<header bytes> NUL <claims bytes>`. Mode bits 1-2 pick the algorithm (HS256, HS384, HS512).

#![no_main]

use jwt_gate::{Algorithm, JwtError, TokenError};
use jwt_gate_fuzz::{
    NOW, User, assert_client_error, builder_with, depth, keys, numeric_date, sign,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::OnceLock;

fn jwts() -> &'static [(Algorithm, jwt_gate::Jwt<User>); 3] {
    static JWTS: OnceLock<[(Algorithm, jwt_gate::Jwt<User>); 3]> = OnceLock::new();
    JWTS.get_or_init(|| {
        [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]
            .map(|alg| (alg, builder_with(keys(alg)).build().expect("a valid Jwt")))
    })
}

/// What serde_json makes of a segment: `Ok(value)` or the reason it is not JSON.
fn serde(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (algorithm, jwt) = &jwts()[usize::from((mode >> 1) & 3) % 3];
    let default_header = format!(r#"{{"typ":"JWT","alg":"{}"}}"#, algorithm.as_str());
    let (header, payload) = if mode & 1 == 1 {
        (default_header.as_bytes(), rest)
    } else {
        match rest.iter().position(|&b| b == 0) {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &[][..]),
        }
    };
    let token = sign(*algorithm, header, payload);
    let result = jwt.verify(&token);

    let header_json = serde(header);
    let payload_json = serde(payload);
    match &result {
        Err(JwtError::InvalidToken(error)) => {
            assert_client_error(jwt, result.as_ref().unwrap_err());
            match error {
                // Canonical encoding and a valid signature: never these.
                TokenError::NotEnoughSegments
                | TokenError::InvalidHeaderPadding
                | TokenError::InvalidPayloadPadding
                | TokenError::InvalidCryptoPadding
                | TokenError::SignatureInvalid => panic!("{error:?} for a well-formed token"),
                TokenError::TooLarge => assert!(token.len() > 8 * 1024),
                // The strict parser refuses what serde_json refuses, duplicates, and depth.
                TokenError::InvalidHeaderString(detail) => {
                    if let Some(value) = &header_json {
                        assert!(
                            !value.is_object() || detail.contains("duplicate"),
                            "{detail} for {value}"
                        );
                    }
                }
                TokenError::InvalidPayloadString(detail) => {
                    if let Some(value) = &payload_json {
                        assert!(
                            !value.is_object() || detail.contains("duplicate"),
                            "{detail} for {value}"
                        );
                    }
                }
                TokenError::TooDeeplyNested => {
                    let deep = |v: &Option<Value>| v.as_ref().is_none_or(|v| depth(v) > 32);
                    assert!(deep(&header_json) || deep(&payload_json));
                }
                TokenError::AlgorithmNotAllowed => {
                    if let Some(header) = &header_json {
                        assert_ne!(header["alg"].as_str(), Some(algorithm.as_str()), "{header}");
                    }
                }
                _ => {}
            }
        }
        Err(error) => {
            assert_client_error(jwt, error);
            // Only the identity claim can fail after validation.
            assert!(matches!(error, JwtError::UnknownIdentity), "{error:?}");
            let payload = payload_json.expect("accepted claims are JSON");
            assert!(
                payload.get("identity").and_then(Value::as_i64).is_none(),
                "{payload}"
            );
        }
        Ok(claims) => {
            // serde_json reads the same: a header naming the algorithm, no `crit`, claims
            // whose values are the ones verified.
            let header = header_json.expect("an accepted header is JSON");
            assert_eq!(header["alg"].as_str(), Some(algorithm.as_str()), "{header}");
            assert!(header.get("crit").is_none(), "{header}");
            assert!(depth(&header) <= 32);
            let payload = payload_json.expect("accepted claims are JSON");
            assert!(depth(&payload) <= 32);
            assert_eq!(
                payload["identity"].as_i64(),
                Some(claims.identity),
                "{payload}"
            );
            for (name, got) in [
                ("iat", claims.iat),
                ("nbf", claims.nbf),
                ("exp", claims.exp),
            ] {
                let want = payload.get(name).and_then(numeric_date);
                assert_eq!(got, want, "{name} of {payload}");
            }
            let (iat, nbf, exp) = (
                claims.iat.unwrap(),
                claims.nbf.unwrap(),
                claims.exp.unwrap(),
            );
            assert!(
                iat <= NOW + 10 && nbf <= NOW + 10 && exp >= NOW - 10,
                "{claims:?}"
            );
            assert!(payload.get("aud").is_none(), "{payload}");
            for (name, value) in &claims.extra {
                assert_eq!(payload.get(name), Some(value), "{name} of {payload}");
            }
        }
    }
});
