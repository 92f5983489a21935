//! The JWKS route (CONTRACT.md "Keys extension"): `Jwt::jwks_route` through a `Router` with
//! `tower::ServiceExt::oneshot`: the public keys and nothing else, `{"keys": []}` for HMAC, the
//! rotation schedule in the document and in `Cache-Control`, 405 for other methods, and the
//! published keys verifying the signer's tokens, read back by jwt-gate and by jsonwebtoken.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{NOW, User, builder_with_keys, clock, error_body, fixture, fixture_dir, user};
use http_body_util::BodyExt as _;
use jwt_gate::{Algorithm, FixedClock, JWKS_PATH, Jwt, JwtConfig, JwtError, Key, Keys, TokenError};
use serde_json::{Value, json};
use tower::ServiceExt as _;

// ---------------------------------------------------------------------------------------------
// Helpers.

/// The public JWK of the fixture key of `algorithm` (computed by openssl + Python, see
/// `tests/fixtures/README.md`), with `alg` set to `algorithm`.
fn fixture_jwk(algorithm: Algorithm) -> Value {
    let mut jwk: Value = serde_json::from_slice(&fixture(&format!(
        "{}/public.jwk.json",
        fixture_dir(algorithm)
    )))
    .unwrap();
    jwk["alg"] = json!(algorithm.as_str());
    jwk
}

fn asymmetric() -> impl Iterator<Item = Algorithm> {
    Algorithm::ALL.into_iter().filter(|a| !a.is_hmac())
}

/// The fixture's private key for `algorithm`.
fn private_key(algorithm: Algorithm) -> Key {
    Key::from_pem(
        algorithm,
        fixture(&format!("{}/private.pem", fixture_dir(algorithm))),
    )
    .unwrap()
}

/// A new key pair for `algorithm`.
fn new_key(algorithm: Algorithm) -> Key {
    let pair = Key::generate(algorithm).unwrap();
    Key::from_pem(algorithm, pair.private_pem.as_bytes()).unwrap()
}

/// A `Jwt` on `keys` with `config` and `clock`, and a router holding its JWKS route only.
fn service(keys: Keys, config: JwtConfig, clock: &Arc<FixedClock>) -> (Jwt<User>, Router) {
    let jwt = builder_with_keys(keys, clock)
        .config(config)
        .build()
        .unwrap();
    let router = Router::new().merge(jwt.jwks_route());
    (jwt, router)
}

/// A response, body read.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "{}: not JSON ({error}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn header(&self, name: impl axum::http::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    /// The published JWKs.
    fn keys(&self) -> Vec<Value> {
        assert_eq!(self.status, StatusCode::OK);
        let body = self.json();
        let object = body.as_object().unwrap();
        assert_eq!(
            object.keys().collect::<Vec<_>>(),
            ["keys"],
            "{body}: only \"keys\""
        );
        object["keys"].as_array().unwrap().clone()
    }

    /// `max-age` of `Cache-Control: public, max-age=N`.
    fn max_age(&self) -> u64 {
        let value = self.header(CACHE_CONTROL).expect("a Cache-Control header");
        let age = value
            .strip_prefix("public, max-age=")
            .unwrap_or_else(|| panic!("Cache-Control: {value}"));
        age.parse().unwrap()
    }
}

/// `<method> /.well-known/jwks.json` through `router` with `oneshot`.
async fn call(router: &Router, method: Method) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(JWKS_PATH)
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes().to_vec(),
    }
}

async fn get(router: &Router) -> Answer {
    call(router, Method::GET).await
}

/// The kids of a JWKS, in order.
fn kids(keys: &[Value]) -> Vec<&str> {
    keys.iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect()
}

/// Access tokens of 60 s, refresh tokens of 120 s, a 10 s leeway: a grace of 130 s, shorter
/// than the default `jwks_max_age` (300 s).
fn short_grace_config() -> JwtConfig {
    let mut config = JwtConfig::default();
    config.expiration_delta = Duration::from_secs(60);
    config.refresh_expiration_delta = Duration::from_secs(120);
    config.leeway = Duration::from_secs(10);
    config
}

