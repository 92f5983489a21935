//! A `Jwt` on a `KeySource`: keys that change outside it, a refresh on an unknown `kid`, and the
//! issuer rule of a source that knows its issuer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use common::{Reply, TestApp, User, assert_invalid_token, builder, clock, router, user};
use jwt_gate::{
    Algorithm, ConfigError, Jwt, JwtConfig, JwtError, Key, KeySource, Keys, TokenError,
};

/// Keys published by a "remote" issuer: `published` is what a fetch would return; `current` is
/// what the source verifies with until `refresh` copies `published` over.
#[derive(Debug)]
struct Published {
    current: Mutex<Keys>,
    published: Mutex<Keys>,
    refreshes: AtomicUsize,
    issuer: Option<String>,
}

#[derive(Clone, Debug)]
struct Source(Arc<Published>);

impl Source {
    fn new(issuer: Option<&str>) -> Self {
        let empty = Keys::verify_only([]).unwrap();
        Self(Arc::new(Published {
            current: Mutex::new(empty.clone()),
            published: Mutex::new(empty),
            refreshes: AtomicUsize::new(0),
            issuer: issuer.map(str::to_owned),
        }))
    }

    fn publish(&self, keys: Keys) {
        *self.0.published.lock().unwrap() = keys;
    }

    fn refreshes(&self) -> usize {
        self.0.refreshes.load(Ordering::SeqCst)
    }
}

impl KeySource for Source {
    fn keys(&self) -> Keys {
        self.0.current.lock().unwrap().clone()
    }

    fn refresh(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            self.0.refreshes.fetch_add(1, Ordering::SeqCst);
            let published = self.0.published.lock().unwrap().clone();
            *self.0.current.lock().unwrap() = published;
        })
    }

    fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }
}

fn signing_key(algorithm: Algorithm) -> Key {
    let pair = Key::generate(algorithm).unwrap();
    Key::from_pem(algorithm, pair.private_pem.as_bytes()).unwrap()
}

fn public_half(key: &Key) -> Key {
    Key::from_jwk(&key.public_jwk().unwrap()).unwrap()
}

/// The audience `api`, and `issuer` if given.
fn claims_config(issuer: Option<&str>) -> JwtConfig {
    let mut config = JwtConfig::default();
    config.issuer = issuer.map(str::to_owned);
    config.audience = vec!["api".to_owned()];
    config
}

/// An issuer signing with `key`, and a verify-only service on `source`.
fn issuer_and_service(key: &Key, source: &Source) -> (Jwt<User>, TestApp) {
    let clock = clock();
    let issuer = builder(&clock).build().unwrap();
    issuer.set_keys(Keys::new(key.clone()).unwrap()).unwrap();
    (
        issuer,
        TestApp::verify_only(source.clone(), &clock, JwtConfig::default()),
    )
}

