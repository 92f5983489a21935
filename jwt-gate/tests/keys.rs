//! Keys (CONTRACT.md "Keys extension"): every algorithm through a `Jwt`, every key format of
//! `tests/fixtures`, the refusals, the signer × verifier matrix of the twelve algorithms with
//! the classic attacks, rotation with grace on a fixed clock (and the verified-token cache),
//! and the `iss` / `aud` / `sub` rules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use common::{
    NOW, SECRET, TestApp, User, assert_invalid_token, assert_user, b64, builder_with_keys, clock,
    fixture, fixture_dir, token, unb64, user,
};
use jsonwebtoken::EncodingKey;
use jwt_gate::test_kit::{peek_claims, peek_header};
use jwt_gate::{
    Algorithm, ConfigError, FixedClock, Jwt, JwtConfig, JwtError, Key, Keys, TokenError,
};
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers.

/// The HMAC secret of "the" key of each HMAC algorithm (64 bytes: no short-secret warning).
const SECRET_A: [u8; 64] = [b'A'; 64];
/// Another secret, for "the same algorithm, another key".
const SECRET_B: [u8; 64] = [b'B'; 64];

/// `tests/fixtures/<dir>/public.jwk.json`, written by `make-jwk.py` (openssl + Python, not
/// jwt-gate).
fn fixture_jwk(dir: &str) -> Value {
    serde_json::from_slice(&fixture(&format!("{dir}/public.jwk.json"))).unwrap()
}

/// The RFC 7638 thumbprint of the fixture key of `algorithm`, as `make-jwk.py` computed it.
fn fixture_kid(algorithm: Algorithm) -> String {
    fixture_jwk(fixture_dir(algorithm))["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The asymmetric algorithms.
fn asymmetric() -> impl Iterator<Item = Algorithm> {
    Algorithm::ALL.into_iter().filter(|a| !a.is_hmac())
}

/// "The" key of `algorithm`: `SECRET_A`, or the fixture's private key (PKCS#8 PEM).
fn private_key(algorithm: Algorithm) -> Key {
    if algorithm.is_hmac() {
        Key::hmac(algorithm, SECRET_A).unwrap()
    } else {
        let pem = fixture(&format!("{}/private.pem", fixture_dir(algorithm)));
        Key::from_pem(algorithm, pem).unwrap()
    }
}

/// The public half of the fixture key of `algorithm` (SPKI PEM).
fn public_key(algorithm: Algorithm) -> Key {
    Key::from_pem(
        algorithm,
        fixture(&format!("{}/public.pem", fixture_dir(algorithm))),
    )
    .unwrap()
}

/// Another key of `algorithm`: `SECRET_B`, or a new key pair.
fn other_key(algorithm: Algorithm) -> Key {
    if algorithm.is_hmac() {
        Key::hmac(algorithm, SECRET_B).unwrap()
    } else {
        let pair = Key::generate(algorithm).unwrap();
        Key::from_pem(algorithm, pair.private_pem.as_bytes()).unwrap()
    }
}

/// A `Jwt` on `keys` at NOW, with `config`.
fn jwt_with(keys: Keys, config: JwtConfig) -> (Jwt<User>, Arc<FixedClock>) {
    let clock = clock();
    let jwt = builder_with_keys(keys, &clock)
        .config(config)
        .build()
        .unwrap();
    (jwt, clock)
}

/// A `Jwt` on `keys` at NOW, Flask-JWT's defaults.
fn jwt(keys: Keys) -> Jwt<User> {
    jwt_with(keys, JwtConfig::default()).0
}

/// A `Jwt` signing with `key` alone.
fn jwt_signing(key: Key) -> Jwt<User> {
    jwt(Keys::new(key).unwrap())
}

/// jsonwebtoken's name for `algorithm`.
fn jose(algorithm: Algorithm) -> jsonwebtoken::Algorithm {
    algorithm.as_str().parse().unwrap()
}

/// jsonwebtoken's signing key for the fixture key of `algorithm`, from the DER files as
/// jsonwebtoken reads them (PKCS#1 for RSA, PKCS#8 for the others), not through jwt-gate.
fn foreign_signer(algorithm: Algorithm) -> EncodingKey {
    if algorithm.is_hmac() {
        return EncodingKey::from_secret(&SECRET_A).unwrap();
    }
    match algorithm {
        rsa if rsa.is_rsa() => {
            let pkcs1 = pem::parse(fixture("rsa/private-pkcs1.pem")).unwrap();
            EncodingKey::from_rsa_der(pkcs1.contents())
        }
        Algorithm::EdDSA => EncodingKey::from_ed_der(&fixture("ed25519/private.der")),
        _ => {
            // jsonwebtoken's aws-lc-rs signer reads the strict PKCS#8 v1 that aws-lc-rs itself
            // writes, not OpenSSL's: aws-lc-rs (not jwt-gate) re-encodes the file.
            let signing = if algorithm == Algorithm::ES256 {
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING
            } else {
                &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING
            };
            let der = fixture(&format!("{}/private.der", fixture_dir(algorithm)));
            let pair =
                aws_lc_rs::signature::EcdsaKeyPair::from_private_key_der(signing, &der).unwrap();
            EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref())
        }
    }
}

/// A token with exactly `header` and `claims` (JSON texts as given), signed by jsonwebtoken
/// with `key` for `algorithm`, whatever the header says.
fn sign_raw(header: &Value, claims: &Value, key: &EncodingKey, algorithm: Algorithm) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, jose(algorithm)).unwrap();
    format!("{input}.{signature}")
}

/// The claims Flask-JWT issues for user 1 at NOW.
fn claims() -> Value {
    json!({"exp": NOW + 300, "iat": NOW, "nbf": NOW, "identity": 1})
}

/// Seconds after the epoch, as a time.
fn at(seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap())
}

/// The raw header segment of `token`, decoded.
fn raw_header(token: &str) -> String {
    String::from_utf8(unb64(token.split('.').next().unwrap())).unwrap()
}

/// `token` with its header segment replaced by `header_of`'s, payload and signature kept.
fn relabel(token: &str, header_of: &str) -> String {
    let header = header_of.split('.').next().unwrap();
    let (_, rest) = token.split_once('.').unwrap();
    format!("{header}.{rest}")
}

/// The reason of a refusal, which must be a 401 `Invalid token`.
#[track_caller]
fn refusal<T: Debug>(outcome: Result<T, JwtError>, context: &str) -> TokenError {
    match outcome {
        Ok(accepted) => panic!("{context}: accepted ({accepted:?})"),
        Err(error) => {
            assert_eq!(
                error.status(),
                StatusCode::UNAUTHORIZED,
                "{context}: {error}"
            );
            match error {
                JwtError::InvalidToken(reason) => reason,
                other => panic!("{context}: not an invalid token: {other:?}"),
            }
        }
    }
}

/// Asserts that `outcome` is a 401 `Invalid token` for `expected`.
#[track_caller]
fn assert_refused<T: Debug>(outcome: Result<T, JwtError>, expected: &TokenError, context: &str) {
    assert_eq!(&refusal(outcome, context), expected, "{context}");
}

