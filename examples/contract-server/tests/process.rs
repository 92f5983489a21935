//! Starts the built `contract-server` binary and talks HTTP to it, as the black-box suites do.

mod common;

use std::io::Read;
use std::process::Command;

use common::{BINARY, Server, free_port};
use serde_json::{Value, json};

fn error(status: u16, title: &str, description: &str) -> Value {
    json!({"status_code": status, "error": title, "description": description})
}

#[test]
fn login_and_protected_route_over_http() {
    let server = Server::start(&[]);
    let response = server.login(r#"{"username":"user1","password":"abcxyz"}"#);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.json();
    assert_eq!(body.as_object().unwrap().len(), 1);
    let token = body["access_token"].as_str().unwrap();

    let me = server.request(
        "GET",
        "/protected",
        &[("Authorization", &format!("JWT {token}"))],
        None,
    );
    assert_eq!(me.status, 200);
    assert_eq!(me.json(), json!({"id": 1, "username": "user1"}));

    let anonymous = server.request("GET", "/protected", &[], None);
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some(r#"JWT realm="Login Required""#)
    );
    assert_eq!(
        anonymous.json(),
        error(
            401,
            "Authorization Required",
            "Request does not contain an access token"
        )
    );
    assert_eq!(
        server.request("GET", "/public", &[], None).json(),
        json!({"ok": true})
    );
}

#[test]
fn http_errors_are_json() {
    let server = Server::start(&[]);
    let not_found = server.request("GET", "/nowhere", &[], None);
    assert_eq!(
        (not_found.status, not_found.json()),
        (404, error(404, "Not Found", "Not found"))
    );
    for (method, path) in [
        ("OPTIONS", "/protected"),
        ("POST", "/public"),
        ("GET", "/auth"),
    ] {
        let response = server.request(method, path, &[], None);
        assert_eq!(response.status, 405, "{method} {path}");
        assert_eq!(
            response.json(),
            error(405, "Method Not Allowed", "Method not allowed")
        );
    }
    let head = server.request("HEAD", "/public", &[], None);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    let form = server.request(
        "POST",
        "/auth",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some("username=user1&password=abcxyz"),
    );
    assert_eq!(form.status, 415);
    assert_eq!(
        form.json(),
        error(
            415,
            "Unsupported Media Type",
            "Content-Type must be application/json"
        )
    );
    let big = format!(r#"{{"username":"{}","password":"x"}}"#, "a".repeat(70_000));
    let too_large = server.login(&big);
    assert_eq!(too_large.status, 413);
    assert_eq!(
        too_large.json(),
        error(413, "Payload Too Large", "Request body too large")
    );
    let broken = server.login("{");
    assert_eq!(
        broken.json(),
        error(400, "Bad Request", "Request body is not valid JSON")
    );
    let list = server.login("[]");
    assert_eq!(
        list.json(),
        error(400, "Bad Request", "Request body must be a JSON object")
    );
    let bad = server.login(r#"{"username":"user1","password":12345}"#);
    assert_eq!(bad.status, 401);
    assert_eq!(
        bad.header("www-authenticate"),
        Some(r#"JWT realm="Login Required""#)
    );
    assert_eq!(bad.json(), error(401, "Bad Request", "Invalid credentials"));

    let huge = "x".repeat(17 * 1024);
    let headers = server.request("GET", "/public", &[("X-Big", &huge)], None);
    assert_eq!(headers.status, 431);
    assert_eq!(
        headers.json(),
        error(
            431,
            "Request Header Fields Too Large",
            "Request headers too large"
        )
    );
}

#[test]
fn seed_tutorial_configuration() {
    let server = Server::start(&[
        ("JWT_AUTH_URL_RULE", "/login"),
        ("JWT_AUTH_USERNAME_KEY", "email"),
        ("JWT_EXPIRATION_DELTA", "1800"),
        ("JWT_AUTH_HEADER_PREFIX", "Bearer"),
        ("APP_CUSTOM_AUTH_RESPONSE", "1"),
        ("APP_CUSTOM_ERROR_HANDLER", "1"),
    ]);
    let login = server.request(
        "POST",
        "/login",
        &[("Content-Type", "application/json")],
        Some(r#"{"email":"user2@example.com","password":"xyzabc"}"#),
    );
    assert_eq!(login.status, 200);
    let body = login.json();
    assert_eq!(body["user_id"], 2);
    let token = body["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        1800
    );

    let me = server.request(
        "GET",
        "/protected",
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    );
    assert_eq!(me.json(), json!({"id": 2, "username": "user2"}));
    let wrong_scheme = server.request(
        "GET",
        "/protected",
        &[("Authorization", &format!("JWT {token}"))],
        None,
    );
    assert_eq!(wrong_scheme.status, 401);
    assert_eq!(
        wrong_scheme.header("www-authenticate"),
        Some(r#"Bearer realm="Login Required""#)
    );
    assert_eq!(
        wrong_scheme.json(),
        json!({"message": "Unsupported authorization type", "code": 401})
    );
    let old_rule = server.request(
        "POST",
        "/auth",
        &[("Content-Type", "application/json")],
        Some("{}"),
    );
    assert_eq!(
        old_rule.json(),
        json!({"message": "Not found", "code": 404})
    );
}

#[test]
fn hs512_tokens_are_refused_by_an_hs256_server() {
    let hs512 = Server::start(&[("JWT_ALGORITHM", "HS512")]);
    let token = hs512.token();
    let hs256 = Server::start(&[]);
    let response = hs256.request(
        "GET",
        "/protected",
        &[("Authorization", &format!("JWT {token}"))],
        None,
    );
    assert_eq!(response.status, 401);
    assert_eq!(
        response.json(),
        error(
            401,
            "Invalid token",
            "The specified alg value is not allowed"
        )
    );
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let server = Server::start(&[]);
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn bad_configuration_exits_2_with_one_line_naming_the_variable() {
    for (name, value) in [
        ("JWT_SECRET_KEY", ""),
        ("JWT_SECRET_KEY", "too-short"),
        ("JWT_EXPIRATION_DELTA", "0"),
        ("JWT_EXPIRATION_DELTA", "-1"),
        ("JWT_EXPIRATION_DELTA", "1.5"),
        ("JWT_EXPIRATION_DELTA", "99999999999999999999999"),
        ("JWT_LEEWAY", "-3"),
        ("JWT_NOT_BEFORE_DELTA", "x"),
        ("JWT_ALGORITHM", "hs256"),
        ("JWT_ALGORITHM", "none"),
        ("JWT_AUTH_URL_RULE", "auth"),
        ("JWT_AUTH_URL_RULE", "/protected"),
        ("PORT", "http"),
    ] {
        let output = Command::new(BINARY)
            .env_clear()
            .env("PORT", free_port().to_string())
            .env(name, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}={value}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{name}={value}: {stderr}"
        );
        assert!(stderr.contains(name), "{name}={value}: {stderr}");
    }
}

#[test]
fn logs_hold_no_password_or_token() {
    let mut server = Server::start_capturing_logs(&[("RUST_LOG", "trace")]);
    let token = server.token();
    server.request(
        "GET",
        "/protected",
        &[("Authorization", &format!("JWT {token}x"))],
        None,
    );
    server.login(r#"{"username":"user1","password":"wrong-password-123"}"#);
    let mut stderr = server.child.stderr.take().unwrap();
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let mut logs = String::new();
    stderr.read_to_string(&mut logs).unwrap();
    assert!(!logs.is_empty());
    for secret in [
        token.as_str(),
        "abcxyz",
        "wrong-password-123",
        "super-secret-test-key",
    ] {
        assert!(!logs.contains(secret), "the logs hold {secret:?}");
    }
}
