//! Starts the built `contract-server` binary and talks HTTP to it, as the black-box suites do.

// Test helpers: a failure to start the server or parse its answer is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_contract-server");

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(vars: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut command = Command::new(BINARY);
        command
            .env_clear()
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in vars {
            command.env(name, value);
        }
        let child = command.spawn().expect("start contract-server");
        let server = Self { child, port };
        server.wait_ready();
        server
    }

    /// Polls `GET /public` until it answers: readiness, not a timing assertion.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) =
                self.try_send("GET /public HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                && response.status == 200
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("contract-server did not become ready");
    }

    fn try_send(&self, raw: &str) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(raw.as_bytes())?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes)?;
        Ok(Response::parse(&bytes))
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response {
        let mut raw =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (name, value) in headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        raw.push_str("\r\n");
        raw.push_str(body.unwrap_or_default());
        self.try_send(&raw).expect("request")
    }

    fn login(&self, body: &str) -> Response {
        self.request(
            "POST",
            "/auth",
            &[("Content-Type", "application/json")],
            Some(body),
        )
    }

    fn token(&self) -> String {
        let response = self.login(r#"{"username":"user1","password":"abcxyz"}"#);
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// Sends SIGTERM and waits for the exit status.
    fn terminate(mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn parse(bytes: &[u8]) -> Self {
        let mut reader = BufReader::new(bytes);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            let (name, value) = trimmed.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut body = String::new();
        reader.read_to_string(&mut body).unwrap();
        Self {
            status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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
    let mut server = Server::start(&[("RUST_LOG", "trace")]);
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
