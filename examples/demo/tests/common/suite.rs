//! The behaviour of DEMO-API.md, one scenario per function, run on SQLite and PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, crypto};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::{Client, PASSWORD, Reply, SECRET, TestApp};

const BAD_NAME: &str = "name: Must be 1 to 80 characters without control characters";
const NO_TOKEN: &str = "Request does not contain an access token";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A token minted outside jwt-gate: `header` and `payload` as given, HMAC-SHA256 with `secret`.
fn mint_with(secret: &str, header: &Value, payload: &Value) -> String {
    let signing_input = format!("{}.{}", b64(header), b64(payload));
    let signature = crypto::sign(
        signing_input.as_bytes(),
        &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{signing_input}.{signature}")
}

fn mint(payload: &Value) -> String {
    mint_with(SECRET, &json!({"alg": "HS256", "typ": "JWT"}), payload)
}

/// The standard claims for `identity`, issued at `iat`.
fn claims(identity: &Value, iat: i64) -> Value {
    json!({ "identity": identity, "iat": iat, "nbf": iat, "exp": iat + 1800 })
}

fn payload_of(token: &str) -> Value {
    let segment = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn header_of(token: &str) -> Value {
    let segment = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn item_json(id: i64, name: &str, price: f64, store_id: i64) -> Value {
    json!({ "id": id, "name": name, "price": price, "store_id": store_id })
}

/// `name` with every byte but ASCII letters and digits percent-encoded.
fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The ids of a list of items or stores.
fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["id"].as_i64().unwrap())
        .collect()
}

/// Runs `count` copies of `request` at once and counts the answers by status.
async fn concurrently<F, Fut>(count: usize, request: F) -> (HashMap<u16, usize>, Vec<Reply>)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let mut set = JoinSet::new();
    for n in 0..count {
        set.spawn(request(n));
    }
    let replies = set.join_all().await;
    let mut counts = HashMap::new();
    for reply in &replies {
        *counts.entry(reply.status.as_u16()).or_default() += 1;
    }
    (counts, replies)
}

pub(crate) async fn conventions(app: &TestApp) {
    let health = app.get("/health", None).await;
    health.assert_status(200).assert_json();
    assert_eq!(health.body, json!({"status": "ok"}));
    assert!(health.headers.contains_key("x-request-id"));

    for path in [
        "/nope",
        "/item",
        "/item/",
        "/store",
        "/store/",
        "/items/",
        "/stores/",
        "/item/a/b",
        "/store/a/b",
        "/login/",
        "/",
    ] {
        app.get(path, None).await.assert_error(404, "Not found");
    }
    let token = app.user_token().await;
    for (method, path) in [
        ("DELETE", "/items"),
        ("POST", "/items"),
        ("OPTIONS", "/items"),
        ("PUT", "/stores"),
        ("PUT", "/store/x"),
        ("PATCH", "/item/x"),
        ("OPTIONS", "/item/x"),
        ("POST", "/health"),
        ("GET", "/register"),
        ("GET", "/login"),
        ("PUT", "/login"),
        ("POST", "/me"),
    ] {
        for token in [None, Some(token.as_str())] {
            app.call(method, path, token, None)
                .await
                .assert_error(405, "Method not allowed");
        }
    }

    let head = app.raw("HEAD", "/stores", &[], "").await;
    head.assert_status(200).assert_json();
    assert!(head.raw.is_empty());
    let head = app.raw("HEAD", "/nope", &[], "").await;
    assert_eq!(head.status, 404);
    assert!(head.raw.is_empty());

    let huge = "x".repeat(17 * 1024);
    app.raw("GET", "/health", &[("x-padding", &huge)], "")
        .await
        .assert_error(431, "Request headers too large");

    // A client's request id is echoed.
    let reply = app
        .raw("GET", "/health", &[("x-request-id", "abc-123")], "")
        .await;
    assert_eq!(reply.headers["x-request-id"], "abc-123");
}

pub(crate) async fn register_field_rules(app: &TestApp) {
    let long = "x".repeat(81);
    let too_long_email = format!("{}@b", "a".repeat(253));
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "username: This field cannot be blank."),
        (
            json!({"username": null, "email": 1, "password": 1}),
            "username: This field cannot be blank.",
        ),
        (
            json!({"username": ""}),
            "username: This field cannot be blank.",
        ),
        (
            json!({"username": 5, "email": ""}),
            "username: Must be a string",
        ),
        (json!({"username": ["joe"]}), "username: Must be a string"),
        (json!({"username": false}), "username: Must be a string"),
        (json!({"username": {}}), "username: Must be a string"),
        (
            json!({"username": long}),
            "username: Must be 1 to 80 characters without control characters",
        ),
        (
            json!({"username": "jo\u{7}e"}),
            "username: Must be 1 to 80 characters without control characters",
        ),
        (
            json!({"username": "jo\u{85}e"}),
            "username: Must be 1 to 80 characters without control characters",
        ),
        (
            json!({"username": "joe"}),
            "email: This field cannot be blank.",
        ),
        (
            json!({"username": "joe", "email": null, "password": ""}),
            "email: This field cannot be blank.",
        ),
        (
            json!({"username": "joe", "email": ""}),
            "email: This field cannot be blank.",
        ),
        (
            json!({"username": "joe", "email": ["a@b"]}),
            "email: Must be a string",
        ),
        (
            json!({"username": "joe", "email": 12}),
            "email: Must be a string",
        ),
        (
            json!({"username": "joe", "email": "a@b"}),
            "password: This field cannot be blank.",
        ),
        (
            json!({"username": "joe", "email": "a@b", "password": null}),
            "password: This field cannot be blank.",
        ),
        (
            json!({"username": "joe", "email": "a@b", "password": ""}),
            "password: This field cannot be blank.",
        ),
        (
            json!({"username": "joe", "email": "a@b", "password": 12_345_678}),
            "password: Must be a string",
        ),
        (
            json!({"username": "joe", "email": "a@b", "password": "1234567"}),
            "password: Must be 8 to 128 characters",
        ),
        (
            json!({"username": "joe", "email": "a@b", "password": "p".repeat(129)}),
            "password: Must be 8 to 128 characters",
        ),
    ];
    for (body, message) in &cases {
        app.call("POST", "/register", None, Some(body))
            .await
            .assert_error(400, message);
    }
    for email in [
        "joe",
        "a@b@c",
        "@b",
        "a@",
        "a b@c",
        "a@b\u{a0}",
        "a\t@b",
        "a\u{1}@b",
        too_long_email.as_str(),
    ] {
        let body = json!({"username": "joe", "email": email, "password": 5});
        app.call("POST", "/register", None, Some(&body))
            .await
            .assert_error(400, "email: Must be a valid email address");
    }
    // Nothing was stored by any of those.
    app.call(
        "POST",
        "/login",
        None,
        Some(&json!({"email": "a@b", "password": "12345678"})),
    )
    .await
    .assert_error(401, "Invalid credentials");

    // Limits count code points; other keys are ignored; U+00A0 is not a control character.
    let created = json!({"message": "User created successfully."});
    for (username, email, password) in [
        (
            "é".repeat(80),
            format!("{}@b", "é".repeat(252)),
            "é".repeat(8),
        ),
        ("x".repeat(80), "x@y".to_owned(), "p".repeat(128)),
        (
            "a\u{a0}b".to_owned(),
            "ab@c".to_owned(),
            "12345678".to_owned(),
        ),
    ] {
        let body =
            json!({"username": username, "email": email, "password": password, "admin": true});
        let reply = app.call("POST", "/register", None, Some(&body)).await;
        reply.assert_status(201).assert_json();
        assert_eq!(reply.body, created);
        app.login(&email, &password).await;
    }

    // The body rules come first.
    app.raw("POST", "/register", &[], r#"{"username": 1}"#)
        .await
        .assert_error(415, "Content-Type must be application/json");
    app.raw(
        "POST",
        "/register",
        &[("content-type", "application/json")],
        "[]",
    )
    .await
    .assert_error(400, "Request body must be a JSON object");
}