const SHORT_GRACE: u64 = 130;

// ---------------------------------------------------------------------------------------------
// The document.

#[tokio::test]
async fn the_jwks_lists_the_public_key_and_only_its_public_members() {
    for algorithm in asymmetric() {
        let (_, router) = service(
            Keys::new(private_key(algorithm)).unwrap(),
            JwtConfig::default(),
            &clock(),
        );
        let answer = get(&router).await;
        assert_eq!(answer.status, StatusCode::OK, "{algorithm}");
        assert_eq!(answer.header(CONTENT_TYPE), Some("application/json"));
        assert_eq!(answer.header(CACHE_CONTROL), Some("public, max-age=300"));
        let keys = answer.keys();
        assert_eq!(keys, [fixture_jwk(algorithm)], "{algorithm}");
        let members: BTreeSet<&str> = keys[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let expected: BTreeSet<&str> = match fixture_dir(algorithm) {
            "rsa" => ["kty", "use", "alg", "kid", "n", "e"].into(),
            "ed25519" => ["kty", "use", "alg", "kid", "crv", "x"].into(),
            _ => ["kty", "use", "alg", "kid", "crv", "x", "y"].into(),
        };
        assert_eq!(members, expected, "{algorithm}: the public members only");
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(keys[0].get(private).is_none(), "{algorithm}: {private}");
        }
        assert_eq!(keys[0]["use"], "sig");
        assert_eq!(keys[0]["alg"], algorithm.as_str());
    }
}

#[tokio::test]
async fn an_hmac_ring_publishes_no_keys() {
    let secret = [b'S'; 64];
    let encoded = URL_SAFE_NO_PAD.encode(secret);
    let named = |kid: &str| Key::hmac(Algorithm::HS256, secret).unwrap().with_kid(kid);
    let rotated = Keys::new(named("k1"))
        .unwrap()
        .rotated(
            named("k2"),
            std::time::SystemTime::now(),
            Duration::from_secs(60),
        )
        .unwrap();
    for (name, keys) in [
        ("HS256", Keys::hs256(secret).unwrap()),
        ("HS384", Keys::hs384(secret).unwrap()),
        ("HS512", Keys::hs512(secret).unwrap()),
        ("HS256 with a kid", Keys::new(named("k1")).unwrap()),
        ("two HS256 keys", rotated),
    ] {
        let (_, router) = service(keys, JwtConfig::default(), &clock());
        let answer = get(&router).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}");
        assert_eq!(answer.json(), json!({"keys": []}), "{name}");
        let text = String::from_utf8(answer.body).unwrap();
        assert!(!text.contains("SSSS") && !text.contains(&encoded), "{name}");
    }
}

#[tokio::test]
async fn a_verify_only_ring_publishes_its_keys() {
    let keys = Keys::verify_only([
        Key::from_pem(Algorithm::ES256, fixture("p256/public.pem")).unwrap(),
        Key::from_pem(Algorithm::EdDSA, fixture("ed25519/public.pem")).unwrap(),
    ])
    .unwrap();
    let (_, router) = service(keys, JwtConfig::default(), &clock());
    assert_eq!(
        get(&router).await.keys(),
        [fixture_jwk(Algorithm::ES256), fixture_jwk(Algorithm::EdDSA)]
    );
}

// ---------------------------------------------------------------------------------------------
// Rotation and Cache-Control.

