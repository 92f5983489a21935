//! The lifecycle extension over HTTP against the built `contract-server`: every store, shared
//! revocations between two processes, persistence across a restart, and failing closed while
//! the store is down.

// Test helpers: a malformed answer is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, free_port};
use serde_json::{Value, json};

const SECRET: &str = "lifecycle-test-secret-0123456789abcdef";

fn lifecycle(store: &str) -> Vec<(&'static str, String)> {
    vec![
        ("APP_LIFECYCLE", "1".to_owned()),
        ("JWT_SECRET_KEY", SECRET.to_owned()),
        ("JWT_REVOCATION_STORE", store.to_owned()),
    ]
}

fn start(vars: &[(&'static str, String)]) -> Server {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start(&vars)
}

fn login(server: &Server) -> (String, String) {
    let response = server.login(r#"{"username":"user1","password":"abcxyz"}"#);
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json();
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

fn revoked() -> Value {
    json!({"status_code": 401, "error": "Revoked token", "description": "Token has been revoked"})
}

fn env_url(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipped: {name} is not set");
            None
        }
    }
}

/// The whole lifecycle on one server: rotation, reuse, fresh, optional, logout, logout-all.
fn exercise(server: &Server) {
    let (access, refresh) = login(server);
    assert_eq!(server.with_token("GET", "/fresh", &access).status, 200);
    assert_eq!(
        server.with_token("GET", "/optional", &access).json(),
        json!({"id": 1})
    );
    assert_eq!(
        server.request("GET", "/optional", &[], None).json(),
        json!({"id": null})
    );

    let wrong = server.with_token("POST", "/refresh", &access);
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["description"], "Refresh token required");
    let wrong = server.with_token("GET", "/protected", &refresh);
    assert_eq!(wrong.json()["description"], "Access token required");

    let rotated = server.with_token("POST", "/refresh", &refresh);
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let access2 = rotated.json()["access_token"].as_str().unwrap().to_owned();
    let refresh2 = rotated.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(server.with_token("GET", "/protected", &access2).status, 200);
    let stale = server.with_token("GET", "/fresh", &access2);
    assert_eq!(stale.json()["description"], "Fresh token required");

    let reuse = server.with_token("POST", "/refresh", &refresh);
    assert_eq!(reuse.status, 401);
    assert_eq!(
        reuse.json()["description"],
        "Refresh token reuse detected; the session has been revoked"
    );
    for token in [&access, &access2] {
        assert_eq!(
            server.with_token("GET", "/protected", token).json(),
            revoked()
        );
    }
    assert_eq!(
        server.with_token("POST", "/refresh", &refresh2).json(),
        revoked()
    );
    assert_eq!(server.with_token("GET", "/optional", &access2).status, 401);

    let (access3, refresh3) = login(server);
    let logout = server.with_token("POST", "/logout", &access3);
    assert_eq!(logout.status, 200);
    assert!(logout.json()["message"].is_string());
    assert_eq!(
        server.with_token("GET", "/protected", &access3).json(),
        revoked()
    );
    assert_eq!(
        server.with_token("POST", "/refresh", &refresh3).json(),
        revoked()
    );

    let (access4, _) = login(server);
    let (access5, refresh5) = login(server);
    assert_eq!(
        server.with_token("POST", "/logout-all", &access4).status,
        200
    );
    for token in [&access4, &access5] {
        assert_eq!(
            server.with_token("GET", "/protected", token).json(),
            revoked()
        );
    }
    assert_eq!(
        server.with_token("POST", "/refresh", &refresh5).json(),
        revoked()
    );
    let (access6, _) = login(server);
    assert_eq!(server.with_token("GET", "/protected", &access6).status, 200);
}

#[test]
fn memory_store() {
    exercise(&start(&lifecycle("memory")));
}

#[test]
fn sqlite_store_and_revocations_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("contract-lifecycle-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("revocations.db").display());
    let vars = lifecycle(&url);
    let first = start(&vars);
    exercise(&first);
    let (access, refresh) = login(&first);
    assert_eq!(first.with_token("POST", "/logout", &access).status, 200);
    drop(first);

    let second = start(&vars);
    assert_eq!(
        second.with_token("GET", "/protected", &access).json(),
        revoked()
    );
    assert_eq!(
        second.with_token("POST", "/refresh", &refresh).json(),
        revoked()
    );
    drop(second);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn postgres_store_shared_by_two_servers() {
    let Some(url) = env_url("TEST_POSTGRES_URL") else {
        return;
    };
    let vars = lifecycle(&url);
    let one = start(&vars);
    exercise(&one);
    let two = start(&vars);
    let (access, refresh) = login(&one);
    assert_eq!(two.with_token("GET", "/protected", &access).status, 200);
    assert_eq!(two.with_token("POST", "/logout", &access).status, 200);
    assert_eq!(
        one.with_token("GET", "/protected", &access).json(),
        revoked()
    );
    assert_eq!(
        one.with_token("POST", "/refresh", &refresh).json(),
        revoked()
    );
}

#[test]
fn redis_store_shared_by_two_servers() {
    let Some(url) = env_url("TEST_REDIS_URL") else {
        return;
    };
    let vars = lifecycle(&url);
    let one = start(&vars);
    let two = start(&vars);
    exercise(&two);
    let (access, refresh) = login(&one);
    assert_eq!(two.with_token("GET", "/protected", &access).status, 200);
    // A logout on one server is refused on the other at once: the store is shared.
    assert_eq!(one.with_token("POST", "/logout", &access).status, 200);
    assert_eq!(
        two.with_token("GET", "/protected", &access).json(),
        revoked()
    );
    assert_eq!(
        two.with_token("POST", "/refresh", &refresh).json(),
        revoked()
    );
}

/// A `redis-server` of the test's own, on a free port: never the shared one.
struct OwnRedis {
    child: Child,
    port: u16,
}

impl OwnRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (it is on this project's machines)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }

    fn stop(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[test]
fn store_down_fails_closed_then_recovers() {
    let redis = OwnRedis::start(free_port());
    let port = redis.port;
    let server = start(&lifecycle(&format!("redis://127.0.0.1:{port}/0")));
    let (access, refresh) = login(&server);
    let (logged_out, _) = login(&server);
    assert_eq!(
        server.with_token("POST", "/logout", &logged_out).status,
        200
    );
    redis.stop();

    let unavailable = json!({
        "status_code": 503, "error": "Service Unavailable", "description": "Token store unavailable"
    });
    for (method, path, token) in [
        ("GET", "/protected", &access),
        ("GET", "/protected", &logged_out),
        ("POST", "/refresh", &refresh),
        ("POST", "/logout", &access),
    ] {
        let started = Instant::now();
        let response = server.with_token(method, path, token);
        assert_eq!(
            (response.status, response.json()),
            (503, unavailable.clone()),
            "{method} {path}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{method} {path} hung"
        );
    }
    let login_down = server.login(r#"{"username":"user1","password":"abcxyz"}"#);
    assert_eq!(login_down.json(), unavailable);
    assert_eq!(server.request("GET", "/public", &[], None).status, 200);

    // Back on the same port: the server recovers by itself. This Redis keeps nothing on disk,
    // so the revocations made before the restart are gone (production needs persistence).
    let _redis = OwnRedis::start(port);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = server.with_token("GET", "/protected", &access);
        if response.status == 200 {
            break;
        }
        assert_eq!(response.status, 503, "{}", response.body);
        assert!(
            Instant::now() < deadline,
            "no recovery after the store came back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (fresh_access, _) = login(&server);
    assert_eq!(
        server.with_token("GET", "/protected", &fresh_access).status,
        200
    );
}

#[test]
fn without_lifecycle_nothing_changes() {
    let server = Server::start(&[("JWT_REVOCATION_STORE", "memory")]);
    let response = server.login(r#"{"username":"user1","password":"abcxyz"}"#);
    let body = response.json();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    for path in ["/refresh", "/logout", "/logout-all", "/fresh", "/optional"] {
        assert_eq!(server.request("GET", path, &[], None).status, 404, "{path}");
    }
}