pub(crate) async fn register_uniqueness(app: &TestApp) {
    app.register("joe", "Joe@Example.com", PASSWORD)
        .await
        .assert_status(201);
    app.register("joe", "other@example.com", PASSWORD)
        .await
        .assert_error(400, "A user with that username already exists");
    // Username first, when both are taken.
    app.register("joe", "joe@example.com", PASSWORD)
        .await
        .assert_error(400, "A user with that username already exists");
    // Usernames are case-sensitive; emails fold ASCII case.
    for email in ["joe@example.com", "JOE@EXAMPLE.COM", "Joe@Example.com"] {
        app.register("Joe", email, PASSWORD)
            .await
            .assert_error(400, "A user with that email already exists");
    }
    app.register("Joe", "joe2@example.com", PASSWORD)
        .await
        .assert_status(201);
    // Only ASCII folds: É/é, and the Kelvin sign K (U+212A)/k are different emails.
    app.register("u1", "É@x.org", PASSWORD)
        .await
        .assert_status(201);
    app.register("u2", "é@x.org", PASSWORD)
        .await
        .assert_status(201);
    app.register("u3", "\u{212a}@x.org", PASSWORD)
        .await
        .assert_status(201);
    app.register("u4", "k@x.org", PASSWORD)
        .await
        .assert_status(201);
    app.register("u5", "K@X.ORG", PASSWORD)
        .await
        .assert_error(400, "A user with that email already exists");
    app.register("u6", "éA@x.org", PASSWORD)
        .await
        .assert_status(201);
    app.register("u7", "éa@X.org", PASSWORD)
        .await
        .assert_error(400, "A user with that email already exists");
    // Each of them logs in with its own email only.
    let token = app.login("\u{212a}@X.org", PASSWORD).await;
    let me = app.get("/me", Some(&token)).await;
    assert_eq!(me.body["username"], "u3");
    let token = app.login("k@x.org", PASSWORD).await;
    assert_eq!(app.get("/me", Some(&token)).await.body["username"], "u4");
}

pub(crate) async fn login(app: &TestApp) {
    app.register("joe", "Joe@Example.com", PASSWORD)
        .await
        .assert_status(201);
    let good = json!({"email": "joe@EXAMPLE.com", "password": PASSWORD}).to_string();

    let json_type = [("content-type", "application/json")];
    app.raw("POST", "/login", &[], good.clone())
        .await
        .assert_error(415, "Content-Type must be application/json");
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "text/json",
    ] {
        app.raw(
            "POST",
            "/login",
            &[("content-type", content_type)],
            good.clone(),
        )
        .await
        .assert_error(415, "Content-Type must be application/json");
    }
    let huge = format!(r#"{{"email": "{}", "password": "x"}}"#, "a".repeat(70_000));
    app.raw("POST", "/login", &json_type, huge)
        .await
        .assert_error(413, "Request body too large");
    for body in ["", "{", "nope", r#"{"email": "a", "email": "b"}"#, "{} {}"] {
        app.raw("POST", "/login", &json_type, body)
            .await
            .assert_error(400, "Request body is not valid JSON");
    }
    for body in ["[]", "1", r#""x""#, "null"] {
        app.raw("POST", "/login", &json_type, body)
            .await
            .assert_error(400, "Request body must be a JSON object");
    }

    for body in [
        json!({}),
        json!({"email": "joe@example.com"}),
        json!({"email": "joe@example.com", "password": PASSWORD, "remember": true}),
        json!({"username": "joe", "password": PASSWORD}),
        json!({"email": "", "password": PASSWORD}),
        json!({"email": "joe@example.com", "password": ""}),
        json!({"email": "joe@example.com", "password": 12_345_678}),
        json!({"email": ["joe@example.com"], "password": PASSWORD}),
        json!({"email": "nobody@example.com", "password": PASSWORD}),
        json!({"email": "joe@example.com", "password": "wrong password"}),
        json!({"email": "joe@example.com", "password": PASSWORD.to_uppercase()}),
        json!({"email": "joe\u{0}@example.com", "password": PASSWORD}),
        json!({"email": "jöe@example.com", "password": PASSWORD}),
    ] {
        app.call("POST", "/login", None, Some(&body))
            .await
            .assert_error(401, "Invalid credentials");
    }

    for content_type in [
        "application/json",
        "APPLICATION/JSON; charset=utf-8",
        "application/vnd.api+json",
    ] {
        let reply = app
            .raw(
                "POST",
                "/login",
                &[("content-type", content_type)],
                good.clone(),
            )
            .await;
        reply.assert_status(200).assert_json();
        assert_eq!(reply.headers["cache-control"], "no-store");
        let object = reply.body.as_object().unwrap();
        assert_eq!(object.len(), 2, "{object:?}");
        assert_eq!(reply.body["user_id"], 1);
        let token = reply.body["access_token"].as_str().unwrap();
        assert_eq!(header_of(token), json!({"alg": "HS256", "typ": "JWT"}));
        let claims = payload_of(token);
        assert_eq!(claims["identity"], 1);
        let iat = claims["iat"].as_i64().unwrap();
        assert_eq!(claims["nbf"].as_i64(), Some(iat));
        assert_eq!(claims["exp"].as_i64(), Some(iat + 1800));
        assert!((iat - now()).abs() < 60);
        let me = app.get("/me", Some(token)).await;
        me.assert_status(200);
    }
}

