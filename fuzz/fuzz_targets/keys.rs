//! Key material from arbitrary bytes: `KeyMaterial::from_pem`, `KeyMaterial::from_der` and
//! `Key::from_jwk` never panic, and whatever they accept behaves: its thumbprint is a 43-char
//! base64url SHA-256, every algorithm it claims to fit makes a key (the others are refused), a
//! key that signs verifies its own tokens, and a published JWK reads back as the same key.
//!
//! Input: any bytes, tried as PEM text, as a DER document and as a JWK (JSON).

#![no_main]

use jwt_gate::{Algorithm, JwtConfig, Key, KeyMaterial, Keys, codec};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fn check(material: KeyMaterial) {
    let thumbprint = material.thumbprint();
    assert_eq!(thumbprint.len(), 43, "{thumbprint}");
    let fits = material.algorithms();
    assert!(!fits.is_empty());
    assert!(fits.iter().all(|algorithm| !algorithm.is_hmac()));
    let private = material.is_private();
    let first = fits[0];
    let key = material.into_key(first).expect("an algorithm it fits");
    assert_eq!(key.kid(), Some(thumbprint.as_str()));
    assert_eq!(key.can_sign(), private);
    check_key(&key);
}

fn check_key(key: &Key) {
    let jwk = key.public_jwk().expect("a key pair has a public half");
    assert!(jwk.get("d").is_none());
    let read_back = Key::from_jwk(&jwk).expect("its own JWK");
    assert_eq!(read_back.kid(), key.kid());
    assert_eq!(read_back.algorithm(), key.algorithm());
    if key.can_sign() {
        let now = 1_700_000_000;
        let claims = json!({"identity": 1, "iat": now, "nbf": now, "exp": now + 60});
        let token = codec::encode(&Keys::new(key.clone()).unwrap(), None, &claims).unwrap();
        let verifier = Keys::verify_only([read_back]).unwrap();
        let decoded = codec::decode(&token, &verifier, &JwtConfig::default(), now).unwrap();
        assert_eq!(decoded["identity"], 1);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(material) = KeyMaterial::from_pem(data) {
        check(material);
    }
    if let Ok(material) = KeyMaterial::from_der(data) {
        check(material);
    }
    if let Ok(jwk) = serde_json::from_slice::<Value>(data)
        && let Ok(key) = Key::from_jwk(&jwk)
    {
        assert!(!key.can_sign());
        assert!(!key.algorithm().is_hmac());
        assert!(Keys::new(key.clone()).is_err());
        check_key(&key);
    }
    // Every algorithm parses a secret the same way it always did: never a key pair.
    let _ = Key::hmac(Algorithm::HS256, data);
});
