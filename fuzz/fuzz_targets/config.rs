//! Configuration from arbitrary values: `JwtConfig::from_lookup` and `Keys::from_lookup`
//! never panic, and a configuration they accept is one the library can run: it builds, mounts
//! its routes (axum panics on a path it cannot route), issues tokens that verify, carries them
//! in its own `Authorization` scheme, logs in with its own body keys, and answers 401s with a
//! valid challenge.
//!
//! Input: lines `NAME=value` (`\n`-separated; the last line for a name wins; a line without
//! `=` sets the name to the empty string). Values are read as UTF-8, lossily.

#![no_main]

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use http::{HeaderValue, StatusCode};
use jwt_gate::{
    Claims, ConfigError, Credentials, Jwt, JwtConfig, JwtError, Keys, MemoryStore, TokenError,
};
use jwt_gate_fuzz::{User, assert_reply, send};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let vars: HashMap<&str, &str> = text
        .split('\n')
        .map(|line| line.split_once('=').unwrap_or((line, "")))
        .collect();
    let lookup = |name: &str| vars.get(name).map(|v| (*v).to_owned());

    let config = JwtConfig::from_lookup(lookup);
    let keys = Keys::from_lookup(lookup);
    if let Err(error) = &config {
        assert!(!error.to_string().is_empty());
    }
    // Nothing about the keys depends on the secret's text, only on its length: the same
    // lookup with the secret replaced by as many DEL bytes gives the same error message and
    // the same `Debug` text (so neither can echo the secret).
    let masked = Keys::from_lookup(|name| match name {
        "JWT_SECRET_KEY" => vars.get(name).map(|s| "\u{7f}".repeat(s.len())),
        _ => lookup(name),
    });
    match (&keys, &masked) {
        (Err(error), Err(masked)) => {
            assert!(!error.to_string().is_empty());
            assert_eq!(error.to_string(), masked.to_string());
        }
        (Ok(keys), Ok(masked)) => assert_eq!(format!("{keys:?}"), format!("{masked:?}")),
        (keys, masked) => panic!("{keys:?} but {masked:?} with the secret masked"),
    }
    let (Ok(config), Ok(keys)) = (config, keys) else {
        return;
    };
    assert!(
        HeaderValue::try_from(config.challenge()).is_ok(),
        "{config:?}"
    );

    let with_store = vars.contains_key("x-fuzz-store");
    let username_key = config.auth_username_key.clone();
    let password_key = config.auth_password_key.clone();
    let mut builder = Jwt::builder(keys)
        .config(config.clone())
        .authenticate(|c: Credentials| async move {
            Ok::<_, std::convert::Infallible>(
                (c.username == "user1" && c.password == "abcxyz").then_some(User { id: 1 }),
            )
        })
        .identity(|claims: Claims<i64>| async move {
            Ok::<_, std::convert::Infallible>((claims.identity == 1).then_some(User { id: 1 }))
        });
    if with_store {
        builder = builder.revocation_store(Arc::new(MemoryStore::new()));
    }
    let jwt = match builder.build() {
        Ok(jwt) => jwt,
        // With the lifecycle, the login path may collide with a lifecycle route.
        Err(ConfigError::Invalid { .. }) if with_store => return,
        Err(error) => panic!("an accepted configuration does not build: {error} ({config:?})"),
    };
    let router = jwt.json_errors(jwt.routes());

    // Issue, carry in the configured scheme, find, verify.
    let token = jwt.issue(&User { id: 1 }).expect("issuing never fails");
    let mut request = http::Request::new(());
    let header = format!("{} {token}", config.auth_header_prefix);
    request.headers_mut().insert(
        http::header::AUTHORIZATION,
        HeaderValue::try_from(header).expect("a valid header"),
    );
    let (parts, ()) = request.into_parts();
    assert_eq!(
        jwt.token(&parts).expect("a well-formed header").as_deref(),
        Some(&*token)
    );
    if config.not_before_delta > config.leeway {
        // Not valid before `iat + not_before_delta`, beyond the leeway: refused until then.
        assert!(matches!(
            jwt.verify(&token),
            Err(JwtError::InvalidToken(TokenError::NotYetValid))
        ));
    } else {
        let claims = jwt.verify(&token).expect("a fresh token verifies");
        assert_eq!(claims.identity, 1);
    }

    // Log in with the configured keys, at the configured path. A rule that is not a URI path
    // as written (`<`, `>`, a backtick...) could only be sent percent-encoded, and the router
    // matches paths undecoded: the login is unreachable then. The configuration accepts such
    // rules (a known gap, reported); they are skipped here.
    let Ok(uri) = config.auth_url_rule.parse::<http::Uri>() else {
        return;
    };
    if uri.path() != config.auth_url_rule {
        return;
    }
    let mut body = Map::new();
    body.insert(username_key, Value::from("user1"));
    body.insert(password_key, Value::from("abcxyz"));
    let login = http::Request::post(uri.clone())
        .header("content-type", "application/json")
        .body(Body::from(Value::Object(body).to_string()))
        .expect("a valid request");
    let reply = send(&router, login);
    assert_reply(&reply, false);
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);

    // A refusal answers with the configured challenge.
    let bad = http::Request::post(uri.clone())
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .expect("a valid request");
    let reply = send(&router, bad);
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply
            .headers
            .get(http::header::WWW_AUTHENTICATE)
            .map(|v| v.as_bytes()),
        Some(config.challenge().as_bytes())
    );
});