pub(crate) async fn auth_errors(app: &TestApp) {
    let token = app.user_token().await;
    let iat = now();
    let check = |authorization: Option<String>, message: Option<&'static str>| async move {
        let headers: Vec<(&str, &str)> = authorization
            .as_deref()
            .map(|value| vec![("authorization", value)])
            .unwrap_or_default();
        let reply = app.raw("GET", "/me", &headers, "").await;
        match message {
            Some(message) => reply.assert_error(401, message),
            None => reply.assert_unauthorized(),
        }
    };
    check(None, Some(NO_TOKEN)).await;
    check(Some(String::new()), Some(NO_TOKEN)).await;
    check(Some("   ".into()), Some(NO_TOKEN)).await;
    check(
        Some(format!("Bearer {token}")),
        Some("Unsupported authorization type"),
    )
    .await;
    check(Some("JWT".into()), Some("Token missing")).await;
    check(Some("jwt  ".into()), Some("Token missing")).await;
    check(
        Some(format!("JWT {token} x")),
        Some("Token contains spaces"),
    )
    .await;
    check(
        Some(format!(
            "JWT {}",
            mint_with(
                "another secret of at least thirty-two bytes",
                &json!({"alg": "HS256", "typ": "JWT"}),
                &claims(&json!(1), iat)
            )
        )),
        Some("Signature verification failed"),
    )
    .await;
    // Altered: the payload of another token under this token's signature.
    let mut parts: Vec<&str> = token.split('.').collect();
    let altered_payload = b64(&claims(&json!(2), iat));
    parts[1] = &altered_payload;
    check(
        Some(format!("JWT {}", parts.join("."))),
        Some("Signature verification failed"),
    )
    .await;
    check(
        Some(format!("JWT {}", mint(&claims(&json!(1), iat - 1800 - 60)))),
        Some("Signature has expired"),
    )
    .await;
    check(
        Some(format!("JWT {}", mint(&claims(&json!(999), iat)))),
        Some("User does not exist"),
    )
    .await;
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims(&json!(1), iat))
    );
    for malformed in [
        "abc".to_owned(),
        "a.b".to_owned(),
        "a.b.c".to_owned(),
        none,
        mint_with(
            SECRET,
            &json!({"alg": "HS512", "typ": "JWT"}),
            &claims(&json!(1), iat),
        ),
        mint(&json!({"identity": 1, "iat": iat, "nbf": iat})),
        mint(&json!({"identity": 1, "exp": iat + 60, "nbf": iat})),
        mint(&json!({"identity": 1, "exp": iat + 60, "iat": iat})),
        mint(&json!({"exp": iat + 60, "iat": iat, "nbf": iat})),
        mint(&claims(&json!("1"), iat)),
        mint(&claims(&json!(true), iat)),
        mint(&claims(&json!([1]), iat)),
        mint(&claims(&json!(1.0), iat)),
        mint(&claims(&json!(1), iat + 600)),
        mint(&json!({"identity": 1, "iat": iat, "nbf": iat + 600, "exp": iat + 1800})),
    ] {
        check(Some(format!("JWT {malformed}")), None).await;
    }

    // Accepted: the scheme in any case, other whitespace, a token minted elsewhere, a token
    // expired by less than the leeway.
    for authorization in [
        format!("jwt {token}"),
        format!("JwT\t{token}"),
        format!("JWT {}", mint(&claims(&json!(1), iat))),
        format!("JWT {}", mint(&claims(&json!(1), now() - 1800 - 3))),
    ] {
        let reply = app
            .raw("GET", "/me", &[("authorization", &authorization)], "")
            .await;
        reply.assert_status(200);
    }

    // Every protected endpoint refuses without a token.
    for (method, path) in [
        ("GET", "/me"),
        ("GET", "/item/x"),
        ("POST", "/item/x"),
        ("PUT", "/item/x"),
        ("DELETE", "/item/x"),
        ("POST", "/store/x"),
        ("DELETE", "/store/x"),
    ] {
        app.call(method, path, None, None)
            .await
            .assert_error(401, NO_TOKEN);
        app.raw(method, path, &[("authorization", "Bearer x")], "")
            .await
            .assert_error(401, "Unsupported authorization type");
    }
}