/// Asserts that `jwt` verifies `token` as user `id`.
#[track_caller]
fn assert_verifies(jwt: &Jwt<User>, token: &str, id: i64, context: &str) {
    match jwt.verify(token) {
        Ok(claims) => assert_eq!(claims.identity, id, "{context}"),
        Err(error) => panic!("{context}: refused: {error}"),
    }
}

/// The reason of a `ConfigError::Key`.
#[track_caller]
fn key_error<T: Debug>(outcome: Result<T, ConfigError>, context: &str) -> String {
    match outcome {
        Err(ConfigError::Key(reason)) => reason,
        other => panic!("{context}: expected a key error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Every algorithm through a `Jwt`.

#[tokio::test]
async fn every_algorithm_round_trips_through_a_jwt() {
    for algorithm in Algorithm::ALL {
        let app = TestApp::with_keys(Keys::new(private_key(algorithm)).unwrap(), |b| b);
        let issued = app.jwt.issue(&user(1)).unwrap();
        let logged_in = app.login("user2", "xyzabc").await;
        for (token, id) in [(&issued, 1), (&logged_in, 2)] {
            assert_verifies(&app.jwt, token, id, algorithm.as_str());
            assert_user(&app.protected(token).await, id);
            if algorithm.is_hmac() {
                // A single HMAC secret: PyJWT's header, byte for byte, and no kid.
                assert_eq!(
                    raw_header(token),
                    format!(r#"{{"typ":"JWT","alg":"{algorithm}"}}"#)
                );
            } else {
                assert_eq!(
                    peek_header(token),
                    json!({"typ": "JWT", "alg": algorithm.as_str(), "kid": fixture_kid(algorithm)}),
                    "{algorithm}: the kid is the RFC 7638 thumbprint"
                );
            }
        }
        let signing = app.jwt.keys().signing_key().unwrap().clone();
        assert_eq!(signing.algorithm(), algorithm);
        if algorithm.is_hmac() {
            assert_eq!(signing.kid(), None);
            assert_eq!(signing.thumbprint(), None);
        } else {
            assert_eq!(signing.kid(), Some(fixture_kid(algorithm).as_str()));
            assert_eq!(signing.thumbprint(), Some(fixture_kid(algorithm)));
        }
    }
}

#[test]
fn header_hooks_cannot_change_the_alg_or_kid_of_a_key_pair() {
    let clock = clock();
    let jwt = builder_with_keys(Keys::new(private_key(Algorithm::RS256)).unwrap(), &clock)
        .headers(|_| {
            json!({"kid": "mine", "alg": "none", "crit": ["exp"], "cty": "x"})
                .as_object()
                .unwrap()
                .clone()
        })
        .build()
        .unwrap();
    let token = jwt.issue(&user(1)).unwrap();
    assert_eq!(
        peek_header(&token),
        json!({"typ": "JWT", "alg": "RS256", "kid": fixture_kid(Algorithm::RS256), "cty": "x"})
    );
    assert_verifies(&jwt, &token, 1, "extra header fields");
}

// ---------------------------------------------------------------------------------------------
// Loading.

/// The JWK files were computed by openssl + Python: jwt-gate's JWK and thumbprint agree.
#[test]
fn jwk_fixtures_match_jwt_gate_s_public_jwk() {
    for (algorithm, dir) in [
        (Algorithm::RS256, "rsa"),
        (Algorithm::ES256, "p256"),
        (Algorithm::ES384, "p384"),
        (Algorithm::EdDSA, "ed25519"),
    ] {
        let expected = fixture_jwk(dir);
        for file in ["private.pem", "public.pem"] {
            let key = Key::from_pem(algorithm, fixture(&format!("{dir}/{file}"))).unwrap();
            assert_eq!(key.public_jwk().unwrap(), expected, "{dir}/{file}");
            assert_eq!(
                key.thumbprint().as_deref(),
                expected["kid"].as_str(),
                "{dir}/{file}"
            );
        }
    }
}

#[test]
fn every_fixture_format_gives_the_same_key() {
    for algorithm in asymmetric() {
        let dir = fixture_dir(algorithm);
        let kid = fixture_kid(algorithm);
        let mut jwk = fixture_jwk(dir);
        jwk["alg"] = json!(algorithm.as_str());

        let mut private = vec![
            (
                "private.pem",
                Key::from_pem(algorithm, fixture(&format!("{dir}/private.pem"))),
            ),
            (
                "private.der",
                Key::from_der(algorithm, fixture(&format!("{dir}/private.der"))),
            ),
        ];
        let mut public = vec![
            (
                "public.pem",
                Key::from_pem(algorithm, fixture(&format!("{dir}/public.pem"))),
            ),
            (
                "public.der",
                Key::from_der(algorithm, fixture(&format!("{dir}/public.der"))),
            ),
            ("public.jwk.json", Key::from_jwk(&jwk)),
        ];
        if dir == "rsa" {
            private.push((
                "private-pkcs1.pem",
                Key::from_pem(algorithm, fixture("rsa/private-pkcs1.pem")),
            ));
            let pkcs1_der = pem::parse(fixture("rsa/private-pkcs1.pem")).unwrap();
            private.push((
                "private-pkcs1.der",
                Key::from_der(algorithm, pkcs1_der.contents()),
            ));
            public.push((
                "public-pkcs1.pem",
                Key::from_pem(algorithm, fixture("rsa/public-pkcs1.pem")),
            ));
            let pkcs1_der = pem::parse(fixture("rsa/public-pkcs1.pem")).unwrap();
            public.push((
                "public-pkcs1.der",
                Key::from_der(algorithm, pkcs1_der.contents()),
            ));
        }
        if dir == "p256" {
            private.push((
                "private-sec1.pem",
                Key::from_pem(algorithm, fixture("p256/private-sec1.pem")),
            ));
            let sec1_der = pem::parse(fixture("p256/private-sec1.pem")).unwrap();
            private.push((
                "private-sec1.der",
                Key::from_der(algorithm, sec1_der.contents()),
            ));
            private.push((
                "private-sec1-params.pem",
                Key::from_pem(algorithm, fixture("p256/private-sec1-params.pem")),
            ));
        }
        let private: Vec<(&str, Key)> = private
            .into_iter()
            .map(|(name, key)| (name, key.unwrap_or_else(|e| panic!("{dir}/{name}: {e}"))))
            .collect();
        let public: Vec<(&str, Key)> = public
            .into_iter()
            .map(|(name, key)| (name, key.unwrap_or_else(|e| panic!("{dir}/{name}: {e}"))))
            .collect();
        for (name, key) in private.iter().chain(&public) {
            let context = format!("{algorithm} {dir}/{name}");
            assert_eq!(key.algorithm(), algorithm, "{context}");
            assert_eq!(key.kid(), Some(kid.as_str()), "{context}");
            assert_eq!(key.thumbprint().as_deref(), Some(kid.as_str()), "{context}");
            assert_eq!(key.can_sign(), name.starts_with("private"), "{context}");
        }
        // Whatever form signed it, every form verifies it.
        for (signer_name, signer) in &private {
            let token = jwt_signing(signer.clone()).issue(&user(1)).unwrap();
            for (name, key) in private.iter().chain(&public) {
                let verifier = jwt(Keys::verify_only([key.clone()]).unwrap());
                assert_verifies(
                    &verifier,
                    &token,
                    1,
                    &format!("{algorithm}: signed by {signer_name}, verified by {name}"),
                );
            }
        }
    }
}

#[test]
fn a_jwk_without_alg_or_kid_takes_the_defaults() {
    for (dir, default) in [
        ("rsa", Algorithm::RS256),
        ("p256", Algorithm::ES256),
        ("p384", Algorithm::ES384),
        ("ed25519", Algorithm::EdDSA),
    ] {
        let mut jwk = fixture_jwk(dir);
        let kid = jwk["kid"].clone();
        let object = jwk.as_object_mut().unwrap();
        object.remove("alg");
        object.remove("kid");
        object.remove("use");
        let key = Key::from_jwk(&jwk).unwrap();
        assert_eq!(key.algorithm(), default, "{dir}");
        assert_eq!(key.kid(), kid.as_str(), "{dir}: the thumbprint");
        // A kid given in the JWK is kept as it is.
        jwk["kid"] = json!("their-kid");
        assert_eq!(Key::from_jwk(&jwk).unwrap().kid(), Some("their-kid"));
        // A JWK for encryption is not a signing key.
        jwk["use"] = json!("enc");
        assert!(key_error(Key::from_jwk(&jwk), dir).contains("use"));
    }
}

#[test]
fn public_keys_verify_but_never_sign() {
    for algorithm in asymmetric() {
        let public = public_key(algorithm);
        assert!(!public.can_sign());
        let reason = key_error(Keys::new(public.clone()), algorithm.as_str());
        assert!(reason.contains("public key cannot sign"), "{reason}");

        let token = jwt_signing(private_key(algorithm)).issue(&user(1)).unwrap();
        let verifier = jwt(Keys::verify_only([public.clone()]).unwrap());
        assert_verifies(&verifier, &token, 1, algorithm.as_str());
        assert!(verifier.keys().signing_key().is_none());
        assert!(
            matches!(verifier.issue(&user(1)), Err(JwtError::Internal(_))),
            "{algorithm}: a verify-only ring issues nothing"
        );
        // Nor can a public key take over signing by a rotation.
        let signer = jwt_signing(private_key(algorithm));
        key_error(signer.rotate_keys(public), algorithm.as_str());
    }
}

#[test]
fn rsa_keys_under_2048_bits_are_refused() {
    let public_der = pem::parse(fixture("rsa-1024/public.pem")).unwrap();
    let private_der = pem::parse(fixture("rsa-1024/private.pem")).unwrap();
    for algorithm in [Algorithm::RS256, Algorithm::PS512] {
        let mut jwk = fixture_jwk("rsa-1024");
        jwk["alg"] = json!(algorithm.as_str());
        for (name, outcome) in [
            (
                "private.pem",
                Key::from_pem(algorithm, fixture("rsa-1024/private.pem")),
            ),
            (
                "public.pem",
                Key::from_pem(algorithm, fixture("rsa-1024/public.pem")),
            ),
            (
                "private.der",
                Key::from_der(algorithm, private_der.contents()),
            ),
            (
                "public.der",
                Key::from_der(algorithm, public_der.contents()),
            ),
            ("public.jwk.json", Key::from_jwk(&jwk)),
        ] {
            let reason = key_error(outcome, name);
            assert!(
                reason.contains("2048") && reason.contains("1024"),
                "{algorithm} rsa-1024/{name}: {reason}"
            );
        }
    }
}

#[test]
fn encrypted_private_keys_are_refused() {
    for file in [
        "rsa/private-encrypted.pem",
        "rsa/private-encrypted-pkcs1.pem",
    ] {
        let reason = key_error(Key::from_pem(Algorithm::RS256, fixture(file)), file);
        assert!(reason.contains("encrypted"), "{file}: {reason}");
    }
    // The encrypted PKCS#8 document as DER is no key either.
    let der = pem::parse(fixture("rsa/private-encrypted.pem")).unwrap();
    key_error(
        Key::from_der(Algorithm::RS256, der.contents()),
        "encrypted DER",
    );
}

#[test]
fn a_key_of_the_wrong_kind_for_the_algorithm_is_refused() {
    let cases: [(Algorithm, &str); 16] = [
        (Algorithm::ES384, "p256"),
        (Algorithm::ES256, "p384"),
        (Algorithm::RS256, "ed25519"),
        (Algorithm::PS256, "ed25519"),
        (Algorithm::RS256, "p256"),
        (Algorithm::PS384, "p384"),
        (Algorithm::EdDSA, "rsa"),
        (Algorithm::EdDSA, "p256"),
        (Algorithm::ES256, "rsa"),
        (Algorithm::ES384, "ed25519"),
        (Algorithm::HS256, "rsa"),
        (Algorithm::HS384, "rsa"),
        (Algorithm::HS512, "rsa"),
        (Algorithm::HS256, "p256"),
        (Algorithm::HS256, "ed25519"),
        (Algorithm::HS512, "p384"),
    ];
    for (algorithm, dir) in cases {
        for file in ["private.pem", "public.pem"] {
            let context = format!("{algorithm} with {dir}/{file}");
            let reason = key_error(
                Key::from_pem(algorithm, fixture(&format!("{dir}/{file}"))),
                &context,
            );
            assert!(reason.contains(algorithm.as_str()), "{context}: {reason}");
        }
        for file in ["private.der", "public.der"] {
            key_error(
                Key::from_der(algorithm, fixture(&format!("{dir}/{file}"))),
                &format!("{algorithm} with {dir}/{file}"),
            );
        }
        let mut jwk = fixture_jwk(dir);
        jwk["alg"] = json!(algorithm.as_str());
        key_error(Key::from_jwk(&jwk), &format!("{algorithm} with {dir} JWK"));
    }
    for algorithm in asymmetric() {
        assert!(
            Key::hmac(algorithm, SECRET_A).is_err(),
            "{algorithm} is not an HMAC algorithm"
        );
    }
    let mut jwk = fixture_jwk("p256");
    for alg in ["none", "ES512", "es256", ""] {
        jwk["alg"] = json!(alg);
        key_error(Key::from_jwk(&jwk), alg);
    }
}

// ---------------------------------------------------------------------------------------------
// The signer × verifier matrix.

/// Why a verifier signing with "the" key of `verifier` refuses a token of "the" key of
/// `signer` (`None`: it accepts it).
fn expected_refusal(signer: Algorithm, verifier: Algorithm) -> Option<TokenError> {
    if signer == verifier {
        None
    } else if verifier.is_hmac() {
        // One HMAC secret: any kid is ignored, and the alg is not the secret's.
        Some(TokenError::AlgorithmNotAllowed)
    } else if signer.is_hmac() {
        // The single secret's tokens carry no kid; a key pair's ring requires one.
        Some(TokenError::MissingKeyId)
    } else if signer.is_rsa() && verifier.is_rsa() {
        // One RSA key, so one kid: found, but its algorithm is the verifier's.
        Some(TokenError::AlgorithmNotAllowed)
    } else {
        Some(TokenError::UnknownKeyId)
    }
}

#[test]
fn a_token_is_accepted_only_with_its_own_key_and_algorithm() {
    let mut pairs = 0;
    for signer_algorithm in Algorithm::ALL {
        let signer = jwt_signing(private_key(signer_algorithm));
        let token = signer.issue(&user(1)).unwrap();
        for verifier_algorithm in Algorithm::ALL {
            let context = format!("signed {signer_algorithm}, verified {verifier_algorithm}");
            let verifier = jwt_signing(private_key(verifier_algorithm));
            match expected_refusal(signer_algorithm, verifier_algorithm) {
                None => assert_verifies(&verifier, &token, 1, &context),
                Some(expected) => {
                    assert_refused(verifier.verify(&token), &expected, &context);
                    // The header swapped for the verifier's own (its alg, and its kid if any),
                    // the signature kept.
                    let own = verifier.issue(&user(1)).unwrap();
                    assert_refused(
                        verifier.verify(&relabel(&token, &own)),
                        &TokenError::SignatureInvalid,
                        &format!("{context}, relabelled {verifier_algorithm}"),
                    );
                }
            }
            pairs += 1;
        }
        // The same algorithm with another key.
        let context = format!("{signer_algorithm} with another key");
        let stranger = jwt_signing(other_key(signer_algorithm));
        let expected = if signer_algorithm.is_hmac() {
            TokenError::SignatureInvalid
        } else {
            TokenError::UnknownKeyId
        };
        assert_refused(stranger.verify(&token), &expected, &context);
        let own = stranger.issue(&user(1)).unwrap();
        assert_refused(
            stranger.verify(&relabel(&token, &own)),
            &TokenError::SignatureInvalid,
            &format!("{context}, relabelled with its kid"),
        );
        // And the stranger's token is refused by the signer.
        assert_refused(
            signer.verify(&own),
            &expected,
            &format!("{context}, reversed"),
        );
    }
    assert_eq!(pairs, 144);
}

#[test]
fn rs256_and_ps256_of_one_rsa_key_are_not_interchangeable() {
    let rs = jwt_signing(private_key(Algorithm::RS256));
    let ps = jwt_signing(private_key(Algorithm::PS256));
    assert_eq!(
        rs.keys().signing_key().unwrap().kid(),
        ps.keys().signing_key().unwrap().kid(),
        "one key, one kid"
    );
    let rs_token = rs.issue(&user(1)).unwrap();
    let ps_token = ps.issue(&user(1)).unwrap();
    assert_refused(
        ps.verify(&rs_token),
        &TokenError::AlgorithmNotAllowed,
        "RS256 at PS256",
    );
    assert_refused(
        rs.verify(&ps_token),
        &TokenError::AlgorithmNotAllowed,
        "PS256 at RS256",
    );
    // The header's alg changed to the verifier's, the signature kept.
    for (token, verifier) in [(&rs_token, &ps), (&ps_token, &rs)] {
        let own = verifier.issue(&user(2)).unwrap();
        assert_refused(
            verifier.verify(&relabel(token, &own)),
            &TokenError::SignatureInvalid,
            "alg swapped",
        );
    }
    // RS256 / RS512 likewise.
    let rs512 = jwt_signing(private_key(Algorithm::RS512));
    assert_refused(
        rs512.verify(&rs_token),
        &TokenError::AlgorithmNotAllowed,
        "RS256 at RS512",
    );
}

#[test]
fn a_public_key_used_as_an_hmac_secret_is_refused() {
    // The classic confusion attack: the public key (which anyone has) as the HMAC secret of an
    // HS256 token, in the hope that the verifier feeds its key bytes to HMAC.
    for algorithm in asymmetric() {
        let dir = fixture_dir(algorithm);
        let kid = fixture_kid(algorithm);
        let verifiers = [
            ("private ring", jwt_signing(private_key(algorithm))),
            (
                "verify-only ring",
                jwt(Keys::verify_only([public_key(algorithm)]).unwrap()),
            ),
        ];
        for file in ["public.pem", "public.der"] {
            let secret = EncodingKey::from_secret(&fixture(&format!("{dir}/{file}"))).unwrap();
            for hmac in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                let with_kid = sign_raw(
                    &json!({"typ": "JWT", "alg": hmac.as_str(), "kid": kid}),
                    &claims(),
                    &secret,
                    hmac,
                );
                let without_kid = sign_raw(
                    &json!({"typ": "JWT", "alg": hmac.as_str()}),
                    &claims(),
                    &secret,
                    hmac,
                );
                for (name, verifier) in &verifiers {
                    let context = format!("{algorithm} {name}, {hmac} keyed with {file}");
                    assert_refused(
                        verifier.verify(&with_kid),
                        &TokenError::AlgorithmNotAllowed,
                        &context,
                    );
                    assert_refused(
                        verifier.verify(&without_kid),
                        &TokenError::MissingKeyId,
                        &context,
                    );
                }
            }
        }
        // Nor can the public key be configured as an HMAC key.
        key_error(
            Key::from_pem(Algorithm::HS256, fixture(&format!("{dir}/public.pem"))),
            "HS256 key from a public PEM",
        );
    }
}

#[test]
fn alg_none_is_refused_by_every_ring() {
    for algorithm in Algorithm::ALL {
        let verifier = jwt_signing(private_key(algorithm));
        let valid = verifier.issue(&user(1)).unwrap();
        let (_, payload_and_signature) = valid.split_once('.').unwrap();
        let (payload, signature) = payload_and_signature.split_once('.').unwrap();
        for none in ["none", "None", "NONE", "nOnE"] {
            let mut header = json!({"typ": "JWT", "alg": none});
            if let Some(kid) = verifier.keys().signing_key().unwrap().kid() {
                header["kid"] = json!(kid);
            }
            let header = b64(header.to_string());
            for forged in [
                format!("{header}.{payload}."),
                format!("{header}.{payload}.{signature}"),
            ] {
                assert_refused(
                    verifier.verify(&forged),
                    &TokenError::AlgorithmNotAllowed,
                    &format!("{algorithm} ring, alg {none}"),
                );
            }
        }
    }
}

#[test]
fn an_asymmetric_ring_requires_a_known_kid() {
    for algorithm in asymmetric() {
        let verifier = jwt_signing(private_key(algorithm));
        let key = foreign_signer(algorithm);
        let kid = fixture_kid(algorithm);
        let header = |kid: Option<Value>| {
            let mut header = json!({"typ": "JWT", "alg": algorithm.as_str()});
            if let Some(kid) = kid {
                header["kid"] = kid;
            }
            header
        };
        let sign = |kid: Option<Value>| sign_raw(&header(kid), &claims(), &key, algorithm);

        // Signed elsewhere (jsonwebtoken, from the PEM file) with the right kid: accepted.
        assert_verifies(&verifier, &sign(Some(json!(kid))), 1, algorithm.as_str());
        let mut jsonwebtoken_header = jsonwebtoken::Header::new(jose(algorithm));
        jsonwebtoken_header.kid = Some(kid.clone());
        let theirs = jsonwebtoken::encode(&jsonwebtoken_header, &claims(), &key).unwrap();
        assert_verifies(&verifier, &theirs, 1, "jsonwebtoken::encode");

        let missing = refusal(verifier.verify(&sign(None)), "no kid");
        assert_eq!(missing, TokenError::MissingKeyId);
        assert_eq!(missing.to_string(), "Token header has no key id (kid)");

        let other_kid = other_key(algorithm).kid().unwrap().to_owned();
        for unknown in [
            json!("nope"),
            json!(""),
            json!(other_kid),
            json!(kid.to_lowercase()),
            json!(5),
            json!(null),
            json!([kid]),
            json!({"kid": kid}),
        ] {
            let reason = refusal(verifier.verify(&sign(Some(unknown.clone()))), "unknown");
            assert_eq!(
                reason,
                TokenError::UnknownKeyId,
                "{algorithm} kid {unknown}"
            );
            assert_eq!(reason.to_string(), "Unknown key id (kid)");
        }
    }
}

#[test]
fn a_kid_of_another_key_of_the_ring_does_not_pick_the_signing_key() {
    let a = private_key(Algorithm::ES256);
    let b = other_key(Algorithm::ES256);
    let (jwt, _) = jwt_with(Keys::new(a.clone()).unwrap(), JwtConfig::default());
    jwt.rotate_keys(b.clone()).unwrap();
    // Signed by A, naming B: checked against B only.
    let forged = sign_raw(
        &json!({"typ": "JWT", "alg": "ES256", "kid": b.kid().unwrap()}),
        &claims(),
        &foreign_signer(Algorithm::ES256),
        Algorithm::ES256,
    );
    assert_refused(
        jwt.verify(&forged),
        &TokenError::SignatureInvalid,
        "A's signature, B's kid",
    );
    // Naming A it is fine (A is in its grace period).
    let honest = sign_raw(
        &json!({"typ": "JWT", "alg": "ES256", "kid": a.kid().unwrap()}),
        &claims(),
        &foreign_signer(Algorithm::ES256),
        Algorithm::ES256,
    );
    assert_verifies(&jwt, &honest, 1, "A's signature, A's kid");
}

#[test]
fn a_single_hmac_secret_ignores_an_incoming_kid() {
    for algorithm in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let verifier = jwt_signing(private_key(algorithm));
        let right = foreign_signer(algorithm);
        let wrong = EncodingKey::from_secret(&SECRET_B).unwrap();
        for kid in [
            json!("arbitrary"),
            json!(""),
            json!(5),
            json!(null),
            json!({"a": 1}),
        ] {
            let header = json!({"typ": "JWT", "alg": algorithm.as_str(), "kid": kid});
            let token = sign_raw(&header, &claims(), &right, algorithm);
            assert_verifies(&verifier, &token, 1, &format!("{algorithm} kid {kid}"));
            let forged = sign_raw(&header, &claims(), &wrong, algorithm);
            assert_refused(
                verifier.verify(&forged),
                &TokenError::SignatureInvalid,
                &format!("{algorithm} kid {kid}, wrong secret"),
            );
        }
        let token = sign_raw(
            &json!({"alg": algorithm.as_str()}),
            &claims(),
            &right,
            algorithm,
        );
        assert_verifies(&verifier, &token, 1, "no typ, no kid");
    }
    // Flask-JWT's headers hook may set a kid on a single secret: issued and verified as is.
    let clock = clock();
    let jwt = builder_with_keys(Keys::hs256(SECRET).unwrap(), &clock)
        .headers(|_| json!({"kid": "flask-kid"}).as_object().unwrap().clone())
        .build()
        .unwrap();
    let token = jwt.issue(&user(1)).unwrap();
    assert_eq!(
        peek_header(&token),
        json!({"typ": "JWT", "alg": "HS256", "kid": "flask-kid"})
    );
    assert_verifies(&jwt, &token, 1, "hooked kid");
}

#[test]
fn an_hmac_key_with_a_kid_requires_it() {
    let key = Key::hmac(Algorithm::HS256, SECRET_A)
        .unwrap()
        .with_kid("k1");
    let jwt = jwt_signing(key);
    let token = jwt.issue(&user(1)).unwrap();
    assert_eq!(
        raw_header(&token),
        r#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#
    );
    assert_verifies(&jwt, &token, 1, "k1");
    let secret = foreign_signer(Algorithm::HS256);
    let no_kid = sign_raw(
        &json!({"typ": "JWT", "alg": "HS256"}),
        &claims(),
        &secret,
        Algorithm::HS256,
    );
    assert_refused(jwt.verify(&no_kid), &TokenError::MissingKeyId, "no kid");
    let other_kid = sign_raw(
        &json!({"typ": "JWT", "alg": "HS256", "kid": "k2"}),
        &claims(),
        &secret,
        Algorithm::HS256,
    );
    assert_refused(jwt.verify(&other_kid), &TokenError::UnknownKeyId, "kid k2");
    assert_eq!(jwt.keys().jwks(SystemTime::now()), json!({"keys": []}));
}

#[tokio::test]
async fn refusals_over_http_are_401_with_the_description() {
    let app = TestApp::with_keys(Keys::new(private_key(Algorithm::RS256)).unwrap(), |b| b);
    let kit = app.kit();
    assert_user(&app.protected(&kit.valid(&user(1))).await, 1);
    let cases = [
        (kit.wrong_key(&user(1)), "Signature verification failed"),
        (kit.tampered(&user(1)), "Signature verification failed"),
        (
            kit.wrong_algorithm(&user(1)),
            "The specified alg value is not allowed",
        ),
        (
            kit.alg_none(&user(1)),
            "The specified alg value is not allowed",
        ),
        (
            sign_raw(
                &json!({"typ": "JWT", "alg": "HS256", "kid": fixture_kid(Algorithm::RS256)}),
                &claims(),
                &EncodingKey::from_secret(&fixture("rsa/public.pem")).unwrap(),
                Algorithm::HS256,
            ),
            "The specified alg value is not allowed",
        ),
        (
            sign_raw(
                &json!({"typ": "JWT", "alg": "RS256"}),
                &claims(),
                &foreign_signer(Algorithm::RS256),
                Algorithm::RS256,
            ),
            "Token header has no key id (kid)",
        ),
        (
            sign_raw(
                &json!({"typ": "JWT", "alg": "RS256", "kid": "unknown"}),
                &claims(),
                &foreign_signer(Algorithm::RS256),
                Algorithm::RS256,
            ),
            "Unknown key id (kid)",
        ),
    ];
    for (token, description) in cases {
        assert_invalid_token(&app.protected(&token).await, description);
    }
}

// ---------------------------------------------------------------------------------------------
// Rotation.

/// Access tokens of 600 s, refresh tokens of 3600 s, a 10 s leeway: a grace of 3610 s. The
/// verified-token cache is off, so that every check decodes the token (the cache has tests of
/// its own below).
fn rotation_config() -> JwtConfig {
    let mut config = JwtConfig::default();
    config.expiration_delta = Duration::from_secs(600);
    config.refresh_expiration_delta = Duration::from_secs(3600);
    config.leeway = Duration::from_secs(10);
    config.verify_cache_capacity = 0;
    config
}

const GRACE: i64 = 3610;
const LONG_LIFETIME: Duration = Duration::from_secs(10 * 24 * 60 * 60);

/// A token of `jwt` for `user` with a lifetime far beyond the grace period.
fn long_lived(jwt: &Jwt<User>, id: i64) -> String {
    let before = jwt.config().expiration_delta;
    jwt.update_config(|c| c.expiration_delta = LONG_LIFETIME)
        .unwrap();
    let token = jwt.issue(&user(id)).unwrap();
    jwt.update_config(|c| c.expiration_delta = before).unwrap();
    token
}

/// The kids of the ring, signing key first, with their retirement times.
fn ring(jwt: &Jwt<User>) -> Vec<(Option<String>, Option<SystemTime>)> {
    jwt.keys()
        .iter()
        .map(|(key, retire)| (key.kid().map(str::to_owned), retire))
        .collect()
}

fn kid_of(token: &str) -> Value {
    peek_header(token)["kid"].clone()
}

#[test]
fn rotation_keeps_the_old_key_for_the_grace_period_then_refuses_it() {
    let a = private_key(Algorithm::ES256);
    let b = other_key(Algorithm::ES256);
    let (jwt, clock) = jwt_with(Keys::new(a.clone()).unwrap(), rotation_config());
    let short = jwt.issue(&user(1)).unwrap();
    let long = long_lived(&jwt, 2);
    assert_eq!(kid_of(&short), json!(a.kid().unwrap()));
    assert_eq!(kid_of(&long), json!(a.kid().unwrap()));
    let long_exp = peek_claims(&long)["exp"].as_i64().unwrap();
    assert_eq!(
        long_exp,
        NOW + i64::try_from(LONG_LIFETIME.as_secs()).unwrap()
    );

    clock.advance(Duration::from_secs(100));
    let rotated_at = NOW + 100;
    let retire_at = rotated_at + GRACE;
    jwt.rotate_keys(b.clone()).unwrap();
    assert_eq!(
        ring(&jwt),
        [
            (b.kid().map(str::to_owned), None),
            (a.kid().map(str::to_owned), Some(at(retire_at))),
        ]
    );

    // The tokens signed before still verify; new ones carry B's kid.
    assert_verifies(&jwt, &short, 1, "A's short token after the rotation");
    assert_verifies(&jwt, &long, 2, "A's long token after the rotation");
    let fresh = jwt.issue(&user(1)).unwrap();
    assert_eq!(
        peek_header(&fresh),
        json!({"typ": "JWT", "alg": "ES256", "kid": b.kid().unwrap()})
    );
    assert_verifies(&jwt, &fresh, 1, "B's token");

    // A's access token lives its whole life, leeway included.
    clock.set(at(NOW + 600 + 10));
    assert_verifies(&jwt, &short, 1, "A's short token at exp + leeway");
    clock.advance(Duration::from_secs(1));
    assert_refused(
        jwt.verify(&short),
        &TokenError::Expired,
        "A's short token after exp",
    );

    // The long one verifies up to the end of the grace, then its key is gone.
    clock.set(at(retire_at - 1));
    assert_verifies(
        &jwt,
        &long,
        2,
        "A's long token at the last second of the grace",
    );
    clock.set(at(retire_at));
    let reason = refusal(jwt.verify(&long), "A's long token after the grace");
    assert_eq!(reason, TokenError::UnknownKeyId);
    assert_eq!(reason.to_string(), "Unknown key id (kid)");
    clock.set(at(long_exp - 1));
    assert_refused(
        jwt.verify(&long),
        &TokenError::UnknownKeyId,
        "long after the grace",
    );

    // B signs and verifies on; the next rotation drops A.
    let later = jwt.issue(&user(1)).unwrap();
    assert_verifies(&jwt, &later, 1, "B's later token");
    let c = other_key(Algorithm::ES256);
    jwt.rotate_keys(c.clone()).unwrap();
    let kids: Vec<Option<String>> = ring(&jwt).into_iter().map(|(kid, _)| kid).collect();
    assert_eq!(
        kids,
        [c.kid().map(str::to_owned), b.kid().map(str::to_owned)]
    );
    assert_verifies(&jwt, &later, 1, "B's token in B's grace");
}

#[test]
fn the_grace_period_is_the_longest_lifetime_plus_the_leeway() {
    let cases = [
        // (access, refresh, leeway) → grace
        ((600, 3600, 10), 3610),
        ((7200, 3600, 10), 7210),
        ((300, 30 * 24 * 3600, 0), 30 * 24 * 3600),
    ];
    for ((access, refresh, leeway), grace) in cases {
        let mut config = rotation_config();
        config.expiration_delta = Duration::from_secs(access);
        config.refresh_expiration_delta = Duration::from_secs(refresh);
        config.leeway = Duration::from_secs(leeway);
        let (jwt, _) = jwt_with(Keys::new(private_key(Algorithm::EdDSA)).unwrap(), config);
        jwt.rotate_keys(other_key(Algorithm::EdDSA)).unwrap();
        assert_eq!(
            ring(&jwt)[1].1,
            Some(at(NOW + grace)),
            "{access} {refresh} {leeway}"
        );
    }
    // Flask-JWT's defaults: 30 days of refresh tokens + 10 s.
    let (jwt, _) = jwt_with(
        Keys::new(private_key(Algorithm::EdDSA)).unwrap(),
        JwtConfig::default(),
    );
    jwt.rotate_keys(other_key(Algorithm::EdDSA)).unwrap();
    assert_eq!(ring(&jwt)[1].1, Some(at(NOW + 30 * 24 * 3600 + 10)));
}

/// The verified-token cache (on, as by default) must not outlive the key that verified the
/// token: a cached token of a retired key is refused like an uncached one.
#[test]
fn the_verify_cache_never_serves_a_token_of_a_retired_key() {
    let mut config = rotation_config();
    config.verify_cache_capacity = JwtConfig::default().verify_cache_capacity;
    let a = private_key(Algorithm::ES384);
    let (jwt, clock) = jwt_with(Keys::new(a).unwrap(), config);
    let long = long_lived(&jwt, 1);
    assert_verifies(&jwt, &long, 1, "before the rotation (cached)");
    jwt.rotate_keys(other_key(Algorithm::ES384)).unwrap();
    assert_verifies(&jwt, &long, 1, "in the grace period (cached again)");
    clock.set(at(NOW + GRACE - 1));
    assert_verifies(
        &jwt,
        &long,
        1,
        "the last second of the grace (from the cache)",
    );
    clock.set(at(NOW + GRACE));
    assert_refused(
        jwt.verify(&long),
        &TokenError::UnknownKeyId,
        "a cached token of a retired key",
    );
}

#[test]
fn set_keys_flushes_the_verify_cache() {
    let a = private_key(Algorithm::PS256);
    let b = other_key(Algorithm::PS256);
    let jwt = jwt_signing(a.clone());
    assert!(jwt.config().verify_cache_capacity > 0, "the cache is on");
    let token = jwt.issue(&user(1)).unwrap();
    assert_verifies(&jwt, &token, 1, "with A (cached)");
    assert_verifies(&jwt, &token, 1, "with A (from the cache)");

    jwt.set_keys(Keys::new(b.clone()).unwrap()).unwrap();
    assert_refused(
        jwt.verify(&token),
        &TokenError::UnknownKeyId,
        "after set_keys(B)",
    );

    jwt.set_keys(Keys::new(a.clone()).unwrap()).unwrap();
    assert_verifies(&jwt, &token, 1, "A again");
    jwt.set_keys(Keys::hs256(SECRET).unwrap()).unwrap();
    assert_refused(
        jwt.verify(&token),
        &TokenError::AlgorithmNotAllowed,
        "an HMAC ring",
    );

    // Cached under a rotated ring, then A dropped by set_keys.
    jwt.set_keys(Keys::new(a).unwrap()).unwrap();
    jwt.rotate_keys(b.clone()).unwrap();
    assert_verifies(&jwt, &token, 1, "A in its grace (cached)");
    jwt.set_keys(Keys::new(b).unwrap()).unwrap();
    assert_refused(
        jwt.verify(&token),
        &TokenError::UnknownKeyId,
        "A dropped by set_keys",
    );
}

#[test]
fn rotating_away_from_a_secret_without_kid_is_refused() {
    let (jwt, _) = jwt_with(Keys::hs256(SECRET).unwrap(), rotation_config());
    let before = jwt.issue(&user(1)).unwrap();
    for next in [
        Key::hmac(Algorithm::HS256, SECRET_B)
            .unwrap()
            .with_kid("k2"),
        private_key(Algorithm::EdDSA),
    ] {
        let reason = key_error(jwt.rotate_keys(next), "rotation");
        assert!(reason.contains("kid"), "{reason}");
    }
    // Nothing changed.
    assert_eq!(jwt.keys().signing_key().unwrap().kid(), None);
    assert_verifies(&jwt, &before, 1, "after the refused rotation");
    let after = jwt.issue(&user(1)).unwrap();
    assert_eq!(raw_header(&after), r#"{"typ":"JWT","alg":"HS256"}"#);
    // set_keys is the way out (no grace: the old tokens are refused).
    jwt.set_keys(
        Keys::new(
            Key::hmac(Algorithm::HS256, SECRET_B)
                .unwrap()
                .with_kid("k2"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_refused(
        jwt.verify(&before),
        &TokenError::MissingKeyId,
        "after set_keys",
    );
}

#[test]
fn an_hmac_ring_with_kids_rotates() {
    let k1 = Key::hmac(Algorithm::HS256, SECRET_A)
        .unwrap()
        .with_kid("k1");
    let k2 = Key::hmac(Algorithm::HS512, SECRET_B)
        .unwrap()
        .with_kid("k2");
    let (jwt, clock) = jwt_with(Keys::new(k1).unwrap(), rotation_config());
    let first = long_lived(&jwt, 1);
    jwt.rotate_keys(k2).unwrap();
    let second = jwt.issue(&user(2)).unwrap();
    assert_eq!(
        raw_header(&first),
        r#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#
    );
    assert_eq!(
        raw_header(&second),
        r#"{"alg":"HS512","kid":"k2","typ":"JWT"}"#
    );
    assert_verifies(&jwt, &first, 1, "k1 in its grace");
    assert_verifies(&jwt, &second, 2, "k2");
    assert_eq!(
        jwt.keys().jwks(at(NOW)),
        json!({"keys": []}),
        "secrets are never published"
    );
    // A kid already in the ring cannot sign again while its predecessor is kept.
    let again = Key::hmac(Algorithm::HS256, SECRET_A)
        .unwrap()
        .with_kid("k1");
    assert!(key_error(jwt.rotate_keys(again), "k1 again").contains("k1"));
    clock.set(at(NOW + GRACE));
    assert_refused(jwt.verify(&first), &TokenError::UnknownKeyId, "k1 retired");
    // An HMAC ring with kids may move to a key pair.
    jwt.rotate_keys(private_key(Algorithm::EdDSA)).unwrap();
    let third = jwt.issue(&user(1)).unwrap();
    assert_eq!(kid_of(&third), json!(fixture_kid(Algorithm::EdDSA)));
    assert_verifies(&jwt, &third, 1, "EdDSA after HMAC");
}

#[test]
fn keys_with_previous_verify_until_they_retire() {
    let a = private_key(Algorithm::EdDSA);
    let b = other_key(Algorithm::EdDSA);
    let token_a = jwt_signing(a.clone()).issue(&user(1)).unwrap();
    let keys = Keys::new(b.clone())
        .unwrap()
        .with_previous(public_key(Algorithm::EdDSA), at(NOW + 60))
        .unwrap();
    let (service, clock) = jwt_with(keys, rotation_config());
    assert_eq!(
        ring(&service),
        [
            (b.kid().map(str::to_owned), None),
            (a.kid().map(str::to_owned), Some(at(NOW + 60))),
        ]
    );
    assert_eq!(
        service.keys().jwks(at(NOW))["keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_verifies(&service, &token_a, 1, "A before it retires");
    assert_eq!(
        kid_of(&service.issue(&user(1)).unwrap()),
        json!(b.kid().unwrap())
    );
    clock.set(at(NOW + 59));
    assert_verifies(&service, &token_a, 1, "A at its last second");
    clock.set(at(NOW + 60));
    assert_refused(
        service.verify(&token_a),
        &TokenError::UnknownKeyId,
        "A retired",
    );
    assert_eq!(
        service.keys().jwks(at(NOW + 60))["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The ring rules hold: one kid once, and no kid-less secret among several keys.
    let ring_b = Keys::new(b.clone()).unwrap();
    key_error(
        ring_b.with_previous(b, at(NOW + 60)),
        "the signing key again",
    );
    key_error(
        ring_b.with_previous(Key::hmac(Algorithm::HS256, SECRET_A).unwrap(), at(NOW + 60)),
        "a secret without kid",
    );
    // A verify-only ring can hold previous keys too.
    let verify_only = Keys::verify_only([])
        .unwrap()
        .with_previous(public_key(Algorithm::EdDSA), at(NOW + 60))
        .unwrap();
    assert!(verify_only.signing_key().is_none());
    assert_verifies(
        &jwt(verify_only),
        &token_a,
        1,
        "a verify-only ring with a previous key",
    );
}

// ---------------------------------------------------------------------------------------------
// iss, aud, sub.

const ISSUER: &str = "https://issuer.example";

fn claims_config() -> JwtConfig {
    let mut config = JwtConfig::default();
    config.issuer = Some(ISSUER.to_owned());
    config.audience = vec!["api".to_owned(), "admin".to_owned()];
    config
}

/// A `Jwt` on the test secret (common::SECRET, whose tokens `common::token` signs).
fn hs256_jwt(config: JwtConfig) -> Jwt<User> {
    jwt_with(Keys::hs256(SECRET).unwrap(), config).0
}

/// Flask-JWT's claims for user 1 with `changes` set (`null` removes a claim).
fn claims_with(changes: &Value) -> Value {
    let mut claims = claims();
    let object: &mut Map<String, Value> = claims.as_object_mut().unwrap();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            object.remove(name);
        } else {
            object.insert(name.clone(), value.clone());
        }
    }
    claims
}

#[test]
fn issued_tokens_carry_the_issuer_and_the_first_audience() {
    let clock = clock();
    let jwt = builder_with_keys(Keys::new(private_key(Algorithm::RS256)).unwrap(), &clock)
        .config(claims_config())
        // The configured issuer and audience win over the payload hook's.
        .payload(|_| {
            json!({"iss": "evil", "aud": "evil", "scope": "x"})
                .as_object()
                .unwrap()
                .clone()
        })
        .build()
        .unwrap();
    let token = jwt.issue(&user(1)).unwrap();
    let claims = peek_claims(&token);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], "api");
    assert_eq!(claims["scope"], "x");
    let verified = jwt.verify(&token).unwrap();
    assert_eq!(verified.extra["iss"], ISSUER);
    assert_eq!(verified.extra["aud"], "api");
}

#[tokio::test]
async fn the_issuer_must_be_the_configured_one() {
    let jwt = hs256_jwt(claims_config());
    let ok = token(&claims_with(&json!({"iss": ISSUER, "aud": "api"})));
    assert_verifies(&jwt, &ok, 1, "right issuer");
    for iss in [
        json!("https://other.example"),
        json!(null),
        json!(5),
        json!([ISSUER]),
        json!(""),
    ] {
        let forged = token(&claims_with(&json!({"iss": iss, "aud": "api"})));
        let reason = refusal(jwt.verify(&forged), &format!("iss {iss}"));
        assert_eq!(reason, TokenError::InvalidIssuer, "iss {iss}");
        assert_eq!(reason.to_string(), "Invalid issuer");
    }
    let app = TestApp::with_keys(Keys::hs256(SECRET).unwrap(), |b| b.config(claims_config()));
    let wrong = token(&claims_with(
        &json!({"iss": "https://other.example", "aud": "api"}),
    ));
    assert_invalid_token(&app.protected(&wrong).await, "Invalid issuer");
    assert_eq!(app.protected(&ok).await.status, StatusCode::OK);
}

#[test]
fn the_audience_must_name_a_configured_one() {
    let jwt = hs256_jwt(claims_config());
    for aud in [
        json!("api"),
        json!("admin"),
        json!(["other", "admin"]),
        json!(["api"]),
    ] {
        let ok = token(&claims_with(&json!({"iss": ISSUER, "aud": aud})));
        assert_verifies(&jwt, &ok, 1, &format!("aud {aud}"));
    }
    for aud in [
        json!("other"),
        json!(null),
        json!([]),
        json!(["other"]),
        json!("API"),
    ] {
        let forged = token(&claims_with(&json!({"iss": ISSUER, "aud": aud})));
        let reason = refusal(jwt.verify(&forged), &format!("aud {aud}"));
        assert_eq!(reason, TokenError::InvalidAudience, "aud {aud}");
        assert_eq!(reason.to_string(), "Invalid audience");
    }
    for aud in [json!(5), json!(["api", 5]), json!({"aud": "api"})] {
        let forged = token(&claims_with(&json!({"iss": ISSUER, "aud": aud})));
        assert_refused(
            jwt.verify(&forged),
            &TokenError::InvalidClaimFormat,
            &format!("aud {aud}"),
        );
    }
}

#[test]
fn the_subject_must_be_the_configured_one() {
    let mut config = JwtConfig::default();
    config.subject = Some("service-a".to_owned());
    let jwt = hs256_jwt(config);
    assert_verifies(
        &jwt,
        &token(&claims_with(&json!({"sub": "service-a"}))),
        1,
        "right sub",
    );
    for sub in [
        json!("service-b"),
        json!(null),
        json!(1),
        json!(["service-a"]),
    ] {
        let forged = token(&claims_with(&json!({"sub": sub})));
        let reason = refusal(jwt.verify(&forged), &format!("sub {sub}"));
        assert_eq!(reason, TokenError::InvalidSubject, "sub {sub}");
        assert_eq!(reason.to_string(), "Invalid subject");
    }
}

#[test]
fn required_claims_include_iss_aud_sub_and_jti() {
    let mut config = claims_config();
    config.subject = Some("service-a".to_owned());
    config.required_claims = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
        .map(str::to_owned)
        .to_vec();
    let jwt = hs256_jwt(config);
    let full = json!({"iss": ISSUER, "aud": "api", "sub": "service-a", "jti": "j1"});
    assert_verifies(&jwt, &token(&claims_with(&full)), 1, "every claim");
    for claim in ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"] {
        let mut missing = full.clone();
        missing[claim] = json!(null);
        let claims = claims_with(&missing);
        assert!(claims.get(claim).is_none());
        let reason = refusal(jwt.verify(&token(&claims)), claim);
        assert_eq!(reason, TokenError::MissingClaim(claim));
        assert_eq!(
            reason.to_string(),
            format!("Token is missing the \"{claim}\" claim")
        );
        // An explicit null is missing too.
        let mut null = claims_with(&full);
        null[claim] = Value::Null;
        assert_eq!(
            refusal(jwt.verify(&token(&null)), claim).to_string(),
            format!("Token is missing the \"{claim}\" claim")
        );
    }
    // In order: iss, aud, sub, jti.
    let few = claims_with(&json!({"sub": "service-a"}));
    assert_eq!(
        refusal(jwt.verify(&token(&few)), "order").to_string(),
        "Token is missing the \"iss\" claim"
    );
    // jwt-gate's own tokens carry iss and aud, but no sub or jti without a payload hook and a
    // revocation store.
    let issued = jwt.issue(&user(1)).unwrap();
    assert_eq!(
        refusal(jwt.verify(&issued), "issued").to_string(),
        "Token is missing the \"sub\" claim"
    );
}

#[test]
fn the_default_config_refuses_any_audience() {
    let jwt = hs256_jwt(JwtConfig::default());
    assert_verifies(&jwt, &token(&claims()), 1, "no aud");
    for aud in [json!("api"), json!(["api"]), json!([]), json!("")] {
        let forged = token(&claims_with(&json!({"aud": aud})));
        assert_refused(
            jwt.verify(&forged),
            &TokenError::InvalidAudience,
            &format!("aud {aud}"),
        );
    }
    // Even its own tokens, when a payload hook adds an audience (Flask-JWT's rule).
    let clock = clock();
    let hooked = builder_with_keys(Keys::hs256(SECRET).unwrap(), &clock)
        .payload(|_| json!({"aud": "api"}).as_object().unwrap().clone())
        .build()
        .unwrap();
    let issued = hooked.issue(&user(1)).unwrap();
    assert_eq!(peek_claims(&issued)["aud"], "api");
    assert_refused(
        hooked.verify(&issued),
        &TokenError::InvalidAudience,
        "hooked aud",
    );
    // Issuer and subject are not checked by default.
    let other = token(&claims_with(&json!({"iss": "anyone", "sub": "anything"})));
    assert_verifies(&jwt, &other, 1, "iss and sub unchecked");
}