#[tokio::test]
async fn an_unknown_kid_refreshes_the_source_once_then_verifies() {
    let key = signing_key(Algorithm::ES256);
    let source = Source::new(None);
    let (issuer, service) = issuer_and_service(&key, &source);
    let token = issuer.issue(&user(1)).unwrap();

    // Nothing published yet: one refresh, then the token is refused.
    let reply = service.protected(&token).await;
    assert_invalid_token(&reply, "Unknown key id (kid)");
    assert_eq!(source.refreshes(), 1);

    source.publish(Keys::verify_only([public_half(&key)]).unwrap());
    let reply = service.protected(&token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(source.refreshes(), 2);

    // Known now: no more refreshes.
    let reply = service.protected(&token).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(source.refreshes(), 2);

    // `verify` alone never refreshes (it is synchronous).
    let other = signing_key(Algorithm::ES256);
    let (other_issuer, _) = issuer_and_service(&other, &Source::new(None));
    let stranger = other_issuer.issue(&user(1)).unwrap();
    assert!(matches!(
        service.jwt.verify(&stranger),
        Err(JwtError::InvalidToken(TokenError::UnknownKeyId))
    ));
    assert_eq!(source.refreshes(), 2);
}

#[tokio::test]
async fn other_failures_do_not_refresh() {
    let key = signing_key(Algorithm::EdDSA);
    let source = Source::new(None);
    source.publish(Keys::verify_only([public_half(&key)]).unwrap());
    let (issuer, service) = issuer_and_service(&key, &source);
    let token = issuer.issue(&user(1)).unwrap();
    assert_eq!(service.protected(&token).await.status, StatusCode::OK);
    let refreshes = source.refreshes();
    // A forged signature with a known kid is refused without asking the source again.
    let (body, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let forged = format!("{body}.{flipped}{}", &signature[1..]);
    let reply: Reply = service.protected(&forged).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(source.refreshes(), refreshes);
}

#[test]
fn a_verify_only_source_mounts_no_login_and_cannot_rotate() {
    let source = Source::new(None);
    let jwt: Jwt<User> = Jwt::builder_with_key_source(source)
        .authenticate(common::authenticate)
        .identity(common::identity)
        .build()
        .unwrap();
    assert!(jwt.keys().signing_key().is_none());
    assert!(matches!(jwt.issue(&user(1)), Err(JwtError::Internal(_))));
    assert!(matches!(
        jwt.rotate_keys(signing_key(Algorithm::ES256)),
        Err(ConfigError::Key(_))
    ));
    let _router = router(&jwt);
}

#[tokio::test]
async fn a_verify_only_service_answers_404_at_the_login_path() {
    let app = TestApp::verify_only(Source::new(None), &clock(), JwtConfig::default());
    let reply = app
        .post_json("/auth", r#"{"username": "user1", "password": "abcxyz"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text());
}

#[tokio::test]
async fn a_source_that_knows_its_issuer_requires_it_and_an_audience() {
    let key = signing_key(Algorithm::RS256);
    let issuer_name = "https://issuer.example";
    let clock = clock();
    let build = |config: JwtConfig| {
        let source = Source::new(Some(issuer_name));
        source.publish(Keys::verify_only([public_half(&key)]).unwrap());
        Jwt::<User>::builder_with_key_source(source)
            .authenticate(common::authenticate)
            .identity(common::identity)
            .clock(Arc::clone(&clock))
            .config(config)
            .build()
    };
    let error = build(JwtConfig::default()).unwrap_err();
    assert!(error.to_string().starts_with("JWT_AUDIENCE"), "{error}");
    let error = build(claims_config(Some("https://other.example"))).unwrap_err();
    assert!(error.to_string().starts_with("JWT_ISSUER"), "{error}");
    let verifier = build(claims_config(None)).unwrap();
    assert_eq!(verifier.config().issuer.as_deref(), Some(issuer_name));

    // Tokens of that issuer for that audience pass; another issuer's do not.
    let signer = |issuer: &str| {
        let jwt = builder(&clock)
            .config(claims_config(Some(issuer)))
            .build()
            .unwrap();
        jwt.set_keys(Keys::new(key.clone()).unwrap()).unwrap();
        jwt
    };
    let good = signer(issuer_name).issue(&user(1)).unwrap();
    let foreign = signer("https://other.example").issue(&user(1)).unwrap();
    // `verify` never refreshes: the published keys are fetched by the first `authorize`.
    assert!(matches!(
        verifier.verify(&good),
        Err(JwtError::InvalidToken(TokenError::UnknownKeyId))
    ));
    let source = Source::new(Some(issuer_name));
    source.publish(Keys::verify_only([public_half(&key)]).unwrap());
    let app = TestApp::verify_only(source, &clock, claims_config(None));
    assert_eq!(app.protected(&good).await.status, StatusCode::OK);
    assert_invalid_token(&app.protected(&foreign).await, "Invalid issuer");
}