pub(crate) async fn token_before_everything(app: &TestApp) {
    let token = app.user_token().await;
    app.store(&token, "shop").await;
    let long_path = format!("/item/{}", "x".repeat(81));
    let expired = mint(&claims(&json!(1), now() - 4000));
    for authorization in [None, Some(format!("JWT {expired}"))] {
        let mut headers = vec![("content-type", "text/plain")];
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization.as_str()));
        }
        for (method, path, body) in [
            ("GET", "/item/%FF", ""),
            ("GET", long_path.as_str(), ""),
            ("GET", "/item/missing", ""),
            ("POST", "/item/%zz", "not json"),
            ("POST", "/item/ok", "not json"),
            ("PUT", "/item/ok", "not json"),
            ("PUT", "/item/%00", "{}"),
            ("DELETE", "/item/missing", ""),
            ("POST", "/store/shop", ""),
            ("POST", "/store/%FF", ""),
            ("DELETE", "/store/missing", ""),
            ("DELETE", "/store/shop", ""),
        ] {
            let reply = app.raw(method, path, &headers, body.to_owned()).await;
            match authorization {
                None => reply.assert_error(401, NO_TOKEN),
                Some(_) => reply.assert_error(401, "Signature has expired"),
            }
        }
    }
    // Nothing changed.
    let stores = app.get("/stores", None).await;
    assert_eq!(
        stores.body,
        json!({"stores": [{"id": 1, "name": "shop", "items": []}]})
    );
}

pub(crate) async fn public_endpoints_ignore_tokens(app: &TestApp) {
    let token = app.user_token().await;
    app.store(&token, "shop").await;
    let expired = format!("JWT {}", mint(&claims(&json!(1), now() - 4000)));
    let unknown = format!("JWT {}", mint(&claims(&json!(999), now())));
    for authorization in [
        "",
        "Bearer x",
        "JWT",
        "JWT a b",
        "JWT garbage",
        expired.as_str(),
        unknown.as_str(),
    ] {
        let headers = [("authorization", authorization)];
        for path in ["/health", "/items", "/stores", "/store/shop"] {
            app.raw("GET", path, &headers, "").await.assert_status(200);
        }
        app.raw("GET", "/store/none", &headers, "")
            .await
            .assert_error(404, "Store not found");
        app.raw("GET", "/store/%FF", &headers, "")
            .await
            .assert_error(400, BAD_NAME);
    }
    let body =
        json!({"username": "ann", "email": "ann@example.com", "password": PASSWORD}).to_string();
    let headers = [
        ("authorization", "Bearer whatever"),
        ("content-type", "application/json"),
    ];
    app.raw("POST", "/register", &headers, body)
        .await
        .assert_status(201);
    let body = json!({"email": "ann@example.com", "password": PASSWORD}).to_string();
    app.raw("POST", "/login", &headers, body)
        .await
        .assert_status(200);
}

pub(crate) async fn me(app: &TestApp) {
    app.register("joe", "Joe@Example.COM", PASSWORD)
        .await
        .assert_status(201);
    app.register("ann", "ann@example.com", PASSWORD)
        .await
        .assert_status(201);
    let token = app.login("ann@example.com", PASSWORD).await;
    let reply = app.get("/me", Some(&token)).await;
    reply.assert_status(200).assert_json();
    assert_eq!(
        reply.body,
        json!({"id": 2, "username": "ann", "email": "ann@example.com"})
    );
    let token = app.login("joe@example.com", PASSWORD).await;
    let reply = app.get("/me", Some(&token)).await;
    assert_eq!(
        reply.body,
        json!({"id": 1, "username": "joe", "email": "Joe@Example.COM"})
    );
    let head = app
        .raw(
            "HEAD",
            "/me",
            &[("authorization", &format!("JWT {token}"))],
            "",
        )
        .await;
    head.assert_status(200);
    assert!(head.raw.is_empty());
}

pub(crate) async fn item_body_rules(app: &TestApp) {
    let token = app.user_token().await;
    app.store(&token, "shop").await;
    let authorization = format!("JWT {token}");
    let auth = ("authorization", authorization.as_str());
    let json_type = ("content-type", "application/json");
    let valid = r#"{"price": 1, "store_id": 1}"#;
    for method in ["POST", "PUT"] {
        let path = "/item/chair";
        for headers in [
            vec![auth],
            vec![auth, ("content-type", "text/plain")],
            vec![auth, ("content-type", "application/x-www-form-urlencoded")],
            vec![auth, ("content-type", "multipart/form-data; boundary=x")],
        ] {
            app.raw(method, path, &headers, valid)
                .await
                .assert_error(415, "Content-Type must be application/json");
        }
        // 415 before 413.
        app.raw(method, path, &[auth], "x".repeat(100_000))
            .await
            .assert_error(415, "Content-Type must be application/json");
        let padded = |size: usize| format!("{valid}{}", " ".repeat(size - valid.len()));
        app.raw(method, path, &[auth, json_type], padded(65_537))
            .await
            .assert_error(413, "Request body too large");
        app.raw(method, path, &[auth, json_type], "x".repeat(1_000_000))
            .await
            .assert_error(413, "Request body too large");
        for body in [
            "",
            "{",
            "{'price': 1}",
            r#"{"price": 1, "price": 2, "store_id": 1}"#,
            r#"{"price": 1e400, "store_id": 1}"#,
            r#"{"price": NaN, "store_id": 1}"#,
            r#"{"price": 1, "store_id": 1} x"#,
        ] {
            app.raw(method, path, &[auth, json_type], body)
                .await
                .assert_error(400, "Request body is not valid JSON");
        }
        for body in ["[]", "[1]", "null", "12.5", r#""price""#, "true"] {
            app.raw(method, path, &[auth, json_type], body)
                .await
                .assert_error(400, "Request body must be a JSON object");
        }
        // Nothing was created by any of those.
        app.get(path, Some(&token))
            .await
            .assert_error(404, "Item not found");
    }
    // Exactly the limit is accepted; `+json` types and parameters too; other keys are ignored.
    let exact = format!("{valid}{}", " ".repeat(65_536 - valid.len()));
    app.raw("POST", "/item/a", &[auth, json_type], exact)
        .await
        .assert_status(201);
    app.raw(
        "PUT",
        "/item/b",
        &[
            auth,
            (
                "content-type",
                "application/merge-patch+json; charset=utf-8",
            ),
        ],
        r#"{"price": 2, "store_id": 1, "name": "other", "id": 99}"#,
    )
    .await
    .assert_status(201);
    let b = app.get("/item/b", Some(&token)).await;
    assert_eq!(b.body, item_json(2, "b", 2.0, 1));
}