#[tokio::test]
async fn a_rotation_publishes_both_keys_until_the_grace_ends() {
    let clock = clock();
    let a = private_key(Algorithm::ES256);
    let b = new_key(Algorithm::ES256);
    let (jwt, router) = service(Keys::new(a.clone()).unwrap(), short_grace_config(), &clock);
    let before = get(&router).await;
    assert_eq!(kids(&before.keys()), [a.kid().unwrap()]);
    assert_eq!(before.max_age(), 300);

    jwt.rotate_keys(b.clone()).unwrap();
    let during = get(&router).await;
    assert_eq!(
        kids(&during.keys()),
        [b.kid().unwrap(), a.kid().unwrap()],
        "the signing key first"
    );
    assert_eq!(during.keys()[1], fixture_jwk(Algorithm::ES256));
    assert_eq!(
        during.max_age(),
        SHORT_GRACE,
        "no cache beyond A's retirement"
    );

    clock.advance(Duration::from_secs(100));
    let later = get(&router).await;
    assert_eq!(later.keys().len(), 2);
    assert_eq!(later.max_age(), SHORT_GRACE - 100);

    clock.advance(Duration::from_secs(SHORT_GRACE - 100 - 1));
    let last = get(&router).await;
    assert_eq!(last.keys().len(), 2, "the last second of the grace");
    assert_eq!(last.max_age(), 1);

    clock.advance(Duration::from_secs(1));
    let after = get(&router).await;
    assert_eq!(kids(&after.keys()), [b.kid().unwrap()]);
    assert_eq!(after.max_age(), 300);
}

#[tokio::test]
async fn max_age_is_the_configured_one_unless_a_key_retires_sooner() {
    let clock = clock();
    let mut config = JwtConfig::default();
    config.jwks_max_age = Duration::from_secs(60);
    let (jwt, router) = service(
        Keys::new(private_key(Algorithm::EdDSA)).unwrap(),
        config,
        &clock,
    );
    assert_eq!(get(&router).await.max_age(), 60);
    // Flask-JWT's default lifetimes: a grace of 30 days, far beyond the max age.
    jwt.rotate_keys(new_key(Algorithm::EdDSA)).unwrap();
    let answer = get(&router).await;
    assert_eq!(answer.keys().len(), 2);
    assert_eq!(answer.max_age(), 60);
    // The default max age, and a key that retires in 200 s.
    let keys = Keys::new(private_key(Algorithm::ES384))
        .unwrap()
        .with_previous(
            new_key(Algorithm::ES384),
            std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(NOW).unwrap() + 200),
        )
        .unwrap();
    let (_, router) = service(keys, JwtConfig::default(), &clock);
    let answer = get(&router).await;
    assert_eq!(answer.keys().len(), 2);
    assert_eq!(answer.max_age(), 200);
}

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    let (_, router) = service(
        Keys::new(private_key(Algorithm::RS256)).unwrap(),
        JwtConfig::default(),
        &clock(),
    );
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let answer = call(&router, method.clone()).await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(answer.header(ALLOW), Some("GET, HEAD"), "{method}");
        assert_eq!(answer.header(CONTENT_TYPE), Some("application/json"));
        assert_eq!(
            answer.json(),
            error_body(405, "Method Not Allowed", "Method not allowed")
        );
        assert_eq!(answer.header(WWW_AUTHENTICATE), None);
    }
    let head = call(&router, Method::HEAD).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header(CACHE_CONTROL), Some("public, max-age=300"));
    assert!(head.body.is_empty());
}

// ---------------------------------------------------------------------------------------------
// The published keys verify.

/// `token` decoded by jsonwebtoken with `jwk` (exp checked against the system clock).
fn jsonwebtoken_decode(token: &str, jwk: &Value) -> jsonwebtoken::errors::Result<Value> {
    let algorithm: jsonwebtoken::Algorithm = jwk["alg"].as_str().unwrap().parse().unwrap();
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk)?;
    let validation = jsonwebtoken::Validation::new(algorithm);
    jsonwebtoken::decode::<Value>(token, &key, &validation).map(|data| data.claims)
}