pub(crate) async fn item_field_rules(app: &TestApp) {
    let token = app.user_token().await;
    app.store(&token, "shop").await;
    let blank = "price: This field cannot be left blank!";
    let negative = "price: Must be a non-negative number";
    let no_store_id = "store_id: Every item needs a store_id.";
    let integer = "store_id: Must be an integer";
    let cases = [
        (r"{}", blank),
        (r#"{"store_id": 1}"#, blank),
        (r#"{"price": null, "store_id": "x"}"#, blank),
        (r#"{"price": "12.5", "store_id": 1}"#, negative),
        (r#"{"price": "", "store_id": 1}"#, negative),
        (r#"{"price": true, "store_id": 1}"#, negative),
        (r#"{"price": [1], "store_id": 1}"#, negative),
        (r#"{"price": {}, "store_id": 1}"#, negative),
        (r#"{"price": -1, "store_id": 1}"#, negative),
        (r#"{"price": -0.000001}"#, negative),
        (r#"{"price": -1e308}"#, negative),
        (r#"{"price": 1}"#, no_store_id),
        (r#"{"price": 1, "store_id": null}"#, no_store_id),
        (r#"{"price": 1, "store_id": "1"}"#, integer),
        (r#"{"price": 1, "store_id": 1.0}"#, integer),
        (r#"{"price": 1, "store_id": -0.0}"#, integer),
        (r#"{"price": 1, "store_id": 0E0}"#, integer),
        (r#"{"price": 1, "store_id": 1.5}"#, integer),
        (r#"{"price": 1, "store_id": 1e0}"#, integer),
        (r#"{"price": 1, "store_id": true}"#, integer),
        (r#"{"price": 1, "store_id": [1]}"#, integer),
        (r#"{"price": 1, "store_id": 9223372036854775808}"#, integer),
        (r#"{"price": 1, "store_id": -9223372036854775809}"#, integer),
        (r#"{"price": 1, "store_id": 18446744073709551616}"#, integer),
    ];
    let authorization = format!("JWT {token}");
    let headers = [
        ("authorization", authorization.as_str()),
        ("content-type", "application/json"),
    ];
    for method in ["POST", "PUT"] {
        for (body, message) in cases {
            app.raw(method, "/item/chair", &headers, body)
                .await
                .assert_error(400, message);
        }
    }
    // Integers in range are integers: unknown stores, then a real one.
    for store_id in [
        "0",
        "-0",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
    ] {
        let body = format!(r#"{{"price": 1, "store_id": {store_id}}}"#);
        for method in ["POST", "PUT"] {
            app.raw(method, "/item/chair", &headers, body.clone())
                .await
                .assert_error(400, "store_id: Store not found");
        }
    }
    let items = app.get("/items", None).await;
    assert_eq!(items.body, json!({"items": []}));
}

pub(crate) async fn items_flow(app: &TestApp) {
    let bearer = app.user_token().await;
    let token = Some(bearer.as_str());
    let shop = app.store(&bearer, "shop").await;
    assert_eq!(shop, json!({"id": 1, "name": "shop", "items": []}));

    app.get("/item/chair", token)
        .await
        .assert_error(404, "Item not found");
    let body = json!({"price": 12.5, "store_id": 1});
    let created = app.call("POST", "/item/chair", token, Some(&body)).await;
    created.assert_status(201).assert_json();
    assert_eq!(created.body, item_json(1, "chair", 12.5, 1));
    let got = app.get("/item/chair", token).await;
    got.assert_status(200).assert_json();
    assert_eq!(got.body, item_json(1, "chair", 12.5, 1));

    // POST: a taken name, before an unknown store.
    let body = json!({"price": 99, "store_id": 1});
    app.call("POST", "/item/chair", token, Some(&body))
        .await
        .assert_error(400, "An item with name 'chair' already exists.");
    let body = json!({"price": 99, "store_id": 42});
    app.call("POST", "/item/chair", token, Some(&body))
        .await
        .assert_error(400, "An item with name 'chair' already exists.");
    app.call("POST", "/item/table", token, Some(&body))
        .await
        .assert_error(400, "store_id: Store not found");
    app.get("/item/table", token)
        .await
        .assert_error(404, "Item not found");

    // PUT: an unknown store first, even for an existing item, which stays as it was.
    app.call("PUT", "/item/chair", token, Some(&body))
        .await
        .assert_error(400, "store_id: Store not found");
    app.call("PUT", "/item/table", token, Some(&body))
        .await
        .assert_error(400, "store_id: Store not found");
    assert_eq!(
        app.get("/item/chair", token).await.body,
        item_json(1, "chair", 12.5, 1)
    );
    app.get("/item/table", token)
        .await
        .assert_error(404, "Item not found");

    let mall = app.store(&bearer, "mall").await;
    let mall_id = mall["id"].as_i64().unwrap();
    assert!(mall_id > 1);
    // PUT replacing: price and store_id both change, id and name stay.
    let body = json!({"price": 3.25, "store_id": mall_id});
    let replaced = app.call("PUT", "/item/chair", token, Some(&body)).await;
    replaced.assert_status(200).assert_json();
    assert_eq!(replaced.body, item_json(1, "chair", 3.25, mall_id));
    assert_eq!(app.get("/item/chair", token).await.body, replaced.body);
    // PUT creating.
    let body = json!({"price": 7, "store_id": 1});
    let put = app.call("PUT", "/item/table", token, Some(&body)).await;
    put.assert_status(201).assert_json();
    let table_id = put.body["id"].as_i64().unwrap();
    assert!(table_id > 1);
    assert_eq!(put.body, item_json(table_id, "table", 7.0, 1));
    // The same PUT again replaces.
    app.call("PUT", "/item/table", token, Some(&body))
        .await
        .assert_status(200);
    let lamp = app.item(&bearer, "lamp", 0.0, mall_id).await;
    let lamp_id = lamp["id"].as_i64().unwrap();
    assert!(lamp_id > table_id);

    let items = app.get("/items", None).await;
    items.assert_status(200).assert_json();
    assert_eq!(
        items.body,
        json!({"items": [
            item_json(1, "chair", 3.25, mall_id),
            item_json(table_id, "table", 7.0, 1),
            item_json(lamp_id, "lamp", 0.0, mall_id),
        ]})
    );
    let mall = app.get("/store/mall", None).await;
    assert_eq!(
        mall.body,
        json!({"id": mall_id, "name": "mall", "items": [
            item_json(1, "chair", 3.25, mall_id),
            item_json(lamp_id, "lamp", 0.0, mall_id),
        ]})
    );

    let deleted = app.call("DELETE", "/item/chair", token, None).await;
    deleted.assert_status(200).assert_json();
    assert_eq!(deleted.body, json!({"message": "Item deleted."}));
    app.call("DELETE", "/item/chair", token, None)
        .await
        .assert_error(404, "Item not found");
    app.get("/item/chair", token)
        .await
        .assert_error(404, "Item not found");
    assert_eq!(
        ids(&app.get("/items", None).await.body["items"]),
        vec![table_id, lamp_id]
    );
}

pub(crate) async fn prices_round_trip(app: &TestApp) {
    let token = app.user_token().await;
    app.store(&token, "shop").await;
    let authorization = format!("JWT {token}");
    let headers = [
        ("authorization", authorization.as_str()),
        ("content-type", "application/json"),
    ];
    let prices = [
        "0",
        "-0",
        "0.1",
        "12",
        "12.50",
        "1e308",
        "1.7976931348623157e308",
        "5e-324",
        "2.2250738585072014e-308",
        "0.30000000000000004",
        "123456789.12345679",
        "9007199254740993",
        "18446744073709551615",
        "1E2",
    ];
    for (n, price) in prices.iter().enumerate() {
        let sent: f64 = price.parse().unwrap();
        let body = format!(r#"{{"price": {price}, "store_id": 1}}"#);
        let name = format!("/item/p{n}");
        let created = app.raw("POST", &name, &headers, body.clone()).await;
        created.assert_status(201);
        assert_eq!(created.body["price"].as_f64(), Some(sent), "{price}");
        let got = app.get(&name, Some(&token)).await;
        assert_eq!(got.body["price"].as_f64(), Some(sent), "{price}");
        let put = app.raw("PUT", &name, &headers, body).await;
        put.assert_status(200);
        assert_eq!(put.body["price"].as_f64(), Some(sent), "{price}");
    }
    let items = app.get("/items", None).await;
    let listed: Vec<f64> = items.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["price"].as_f64().unwrap())
        .collect();
    let sent: Vec<f64> = prices.iter().map(|p| p.parse().unwrap()).collect();
    assert_eq!(listed, sent);
}

pub(crate) async fn names_in_paths(app: &TestApp) {
    let token = app.user_token().await;
    let token = token.as_str();
    let cases = [
        ("a%2Fb", "a/b"),
        ("caf%C3%A9", "café"),
        ("cafe%CC%81", "cafe\u{301}"),
        ("%2520", "%20"),
        ("%25", "%"),
        ("a_c", "a_c"),
        ("%3F%23", "?#"),
        (
            "%27%3B%20DROP%20TABLE%20items%3B%20--",
            "'; DROP TABLE items; --",
        ),
        (
            "Robert%27)%3B%20DROP%20TABLE%20stores%3B--",
            "Robert'); DROP TABLE stores;--",
        ),
        ("%22quoted%22", "\"quoted\""),
        ("%5C", "\\"),
        ("%F0%9F%98%80", "😀"),
        ("%C2%A0", "\u{a0}"),
        ("%E2%80%8B", "\u{200b}"),
        ("Chair", "Chair"),
        ("chair", "chair"),
        ("%20chair", " chair"),
        ("chair%20", "chair "),
        ("*", "*"),
    ];
    for (n, (raw, name)) in cases.iter().enumerate() {
        let store = app.store(token, raw).await;
        assert_eq!(store["name"], *name, "{raw}");
        let got = app.get(&format!("/store/{raw}"), None).await;
        got.assert_status(200);
        assert_eq!(got.body["name"], *name);
        let store_id = store["id"].as_i64().unwrap();
        let price = f64::from(u32::try_from(n).unwrap());
        let item = app.item(token, raw, price, store_id).await;
        assert_eq!(item["name"], *name, "{raw}");
        let got = app.get(&format!("/item/{raw}"), Some(token)).await;
        assert_eq!(got.body, item);
    }
    // Every character may be percent-encoded: the same names, found and taken.
    app.get("/store/%43hair", None).await.assert_status(200);
    app.get("/item/%63%61%66%C3%A9", Some(token))
        .await
        .assert_status(200);
    app.call("POST", "/store/%43hair", Some(token), None)
        .await
        .assert_error(400, "A store with name 'Chair' already exists.");
    app.call("POST", "/store/%2A", Some(token), None)
        .await
        .assert_error(400, "A store with name '*' already exists.");
    let body = json!({"price": 1, "store_id": 1});
    app.call(
        "POST",
        "/item/%27%3B%20DROP%20TABLE%20items%3B%20--",
        Some(token),
        Some(&body),
    )
    .await
    .assert_error(
        400,
        "An item with name ''; DROP TABLE items; --' already exists.",
    );
    app.call("POST", "/item/%43hair", Some(token), Some(&body))
        .await
        .assert_error(400, "An item with name 'Chair' already exists.");
    // Matched literally: no case folding, no trimming, no normalization, no patterns.
    for missing in [
        "CHAIR",
        "chair%20%20",
        "%20%20chair",
        "abc",
        "a%25c",
        "_",
        "%25%25",
        "caf",
        "cafe",
        "a%2F",
        "%3F",
        "Robert",
    ] {
        app.get(&format!("/store/{missing}"), None)
            .await
            .assert_error(404, "Store not found");
        app.get(&format!("/item/{missing}"), Some(token))
            .await
            .assert_error(404, "Item not found");
    }
    app.call("POST", "/item/abc", Some(token), Some(&body))
        .await
        .assert_status(201);
    app.call("DELETE", "/item/a_c", Some(token), None)
        .await
        .assert_status(200);
    app.get("/item/abc", Some(token)).await.assert_status(200);
    app.call("DELETE", "/item/a_c", Some(token), None)
        .await
        .assert_error(404, "Item not found");
    // An item and a store may share a name; the SQL-looking names left both tables alone.
    let stores = app.get("/stores", None).await;
    assert_eq!(stores.body["stores"].as_array().unwrap().len(), cases.len());
    let items = app.get("/items", None).await;
    assert_eq!(items.body["items"].as_array().unwrap().len(), cases.len());
    // `a%2Fb` is one segment; `a/b` is two, and no route.
    app.get("/store/a/b", None)
        .await
        .assert_error(404, "Not found");
    // The longest names, in code points.
    for name in ["x".repeat(80), "é".repeat(80), "😀".repeat(80)] {
        let store = app.store(token, &encode(&name)).await;
        assert_eq!(store["name"], name);
        app.get(&format!("/store/{}", encode(&name)), None)
            .await
            .assert_status(200);
    }
}

pub(crate) async fn bad_names(app: &TestApp) {
    let token = app.user_token().await;
    app.store(&token, "shop").await;
    app.item(&token, "chair", 1.0, 1).await;
    let authorization = format!("JWT {token}");
    let long = "x".repeat(81);
    let long_encoded = "%C3%A9".repeat(81);
    for raw in [
        "%FF",
        "%C3",
        "%C3%28",
        "%ED%A0%80",
        "%zz",
        "%",
        "%4",
        "a%",
        "%%41",
        "%00",
        "%0A",
        "%09",
        "%1F",
        "%7F",
        "%C2%80",
        "%C2%9F",
        "a%0Db",
        long.as_str(),
        long_encoded.as_str(),
    ] {
        let path = |kind: &str| format!("/{kind}/{raw}");
        // A name error comes before the body: a text/plain body is not looked at.
        for (method, kind) in [
            ("GET", "item"),
            ("POST", "item"),
            ("PUT", "item"),
            ("DELETE", "item"),
            ("POST", "store"),
            ("DELETE", "store"),
        ] {
            app.raw(
                method,
                &path(kind),
                &[
                    ("authorization", authorization.as_str()),
                    ("content-type", "text/plain"),
                ],
                "not json",
            )
            .await
            .assert_error(400, BAD_NAME);
        }
        app.get(&path("store"), None)
            .await
            .assert_error(400, BAD_NAME);
    }
    // Nothing changed.
    assert_eq!(
        app.get("/stores", None).await.body,
        json!({"stores": [{"id": 1, "name": "shop", "items": [item_json(1, "chair", 1.0, 1)]}]})
    );
}

pub(crate) async fn stores_flow(app: &TestApp) {
    let bearer = app.user_token().await;
    let token = Some(bearer.as_str());
    app.get("/store/shop", None)
        .await
        .assert_error(404, "Store not found");
    app.call("DELETE", "/store/shop", token, None)
        .await
        .assert_error(404, "Store not found");
    assert_eq!(app.get("/stores", None).await.body, json!({"stores": []}));

    // POST reads no body: whatever is sent, with whatever content type.
    let created = app
        .raw(
            "POST",
            "/store/shop",
            &[
                ("authorization", &format!("JWT {}", &bearer)),
                ("content-type", "text/plain"),
            ],
            "x".repeat(100_000),
        )
        .await;
    created.assert_status(201).assert_json();
    assert_eq!(created.body, json!({"id": 1, "name": "shop", "items": []}));
    app.call(
        "POST",
        "/store/shop",
        token,
        Some(&json!({"name": "other"})),
    )
    .await
    .assert_error(400, "A store with name 'shop' already exists.");
    let got = app.get("/store/shop", None).await;
    got.assert_status(200).assert_json();
    assert_eq!(got.body, json!({"id": 1, "name": "shop", "items": []}));

    let mall = app.store(&bearer, "mall").await;
    let mall_id = mall["id"].as_i64().unwrap();
    let a = app.item(&bearer, "a", 1.0, mall_id).await;
    let b = app.item(&bearer, "b", 2.0, 1).await;
    let c = app.item(&bearer, "c", 3.0, mall_id).await;
    // An item may have a store's name.
    let shop_item = app.item(&bearer, "shop", 4.0, mall_id).await;
    let stores = app.get("/stores", None).await;
    stores.assert_status(200).assert_json();
    assert_eq!(
        stores.body,
        json!({"stores": [
            {"id": 1, "name": "shop", "items": [b]},
            {"id": mall_id, "name": "mall", "items": [a, c, shop_item]},
        ]})
    );

    // 409 while a store has items, and nothing is deleted.
    app.call("DELETE", "/store/mall", token, None)
        .await
        .assert_error(409, "Store has items; delete them first");
    assert_eq!(app.get("/stores", None).await.body, stores.body);
    for name in ["a", "c", "shop"] {
        app.call("DELETE", &format!("/item/{name}"), token, None)
            .await
            .assert_status(200);
    }
    let deleted = app
        .raw(
            "DELETE",
            "/store/mall",
            &[
                ("authorization", &format!("JWT {}", &bearer)),
                ("content-type", "application/json"),
            ],
            "{not json",
        )
        .await;
    deleted.assert_status(200).assert_json();
    assert_eq!(deleted.body, json!({"message": "Store deleted"}));
    app.get("/store/mall", None)
        .await
        .assert_error(404, "Store not found");
    app.call("DELETE", "/store/mall", token, None)
        .await
        .assert_error(404, "Store not found");
    // The deleted store's id is not reused.
    let again = app.store(&bearer, "mall").await;
    assert!(again["id"].as_i64().unwrap() > mall_id);
    // GET ignores a body too.
    app.raw("GET", "/store/shop", &[("content-type", "text/plain")], "{")
        .await
        .assert_status(200);
}

pub(crate) async fn ids_are_never_reused(app: &TestApp) {
    // A new database starts at 1, for users, stores and items alike.
    let token = app.user_token().await;
    assert_eq!(app.get("/me", Some(&token)).await.body["id"], 1);
    assert_eq!(app.store(&token, "s1").await["id"], 1);
    assert_eq!(app.item(&token, "i1", 1.0, 1).await["id"], 1);
    assert_eq!(app.item(&token, "i2", 1.0, 1).await["id"], 2);
    for name in ["i1", "i2"] {
        app.call("DELETE", &format!("/item/{name}"), Some(&token), None)
            .await
            .assert_status(200);
    }
    app.call("DELETE", "/store/s1", Some(&token), None)
        .await
        .assert_status(200);
    let store = app.store(&token, "s1").await;
    assert!(store["id"].as_i64().unwrap() > 1);
    let item = app
        .item(&token, "i1", 1.0, store["id"].as_i64().unwrap())
        .await;
    assert!(item["id"].as_i64().unwrap() > 2);
    // After a restart too.
    let second = app.second_instance().await;
    let token = second.login("joe@example.com", PASSWORD).await;
    let later = second
        .item(&token, "i3", 1.0, store["id"].as_i64().unwrap())
        .await;
    assert!(later["id"].as_i64().unwrap() > item["id"].as_i64().unwrap());
}

pub(crate) async fn concurrent_item_posts(app: &TestApp) {
    let token = app.user_token().await;
    app.store(&token, "shop").await;
    let client: Client = Client::clone(app);
    let (counts, replies) = concurrently(20, |n| {
        let client = client.clone();
        let token = token.clone();
        async move {
            let body = json!({"price": n, "store_id": 1});
            client
                .call("POST", "/item/chair", Some(&token), Some(&body))
                .await
        }
    })
    .await;
    assert_eq!(counts, HashMap::from([(201, 1), (400, 19)]));
    for reply in replies.iter().filter(|r| r.status == 400) {
        reply.assert_error(400, "An item with name 'chair' already exists.");
    }
    let items = app.get("/items", None).await;
    assert_eq!(items.body["items"].as_array().unwrap().len(), 1);
}

pub(crate) async fn concurrent_item_puts(app: &TestApp) {
    let token = app.user_token().await;
    app.store(&token, "shop").await;
    let client: Client = Client::clone(app);
    let (counts, replies) = concurrently(20, |n| {
        let client = client.clone();
        let token = token.clone();
        async move {
            let body = json!({"price": n, "store_id": 1});
            client
                .call("PUT", "/item/chair", Some(&token), Some(&body))
                .await
        }
    })
    .await;
    assert_eq!(counts, HashMap::from([(201, 1), (200, 19)]));
    let ids: Vec<&Value> = replies.iter().map(|r| &r.body["id"]).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let items = app.get("/items", None).await;
    assert_eq!(items.body["items"].as_array().unwrap().len(), 1);
}

pub(crate) async fn concurrent_store_posts(app: &TestApp) {
    let token = app.user_token().await;
    let client: Client = Client::clone(app);
    let (counts, replies) = concurrently(20, |_| {
        let client = client.clone();
        let token = token.clone();
        async move { client.call("POST", "/store/shop", Some(&token), None).await }
    })
    .await;
    assert_eq!(counts, HashMap::from([(201, 1), (400, 19)]));
    for reply in replies.iter().filter(|r| r.status == 400) {
        reply.assert_error(400, "A store with name 'shop' already exists.");
    }
    assert_eq!(
        app.get("/stores", None).await.body["stores"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

pub(crate) async fn concurrent_registrations(app: &TestApp) {
    let client: Client = Client::clone(app);
    let (counts, replies) = concurrently(20, |n| {
        let client = client.clone();
        async move {
            client
                .register("joe", &format!("joe{n}@example.com"), PASSWORD)
                .await
        }
    })
    .await;
    assert_eq!(counts, HashMap::from([(201, 1), (400, 19)]));
    for reply in replies.iter().filter(|r| r.status == 400) {
        reply.assert_error(400, "A user with that username already exists");
    }
    let (counts, replies) = concurrently(20, |n| {
        let client = client.clone();
        async move {
            // The same email, in different ASCII cases.
            let email = if n % 2 == 0 {
                "ANN@example.com"
            } else {
                "ann@EXAMPLE.com"
            };
            client.register(&format!("ann{n}"), email, PASSWORD).await
        }
    })
    .await;
    assert_eq!(counts, HashMap::from([(201, 1), (400, 19)]));
    for reply in replies.iter().filter(|r| r.status == 400) {
        reply.assert_error(400, "A user with that email already exists");
    }
    let token = app.login("ann@example.com", PASSWORD).await;
    app.get("/me", Some(&token)).await.assert_status(200);
}

pub(crate) async fn instances_share_the_database(app: &TestApp) {
    let second = app.second_instance().await;
    let token = app.user_token().await;
    // A token of one instance is valid on the other (same secret, same users).
    second.store(&token, "shop").await;
    app.item(&token, "chair", 1.0, 1).await;
    let other = second.login("joe@example.com", PASSWORD).await;
    assert_eq!(
        second.get("/item/chair", Some(&other)).await.body,
        item_json(1, "chair", 1.0, 1)
    );
    // Uniqueness holds across instances.
    let body = json!({"price": 2, "store_id": 1});
    second
        .call("POST", "/item/chair", Some(&other), Some(&body))
        .await
        .assert_error(400, "An item with name 'chair' already exists.");
}

pub(crate) async fn broken_database_is_a_plain_500(app: &TestApp) {
    let token = app.user_token().await;
    app.drop_items_table().await;
    for reply in [
        app.get("/items", None).await,
        app.get("/item/chair", Some(&token)).await,
        app.get("/stores", None).await,
    ] {
        reply.assert_error(500, "Internal server error");
    }
    // Everything else still works.
    app.get("/health", None).await.assert_status(200);
    app.get("/me", Some(&token)).await.assert_status(200);
}