/// A verify-only `Jwt` on the JWKs of a document, read back with `Key::from_jwk`.
fn verifier(keys: &[Value], clock: &Arc<FixedClock>) -> Jwt<User> {
    let keys = keys.iter().map(|jwk| Key::from_jwk(jwk).unwrap());
    builder_with_keys(Keys::verify_only(keys).unwrap(), clock)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_published_keys_verify_the_signer_s_tokens() {
    for algorithm in asymmetric() {
        // The system time, so that jsonwebtoken's expiry check agrees.
        let clock = Arc::new(FixedClock::now());
        let (signer, router) = service(
            Keys::new(private_key(algorithm)).unwrap(),
            JwtConfig::default(),
            &clock,
        );
        let token = signer.issue(&user(1)).unwrap();
        let keys = get(&router).await.keys();
        let read_back = Key::from_jwk(&keys[0]).unwrap();
        assert_eq!(read_back.algorithm(), algorithm);
        assert_eq!(read_back.kid(), signer.keys().signing_key().unwrap().kid());
        assert!(!read_back.can_sign());

        let service = verifier(&keys, &clock);
        assert_eq!(service.verify(&token).unwrap().identity, 1, "{algorithm}");
        let claims = jsonwebtoken_decode(&token, &keys[0])
            .unwrap_or_else(|error| panic!("{algorithm}: jsonwebtoken refused: {error}"));
        assert_eq!(claims["identity"], 1, "{algorithm}");

        // Another key's token, even under this kid, is refused by both.
        let (stranger, _) = service_with_kid(algorithm, read_back.kid().unwrap(), &clock);
        let forged = stranger.issue(&user(1)).unwrap();
        assert!(
            matches!(
                service.verify(&forged),
                Err(JwtError::InvalidToken(TokenError::SignatureInvalid))
            ),
            "{algorithm}"
        );
        assert!(
            jsonwebtoken_decode(&forged, &keys[0]).is_err(),
            "{algorithm}"
        );
    }
}

/// A `Jwt` signing with a new key of `algorithm` known by `kid`.
fn service_with_kid(
    algorithm: Algorithm,
    kid: &str,
    clock: &Arc<FixedClock>,
) -> (Jwt<User>, Router) {
    service(
        Keys::new(new_key(algorithm).with_kid(kid)).unwrap(),
        JwtConfig::default(),
        clock,
    )
}

#[tokio::test]
async fn after_a_rotation_each_published_key_verifies_its_own_tokens() {
    let clock = Arc::new(FixedClock::now());
    let (signer, router) = service(
        Keys::new(private_key(Algorithm::PS384)).unwrap(),
        short_grace_config(),
        &clock,
    );
    let token_a = signer.issue(&user(1)).unwrap();
    signer.rotate_keys(new_key(Algorithm::PS384)).unwrap();
    let token_b = signer.issue(&user(2)).unwrap();
    let keys = get(&router).await.keys();
    assert_eq!(keys.len(), 2);
    let service = verifier(&keys, &clock);
    for (token, id) in [(&token_a, 1), (&token_b, 2)] {
        assert_eq!(service.verify(token).unwrap().identity, id);
        let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
        let jwk = keys.iter().find(|jwk| jwk["kid"] == kid.as_str()).unwrap();
        assert_eq!(jsonwebtoken_decode(token, jwk).unwrap()["identity"], id);
        let other = keys.iter().find(|jwk| jwk["kid"] != kid.as_str()).unwrap();
        assert!(jsonwebtoken_decode(token, other).is_err(), "the other key");
    }

    // After the grace only B is published: a service that fetches the JWKS again refuses A.
    clock.advance(Duration::from_secs(SHORT_GRACE));
    let keys = get(&router).await.keys();
    assert_eq!(keys.len(), 1);
    let refreshed = verifier(&keys, &clock);
    assert!(matches!(
        refreshed.verify(&token_a),
        Err(JwtError::InvalidToken(TokenError::UnknownKeyId))
    ));
    // (B's token is 130 s old, beyond its 60 s + 10 s: expired, but by its key still known.)
    assert!(matches!(
        refreshed.verify(&token_b),
        Err(JwtError::InvalidToken(TokenError::Expired))
    ));
}
